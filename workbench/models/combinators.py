"""Plumbing layers and helpers shared by the architectures.

- `chain_forward` / `ragged_chain_forward`: run `model.layers` in order, without
  thinc chain's shape inference;
- `with_ragged_data`, `ListToRagged`, `RaggedToList`: move between per-doc arrays
  and one `Ragged` for the whole batch;
- `to_doc_arrays`: an embed layer's output (list, Ragged or one array) as one
  (n_tokens, width) array per doc.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy
from thinc.api import Model, Ragged, get_array_module
from thinc.types import Floats2d

from ..errors import ShapeError
from ..text.doc import Doc


def chain_forward(model: Model, X, is_train: bool) -> Tuple[object, Callable]:
    """Run `model.layers` in order (like thinc's chain, without its shape inference)."""
    callbacks = []
    for layer in model.layers:
        X, backprop_layer = layer(X, is_train)
        callbacks.append(backprop_layer)

    def backprop(dY):
        for callback in reversed(callbacks):
            dY = callback(dY)
        return dY

    return X, backprop


def ragged_chain_forward(model: Model, Xs: List, is_train: bool) -> Tuple[List, Callable]:
    """chain_forward for models that work on a Ragged inside: a batch without any
    token skips the layers (a Ragged with no rows loses its width)."""
    if all(len(x) == 0 for x in Xs):
        return _no_tokens(model, Xs)
    return chain_forward(model, Xs, is_train)


def _no_tokens(model: Model, Xs: List) -> Tuple[List[Floats2d], Callable]:
    """(0, nO) outputs for a batch without tokens."""
    Ys = [model.ops.alloc2f(0, model.get_dim("nO")) for _ in Xs]

    def backprop(dYs: List[Floats2d]) -> List:
        # Arrays in, zero-row gradients out; docs in, nothing out.
        return [model.ops.alloc2f(*x.shape) for x in Xs if hasattr(x, "shape")]

    return Ys, backprop


def with_ragged_data(layer: Model[Floats2d, Floats2d]) -> Model[Ragged, Ragged]:
    """Apply an array layer to the data of a Ragged, keeping its lengths."""
    return Model(
        f"ragged({layer.name})",
        _ragged_data_forward,
        init=_ragged_data_init,
        layers=[layer],
        dims={"nO": layer.maybe_get_dim("nO"), "nI": layer.maybe_get_dim("nI")},
    )


def _ragged_data_forward(model: Model, Xr: Ragged, is_train: bool) -> Tuple[Ragged, Callable]:
    Y, backprop_layer = model.layers[0](Xr.dataXd, is_train)
    lengths = Xr.lengths

    def backprop(dYr: Ragged) -> Ragged:
        return Ragged(backprop_layer(dYr.dataXd), lengths)

    return Ragged(Y, lengths), backprop


def _ragged_data_init(model: Model, X: Optional[Ragged] = None, Y: Optional[Ragged] = None) -> None:
    model.layers[0].initialize(
        X=X.dataXd if X is not None else None, Y=Y.dataXd if Y is not None else None
    )
    for dim in ("nO", "nI"):
        if model.layers[0].has_dim(dim):
            model.set_dim(dim, model.layers[0].get_dim(dim))


def ListToRagged(width: int) -> Model[List[Floats2d], Ragged]:
    """Concatenate per-doc arrays into one Ragged; an empty batch gives (0, width)."""
    return Model("list2ragged", _list2ragged_forward, dims={"nO": width})


def _list2ragged_forward(
    model: Model, Xs: List[Floats2d], is_train: bool
) -> Tuple[Ragged, Callable]:
    ops = model.ops
    lengths = ops.asarray1i([len(x) for x in Xs])
    if len(Xs) == 0:
        data = ops.alloc2f(0, model.get_dim("nO"))
    elif len(Xs) == 1:
        data = Xs[0]  # no copy: layers downstream never write into their input
    else:
        data = ops.xp.concatenate(Xs, axis=0)  # (N, width)

    def backprop(dYr: Ragged) -> List[Floats2d]:
        return _split(ops, dYr.data, lengths)

    return Ragged(data, lengths), backprop


def RaggedToList() -> Model[Ragged, List[Floats2d]]:
    """Split a Ragged into per-doc views (no copy)."""
    return Model("ragged2list", _ragged2list_forward)


def _ragged2list_forward(model: Model, Xr: Ragged, is_train: bool) -> Tuple[List, Callable]:
    ops = model.ops
    lengths = Xr.lengths
    width = Xr.data.shape[1]

    def backprop(dYs: List[Floats2d]) -> Ragged:
        if len(dYs) == 0:
            return Ragged(ops.alloc2f(0, width), lengths)
        if len(dYs) == 1:
            return Ragged(dYs[0], lengths)
        return Ragged(ops.xp.concatenate(dYs, axis=0), lengths)

    return _split(ops, Xr.data, lengths), backprop


def _split(ops, data, lengths) -> List:
    """Views of `data` (N, ...) cut into consecutive pieces of `lengths` rows."""
    ends = ops.to_numpy(lengths).cumsum()
    starts = ends - ops.to_numpy(lengths)
    return [data[s:e] for s, e in zip(starts.tolist(), ends.tolist())]


def to_doc_arrays(Y, docs: Sequence[Doc]) -> Tuple[List[Floats2d], Callable]:
    """An embed layer's output as one (n_tokens, width) array per doc.

    Y: a list of arrays (returned as is), a Ragged, or one array whose first axis runs
    over all tokens of the batch. Returns (arrays, to_input_grad): the second turns
    gradients per doc back into Y's own type and shape.
    """
    if isinstance(Y, (list, tuple)):
        return list(Y), lambda dYs: dYs
    lengths = [len(doc) for doc in docs]
    n_tokens = sum(lengths)
    is_ragged = isinstance(Y, Ragged)
    data = Y.data if is_ragged else Y
    shape = tuple(getattr(data, "shape", ()))
    if not shape or shape[0] != n_tokens:
        raise ShapeError(
            f"The embed layer returned {type(Y).__name__} of shape {shape}, but the batch has "
            f"{n_tokens} tokens. An embed layer must give one row per token: a list of "
            f"(n_tokens, width) arrays, a Ragged, or one (N, width) array."
        )
    flat = data.reshape((n_tokens, -1))  # (N, width)
    offsets = numpy.cumsum([0] + lengths)
    parts = [flat[offsets[i]:offsets[i + 1]] for i in range(len(lengths))]  # views

    def to_input_grad(dYs: List[Floats2d]):
        dflat = _concat(dYs, flat)  # (N, width)
        if is_ragged:
            return Ragged(dflat.reshape(shape), Y.lengths)
        return dflat.reshape(shape)

    return parts, to_input_grad


def _concat(arrays: List, like) -> Floats2d:
    if not arrays:
        return like[:0]
    return get_array_module(like).concatenate(arrays) if len(arrays) > 1 else arrays[0]
