"""Attribute ids: the columns of the vocab's lexeme table (`Vocab.attr_table`)."""
import numbers
from typing import Union

from ..errors import ConfigError

ORTH, LOWER, NORM, PREFIX, SUFFIX, SHAPE = 0, 1, 2, 3, 4, 5
ATTR_NAMES = ["ORTH", "LOWER", "NORM", "PREFIX", "SUFFIX", "SHAPE"]
ATTR_IDS = {name: i for i, name in enumerate(ATTR_NAMES)}


def attr_id(attr: Union[int, str]) -> int:
    """Return the id of an attribute given as an id or a case-insensitive name."""
    if isinstance(attr, str):
        key = attr.upper()
        if key in ATTR_IDS:
            return ATTR_IDS[key]
    elif isinstance(attr, numbers.Integral) and not isinstance(attr, bool) and 0 <= attr < len(ATTR_NAMES):
        return int(attr)  # also numpy integers, e.g. from an array of column ids
    raise ConfigError(
        f"Unknown token attribute {attr!r}. Valid attributes are "
        f"{', '.join(ATTR_NAMES)} (case-insensitive) or their ids 0..{len(ATTR_NAMES) - 1}."
    )
