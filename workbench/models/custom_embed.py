"""Pieces that let custom embedding layers be built from thinc's combinators.

A custom embedding is any `Model[List[Doc], ...]` that a `Tok2Vec` block takes as
its `embed`. The spec's example sums static vectors with a small learned table:

    add(StaticVectors(nO=W), chain(FeatureExtractor(["ORTH"]), remap_ids(key2row), Embed(nO=W, nV=R)))

Three things make this run with thinc's own `add`, `chain`, `remap_ids` and `Embed`:

- `FeatureExtractor` (thinc 8.3 no longer ships one) gives the batch's attribute
  values as one uint64 array: (N,) for one column, so `remap_ids` can look each key up.
- `StaticVectors` returns an `AddableRagged`: a Ragged that `+` sums with a plain
  array of the same rows (thinc's `add` does `Y += other`).
- `Tok2Vec` accepts whatever the embed returns (a list per doc, a Ragged, or one
  array for the whole batch, e.g. Embed's (N, 1, width)) via `workbench.models.combinators.to_doc_arrays`.
"""
from typing import Callable, List, Sequence, Tuple, Union

import numpy
from thinc.api import Model, Ragged

from ..errors import ShapeError
from ..text.attrs import ATTR_NAMES
from ..text.doc import Doc
from .featurize import doc_features, resolve_attrs


def FeatureExtractor(columns: Sequence[Union[str, int]]) -> Model[List[Doc], numpy.ndarray]:
    """List[Doc] -> uint64 attribute values of every token of the batch, docs in order.

    columns: attribute names or ids (ORTH, LOWER, NORM, PREFIX, SUFFIX, SHAPE). One
    column gives shape (N,), so thinc's `remap_ids` and `HashEmbed` take it as is;
    several give (N, n_columns) (select one with `HashEmbed(column=i)`).
    The values are the strings' hashes: `nlp.vocab.strings["the"]` for ORTH "the".
    """
    cols = resolve_attrs(columns, where="FeatureExtractor.columns")
    return Model(
        "extract_features",
        _extract_forward,
        attrs={"columns": cols, "attr_names": [ATTR_NAMES[c] for c in cols]},
    )


def _extract_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[numpy.ndarray, Callable]:
    feats, _ = doc_features(docs, model.attrs["columns"])  # (N, n_cols) uint64
    if feats.shape[1] == 1:
        feats = feats[:, 0]  # (N,)
    return model.ops.asarray(feats, dtype="uint64"), lambda d: []


class AddableRagged(Ragged):
    """A Ragged whose rows add to a plain array with the same rows: `r + a`, `a + r` and
    `a += r` give a plain array shaped like `a` (so gradients come back in the shape the
    other branch produced). Other shapes and other operations raise."""

    def _aligned(self, other):
        """self.data shaped like `other` (same rows, same number of values)."""
        data = self.data
        shape = tuple(getattr(other, "shape", ()))
        if shape == tuple(data.shape):
            return data
        if shape and shape[0] == data.shape[0] and other.size == data.size:
            return data.reshape(shape)  # e.g. thinc Embed's (N, 1, width)
        raise ShapeError(
            f"Cannot add outputs of shapes {tuple(data.shape)} and {shape or type(other).__name__}: the "
            f"layers summed by add(...) must give the same width (nO) for every token."
        )

    def __add__(self, other):
        if isinstance(other, Ragged):
            other = other.data
        return other + self._aligned(other)

    __radd__ = __iadd__ = __add__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """`array + r` and `array += r`: numpy adds self.data shaped like the array."""
        if ufunc is not numpy.add or method != "__call__" or len(inputs) != 2:
            return NotImplemented
        a, b = inputs
        other = b if a is self else a
        if isinstance(other, Ragged):
            other = other.data
        return ufunc(other, self._aligned(other), **kwargs)
