"""Transition-based named-entity recognizer: a greedy BILUO tagger over states.

`TransitionBasedParser(tok2vec, ...)` returns a `Model[List[Doc], ...]` with refs
`tok2vec`, `lower` and (if `use_upper`) `upper`:

- `model.predict(docs) -> List[List[(start, end, label)]]`: greedy decoding, one
  loop over time steps, each step numpy ops over all still-active docs.
- `batch, backprop = model.begin_update(docs)`; `loss, d = batch.get_loss(golds)`;
  `backprop(d)`: teacher-forced training with a static oracle. The gold state
  before every token follows from the gold BILUO tags, so features, scores and
  the loss of the whole batch are computed at once, with no step loop.

The state of a doc before token i is (open entity label, first token of the open
entity E0). Its features are token vectors at the slots `FEATURE_SLOTS[:n]`:
the current token B0, E0, the previous token B-1, then B+1, B-2, B+2; a slot
that points outside the doc (or E0 with nothing open) uses a learned padding
vector instead.

The lower layer projects each slot's token vector to (hidden, pieces), sums the
slots, adds a bias and takes the maxout; the optional upper layer (a zero
initialised Linear) maps hidden -> actions. Without the upper layer the lower
layer outputs the action scores directly. Position slots (B0, B-1, ...) do not
depend on decisions, so at inference they are projected for all tokens with one
GEMM; only the E0 slot is updated step by step.
"""
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
from thinc.api import Linear, Model, NumpyOps, glorot_uniform_init, zero_init
from thinc.types import Floats2d

from ..errors import ConfigError, ShapeError
from ..settings import PositiveInt, checked
from ..text.doc import Doc
from .arc_eager import N_DEFAULT_SLOTS, PARSER_SLOTS
from .dep_parser import DependencyParser
from .low_precision import matmul
from .ner_moves import BiluoMoves, Gold, get_moves

FEATURE_SLOTS = ("B0", "E0", "B-1", "B+1", "B-2", "B+2")
SLOT_SHIFT = {"B0": 0, "B-1": -1, "B+1": 1, "B-2": -2, "B+2": 2}  # E0 is not a shift


@checked
def TransitionBasedParser(
    tok2vec: Model[List[Doc], List[Floats2d]],
    state_type: str = "ner",
    extra_state_tokens: bool = False,
    hidden_width: PositiveInt = 64,
    maxout_pieces: PositiveInt = 2,
    use_upper: bool = True,
    nO: Optional[PositiveInt] = None,
    nr_feature_tokens: Optional[PositiveInt] = None,
) -> Model[List[Doc], Any]:
    """Greedy transition-based NER (`state_type = "ner"`) or dependency parser
    (`state_type = "parser"`, see `dep_parser.py`) over token vectors from `tok2vec`.

    nr_feature_tokens: how many of the state's feature slots are used (default:
        3 for the NER, 8 for the parser). NER slots: FEATURE_SLOTS = (B0, E0, B-1,
        B+1, B-2, B+2); parser slots: arc_eager.PARSER_SLOTS. For both,
        `extra_state_tokens = true` adds the next two.
    hidden_width: width of the lower layer's output (ignored when `use_upper`
        is false: the lower layer then outputs one score per action).
    nO: number of actions, 1 + 4 * n_labels; inferred from the labels at
        initialize (give it only to check it).
    """
    return TransitionBasedParserV2(tok2vec, state_type, extra_state_tokens, hidden_width,
                                   maxout_pieces, use_upper, nO, nr_feature_tokens)


