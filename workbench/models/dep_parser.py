"""Greedy arc-eager dependency parser over token vectors (`state_type = "parser"`).

`DependencyParser(tok2vec, ...)` returns a `Model[List[Doc], ...]` with refs
`tok2vec`, `lower` and (if `use_upper`) `upper`:

- `model.predict(docs) -> (heads, labels)`: per doc, local head positions (-1:
  root) and label ids (-1 for roots). Greedy decoding in a compiled kernel
  (`arc_eager_kernels.decode_chunk`), no Python step per transition.
- `batch, backprop = model.begin_update(docs)`; `loss, d = batch.get_loss(golds)`;
  `backprop(d)`: training on the states of the static oracle (golds: per doc,
  projective local heads and label ids). The oracle runs over the whole batch
  first; then the scores and loss of all its states are computed at once.

A state's features are the token vectors at `PARSER_SLOTS` (stack S0-S2, buffer
B0-B2, leftmost/rightmost dependents), a missing slot using a learned pad. The
lower layer projects each slot to (hidden, pieces), sums them, adds a bias and
takes the maxout; the optional zero-initialised upper layer maps to actions. At
inference each token's projection for every slot is computed with one GEMM per
chunk of docs before decoding, so a step only gathers and sums rows; with a thread
plan of k threads, k workers share the chunks (`greedy_parse`).
"""
import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from thinc.api import Model, glorot_uniform_init
from thinc.types import Floats2d

from ..errors import ConfigError, DataError
from ..threads import worker_threads
from .arc_eager import check_buildable, get_arc_eager_moves, slot_ids
from .low_precision import matmul

ParseGold = Tuple[np.ndarray, np.ndarray]  # local heads (-1: root), label ids


def DependencyParser(
    tok2vec: Model, slots: Sequence[str], hidden_width: int, maxout_pieces: int,
    use_upper: bool, nO: Optional[int] = None, mixed_precision: bool = False,
) -> Model:
    width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    lower = _ParserLower(len(slots), nO=int(hidden_width) if use_upper else None,
                         nP=int(maxout_pieces), nI=width)
    layers = [tok2vec, lower]
    refs = {"tok2vec": tok2vec, "lower": lower}
    if use_upper:
        upper = _Upper(nO=nO, nI=int(hidden_width))
        layers.append(upper)
        refs["upper"] = upper
    return Model(
        "dep_parser", _forward, init=_init, layers=layers, refs=refs, dims={"nO": nO},
        attrs={"labels": [], "state_type": "parser", "feature_slots": list(slots),
               "use_upper": bool(use_upper), "hidden_width": int(hidden_width),
               "mixed_precision": bool(mixed_precision), "closing_moves": False},
    )


def get_parser_moves(model: Model):
    return get_arc_eager_moves(model.attrs["labels"])


def is_initialized(model: Model) -> bool:
    return bool(model.get_ref("lower").has_param("W"))


def initialize_parser(model: Model, labels: Sequence[str], X: Optional[List[Any]] = None) -> Model:
    """Set the dependency labels, then give the parser head fresh weights."""
    labels = list(labels)
    for label in labels:
        if not isinstance(label, str) or not label:
            raise ConfigError(f"Parser labels must be non-empty strings, got {label!r}.")
    get_arc_eager_moves(labels)  # raises on duplicates
    model.attrs["labels"] = labels
    model.attrs["closing_moves"] = True  # parsers saved before closing moves existed load without them
    model.initialize(X=X)
    return model


def _init(model: Model, X: Optional[List[Any]] = None, Y: Any = None) -> None:
    labels = list(model.attrs["labels"])
    if not labels:
        raise ConfigError("The parser model has no labels to initialize with: give initialize "
                          "examples with heads and dependency labels.")
    n_actions = get_arc_eager_moves(labels).n_actions
    nO = model.maybe_get_dim("nO")
    if nO is not None and nO != n_actions and not is_initialized(model):
        raise ConfigError(
            f"TransitionBasedParser: nO = {nO} in the config, but the {len(labels)} labels need "
            f"2 + 2 * {len(labels)} = {n_actions} actions. Remove nO from the config (it is inferred)."
        )
    tok2vec = model.get_ref("tok2vec")
    tok2vec.initialize(X=X) if X is not None else tok2vec.initialize()
    if not tok2vec.has_dim("nO"):
        raise ConfigError(f"The parser's tok2vec sub-model ({tok2vec.name!r}) has no output "
                          f"width 'nO' after initialization; set its width in the config.")
    hidden = model.attrs["hidden_width"] if model.attrs["use_upper"] else n_actions
    _reset(model.get_ref("lower"), {"nI": tok2vec.get_dim("nO"), "nO": hidden})
    if model.has_ref("upper"):
        _reset(model.get_ref("upper"), {"nI": hidden, "nO": n_actions})
    model.set_dim("nO", n_actions, force=True)


