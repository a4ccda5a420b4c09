"""Token tagging: tok2vec >> per-token softmax, List[Doc] -> List[Floats2d]."""
from typing import Callable, List, Optional, Tuple

from thinc.api import Model
from thinc.types import Floats2d

from ..errors import ShapeError
from ..text.doc import Doc
from .combinators import chain_forward


def Tagger(
    tok2vec: Model[List[Doc], List[Floats2d]], nO: Optional[int] = None, normalize: bool = False
) -> Model[List[Doc], List[Floats2d]]:
    """Per-token class scores, one (n_tokens, nO) array per doc.

    nO (the number of tags) may be left out: `initialize(X=docs, Y=...)` reads it
    from the width of Y (a list of (n_tokens, n_tags) arrays, or one 2d array).
    While training the output is a softmax; at inference it is a softmax only when
    `normalize` is true, otherwise raw scores (same argmax, cheaper).
    """
    nI = tok2vec.maybe_get_dim("nO")  # a listener knows its width before it runs
    output_layer = SoftmaxOutput(nO=nO, nI=nI, normalize=normalize)
    return Model(
        "tagger",
        chain_forward,
        init=_init,
        layers=[tok2vec, output_layer],
        refs={"tok2vec": tok2vec, "output_layer": output_layer},
        dims={"nO": nO},
        attrs={"nO_from_config": nO is not None},
    )


def _init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    tok2vec, output_layer = model.layers  # not refs: thinc's Model.copy() drops refs
    tok2vec.initialize(X=X)
    nI = output_layer.maybe_get_dim("nI") or tok2vec.maybe_get_dim("nO")
    if nI is None and X is not None:
        nI = _width(tok2vec.predict(X))
    if nI is None:
        raise ShapeError(
            "Tagger: the tok2vec output width is unknown; initialize with sample docs "
            "(model.initialize(X=docs)) or use a tok2vec whose 'nO' dim is set."
        )
    nO = output_layer.maybe_get_dim("nO")
    if Y is not None:
        n_tags = _width(Y)
        if model.attrs["nO_from_config"] and n_tags != nO:
            raise ShapeError(
                f"Tagger: nO = {nO} in the config, but the labels give {n_tags} tags. "
                f"Remove nO from the config to infer it from the labels."
            )
        nO = n_tags
    if nO is None:
        raise ShapeError(
            "Tagger: the number of tags (nO) is unknown; set nO in the config or "
            "initialize with Y (one (n_tokens, n_tags) array per doc)."
        )
    old_shape = (output_layer.maybe_get_dim("nO"), output_layer.maybe_get_dim("nI"))
    if old_shape[0] not in (None, nO) or old_shape[1] not in (None, nI):
        # Re-initialized with another label set: start a fresh output layer.
        output_layer = SoftmaxOutput(nO=nO, nI=nI, normalize=output_layer.attrs["normalize"])
        model.layers[1] = output_layer
        model.set_ref("output_layer", output_layer)
    output_layer.set_dim("nI", nI)
    output_layer.set_dim("nO", nO)
    output_layer.initialize()
    model.set_dim("nO", nO, force=True)


def _width(Y) -> int:
    if isinstance(Y, (list, tuple)):
        if not Y:
            raise ShapeError("Tagger: cannot read a width from an empty list of arrays.")
        Y = Y[0]
    if getattr(Y, "ndim", 0) != 2:
        raise ShapeError(f"Tagger: expected 2d arrays (n_tokens, width), got {type(Y).__name__}.")
    return int(Y.shape[1])


def SoftmaxOutput(
    nO: Optional[int] = None, nI: Optional[int] = None, normalize: bool = False
) -> Model[List[Floats2d], List[Floats2d]]:
    """Affine + softmax per token: List[(n_tokens, nI)] -> List[(n_tokens, nO)].

    Params W (nO, nI) and b (nO,), both zero-initialized. Backprop takes the
    gradient with respect to the scores before the softmax (for crossentropy
    that is `probs - truth`), as thinc's Softmax does.
    """
    return Model(
        "softmax_output",
        _softmax_forward,
        init=_softmax_init,
        dims={"nO": nO, "nI": nI},
        params={"W": None, "b": None},
        attrs={"normalize": normalize},
    )


def _softmax_init(model: Model, X=None, Y=None) -> None:
    if X is not None:
        model.set_dim("nI", _width(X))
    if Y is not None:
        model.set_dim("nO", _width(Y))
    nO, nI = model.get_dim("nO"), model.get_dim("nI")
    model.set_param("W", model.ops.alloc2f(nO, nI))
    model.set_param("b", model.ops.alloc1f(nO))


def _softmax_forward(
    model: Model, Xs: List[Floats2d], is_train: bool
) -> Tuple[List[Floats2d], Callable]:
    ops, xp = model.ops, model.ops.xp
    W, b = model.get_param("W"), model.get_param("b")
    nO, nI = W.shape
    lengths = [len(x) for x in Xs]
    if not Xs:
        X = ops.alloc2f(0, nI)
    else:
        X = Xs[0] if len(Xs) == 1 else xp.concatenate(Xs, axis=0)  # (N, nI)
    if X.shape[1] != nI:
        raise ShapeError(f"Tagger: expected token vectors of width {nI}, got {X.shape[1]}.")
    Z = xp.matmul(X, W.T)  # (N, nO)
    Z += b
    if is_train or model.attrs["normalize"]:
        Z = ops.softmax(Z, inplace=True)
    Ys = _split(Z, lengths)

    def backprop(dYs: List[Floats2d]) -> List[Floats2d]:
        if not dYs:
            return []
        dZ = dYs[0] if len(dYs) == 1 else xp.concatenate(dYs, axis=0)  # (N, nO)
        model.inc_grad("W", xp.matmul(dZ.T, X))
        model.inc_grad("b", dZ.sum(axis=0))
        return _split(xp.matmul(dZ, W), lengths)  # (N, nI) per doc

    return Ys, backprop


def _split(data, lengths: List[int]) -> List:
    out, start = [], 0
    for n in lengths:
        out.append(data[start : start + n])
        start += n
    return out