@checked
def TransitionBasedParserV2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    state_type: str = "ner",
    extra_state_tokens: bool = False,
    hidden_width: PositiveInt = 64,
    maxout_pieces: PositiveInt = 2,
    use_upper: bool = True,
    nO: Optional[PositiveInt] = None,
    nr_feature_tokens: Optional[PositiveInt] = None,
    mixed_precision: bool = False,
) -> Model[List[Doc], Any]:
    """`workbench.TransitionBasedParser.v2`: v1's settings plus `mixed_precision`: at
    inference, the lower layer's projection of the tokens runs in bfloat16 where the CPU
    has native bfloat16 products (`low_precision.py`); training and saved weights stay
    float32. (A new version, so that complete v1 configs stay complete.)
    """
    if state_type not in ("ner", "parser"):
        raise ConfigError(
            f"TransitionBasedParser: state_type = {state_type!r} is not supported: set "
            f'state_type = "ner" (entity recognizer) or "parser" (dependency parser).'
        )
    all_slots = FEATURE_SLOTS if state_type == "ner" else PARSER_SLOTS
    if nr_feature_tokens is None:
        nr_feature_tokens = 3 if state_type == "ner" else N_DEFAULT_SLOTS
    n_slots = int(nr_feature_tokens) + (2 if extra_state_tokens else 0)
    if not 1 <= n_slots <= len(all_slots):
        raise ConfigError(
            f"TransitionBasedParser: nr_feature_tokens = {nr_feature_tokens} "
            f"(extra_state_tokens = {extra_state_tokens}) gives {n_slots} feature slots; "
            f"it must give 1 to {len(all_slots)}, taken in the order {all_slots}."
        )
    if not isinstance(tok2vec, Model):
        raise ConfigError(
            f"TransitionBasedParser: the tok2vec argument must be a thinc Model "
            f"(List[Doc] -> List[Floats2d]), got {type(tok2vec).__name__}."
        )
    slots = all_slots[:n_slots]
    if state_type == "parser":
        return DependencyParser(tok2vec, slots, hidden_width, maxout_pieces, use_upper, nO, mixed_precision)
    width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    lower = _NERLower(
        slots, nO=int(hidden_width) if use_upper else None, nP=int(maxout_pieces), nI=width
    )
    layers = [tok2vec, lower]
    refs = {"tok2vec": tok2vec, "lower": lower}
    if use_upper:
        upper = Linear(nO=nO, nI=int(hidden_width), init_W=zero_init)
        layers.append(upper)
        refs["upper"] = upper
    return Model(
        "ner_parser",
        _forward,
        init=_init,
        layers=layers,
        refs=refs,
        dims={"nO": nO},
        attrs={
            "labels": [],
            "state_type": "ner",
            "feature_slots": list(slots),
            "use_upper": bool(use_upper),
            "hidden_width": int(hidden_width),
            "mixed_precision": bool(mixed_precision),
        },
    )


# -- labels and initialization ---------------------------------------------------


def get_labels(model: Model) -> Tuple[str, ...]:
    return tuple(model.attrs["labels"])


def get_ner_moves(model: Model) -> BiluoMoves:
    """The BILUO action tables of the model's labels."""
    return get_moves(model.attrs["labels"])


def is_initialized(model: Model) -> bool:
    return bool(model.get_ref("lower").has_param("W"))


def add_label(model: Model, label: str) -> bool:
    """Add an entity label before initialize. Returns False if it was already there."""
    if not isinstance(label, str) or not label:
        raise ConfigError(f"NER labels must be non-empty strings, got {label!r}.")
    labels = list(model.attrs["labels"])
    if label in labels:
        return False
    _check_not_initialized(model, f"add label {label!r}")
    model.attrs["labels"] = labels + [label]
    return True


def set_labels(model: Model, labels: Sequence[str]) -> None:
    """Replace the label set (before initialize, or through `initialize_ner`)."""
    if list(labels) != list(model.attrs["labels"]):
        _check_not_initialized(model, f"set the labels to {list(labels)}")
    _set_labels(model, labels)


def _set_labels(model: Model, labels: Sequence[str]) -> None:
    labels = list(labels)
    for label in labels:
        if not isinstance(label, str) or not label:
            raise ConfigError(f"NER labels must be non-empty strings, got {label!r}.")
    get_moves(labels)  # raises on duplicates
    model.attrs["labels"] = labels


