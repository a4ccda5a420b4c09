"""Initialization before training: labels, shapes and the optimizer."""
from typing import Any, Callable, Dict, Iterable

from thinc.api import Optimizer

from ..config import resolve_block
from ..errors import ConfigError


def initialize_pipeline(nlp: Any, resolved: Dict[str, Any], get_examples: Callable[[], Iterable[Any]]) -> Optimizer:
    """Apply [initialize], initialize every component, and build the optimizer."""
    init = resolved.get("initialize", {})
    for key in ("vectors", "init_tok2vec"):
        if init.get(key):
            raise ConfigError(
                f"[initialize] {key} = {init[key]!r}: loading {key.replace('_', ' ')} is not available "
                f"in this version. Set it to null."
            )
    nlp.initialize(get_examples)
    return resolve_block(resolved["training"]["optimizer"], "training.optimizer")
