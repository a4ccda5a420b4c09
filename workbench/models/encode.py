"""Context encoders: List[Floats2d] -> List[Floats2d], plus the layers they share.

`MaxoutWindowEncoder` is a stack of residual convolution blocks
(`expand_window >> Maxout >> LayerNorm`) run over the whole batch at once as one
`Ragged` array; the window never reaches across a document boundary because
`expand_window` pads each document separately (seq2col with `lengths`).

The matrix products use `ops.xp.matmul` rather than `ops.gemm`: on CPU thinc's
NumpyOps.gemm goes through blis, which on our 2-core boxes is ~5x slower than
numpy's BLAS (measured: 32 vs 190 GFLOP/s for a (5000, 288) x (288, 288) product).
"""
from typing import Callable, List, Optional, Tuple

import numpy
from thinc.api import Model, chain, expand_window, glorot_uniform_init, residual
from thinc.types import Floats1d, Floats2d

from ..errors import ShapeError
from ..settings import NonNegativeInt, PositiveInt, checked
from .combinators import ListToRagged, RaggedToList, ragged_chain_forward, with_ragged_data


@checked
def MaxoutWindowEncoder(
    width: PositiveInt = 96, window_size: NonNegativeInt = 1, maxout_pieces: PositiveInt = 3, depth: NonNegativeInt = 4
) -> Model[List[Floats2d], List[Floats2d]]:
    """`depth` residual blocks of window expansion, maxout and layer norm.

    Each block sees `window_size` tokens either side, so the receptive field is
    `depth * window_size` tokens either side, within the token's own document.
    """
    n_window = 2 * window_size + 1
    blocks = [
        residual(
            chain(
                expand_window(window_size),  # Ragged (N, width) -> Ragged (N, width * n_window)
                with_ragged_data(MaxoutNorm(width, width * n_window, maxout_pieces)),
            )
        )
        for _ in range(depth)
    ]
    layers: List[Model] = [ListToRagged(width), *blocks, RaggedToList()]
    model: Model[List[Floats2d], List[Floats2d]] = Model(
        "maxout_window_encoder",
        _encoder_forward,
        init=_chain_init,
        layers=layers,
        dims={"nO": width, "nI": width},
        attrs={"window_size": window_size, "depth": depth, "maxout_pieces": maxout_pieces},
    )
    return model