def initialize_ner(
    model: Model, labels: Optional[Sequence[str]] = None, X: Optional[List[Any]] = None
) -> Model:
    """(Re)initialize: set `labels` (if given), then fresh weights for the NER head.

    X: a sample of docs, passed on to the tok2vec sub-model's initialize.
    """
    if labels is not None:
        # initialize gives the head fresh weights, so any label set may be given here
        _set_labels(model, labels)
    model.initialize(X=X)
    return model


def _check_not_initialized(model: Model, what: str) -> None:
    if is_initialized(model):
        raise ConfigError(
            f"Cannot {what}: the NER model is already initialized with labels "
            f"{list(model.attrs['labels'])} and its output layer is sized for them. Add "
            f"labels before initializing (nlp.initialize()), or re-initialize the "
            f"component, which resets the NER weights."
        )


def _init(model: Model, X: Optional[List[Any]] = None, Y: Any = None) -> None:
    labels = list(model.attrs["labels"])
    if not labels:
        raise ConfigError(
            "The NER model has no labels to initialize with. Add them with the "
            "component's add_label(...) or give initialize examples that contain entities."
        )
    moves = get_moves(labels)
    n_actions = moves.n_actions
    nO = model.maybe_get_dim("nO")
    if nO is not None and nO != n_actions and not is_initialized(model):
        raise ConfigError(
            f"TransitionBasedParser: nO = {nO} in the config, but the {len(labels)} labels "
            f"{labels} need 1 + 4 * {len(labels)} = {n_actions} actions. Remove nO from "
            f"the config (it is inferred) or fix it."
        )
    tok2vec = model.get_ref("tok2vec")
    if X is not None:
        tok2vec.initialize(X=X)
    else:
        tok2vec.initialize()
    if not tok2vec.has_dim("nO"):
        raise ConfigError(
            f"The NER model's tok2vec sub-model ({tok2vec.name!r}) has no output width "
            f"'nO' after initialization; set its width in the config."
        )
    width = tok2vec.get_dim("nO")
    lower = model.get_ref("lower")
    hidden = model.attrs["hidden_width"] if model.attrs["use_upper"] else n_actions
    _reset_dims(lower, {"nI": width, "nO": hidden})
    lower.initialize()
    if model.has_ref("upper"):
        upper = model.get_ref("upper")
        _reset_dims(upper, {"nI": hidden, "nO": n_actions})
        upper.initialize()
    model.set_dim("nO", n_actions, force=True)


def _reset_dims(layer: Model, dims: dict) -> None:
    """Drop a layer's weights and set its dims, so initialize can resize it."""
    for name in layer.param_names:
        layer.set_param(name, None)
    for name, value in dims.items():
        layer.set_dim(name, int(value), force=True)


# -- the lower (precomputable) layer ------------------------------------------------


def _NERLower(
    slots: Sequence[str], nO: Optional[int], nP: int, nI: Optional[int]
) -> Model:
    """Sum of per-slot projections + bias, then maxout.

    Input: (X (N, nI) token vectors, idx (N, nF) int64 rows of X per slot, -1 = pad),
    with idx as made by `feature_index` (position slots read row i + shift).
    Output: (N, nO). Params: W (nF, nI, nO, nP), b (nO, nP), pad (nF, nO, nP).
    """
    e_slots = [f for f, name in enumerate(slots) if name == "E0"]
    shifts = [SLOT_SHIFT.get(name, 0) for name in slots]
    nF = len(slots)
    return Model(
        "ner_lower",
        _lower_forward,
        init=_lower_init,
        dims={"nF": nF, "nO": nO, "nP": nP, "nI": nI},
        params={"W": None, "b": None, "pad": None},
        attrs={"e_slots": e_slots, "shifts": shifts},
    )


