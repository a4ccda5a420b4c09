"""Text classification: List[Doc] -> (n_docs, n_labels) class scores.

Every architecture is `scorer >> activation`: the scorer gives logits, the
activation is a softmax (exclusive classes) or a sigmoid (multi-label). The
backprop of the whole model takes the gradient with respect to the logits,
`probs - truth` for cross-entropy, as thinc's Softmax does.

- TextCatBOW: hashed unigram..n-gram features of a doc -> sparse linear;
- TextCatReduce: a tok2vec (a listener or its own) -> mean/max/first/last pooled
  over each doc -> linear;
- TextCatEnsemble: the logits of both summed, i.e. one linear model over both
  feature sets.
"""
from typing import Callable, List, Optional, Tuple

import numpy
from thinc.api import Model
from thinc.types import Floats2d

from ..errors import ConfigError, ShapeError
from ..settings import PositiveInt, checked
from ..text.attrs import attr_id
from ..text.doc import Doc
from .combinators import chain_forward
from .featurize import doc_features
from .weights_file import SPARSE_ROWS

BOW_ATTR = attr_id("LOWER")
NGRAM_PRIME = numpy.uint64(0x100000001B3)  # mixes the ids of an n-gram's tokens
N_HASHES = 2  # weight rows per n-gram


# ---------------------------------------------------------------- architectures

@checked
def TextCatBOW(exclusive_classes: bool, ngram_size: PositiveInt = 1, no_output_layer: bool = False,
               length: PositiveInt = 262144, nO: Optional[PositiveInt] = None) -> Model[List[Doc], Floats2d]:
    """Bag of words: the lowercase unigrams up to `ngram_size`-grams of each doc, each
    hashed to two of the `length` rows of a (length, nO) weight table, summed per doc.

    no_output_layer: give the logits without the softmax/sigmoid (only of use as a
    part of another model; the textcat components need probabilities).
    """
    scorer = HashedNgramLinear(ngram_size=ngram_size, length=length, nO=nO)
    return _classifier("textcat_bow", scorer, exclusive_classes, activate=not no_output_layer)


@checked
def TextCatReduce(tok2vec: Model[List[Doc], List[Floats2d]], exclusive_classes: bool,
                  use_reduce_first: bool = False, use_reduce_last: bool = False,
                  use_reduce_max: bool = True, use_reduce_mean: bool = True,
                  nO: Optional[PositiveInt] = None) -> Model[List[Doc], Floats2d]:
    """tok2vec rows of each doc pooled (the chosen reductions side by side) -> linear."""
    reductions = [name for name, on in (("first", use_reduce_first), ("last", use_reduce_last),
                                        ("max", use_reduce_max), ("mean", use_reduce_mean)) if on]
    if not reductions:
        raise ConfigError("TextCatReduce: every use_reduce_* setting is false; set at least one "
                          "of use_reduce_mean, use_reduce_max, use_reduce_first, use_reduce_last to true.")
    scorer = PooledLinear(tok2vec, reductions, nO=nO)
    return _classifier("textcat_reduce", scorer, exclusive_classes, activate=True)


@checked
def TextCatEnsemble(tok2vec: Model[List[Doc], List[Floats2d]], linear_model: Model[List[Doc], Floats2d],
                    nO: Optional[PositiveInt] = None) -> Model[List[Doc], Floats2d]:
    """The bag-of-words `linear_model` and mean|max pooled `tok2vec` rows, their logits
    summed; exclusive or not as the linear model says."""
    if linear_model.name != "textcat_bow":
        raise ConfigError(f"TextCatEnsemble: linear_model must be a TextCatBOW block, got '{linear_model.name}'.")
    bow = linear_model.layers[0]
    if nO is not None:
        bow.set_dim("nO", nO, force=True)
    pooled = PooledLinear(tok2vec, ["max", "mean"], nO=nO)
    scorer = Model("sum_logits", _sum_forward, init=_sum_init, layers=[bow, pooled], dims={"nO": nO})
    return _classifier("textcat_ensemble", scorer, linear_model.attrs["exclusive_classes"], activate=True)


def _classifier(name: str, scorer: Model, exclusive_classes: bool, activate: bool) -> Model:
    activation = Activation("softmax" if exclusive_classes else "sigmoid") if activate else Activation(None)
    return Model(
        name,
        chain_forward,
        init=_classifier_init,
        layers=[scorer, activation],
        dims={"nO": scorer.maybe_get_dim("nO")},
        attrs={"exclusive_classes": bool(exclusive_classes), "activation": activation.attrs["kind"]},
    )


def _classifier_init(model: Model, X: Optional[List[Doc]] = None, Y: Optional[Floats2d] = None) -> None:
    scorer = model.layers[0]
    scorer.initialize(X=X, Y=Y)
    model.set_dim("nO", scorer.get_dim("nO"), force=True)