def _encoder_forward(model: Model, Xs: List[Floats2d], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    if not is_train and model.ops.xp is numpy and Xs and all(len(x) and x.dtype == numpy.float32 for x in Xs):
        blocks = _blocks(model)
        if blocks is not None:
            return _predict_blocks(model, Xs, blocks), _no_backprop(model)
    return ragged_chain_forward(model, Xs, is_train)


def _blocks(model: Model) -> Optional[List[Tuple[int, Model]]]:
    """(window size, MaxoutNorm) of each residual block; None if the layers were changed."""
    blocks = []
    for block in model.layers[1:-1]:
        inner = block.layers[0] if block.name.startswith("residual") and block.layers else None
        if inner is None or len(inner.layers) != 2 or inner.layers[0].name != "expand_window":
            return None
        norm = inner.layers[1].layers[0] if inner.layers[1].layers else None
        if norm is None or norm.name != "maxout_norm" or norm.attrs.get("dropout_rate"):
            return None
        blocks.append((inner.layers[0].attrs["window_size"], norm))
    return blocks


def _predict_blocks(model: Model, Xs: List[Floats2d], blocks: List[Tuple[int, Model]]) -> List[Floats2d]:
    """Prediction on the CPU, the blocks' values in one pass: one window buffer and one
    product buffer (N, nP * nO) serve every block, so the large arrays are allocated once
    per batch, not twice per block (a fresh 37 MB array is a page fault per 4 kB)."""
    lengths = numpy.fromiter((len(x) for x in Xs), dtype=numpy.int64, count=len(Xs))
    X = numpy.concatenate(Xs, axis=0) if len(Xs) > 1 else Xs[0].copy()  # (N, width), ours
    bufs: dict = {}
    for nW, norm in blocks:
        nI, nP, nO = norm.get_dim("nI"), norm.get_dim("nP"), norm.get_dim("nO")
        cols = _buffer(bufs, "cols", (X.shape[0], nI))
        window_into(cols, X, lengths, nW)  # (N, width * (2 * nW + 1))
        W_pm, b_pm = piece_major(norm)
        Z = _buffer(bufs, "Z", (X.shape[0], nP * nO))
        numpy.matmul(cols, W_pm.T, out=Z)
        Z += b_pm
        Y = maxout_layer_norm(numpy, Z, norm.get_param("G"), norm.get_param("B"))  # (N, nO)
        Y += X  # the residual
        X = Y
    ends = numpy.cumsum(lengths)
    return [X[e - n:e] for n, e in zip(lengths.tolist(), ends.tolist())]


def _buffer(bufs: dict, name: str, shape: Tuple[int, int]) -> Floats2d:
    buf = bufs.get(name)
    if buf is None or buf.shape != shape:
        buf = bufs[name] = numpy.empty(shape, dtype=numpy.float32)
    return buf


def window_into(out: Floats2d, X: Floats2d, lengths, nW: int) -> Floats2d:
    """thinc's seq2col written into `out`: row i of out (N, width * (2 * nW + 1)) is the
    rows i - nW .. i + nW of X (N, width), zeros where they fall outside i's document."""
    N, w = X.shape
    out[:, nW * w:(nW + 1) * w] = X
    if nW == 0:
        return out
    ends = numpy.cumsum(lengths)
    doc_start = numpy.repeat(ends - lengths, lengths)
    pos = numpy.arange(N) - doc_start  # (N,) position in the document
    to_end = numpy.repeat(ends, lengths) - numpy.arange(N)  # (N,) tokens from i to the document's end
    for s in range(1, nW + 1):
        left = out[:, (nW - s) * w:(nW - s + 1) * w]  # row i - s
        left[s:] = X[:-s]
        left[pos < s] = 0.0  # before the document's start (the first s rows among them)
        right = out[:, (nW + s) * w:(nW + s + 1) * w]  # row i + s
        right[:-s] = X[s:]
        right[to_end <= s] = 0.0  # past the document's end
    return out


def _chain_init(model: Model, X=None, Y=None) -> None:
    # Every dim is known from the config, so no sample data is needed.
    for layer in model.layers:
        layer.initialize()


# --- Maxout + LayerNorm, fused -------------------------------------------------


def MaxoutNorm(nO: int, nI: int, nP: int = 3) -> Model[Floats2d, Floats2d]:
    """Maxout over `nP` linear pieces, layer normalization, then dropout.

    (N, nI) -> (N, nO). Params: W (nO, nP, nI), b (nO, nP), G (nO,) gain, B (nO,) bias.
    The dropout rate is the training dropout (`set_dropout_rate`, [training] dropout);
    at prediction there is none.
    """
    return Model(
        "maxout_norm",
        _maxout_norm_forward,
        init=_maxout_norm_init,
        dims={"nO": nO, "nI": nI, "nP": nP},
        params={"W": None, "b": None, "G": None, "B": None},
        attrs={"dropout_rate": 0.0},
    )


def _maxout_norm_init(model: Model, X: Optional[Floats2d] = None, Y=None) -> None:
    nO, nI, nP = model.get_dim("nO"), model.get_dim("nI"), model.get_dim("nP")
    if X is not None and X.shape[1] != nI:
        raise ShapeError(f"{model.name}: expected inputs of width nI={nI}, got {X.shape[1]}.")
    W = glorot_uniform_init(model.ops, (nO * nP, nI))  # fan-in nI, fan-out nO * nP
    model.set_param("W", model.ops.reshape3f(W, nO, nP, nI))
    model.set_param("b", model.ops.alloc2f(nO, nP))
    model.set_param("G", model.ops.alloc1f(nO) + 1.0)
    model.set_param("B", model.ops.alloc1f(nO))


def _maxout_norm_forward(
    model: Model[Floats2d, Floats2d], X: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable]:
    ops, xp = model.ops, model.ops.xp
    nO, nP, nI = model.get_dim("nO"), model.get_dim("nP"), model.get_dim("nI")
    if X.ndim != 2 or X.shape[1] != nI:
        raise ShapeError(
            f"{model.name}: expected a (n_tokens, {nI}) array, got shape {tuple(X.shape)}."
        )
    G, B = model.get_param("G"), model.get_param("B")
    if not is_train:
        W_pm, b_pm = piece_major(model)
        Z = xp.matmul(X, W_pm.T)  # (N, nP * nO)
        Z += b_pm
        return maxout_layer_norm(xp, Z, G, B), _no_backprop(model)
    W = model.get_param("W").reshape(nO * nP, nI)
    b = model.get_param("b").reshape(nO * nP)
    N = X.shape[0]
    Z = xp.matmul(X, W.T)  # (N, nO * nP)
    Z += b
    best, which = ops.maxout(Z.reshape(N, nO, nP))  # (N, nO), (N, nO)
    del Z
    # Layer norm over the nO features of each token.
    mu = best.mean(axis=1, keepdims=True)  # (N, 1)
    best -= mu
    inv_std = (best * best).mean(axis=1, keepdims=True)  # (N, 1)
    inv_std += 1e-8
    xp.sqrt(inv_std, out=inv_std)
    xp.reciprocal(inv_std, out=inv_std)
    best *= inv_std  # X_hat, (N, nO)
    Y = best * G
    Y += B
    X_hat = best
    rate = model.attrs.get("dropout_rate", 0.0)
    mask = ops.get_dropout_mask(Y.shape, rate) if rate else None  # (N, nO), scaled by 1/(1-rate)
    if mask is not None:
        Y *= mask

    def backprop(dY: Floats2d) -> Floats2d:
        if mask is not None:
            dY = dY * mask
        model.inc_grad("B", dY.sum(axis=0))
        model.inc_grad("G", (dY * X_hat).sum(axis=0))
        d_hat = dY * G  # (N, nO)
        # d/dx of (x - mean) / std, applied row-wise.
        mean_d = d_hat.mean(axis=1, keepdims=True)
        mean_dx = (d_hat * X_hat).mean(axis=1, keepdims=True)
        d_hat -= mean_d
        d_hat -= X_hat * mean_dx
        d_hat *= inv_std
        dZ = ops.backprop_maxout(d_hat, which, nP).reshape(N, nO * nP)  # (N, nO * nP)
        model.inc_grad("b", dZ.sum(axis=0).reshape(nO, nP))
        model.inc_grad("W", xp.matmul(dZ.T, X).reshape(nO, nP, nI))
        return xp.matmul(dZ, W)  # (N, nI)

    return Y, backprop


def piece_major(model: Model) -> Tuple[Floats2d, Floats1d]:
    """A MaxoutNorm's W and b with the pieces outermost: (nP * nO, nI), (nP * nO,).

    Row p * nO + o is piece p of output o, so the product's columns come in nP
    contiguous blocks of nO and the max over pieces is nP - 1 elementwise maxima.
    """
    nO, nP, nI = model.get_dim("nO"), model.get_dim("nP"), model.get_dim("nI")
    W = model.get_param("W").transpose(1, 0, 2).reshape(nP * nO, nI)  # a copy, (nP * nO, nI)
    b = model.get_param("b").T.reshape(nP * nO)
    return W, b


def maxout_layer_norm(xp, Z: Floats2d, G: Floats1d, B: Floats1d) -> Floats2d:
    """Prediction only: the max over pieces of piece-major Z (N, nP * nO), layer-normed,
    times G plus B -> (N, nO). The training path's values, in fewer passes: no argmax
    kept for backprop, the normalization done in place."""
    nO = G.shape[0]
    nP = Z.shape[1] // nO
    if xp is numpy and Z.dtype == numpy.float32:
        return _maxout_layer_norm_torch(Z, G, B, nO, nP)
    best = Z[:, :nO].copy() if nP == 1 else xp.maximum(Z[:, :nO], Z[:, nO:2 * nO])  # (N, nO)
    for p in range(2, nP):
        xp.maximum(best, Z[:, p * nO:(p + 1) * nO], out=best)
    best -= best.mean(axis=1, keepdims=True)
    inv_std = (best * best).mean(axis=1, keepdims=True)  # (N, 1)
    inv_std += 1e-8
    xp.sqrt(inv_std, out=inv_std)
    xp.reciprocal(inv_std, out=inv_std)
    best *= inv_std
    best *= G
    best += B
    return best


def _maxout_layer_norm_torch(Z, G, B, nO: int, nP: int):
    """maxout_layer_norm on the CPU in float32: torch's maxima and fused layer norm, one
    pass each where numpy needs six (2x faster at (33000, 3 * 96)); numpy arrays in and out."""
    import torch

    tZ = torch.from_numpy(Z)
    best = tZ[:, :nO].clone() if nP == 1 else torch.maximum(tZ[:, :nO], tZ[:, nO:2 * nO])  # (N, nO)
    for p in range(2, nP):
        torch.maximum(best, tZ[:, p * nO:(p + 1) * nO], out=best)
    normed = torch.nn.functional.layer_norm(best, (nO,), torch.from_numpy(G), torch.from_numpy(B), eps=1e-8)
    return normed.numpy()


def _no_backprop(model: Model) -> Callable:
    def backprop(dY):
        raise ShapeError(f"{model.name}: backprop called on an output made with is_train=False.")

    return backprop