def _lower_init(model: Model, X: Any = None, Y: Any = None) -> None:
    nF, nO, nP, nI = (model.get_dim(d) for d in ("nF", "nO", "nP", "nI"))
    W = glorot_uniform_init(model.ops, (nF * nI, nO * nP))
    model.set_param("W", model.ops.asarray(W).reshape((nF, nI, nO, nP)))
    model.set_param("b", model.ops.alloc2f(nO, nP))
    model.set_param("pad", model.ops.alloc3f(nF, nO, nP))


def _project(ops, X, idx, W, pad, slots: List[int], bf16: bool = False):
    """Sum over `slots` of the projected token (or pad) vectors -> (N, nO * nP).

    Returns also the gathered inputs and pad mask that backprop needs. `bf16`: the
    product in bfloat16 (inference only, see `low_precision.matmul`).
    """
    N, nI = X.shape
    k = len(slots)
    nOP = W.shape[2] * W.shape[3]
    Xe = ops.xp.concatenate([X, ops.alloc2f(1, nI)])  # last row: zeros, for idx -1
    sel = idx[:, slots]  # (N, k)
    G = Xe[sel].reshape((N, k * nI))  # (N, k * nI)
    Wk = W[slots].reshape((k * nI, nOP))
    Z = matmul(G, Wk, bf16=bf16)  # (N, nO * nP); numpy BLAS beats ops.gemm here
    is_pad = (sel < 0).astype("float32")  # (N, k)
    Z += is_pad @ pad[slots].reshape((k, nOP))
    return Z, G, Wk, is_pad


def _lower_forward(model: Model, inputs, is_train: bool):
    X, idx = inputs  # (N, nI), (N, nF)
    ops = model.ops
    W, b, pad = model.get_param("W"), model.get_param("b"), model.get_param("pad")
    nF, nI, nO, nP = W.shape
    N = X.shape[0]
    slots = list(range(nF))
    Z, G, Wk, is_pad = _project(ops, X, idx, W, pad, slots)
    Z += b.reshape((1, nO * nP))
    H, which = ops.maxout(Z.reshape((N, nO, nP)))  # (N, nO)
    e_slots = model.attrs["e_slots"]
    shifts = model.attrs["shifts"]  # row offset read by each position slot

    def backprop(dH: Floats2d) -> Floats2d:
        dZ = ops.backprop_maxout(dH, which, nP).reshape((N, nO * nP))
        model.inc_grad("b", dZ.sum(axis=0).reshape((nO, nP)))
        # numpy's BLAS matmul is several times faster than ops.gemm at these shapes
        model.inc_grad("pad", (is_pad.T @ dZ).reshape((nF, nO, nP)))
        model.inc_grad("W", (G.T @ dZ).reshape((nF, nI, nO, nP)))
        dG = (dZ @ Wk.T).reshape((N, nF, nI))
        dX = ops.alloc2f(N, nI)
        for f in slots:
            col = idx[:, f]
            if f in e_slots:  # many tokens point at the same entity start
                rows = ops.xp.nonzero(col >= 0)[0]
                if len(rows):
                    ops.scatter_add(
                        dX,
                        ops.xp.ascontiguousarray(col[rows].astype("int32")),
                        ops.xp.ascontiguousarray(dG[rows, f]),
                    )
                continue
            # A shift slot: token i reads row i + s (or the pad), so its gradient is
            # a shifted slice; rows that read the pad carry nothing back.
            s = shifts[f]
            dGf = dG[:, f]
            dGf[col < 0] = 0
            if s == 0:
                dX += dGf
            elif s < 0:
                dX[: N + s] += dGf[-s:]
            else:
                dX[s:] += dGf[: N - s]
        return dX

    return H, backprop


# -- state features -------------------------------------------------------------