def _n_labels(model: Model, Y) -> int:
    """nO from Y (n_docs, n_labels) when given, else the configured one."""
    nO = model.maybe_get_dim("nO")
    if Y is not None:
        nO = int(Y.shape[1])
    if nO is None:
        raise ShapeError(f"{model.name}: the number of labels (nO) is unknown; set nO in the config "
                         f"or initialize with Y, an (n_docs, n_labels) array.")
    return nO


# ---------------------------------------------------------------- activation

def Activation(kind: Optional[str]) -> Model[Floats2d, Floats2d]:
    """softmax / sigmoid / None (identity) over (n_docs, nO) logits; backprop passes
    the gradient with respect to the logits through unchanged."""
    return Model("activation", _activation_forward, attrs={"kind": kind})


def _activation_forward(model: Model, Z: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    kind = model.attrs["kind"]
    if kind == "softmax":
        Y = model.ops.softmax(Z)
    elif kind == "sigmoid":
        Y = model.ops.sigmoid(Z)
    else:
        Y = Z
    return Y, lambda dY: dY


# ---------------------------------------------------------------- bag of words

def HashedNgramLinear(ngram_size: int = 1, length: int = 262144, nO: Optional[int] = None,
                      seed: int = 17) -> Model[List[Doc], Floats2d]:
    """Sparse linear layer over hashed n-grams: params W (length, nO), b (nO,), zeros at init.
    Each n-gram reads the sum of N_HASHES rows, so that two n-grams sharing one row
    (a collision) still differ in the other. Saved as its nonzero rows (`weights_file`):
    rows no training n-gram reached stay zero."""
    return Model(
        "hashed_ngram_linear",
        _ngram_linear_forward,
        init=_ngram_linear_init,
        dims={"nO": nO, "length": length},
        params={"W": None, "b": None},
        attrs={"ngram_size": ngram_size, "seed": seed, SPARSE_ROWS: ["W"]},
    )


def _ngram_linear_init(model: Model, X=None, Y=None) -> None:
    nO = _n_labels(model, Y)
    model.set_dim("nO", nO, force=True)
    model.set_param("W", model.ops.alloc2f(model.get_dim("length"), nO))
    model.set_param("b", model.ops.alloc1f(nO))


def ngram_keys(docs: List[Doc], ngram_size: int, length: int, seed: int, ops) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Row ids of every n-gram (n = 1..ngram_size) of the docs, grouped by doc:
    (int64 (n_features, N_HASHES), int32 lengths (n_docs,))."""
    ids, lengths = doc_features(docs, [BOW_ATTR])  # (N, 1) uint64
    ids = ids[:, 0]
    doc_of = numpy.repeat(numpy.arange(len(docs)), lengths)  # (N,) doc of each token
    keys, owners = [], []
    gram = ids.copy()
    for n in range(1, ngram_size + 1):
        if n > 1:  # extend each (n-1)-gram by the token after it
            gram = gram[:-1] * NGRAM_PRIME ^ ids[n - 1:]
        n_starts = len(ids) - n + 1
        if n_starts <= 0:
            break
        same_doc = doc_of[:n_starts] == doc_of[n - 1:]  # n-grams that stay inside one doc
        keys.append(gram[same_doc] ^ numpy.uint64(n))
        owners.append(doc_of[:n_starts][same_doc])
    keys = numpy.concatenate(keys) if keys else numpy.zeros((0,), dtype="uint64")
    owners = numpy.concatenate(owners) if owners else numpy.zeros((0,), dtype="int64")
    order = numpy.argsort(owners, kind="stable")
    hashed = ops.to_numpy(ops.hash(ops.asarray(keys[order], dtype="uint64"), seed))[:, :N_HASHES]
    rows = (hashed % numpy.uint32(length)).astype("int64")  # (n_features, N_HASHES)
    counts = numpy.bincount(owners, minlength=len(docs)).astype("int32")
    return rows, counts


def _ngram_linear_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Floats2d, Callable]:
    ops = model.ops
    W, b = model.get_param("W"), model.get_param("b")
    rows, counts = ngram_keys(docs, model.attrs["ngram_size"], model.get_dim("length"), model.attrs["seed"], ops)
    rows_x, counts_x = ops.asarray(rows), ops.asarray1i(counts)
    Z = ops.reduce_sum(W[rows_x].sum(axis=1), counts_x) + b  # (n_docs, nO)

    def backprop(dZ: Floats2d) -> List:
        d_rows = ops.backprop_reduce_sum(dZ, counts_x)  # (n_features, nO)
        dW = ops.alloc2f(*W.shape)
        for k in range(rows_x.shape[1]):
            ops.scatter_add(dW, rows_x[:, k], d_rows)
        model.inc_grad("W", dW)
        model.inc_grad("b", dZ.sum(axis=0))
        return []

    return Z, backprop


# ---------------------------------------------------------------- pooled tok2vec

def PooledLinear(tok2vec: Model, reductions: List[str], nO: Optional[int] = None) -> Model[List[Doc], Floats2d]:
    """tok2vec >> pool each doc's rows (reductions side by side) >> affine."""
    pool = Pool(reductions)
    affine = Affine(nO=nO)
    return Model(
        "pooled_linear",
        chain_forward,
        init=_pooled_init,
        layers=[tok2vec, pool, affine],
        dims={"nO": nO},
    )


def _pooled_init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    tok2vec, pool, affine = model.layers  # not refs: thinc's Model.copy() drops refs
    tok2vec.initialize(X=X)
    width = tok2vec.maybe_get_dim("nO")
    if width is None and X is not None:
        width = int(tok2vec.predict(X)[0].shape[1])
    if width is None:
        raise ShapeError(f"{model.name}: the tok2vec output width is unknown; initialize with sample docs "
                         f"or use a tok2vec whose 'nO' dim is set.")
    nO = _n_labels(affine, Y)
    affine.set_dim("nI", width * len(pool.attrs["reductions"]), force=True)
    affine.set_dim("nO", nO, force=True)
    affine.initialize()
    model.set_dim("nO", nO, force=True)


def Pool(reductions: List[str]) -> Model[List[Floats2d], Floats2d]:
    """List[(n_tokens, width)] -> (n_docs, len(reductions) * width), one reduction per block."""
    return Model("pool", _pool_forward, attrs={"reductions": list(reductions)})


def _pool_forward(model: Model, Xs: List[Floats2d], is_train: bool) -> Tuple[Floats2d, Callable]:
    ops, xp = model.ops, model.ops.xp
    lengths = ops.asarray1i([len(x) for x in Xs])
    if not len(Xs) or not all(len(x) for x in Xs):
        raise ShapeError("TextCat pooling: every doc needs at least one token (empty docs are not classified).")
    X = Xs[0] if len(Xs) == 1 else xp.concatenate(Xs, axis=0)  # (N, width)
    parts, backprops = [], []
    for name in model.attrs["reductions"]:
        if name == "mean":
            parts.append(ops.reduce_mean(X, lengths))
            backprops.append(lambda d: ops.backprop_reduce_mean(d, lengths))
        elif name == "max":
            Y, which = ops.reduce_max(X, lengths)
            parts.append(Y)
            backprops.append(lambda d, which=which: ops.backprop_reduce_max(d, which, lengths))
        elif name == "first":
            Y, starts_ends = ops.reduce_first(X, lengths)
            parts.append(Y)
            backprops.append(lambda d, se=starts_ends: ops.backprop_reduce_first(d, se))
        else:
            Y, lasts = ops.reduce_last(X, lengths)
            parts.append(Y)
            backprops.append(lambda d, lasts=lasts: ops.backprop_reduce_last(d, lasts))
    width = X.shape[1]

    def backprop(dY: Floats2d) -> List[Floats2d]:
        dX = None
        for k, back in enumerate(backprops):
            d = back(xp.ascontiguousarray(dY[:, k * width:(k + 1) * width]))  # (N, width)
            dX = d if dX is None else dX + d
        ends = numpy.cumsum(ops.to_numpy(lengths))
        return [dX[e - n:e] for e, n in zip(ends.tolist(), ops.to_numpy(lengths).tolist())]

    return xp.concatenate(parts, axis=1), backprop


def Affine(nO: Optional[int] = None, nI: Optional[int] = None) -> Model[Floats2d, Floats2d]:
    """(n, nI) -> (n, nO): X W.T + b, W and b zeros at init."""
    return Model("affine", _affine_forward, init=_affine_init, dims={"nO": nO, "nI": nI},
                 params={"W": None, "b": None})


def _affine_init(model: Model, X=None, Y=None) -> None:
    model.set_param("W", model.ops.alloc2f(model.get_dim("nO"), model.get_dim("nI")))
    model.set_param("b", model.ops.alloc1f(model.get_dim("nO")))


def _affine_forward(model: Model, X: Floats2d, is_train: bool) -> Tuple[Floats2d, Callable]:
    W, b = model.get_param("W"), model.get_param("b")
    if X.shape[1] != W.shape[1]:
        raise ShapeError(f"TextCat: expected pooled vectors of width {W.shape[1]}, got {X.shape[1]}.")
    Z = model.ops.gemm(X, W, trans2=True) + b  # (n, nO)

    def backprop(dZ: Floats2d) -> Floats2d:
        model.inc_grad("W", model.ops.gemm(dZ, X, trans1=True))
        model.inc_grad("b", dZ.sum(axis=0))
        return model.ops.gemm(dZ, W)

    return Z, backprop


# ---------------------------------------------------------------- ensemble

def _sum_init(model: Model, X=None, Y=None) -> None:
    nO = _n_labels(model, Y)
    Y = Y if Y is not None else model.ops.alloc2f(1, nO)
    for layer in model.layers:
        layer.initialize(X=X, Y=Y)
    model.set_dim("nO", nO, force=True)


def _sum_forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Floats2d, Callable]:
    outputs = [layer(docs, is_train) for layer in model.layers]
    Z = outputs[0][0]
    for other, _ in outputs[1:]:
        Z = Z + other

    def backprop(dZ: Floats2d) -> List:
        for _, back in outputs:
            back(dZ)
        return []

    return Z, backprop
