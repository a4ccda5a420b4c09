"""Doc -> feature ids: the lexical attributes of a whole batch in one uint64 array."""
from typing import Callable, List, Sequence, Tuple, Union

import numpy
from thinc.api import Model, Ragged

from ..errors import ConfigError
from ..text.attrs import ATTR_NAMES, attr_id
from ..text.doc import Doc


def resolve_attrs(attrs: Sequence[Union[str, int]], where: str = "attrs") -> List[int]:
    """Attribute names or ids -> ids; unknown names raise ConfigError naming `where`."""
    if isinstance(attrs, (str, int)):
        attrs = [attrs]
    ids = []
    for attr in attrs:
        try:
            ids.append(attr_id(attr))
        except ConfigError:
            raise ConfigError(
                f"{where}: unknown token attribute {attr!r}. Valid names are "
                f"{', '.join(ATTR_NAMES)} (case-insensitive). Fix the '{where}' list "
                f"in the model block of your config."
            ) from None
    if not ids:
        raise ConfigError(f"{where}: the attribute list is empty; name at least one of "
                          f"{', '.join(ATTR_NAMES)}.")
    return ids


def FeatureIds(attrs: Sequence[Union[str, int]]) -> Model[List[Doc], Ragged]:
    """List[Doc] -> Ragged(uint64 (n_tokens_total, n_attrs), lengths (n_docs,))."""
    cols = resolve_attrs(attrs)
    return Model(
        "feature_ids",
        _forward,
        attrs={"columns": cols, "attr_names": [ATTR_NAMES[c] for c in cols]},
        dims={"nO": len(cols)},
    )


def doc_features(docs: Sequence, columns: Sequence[int]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Features of all tokens of `docs`: (uint64 (N, n_cols), int32 lengths (n_docs,)).

    When the docs share one vocab (the usual case) this is a single gather from
    the vocab's lexeme table; otherwise it falls back to `doc.to_array` per doc.
    """
    columns = numpy.asarray(columns, dtype="int64")
    lengths = numpy.fromiter((len(doc) for doc in docs), dtype="int32", count=len(docs))
    if len(docs) == 0:
        return numpy.zeros((0, len(columns)), dtype="uint64"), lengths
    vocab = docs[0].vocab
    if all(doc.vocab is vocab for doc in docs) and hasattr(docs[0], "lex_rows"):
        # lex_rows first: computing them may add lexemes, i.e. grow the table.
        rows = numpy.concatenate([doc.lex_rows for doc in docs])  # (N,) int64
        table = vocab.attr_table  # (n_lexemes, n_attr_ids) uint64
        feats = table[rows[:, None], columns[None, :]]  # (N, n_cols), one copy
    else:
        feats = numpy.concatenate([doc.to_array(columns.tolist()) for doc in docs], axis=0)
    return numpy.ascontiguousarray(feats, dtype="uint64"), lengths


def _forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    feats, lengths = doc_features(docs, model.attrs["columns"])
    Xr = Ragged(model.ops.asarray(feats, dtype="uint64"), model.ops.asarray1i(lengths))

    def backprop(dY: Ragged) -> List:
        return []

    return Xr, backprop