def feature_index(
    lengths: np.ndarray, slots: Sequence[str], e0: Optional[np.ndarray] = None
) -> np.ndarray:
    """(N, n_slots) int64: the global token row each slot reads per token, -1 = pad.

    e0: (N,) global row of the open entity's first token (-1: none); None means
    nothing is open anywhere (the E0 column is then all -1).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    N = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    doc_of = np.repeat(np.arange(len(lengths)), lengths)
    rows = np.arange(N, dtype=np.int64)
    pos = rows - starts[doc_of]  # (N,) position in doc
    n = lengths[doc_of]
    out = np.empty((N, len(slots)), dtype=np.int64)
    for f, name in enumerate(slots):
        if name == "E0":
            out[:, f] = -1 if e0 is None else e0
        else:
            shift = SLOT_SHIFT[name]
            out[:, f] = np.where((pos + shift >= 0) & (pos + shift < n), rows + shift, -1)
    return out


# -- forward: predict (decode) and train (static oracle) ------------------------------


def _forward(model: Model, docs: List[Any], is_train: bool):
    if not is_initialized(model):
        raise ConfigError(
            "The NER model is not initialized: call the component's initialize "
            "(nlp.initialize()) before predicting or training."
        )
    tok2vec = model.get_ref("tok2vec")
    if is_train:
        if len(docs) == 0:
            return NERBatch(model, model.ops.alloc2f(0, _width(model)), np.zeros(0, "int64")), _noop
        Xs, backprop_tok2vec = tok2vec(docs, is_train=True)
        X, lengths = _flatten(model, docs, Xs)
        batch = NERBatch(model, X, lengths)

        def backprop(d: "NERGrad") -> List[Any]:
            dX = d.backprop_head()  # (N, width)
            bounds = np.cumsum(lengths)[:-1].tolist()
            backprop_tok2vec(model.ops.xp.split(dX, bounds))
            return []

        return batch, backprop
    if len(docs) == 0:
        return [], _noop
    X, lengths = _flatten(model, docs, tok2vec.predict(docs))
    actions = greedy_decode(model, X, lengths)
    return get_ner_moves(model).actions_to_entities(actions, lengths), _noop


def _noop(d: Any) -> List[Any]:
    return []


def _width(model: Model) -> int:
    return model.get_ref("lower").get_dim("nI")


def _flatten(model: Model, docs: List[Any], Xs: List[Floats2d]):
    """Token vectors per doc -> (N, width) and lengths, checking their shapes."""
    width = _width(model)
    if len(Xs) != len(docs):
        raise ShapeError(
            f"The NER model's tok2vec returned {len(Xs)} arrays for {len(docs)} docs; "
            f"it must return one (n_tokens, width) array per doc."
        )
    for d, (doc, x) in enumerate(zip(docs, Xs)):
        if x.ndim != 2 or x.shape[0] != len(doc) or x.shape[1] != width:
            raise ShapeError(
                f"The NER model's tok2vec returned shape {tuple(x.shape)} for doc {d} "
                f"with {len(doc)} tokens; expected ({len(doc)}, {width}). Check that the "
                f"tok2vec width (its nO) matches what the NER model was initialized with."
            )
    lengths = np.array([x.shape[0] for x in Xs], dtype=np.int64)
    X = model.ops.xp.concatenate(Xs).astype("float32", copy=False)
    return model.ops.xp.ascontiguousarray(X), lengths


class NERGrad:
    """What `NERBatch.get_loss` hands to the model's backprop."""

    def __init__(self, d_scores, n_known: int, backprop_head: Callable[[], Floats2d]):
        self.d_scores = d_scores  # (N, n_actions)
        self.n_known = n_known  # tokens with a gold action
        self.backprop_head = backprop_head  # () -> dX (N, width); adds the head's grads