def _reset(layer: Model, dims: dict) -> None:
    for name in layer.param_names:
        layer.set_param(name, None)
    for name, value in dims.items():
        layer.set_dim(name, int(value), force=True)
    layer.initialize()


# -- the lower layer: gathered slot vectors -> maxout -----------------------------------


def _ParserLower(nF: int, nO: Optional[int], nP: int, nI: Optional[int]) -> Model:
    """Input (X (N, nI) token vectors, idx (M, nF) rows of X per slot, -1 = pad) -> (M, nO).

    Params: W (nF, nI, nO, nP), b (nO, nP), pad (nF, nO, nP).
    """
    return Model("parser_lower", _lower_forward, init=_lower_init,
                 dims={"nF": nF, "nO": nO, "nP": nP, "nI": nI},
                 params={"W": None, "b": None, "pad": None})


def _lower_init(model: Model, X: Any = None, Y: Any = None) -> None:
    nF, nO, nP, nI = (model.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
    W = glorot_uniform_init(model.ops, (nF * nI, nO * nP))
    model.set_param("W", model.ops.asarray(W).reshape((nF, nI, nO, nP)))
    model.set_param("b", model.ops.alloc2f(nO, nP))
    model.set_param("pad", model.ops.alloc3f(nF, nO, nP))


def _lower_forward(model: Model, inputs, is_train: bool):
    """Each token's projection for every slot (one GEMM over the N tokens), then per
    state the sum of its slots' rows: cheaper than a GEMM over the M > N states."""
    X, idx = inputs
    ops = model.ops
    W, b, pad = model.get_param("W"), model.get_param("b"), model.get_param("pad")
    nF, nI, nO, nP = W.shape
    nOP = nO * nP
    M, N = idx.shape[0], X.shape[0]
    Wr = W.transpose(1, 0, 2, 3).reshape((nI, nF * nOP))
    P = np.empty((N + 1, nF, nOP), dtype="float32")  # row N: the pads
    P[:N] = (X @ Wr).reshape((N, nF, nOP))
    P[N] = pad.reshape((nF, nOP))
    rows = (np.where(idx >= 0, idx, N) * nF + np.arange(nF)).reshape(-1)  # (M * nF,)
    Z = P.reshape(((N + 1) * nF, nOP))[rows].reshape((M, nF, nOP)).sum(axis=1)
    Z += b.reshape((1, nOP))
    H, which = ops.maxout(Z.reshape((M, nO, nP)))  # (M, nO)

    def backprop(dH: Floats2d) -> Floats2d:
        dZ = ops.backprop_maxout(dH, which, nP).reshape((M, nOP))
        model.inc_grad("b", dZ.sum(axis=0).reshape((nO, nP)))
        dP = ops.alloc2f((N + 1) * nF, nOP)
        ops.scatter_add(dP, np.ascontiguousarray(rows.astype("int32")),
                        np.ascontiguousarray(np.repeat(dZ, nF, axis=0)))
        dP = dP.reshape((N + 1, nF * nOP))
        model.inc_grad("pad", dP[N].reshape((nF, nO, nP)))
        dPx = dP[:N]
        model.inc_grad("W", (X.T @ dPx).reshape((nI, nF, nO, nP)).transpose(1, 0, 2, 3))
        return dPx @ Wr.T  # (N, nI)

    return H, backprop


def _Upper(nO: Optional[int], nI: int) -> Model:
    """Zero-initialised affine layer hidden -> action scores, (M, nI) -> (M, nO), with
    numpy matmuls (faster than ops.gemm at these shapes). Params W (nO, nI), b (nO,)."""
    return Model("parser_upper", _upper_forward, init=_upper_init, dims={"nO": nO, "nI": nI},
                 params={"W": None, "b": None})


def _upper_init(model: Model, X: Any = None, Y: Any = None) -> None:
    model.set_param("W", model.ops.alloc2f(model.get_dim("nO"), model.get_dim("nI")))
    model.set_param("b", model.ops.alloc1f(model.get_dim("nO")))


def _upper_forward(model: Model, H, is_train: bool):
    W, b = model.get_param("W"), model.get_param("b")
    S = H @ W.T + b

    def backprop(dS):
        model.inc_grad("W", dS.T @ H)
        model.inc_grad("b", dS.sum(axis=0))
        return dS @ W

    return S, backprop


# -- forward -------------------------------------------------------------------------


def _forward(model: Model, docs: List[Any], is_train: bool):
    if not is_initialized(model):
        raise ConfigError("The parser model is not initialized: call the component's "
                          "initialize (nlp.initialize()) before predicting or training.")
    tok2vec = model.get_ref("tok2vec")
    if is_train:
        Xs, backprop_tok2vec = tok2vec(docs, is_train=True)
        X, lengths = _flatten(model, docs, Xs)
        batch = ParserBatch(model, X, lengths)

        def backprop(d: "ParserGrad") -> List[Any]:
            dX = d.backprop_head()
            backprop_tok2vec(model.ops.xp.split(dX, np.cumsum(lengths)[:-1].tolist()))
            return []

        return batch, backprop
    if not docs:
        return ([], []), lambda d: []
    X, lengths = _flatten(model, docs, tok2vec.predict(docs))
    return greedy_parse(model, X, lengths), lambda d: []


def _flatten(model: Model, docs: List[Any], Xs: List[Floats2d]):
    width = model.get_ref("lower").get_dim("nI")
    for d, (doc, x) in enumerate(zip(docs, Xs)):
        if x.ndim != 2 or x.shape[0] != len(doc) or x.shape[1] != width:
            raise DataError(
                f"The parser's tok2vec returned shape {tuple(x.shape)} for doc {d} with "
                f"{len(doc)} tokens; expected ({len(doc)}, {width})."
            )
    lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
    if not len(docs):
        return np.zeros((0, width), dtype="float32"), lengths
    X = np.ascontiguousarray(model.ops.to_numpy(model.ops.xp.concatenate(Xs)), dtype="float32")
    return X, lengths


class ParserGrad:
    def __init__(self, d_scores, n_states: int, backprop_head):
        self.d_scores = d_scores  # (M, n_actions)
        self.n_states = n_states
        self.backprop_head = backprop_head  # () -> dX (N, width)


class ParserBatch:
    """A training batch's token vectors, waiting for the gold parses."""

    def __init__(self, model: Model, X: Floats2d, lengths: np.ndarray):
        self.model, self.X, self.lengths = model, X, lengths

    def get_loss(self, golds: Sequence[ParseGold], normalize: bool = False, explore: float = 0.0):
        """Softmax cross-entropy of the dynamic oracle's zero-cost actions (-log of their
        summed probability) over the valid actions of the states walked.

        explore: the probability, per state, of following the model's best action rather
        than the best-scoring zero-cost one. Returns the summed loss and the gradient (of
        the mean over states if `normalize`).
        """
        model, ops = self.model, self.model.ops
        moves = get_parser_moves(model)
        if len(golds) != len(self.lengths):
            raise DataError(f"Got {len(golds)} gold parses for a batch of {len(self.lengths)} docs.")
        heads = [np.asarray(h, dtype=np.int64) for h, _ in golds]
        labels = [np.asarray(lab, dtype=np.int64) for _, lab in golds]
        for d, (h, lab, n) in enumerate(zip(heads, labels, self.lengths.tolist())):
            if len(h) != n or len(lab) != n:
                raise DataError(f"Doc {d} has {n} tokens but its gold parse has {len(h)} heads.")
            arcs = h >= 0
            if arcs.any() and (lab[arcs].min() < 0 or lab[arcs].max() >= len(moves.labels)):
                raise DataError(f"Doc {d}: gold label ids must lie in [0, {len(moves.labels)}).")
        check_buildable(self.lengths, heads)
        feats, codes, gold = self._walk(heads, labels, explore)
        width = self.X.shape[1]
        if not len(codes):
            return 0.0, ParserGrad(ops.alloc2f(0, moves.n_actions), 0,
                                   lambda: ops.alloc2f(len(self.X), width))
        H, backprop_lower = model.get_ref("lower")((self.X, feats), is_train=True)
        if model.has_ref("upper"):
            S, backprop_upper = model.get_ref("upper")(H, is_train=True)
        else:
            S, backprop_upper = H, None
        loss, d_scores = zero_cost_loss(S, moves.valid_table[codes], gold)
        n = len(codes)
        if normalize:
            d_scores /= n

        def backprop_head():
            dH = backprop_upper(d_scores) if backprop_upper is not None else d_scores
            return backprop_lower(dH)

        return loss, ParserGrad(d_scores, n, backprop_head)

    def _walk(self, heads: List[np.ndarray], labels: List[np.ndarray], explore: float):
        """The dynamic oracle's walk over the batch (arc_eager_kernels.explore_walk), scored
        with the current weights: feats (M, nF), codes (M,), gold (M, nA), states in step order."""
        from .arc_eager_kernels import explore_walk

        model = self.model
        moves = get_parser_moves(model)
        t = _kernel_tables(model)
        N = len(self.X)
        P = np.empty((N + 1, t.nF * t.nOP), dtype="float32")
        matmul(self.X, t.Wr, out=P[:N], bf16=False)
        P[N] = t.pad
        follow = np.random.random_sample(3 * N) < explore
        feats, codes, gold, _, steps = explore_walk(
            P.reshape((N + 1, t.nF, t.nOP)), t.bias, t.W2c, t.b2c, t.nP, self.lengths,
            slot_ids(model.attrs["feature_slots"]), t.valid_cols, t.n_valid, moves.kind, moves.label,
            model.attrs["closing_moves"], np.concatenate(heads), np.concatenate(labels), follow)
        order = np.argsort(steps, kind="stable")
        return feats[order], codes[order], gold[order]


def zero_cost_loss(S: np.ndarray, valid: np.ndarray, gold: np.ndarray):
    """-log of the summed probability of the gold actions, under a softmax over the valid ones.

    S (M, nA) scores, valid and gold (M, nA) bool (gold within valid, one or more per row).
    Returns (summed loss, d loss / d S (M, nA) float32).
    """
    masked = np.where(valid, S, -np.inf)
    E = np.exp(masked - masked.max(axis=1, keepdims=True))  # invalid -> 0
    Z = E.sum(axis=1, keepdims=True)
    G = np.where(gold, E, 0.0).sum(axis=1, keepdims=True)  # (M, 1)
    loss = float(np.log(Z / G).sum())
    d = (E / Z - np.where(gold, E / G, 0.0)).astype("float32")
    return loss, d


# Tokens per decode chunk: its projections P (chunk, nF, nOP), 2 MB at the default sizes, stay in the L2/L3 cache.
CHUNK_TOKENS = 512


class _KernelTables(NamedTuple):
    Wr: np.ndarray  # (nI, nF * nOP) the lower layer, pieces first
    bias: np.ndarray  # (nOP,)
    pad: np.ndarray  # (nF * nOP,)
    W2c: np.ndarray  # (3, nA, nH) per validity code, its valid actions' upper rows first
    b2c: np.ndarray  # (3, nA)
    valid_cols: np.ndarray  # (3, nA) per validity code, its valid action ids, ascending, first
    n_valid: np.ndarray  # (3,)
    nF: int
    nOP: int
    nP: int


def _kernel_tables(model: Model) -> _KernelTables:
    """The weights in the layout of the compiled kernels (float32 numpy)."""
    moves = get_parser_moves(model)
    lower = model.get_ref("lower")
    W, b, pad = (np.asarray(model.ops.to_numpy(lower.get_param(n)), dtype="float32") for n in ("W", "b", "pad"))
    nF, nI, nO, nP = W.shape
    nOP = nO * nP
    # pieces first, (.., nP, nO): the kernel's maxout then reads contiguous runs
    Wr = np.ascontiguousarray(W.transpose(1, 0, 3, 2).reshape((nI, nF * nOP)))
    bias = np.ascontiguousarray(b.T.reshape(nOP))
    pad = np.ascontiguousarray(pad.transpose(0, 2, 1).reshape(nF * nOP))
    nA = moves.n_actions
    n_valid = moves.valid_table.sum(axis=1).astype(np.int64)  # (3,)
    valid_cols = np.zeros((3, nA), dtype=np.int64)
    for c in range(3):
        valid_cols[c, :n_valid[c]] = np.flatnonzero(moves.valid_table[c])
    if model.has_ref("upper"):
        upper = model.get_ref("upper")
        W2 = np.asarray(model.ops.to_numpy(upper.get_param("W")), dtype="float32")  # (nA, nO)
        b2 = np.asarray(model.ops.to_numpy(upper.get_param("b")), dtype="float32")
        W2c, b2c = np.zeros((3, nA, nO), "float32"), np.zeros((3, nA), "float32")
        for c in range(3):
            W2c[c, :n_valid[c]] = W2[valid_cols[c, :n_valid[c]]]
            b2c[c, :n_valid[c]] = b2[valid_cols[c, :n_valid[c]]]
    else:
        W2c, b2c = np.zeros((3, 0, 0), "float32"), np.zeros((3, 0), "float32")
    return _KernelTables(Wr, bias, pad, W2c, b2c, valid_cols, n_valid, nF, nOP, nP)


def greedy_parse(model: Model, X: Floats2d, lengths: np.ndarray):
    """Greedy arc-eager decode of all docs: per doc (local heads, label ids), -1 for roots.

    Per chunk of docs, one GEMM gives every token's lower-layer projection for every
    slot, (n + 1, nF, nOP) with the pads last, in a reused buffer; the compiled
    kernel then walks each doc's transitions. With a thread plan of k > 1 threads,
    k workers take the chunks as they free up, the pools at one thread meanwhile
    (`threads.worker_threads`).
    """
    from .arc_eager_kernels import decode_chunk

    if not len(lengths):
        return [], []
    moves = get_parser_moves(model)
    t = _kernel_tables(model)
    slots = slot_ids(model.attrs["feature_slots"])
    bf16 = model.attrs["mixed_precision"]
    closing = model.attrs["closing_moves"]
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    heads = np.empty(int(ends[-1]), dtype=np.int64)
    labels = np.empty(len(heads), dtype=np.int32)
    # chunks: whole docs, up to CHUNK_TOKENS tokens (or one longer doc)
    bounds = [0]
    while bounds[-1] < len(lengths):
        d0 = bounds[-1]
        bounds.append(max(d0 + 1, int(np.searchsorted(ends, starts[d0] + CHUNK_TOKENS, side="right"))))
    chunks = list(zip(bounds, bounds[1:]))
    size = max(int(ends[d1 - 1] - starts[d0]) for d0, d1 in chunks)
    next_chunk = itertools.count()  # the chunks are dealt out as workers free up

    def work() -> None:
        buf = np.empty((size + 1) * t.nF * t.nOP, dtype="float32")  # this worker's, reused by its chunks
        while (c := next(next_chunk)) < len(chunks):
            d0, d1 = chunks[c]
            t0, t1 = int(starts[d0]), int(ends[d1 - 1])
            P = buf[:(t1 - t0 + 1) * t.nF * t.nOP].reshape((t1 - t0 + 1, t.nF * t.nOP))
            matmul(X[t0:t1], t.Wr, out=P[:t1 - t0], bf16=bf16)
            P[t1 - t0] = t.pad
            decode_chunk(P.reshape((t1 - t0 + 1, t.nF, t.nOP)), t.bias, t.W2c, t.b2c, t.nP, starts[d0:d1] - t0,
                         lengths[d0:d1], slots, t.valid_cols, t.n_valid, moves.kind, moves.label,
                         closing, heads[t0:t1], labels[t0:t1])

    if len(chunks) == 1:  # one chunk: its product may use every thread of the plan
        work()
    else:
        with worker_threads() as k:
            n_helpers = min(k, len(chunks)) - 1  # this thread is a worker too
            with ThreadPoolExecutor(max(1, n_helpers)) as pool:
                helpers = [pool.submit(work) for _ in range(n_helpers)]
                work()  # each worker does the product and the (GIL-free) decode of its chunks
                for helper in helpers:
                    helper.result()  # re-raises a worker's error
    cuts = ends[:-1].tolist()
    return np.split(heads, cuts), np.split(labels, cuts)
