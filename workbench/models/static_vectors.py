"""StaticVectors: each token's row of `doc.vocab.vectors`, projected by a learned W.

The table is read from the docs at call time, never copied into the model, and never
changed: gradients stop at the projection. Tokens without a vector get a zero row.
"""
from typing import Callable, List, Optional, Tuple

import numpy
from thinc.api import Model, Ragged, glorot_uniform_init

from ..errors import ConfigError, ShapeError
from ..settings import PositiveInt, Probability, checked
from ..text.attrs import LOWER, NORM, ORTH, attr_id
from ..text.doc import Doc
from ..vectors.table import HOW_TO_ADD
from .custom_embed import AddableRagged

# Keys tried in order for a token's row: ORTH falls back to LOWER then NORM, LOWER to NORM.
_FALLBACKS = {ORTH: (ORTH, LOWER, NORM), LOWER: (LOWER, NORM)}


@checked
def StaticVectors(
    nO: Optional[PositiveInt] = None,
    nM: Optional[PositiveInt] = None,
    dropout: Optional[Probability] = None,
    key_attr: str = "ORTH",
    init_W: Optional[Callable] = None,
) -> Model[List[Doc], Ragged]:
    """List[Doc] -> Ragged (n_tokens, nO): vectors (n_tokens, nM) @ W.T, W (nO, nM).

    nM (the vectors width) is read from the docs' vocab at initialize when not given.
    dropout: during training, drop whole tokens' vectors with this probability.
    key_attr: the attribute whose hash is looked up (ORTH also tries LOWER, then NORM).
    init_W: a thinc initializer for W (default glorot_uniform_init).
    """
    attr = attr_id(key_attr)
    return Model(
        "static_vectors",
        forward,
        init=init,
        params={"W": None},
        dims={"nO": nO, "nM": nM},
        attrs={"key_attrs": _FALLBACKS.get(attr, (attr,)), "dropout_rate": dropout,
               "init_W": init_W or glorot_uniform_init},
    )


def _table(doc: Doc):
    """The vectors table of the doc's vocab; ConfigError when it is empty."""
    vectors = doc.vocab.vectors
    if vectors.n_keys == 0 or vectors.width == 0:
        raise ConfigError(
            "StaticVectors: the docs' vocab has no word vectors (nlp.vocab.vectors is empty), "
            f"but the model uses static vectors (include_static_vectors = true). {HOW_TO_ADD} "
            "Or set include_static_vectors = false in the embed block."
        )
    return vectors


def init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    if not model.has_dim("nM"):
        if not X:
            raise ConfigError(
                "StaticVectors: cannot tell the vectors width (nM) without sample docs. Initialize "
                "the pipeline with training examples whose vocab has vectors, or set nM."
            )
        model.set_dim("nM", _table(X[0]).width)
    if not model.has_dim("nO"):
        raise ConfigError("StaticVectors: the output width nO is not set; pass nO=.")
    model.set_param("W", model.attrs["init_W"](model.ops, (model.get_dim("nO"), model.get_dim("nM"))))


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    ops = model.ops
    nO = model.get_dim("nO")
    lengths = ops.asarray1i([len(doc) for doc in docs])
    if not docs or not sum(len(doc) for doc in docs):
        return AddableRagged(ops.alloc2f(0, nO), lengths), lambda dY: []
    nM = model.get_dim("nM")
    cols = list(model.attrs["key_attrs"])
    parts = []
    for doc in docs:
        vectors = _table(doc)
        if vectors.width != nM:
            raise ShapeError(
                f"StaticVectors: the vocab's vectors have width {vectors.width} but the model was "
                f"initialized for width {nM}. Use the vectors the model was trained with, or "
                f"re-initialize the pipeline."
            )
        lex_rows = doc.lex_rows  # first: it may add lexemes (growing attr_table)
        rows = vectors.find_first(doc.vocab.attr_table[lex_rows][:, cols])  # (n,) -1 = none
        parts.append(vectors.get_batch(rows))  # (n, nM) copy: the table is never written
    V = ops.asarray2f(numpy.concatenate(parts) if len(parts) > 1 else parts[0])  # (N, nM)
    W = model.get_param("W")  # (nO, nM)
    Y = V @ W.T  # (N, nO)
    rate = model.attrs.get("dropout_rate")
    mask = None
    if is_train and rate:
        mask = (ops.xp.random.uniform(size=(V.shape[0], 1)) >= rate).astype("float32")  # per token
        Y *= mask

    def backprop(dY: Ragged) -> List:
        d = dY.data if isinstance(dY, Ragged) else dY  # (N, nO), or e.g. (N, 1, nO) from add(...)
        d = d.reshape((d.shape[0], -1))
        if mask is not None:
            d = d * mask
        model.inc_grad("W", d.T @ V)  # (nO, nM)
        return []  # docs take no gradient; the vectors table stays fixed

    return AddableRagged(Y, lengths), backprop  # adds to plain arrays: add(StaticVectors, ...)