class NERBatch:
    """A training batch's token vectors, waiting for its gold annotation."""

    def __init__(self, model: Model, X: Floats2d, lengths: np.ndarray):
        self.model = model
        self.X = X  # (N, width), all docs' tokens concatenated
        self.lengths = lengths  # (n_docs,)
        # Set by get_loss: (N, n_actions) scores and validity of the gold states.
        self.scores: Optional[Floats2d] = None
        self.valid = None
        self.gold_actions: Optional[np.ndarray] = None

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())

    def get_loss(self, golds: Sequence[Gold], normalize: bool = True) -> Tuple[float, NERGrad]:
        """Softmax cross-entropy over the valid actions of every gold state.

        golds: per doc, BILUO tags (None / "-" / "" = unknown: no loss) or an
            int array of action ids (-1 = unknown), see `BiluoMoves.spans_to_actions`.
        Returns the summed loss over known tokens and the gradient for backprop;
        the gradient is of the mean over known tokens if `normalize`, else of the sum.
        """
        model, ops = self.model, self.model.ops
        moves = get_ner_moves(model)
        actions = moves.golds_to_actions(golds, self.lengths)
        N, width = self.X.shape
        if N == 0:
            d_scores = ops.alloc2f(0, moves.n_actions)
            return 0.0, NERGrad(d_scores, 0, lambda: ops.alloc2f(0, width))
        open_label, e0, is_last = moves.gold_states(actions, self.lengths)
        idx = ops.asarray(feature_index(self.lengths, model.attrs["feature_slots"], e0))
        H, backprop_lower = model.get_ref("lower")((self.X, idx), is_train=True)
        if model.has_ref("upper"):
            S, backprop_upper = model.get_ref("upper")(H, is_train=True)
        else:
            S, backprop_upper = H, None
        valid = ops.asarray(moves.valid_table[moves.state_code(open_label, is_last)])
        self.scores, self.valid, self.gold_actions = S, valid, actions  # for inspection
        loss, d_scores, n_known = masked_softmax_loss(ops, S, valid, actions)
        if normalize and n_known:
            d_scores /= n_known

        def backprop_head() -> Floats2d:
            dH = backprop_upper(d_scores) if backprop_upper is not None else d_scores
            return backprop_lower(dH)

        return loss, NERGrad(d_scores, n_known, backprop_head)


def masked_softmax_loss(ops, S: Floats2d, valid, actions: np.ndarray):
    """Cross-entropy of the gold actions under a softmax over valid actions only.

    S: (N, A) scores, valid: (N, A) bool, actions: (N,) gold ids, -1 = no loss.
    Returns (summed loss, d_loss/d_S of the sum, n_known).
    """
    xp = ops.xp
    N = S.shape[0]
    gold = ops.asarray(actions.astype("int64"))
    known = gold >= 0
    safe = xp.where(known, gold, 0)
    rows = xp.arange(N)
    if bool((known & ~valid[rows, safe]).any()):
        i = int(xp.nonzero(known & ~valid[rows, safe])[0][0])
        raise ShapeError(f"Gold action at token row {i} is not valid in its gold state.")
    masked = xp.where(valid, S, -xp.inf)
    m = masked.max(axis=1, keepdims=True)  # (N, 1)
    E = xp.exp(masked - m)  # invalid -> 0
    Z = E.sum(axis=1, keepdims=True)
    P = (E / Z).astype("float32")
    log_p_gold = S[rows, safe] - m[:, 0] - xp.log(Z[:, 0])
    loss = float(-(log_p_gold * known).sum())
    P[rows, safe] -= 1.0
    P *= known[:, None]
    return loss, P, int(known.sum())


def greedy_decode(model: Model, X: Floats2d, lengths: np.ndarray) -> np.ndarray:
    """Greedy action sequences for all docs: (N,) int32 action ids.

    X: (N, width) token vectors of all docs concatenated; lengths: (n_docs,).
    Steps t = 0..max_len-1; each step scores the states of all docs longer than
    t at once (docs sorted by length, so the active docs are a prefix, and the
    docs at their last token the end of it). The position slots do not depend on
    a decision: their sum is computed before the loop, for all tokens in one
    product; the E0 slot's term is projected when an entity opens.
    The lower layer's columns are taken pieces first, so its maxout is nP - 1
    elementwise maxima of contiguous column blocks.
    """
    moves = get_ner_moves(model)
    lower = model.get_ref("lower")
    to_np = model.ops.to_numpy
    X = np.ascontiguousarray(to_np(X), dtype=np.float32)
    W, b, pad = (np.asarray(to_np(lower.get_param(n))) for n in ("W", "b", "pad"))
    nF, nI, nO, nP = W.shape
    nOP = nO * nP
    W = W.transpose(0, 1, 3, 2)  # (nF, nI, nP, nO): pieces first
    pad = pad.transpose(0, 2, 1)  # (nF, nP, nO)
    slots = list(model.attrs["feature_slots"])
    lengths = np.asarray(lengths, dtype=np.int64)
    N, D = int(lengths.sum()), len(lengths)
    actions = np.zeros(N, dtype=np.int32)
    if N == 0:
        return actions
    e_slot = slots.index("E0") if "E0" in slots else None
    idx = feature_index(lengths, slots)
    static = [f for f in range(nF) if f != e_slot]
    bf16 = model.attrs["mixed_precision"]
    Zs = _project(NumpyOps(), X, idx, W, pad, static, bf16)[0]  # (N, nP * nO): the position slots, one product
    Zs += b.T.reshape((1, nOP))
    if e_slot is not None:  # the E0 term of each doc's state: its open entity's first token, or the pad
        W_E = np.ascontiguousarray(W[e_slot].reshape((nI, nOP)))
        pad_E = pad[e_slot].reshape((nOP,))
        ent = np.tile(pad_E, (D, 1))  # (D, nP * nO)
    upper = model.get_ref("upper") if model.has_ref("upper") else None
    n_actions = moves.n_actions
    if upper is not None:
        W2T = np.ascontiguousarray(to_np(upper.get_param("W")).T)  # (nO, n_actions)
        b2 = to_np(upper.get_param("b")).reshape((1, n_actions))
    else:
        b2 = np.zeros((1, n_actions), dtype=np.float32)
    # Per state code: 0 for a valid action, -inf for an invalid one, plus the upper bias.
    allowed = np.where(moves.valid_table, np.float32(0.0), np.float32(-np.inf)) + b2  # (n_codes, n_actions)
    code_after = ((moves.next_open.astype(np.int64) + 1) * 2)  # (n_actions,) state code after each action, not last
    opens, closes = moves.opens, moves.next_open < 0  # B opens an entity; after O, L and U none is open
    starts = np.cumsum(lengths) - lengths
    order = np.argsort(-lengths, kind="stable")
    s_starts = starts[order]
    T = int(lengths.max())
    n_active = D - np.cumsum(np.bincount(lengths, minlength=T + 1))  # docs longer than t
    code = np.zeros(D, dtype=np.int64)  # (open label + 1) * 2 per doc; + 1 at its last token
    for t in range(T):
        n, n_next = int(n_active[t]), int(n_active[t + 1])
        rows = s_starts[:n] + t  # (n,) current token of each active doc
        Z = Zs[rows]  # (n, nP * nO)
        if e_slot is not None:
            Z += ent[:n]
        H = Z[:, :nO]  # (n, nO): the max over the nP pieces
        if nP > 1:
            H = np.maximum(H, Z[:, nO:2 * nO])
            for p in range(2, nP):
                np.maximum(H, Z[:, p * nO:(p + 1) * nO], out=H)
        S = H @ W2T if upper is not None else np.array(H)  # (n, n_actions)
        state = code[:n]
        state[n_next:] += 1  # docs at their last token
        S += allowed[state]
        a = S.argmax(axis=1)
        actions[rows] = a
        if e_slot is not None:
            started = opens[a]
            closed = closes[a] & (state >= 2)  # an entity was open and is no longer
            if started.any():
                ent[:n][started] = X[rows[started]] @ W_E
            if closed.any():
                ent[:n][closed] = pad_E
        code[:n] = code_after[a]
    return actions


def update_ner(model: Model, docs: List[Any], golds: Sequence[Gold], normalize: bool = True) -> float:
    """Forward + loss + backward for one batch (the optimizer step is the caller's)."""
    batch, backprop = model.begin_update(docs)
    loss, d = batch.get_loss(golds, normalize=normalize)
    backprop(d)
    return loss
