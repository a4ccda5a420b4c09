"""The compiled arc-eager kernels against a numpy reference of the same state machine.

`RefStates` below is the batch-vectorised numpy decoder and static oracle the
parser used before its kernels were compiled (`ref_decode` adds the closing moves,
one doc at a time): greedy decoding and the oracle must give exactly what it gives,
on the same weights.
"""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from thinc.api import Linear, NumpyOps
from threadpoolctl import threadpool_info, threadpool_limits

from tests.models.test_arc_eager import LABELS, assert_forest, random_projective
from workbench import threads
from workbench.models import arc_eager_kernels, dep_parser
from workbench.models.arc_eager import LEFT, PARSER_SLOTS, REDUCE, RIGHT, get_arc_eager_moves, oracle_states
from workbench.models.dep_parser import DependencyParser, greedy_parse

ROOT = Path(__file__).resolve().parents[2]


class RefStates:
    """Numpy states of a batch: (n_docs, max_len + 1) arrays, column max_len reads -1."""

    def __init__(self, lengths):
        self.n = np.asarray(lengths, dtype=np.int64)
        D, T = len(self.n), int(self.n.max())
        self.T = T
        self.offset = np.cumsum(self.n) - self.n
        self.stack = np.full((D, T + 1), -1, dtype=np.int64)
        self.sp = np.zeros(D, dtype=np.int64)
        self.b = np.zeros(D, dtype=np.int64)
        self.head, self.lmost, self.rmost = (np.full((D, T + 1), -1, dtype=np.int64) for _ in range(3))
        self.label = np.full((D, T + 1), -1, dtype=np.int32)

    def active(self):
        return np.flatnonzero(self.b < self.n)

    def item(self, ds, depth):
        pos = self.sp[ds] - 1 - depth
        return np.where(pos >= 0, self.stack[ds, np.maximum(pos, 0)], -1)

    def col(self, table, ds, tok):
        return table[ds, np.where(tok >= 0, tok, self.T)]

    def codes(self, ds):
        s0 = self.item(ds, 0)
        return np.where(s0 < 0, 0, np.where(self.col(self.head, ds, s0) >= 0, 2, 1))

    def features(self, ds, slots):
        s0, s1, s2 = (self.item(ds, k) for k in range(3))
        b, n = self.b[ds], self.n[ds]
        local = {"S0": s0, "S1": s1, "S2": s2, "B0": b,
                 "B1": np.where(b + 1 < n, b + 1, -1), "B2": np.where(b + 2 < n, b + 2, -1),
                 "S0L": self.col(self.lmost, ds, s0), "S0R": self.col(self.rmost, ds, s0),
                 "B0L": self.col(self.lmost, ds, b), "S1R": self.col(self.rmost, ds, s1)}
        return np.stack([np.where(local[s] >= 0, local[s] + self.offset[ds], -1) for s in slots], axis=1)

    def apply(self, ds, actions, moves):
        kind, label = moves.kind[actions], moves.label[actions]
        s0, b = self.item(ds, 0), self.b[ds]
        left, right = kind == LEFT, kind == RIGHT
        self.head[ds[left], s0[left]] = b[left]
        self.label[ds[left], s0[left]] = label[left]
        self.lmost[ds[left], b[left]] = s0[left]
        self.head[ds[right], b[right]] = s0[right]
        self.label[ds[right], b[right]] = label[right]
        self.rmost[ds[right], s0[right]] = b[right]
        push = ds[(kind == 0) | right]
        self.stack[push, self.sp[push]] = self.b[push]
        self.sp[push] += 1
        self.b[push] += 1
        self.sp[ds[(kind == REDUCE) | left]] -= 1

    def oracle(self, ds, gold_head, gold_label, deps_left, n_labels):
        s0, b = self.item(ds, 0), self.b[ds]
        has = s0 >= 0
        left = has & (self.col(gold_head, ds, s0) == b) & (self.col(self.head, ds, s0) < 0)
        right = ~left & has & (gold_head[ds, b] == s0)
        reduce = ~left & ~right & has & (self.col(self.head, ds, s0) >= 0) & (self.col(deps_left, ds, s0) == 0)
        out = np.zeros(len(ds), dtype=np.int64)
        out[reduce] = REDUCE
        out[left] = 2 + self.col(gold_label, ds, s0)[left]
        out[right] = 2 + n_labels + gold_label[ds, b][right]
        deps_left[ds[left], b[left]] -= 1
        deps_left[ds[right], s0[right]] -= 1
        return out


def ref_decode(model, X, lengths):
    """Greedy decode with numpy: the whole batch's projections, one numpy step per transition."""
    moves = dep_parser.get_parser_moves(model)
    lower = model.get_ref("lower")
    W, b, pad = (lower.get_param(n) for n in ("W", "b", "pad"))
    nF, nI, nO, nP = W.shape
    N = len(X)
    P = np.empty((N + 1, nF, nO * nP), dtype="float32")
    P[:N] = (X @ W.transpose(1, 0, 2, 3).reshape((nI, nF * nO * nP))).reshape((N, nF, nO * nP))
    P[N] = pad.reshape((nF, nO * nP))
    P = P.reshape(((N + 1) * nF, nO * nP))
    upper = model.get_ref("upper") if model.has_ref("upper") else None
    states = RefStates(lengths)
    while len(ds := states.active()):
        idx = states.features(ds, model.attrs["feature_slots"])
        Z = P[np.where(idx >= 0, idx, N) * nF + np.arange(nF)].sum(axis=1) + b.reshape((1, -1))
        S = NumpyOps().maxout(Z.reshape((len(ds), nO, nP)))[0]
        if upper is not None:
            S = S @ upper.get_param("W").T + upper.get_param("b")
        a = np.where(moves.valid_table[states.codes(ds)], S, -np.inf).argmax(axis=1)
        states.apply(ds, a, moves)
    if model.attrs["closing_moves"]:
        for d in range(len(lengths)):
            while states.sp[d] > 1:  # closing moves, one doc at a time
                sp = states.sp[d]
                r, t = states.stack[d, sp - 1], states.stack[d, sp - 2]
                if states.head[d, r] >= 0:
                    states.sp[d] -= 1
                    continue
                local = {"S0": t, "S1": states.stack[d, sp - 3] if sp > 2 else -1,
                         "S2": states.stack[d, sp - 4] if sp > 3 else -1, "B0": r, "B1": -1, "B2": -1,
                         "S0L": states.lmost[d, t], "S0R": states.rmost[d, t], "B0L": states.lmost[d, r],
                         "S1R": states.rmost[d, states.stack[d, sp - 3]] if sp > 2 else -1}
                idx = np.array([[local[f] + states.offset[d] if local[f] >= 0 else -1
                                 for f in model.attrs["feature_slots"]]])
                Z = P[np.where(idx >= 0, idx, N) * nF + np.arange(nF)].sum(axis=1) + b.reshape((1, -1))
                S = NumpyOps().maxout(Z.reshape((1, nO, nP)))[0]
                if upper is not None:
                    S = S @ upper.get_param("W").T + upper.get_param("b")
                code = 2 if states.head[d, t] >= 0 else 1
                a = int(np.where(moves.valid_table[code], S[0], -np.inf).argmax())
                kind, lab = moves.kind[a], moves.label[a]
                if kind == LEFT:
                    states.head[d, t], states.label[d, t], states.lmost[d, r] = r, lab, t
                elif kind == RIGHT:
                    states.head[d, r], states.label[d, r], states.rmost[d, t] = t, lab, r
                if kind in (REDUCE, LEFT):
                    states.stack[d, sp - 2] = r
                states.sp[d] -= 1
    return [states.head[d, :n] for d, n in enumerate(lengths)], [states.label[d, :n] for d, n in enumerate(lengths)]


def random_parser(rng, hidden=16, pieces=2, use_upper=True, slots=PARSER_SLOTS[:8], width=12, closing=True):
    """A parser head with random weights (the upper layer too, which training starts at zero)."""
    model = DependencyParser(Linear(nO=width, nI=width), slots, hidden, pieces, use_upper)
    model.attrs["labels"] = list(LABELS)
    model.attrs["closing_moves"] = closing
    n_actions = get_arc_eager_moves(LABELS).n_actions
    lower = model.get_ref("lower")
    nO = hidden if use_upper else n_actions
    lower.set_param("W", rng.normal(size=(len(slots), width, nO, pieces)).astype("float32"))
    lower.set_param("b", rng.normal(size=(nO, pieces)).astype("float32"))
    lower.set_param("pad", rng.normal(size=(len(slots), nO, pieces)).astype("float32"))
    if use_upper:
        upper = model.get_ref("upper")
        upper.set_param("W", rng.normal(size=(n_actions, hidden)).astype("float32"))
        upper.set_param("b", rng.normal(size=n_actions).astype("float32"))
    return model


@pytest.mark.parametrize("closing", [True, False])
@pytest.mark.parametrize("hidden,pieces,use_upper,n_slots", [(16, 2, True, 8), (8, 3, True, 10), (0, 1, False, 8)])
def test_kernel_decode_equals_the_numpy_reference(monkeypatch, hidden, pieces, use_upper, n_slots, closing):
    rng = np.random.default_rng(hidden + pieces)
    model = random_parser(rng, hidden, pieces, use_upper, PARSER_SLOTS[:n_slots], closing=closing)
    lengths = np.concatenate([[1, 2], rng.integers(1, 90, size=40)])
    X = rng.normal(size=(int(lengths.sum()), 12)).astype("float32")
    monkeypatch.setattr(dep_parser, "CHUNK_TOKENS", 150)  # several chunks, some a single long doc
    heads, labels = greedy_parse(model, X, lengths)
    want_heads, want_labels = ref_decode(model, X, lengths)
    assert [len(h) for h in heads] == lengths.tolist()
    for h, lab, wh, wl in zip(heads, labels, want_heads, want_labels):
        assert h.tolist() == wh.tolist()
        assert lab.tolist() == wl.tolist()
        assert_forest(h, lab)
    assert sum(int((h >= 0).sum()) for h in heads) > 0.5 * lengths.sum()  # not all roots: real arcs


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=8), st.integers(0, 2**31))
def test_decoding_random_weights_gives_a_forest(lengths, seed):
    """Whatever the weights, valid greedy actions end in one tree per sentence."""
    rng = np.random.default_rng(seed)
    model = random_parser(rng)
    X = rng.normal(size=(sum(lengths), 12)).astype("float32")
    heads, labels = greedy_parse(model, X, np.array(lengths))
    for h, lab in zip(heads, labels):
        assert_forest(h, lab)


def test_decoding_no_docs_and_empty_docs():
    model = random_parser(np.random.default_rng(0))
    assert greedy_parse(model, np.zeros((0, 12), "float32"), np.zeros(0, np.int64)) == ([], [])
    heads, labels = greedy_parse(model, np.ones((3, 12), "float32"), np.array([0, 3, 0]))
    assert [len(h) for h in heads] == [0, 3, 0]
    assert_forest(heads[1], labels[1])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 4)), min_size=1, max_size=6), st.integers(0, 2**31))
def test_oracle_equals_the_numpy_reference(docs, seed):
    rng = np.random.default_rng(seed)
    moves = get_arc_eager_moves(LABELS)
    lengths = np.array([n for n, _ in docs])
    heads = [random_projective(rng, n, k) for n, k in docs]
    labels = [np.where(h >= 0, rng.integers(0, len(LABELS), len(h)), -1) for h in heads]
    feats, codes, acts = oracle_states(lengths, heads, labels, moves, PARSER_SLOTS)
    states = RefStates(lengths)
    gold_head, gold_label, deps_left = (np.full((len(docs), lengths.max() + 1), fill, np.int64) for fill in (-1, -1, 0))
    for d, (h, lab) in enumerate(zip(heads, labels)):
        gold_head[d, :len(h)], gold_label[d, :len(h)] = h, lab
        deps_left[d, :len(h)] = np.bincount(h[h >= 0], minlength=len(h))
    want = []
    while len(ds := states.active()):
        f, c = states.features(ds, PARSER_SLOTS), states.codes(ds)
        a = states.oracle(ds, gold_head, gold_label, deps_left, len(LABELS))
        want.append((ds, f, c, a))
        states.apply(ds, a, moves)
    assert feats.tolist() == np.concatenate([f for _, f, _, _ in want]).tolist()
    assert codes.tolist() == np.concatenate([c for _, _, c, _ in want]).tolist()
    assert acts.tolist() == np.concatenate([a for _, _, _, a in want]).tolist()


def test_features_read_stack_buffer_and_children():
    # "She ate the fish ." after a doc of 3 tokens: S, L-nsubj, S, S, L-det, R-obj, D, R-punct
    heads = [np.array([-1, 0, 0]), np.array([1, -1, 3, 1, 1])]
    labels = [np.array([-1, 1, 1]), np.array([0, -1, 2, 1, 3])]
    moves = get_arc_eager_moves(LABELS)
    feats, codes, acts = oracle_states(np.array([3, 5]), heads, labels, moves, PARSER_SLOTS)
    mine = feats[:, PARSER_SLOTS.index("B0")] >= 3  # the second doc's states (global rows 3..7)
    second = np.where(feats[mine] >= 0, feats[mine] - 3, -1)  # local positions
    assert [moves.names[a] for a in acts[mine]] == ["S", "L-nsubj", "S", "S", "L-det", "R-obj", "D", "R-punct"]
    f = dict(zip(PARSER_SLOTS, second[4]))  # before L-det: stack [ate, the], buffer fish .
    assert (f["S0"], f["S1"], f["S2"], f["B0"], f["B1"], f["B2"], f["S1R"]) == (2, 1, -1, 3, 4, -1, -1)
    f = dict(zip(PARSER_SLOTS, second[5]))  # before R-obj: the <- fish, ate <- She
    assert (f["S0"], f["B0"], f["B0L"], f["S0L"]) == (1, 3, 2, 0)
    f = dict(zip(PARSER_SLOTS, second[7]))  # before R-punct: ate -> fish
    assert (f["S0"], f["S0R"], f["B0"]) == (1, 3, 4)
    assert codes[mine].tolist() == [0, 1, 0, 1, 1, 1, 2, 1]


def test_kernels_work_where_no_cache_directory_is_writable(tmp_path):
    """numba finds no cache location: the kernels compile in memory and still decode."""
    script = (
        "import numba.core.caching as c; c.CacheImpl._locator_classes = []\n"
        "import numpy as np\n"
        "import workbench.models.arc_eager_kernels\n"
        "from workbench.models.arc_eager import oracle_states, get_arc_eager_moves, PARSER_SLOTS\n"
        "f, c, a = oracle_states(np.array([2]), [np.array([-1, 0])], [np.array([-1, 0])],\n"
        "                        get_arc_eager_moves(['x']), PARSER_SLOTS)\n"
        "print(a.tolist())\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0, 3]"  # SHIFT, RIGHT-x
    assert not (tmp_path / "cache").exists()  # nothing written


@pytest.fixture
def thread_plan():
    """Apply a thread plan for one test, then put the pools and the plan back."""
    saved = (threads._applied, torch.get_num_threads(),
             [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"])
    yield lambda n, uses_torch=False: threads.apply_thread_policy(n, uses_torch=uses_torch)
    threads._applied = saved[0]
    torch.set_num_threads(saved[1])
    if saved[2]:
        threadpool_limits(limits=saved[2][0], user_api="blas")


@pytest.mark.parametrize("uses_torch", [False, True])
def test_chunks_split_over_worker_threads_decode_as_one_thread_does(monkeypatch, thread_plan, uses_torch):
    """With a 2-thread plan two workers take the chunks, with both pools at one thread meanwhile."""
    rng = np.random.default_rng(3)
    model = random_parser(rng)
    lengths = rng.integers(1, 60, size=60)
    X = rng.normal(size=(int(lengths.sum()), 12)).astype("float32")
    monkeypatch.setattr(dep_parser, "CHUNK_TOKENS", 100)
    thread_plan(1, uses_torch)
    want = greedy_parse(model, X, lengths)
    thread_plan(2, uses_torch)
    seen = []  # (thread, BLAS pool size, torch pool size) per chunk
    decode = arc_eager_kernels.decode_chunk

    def spy(*args):
        seen.append((threading.get_ident(), threads.pool_sizes()["blas"], torch.get_num_threads()))
        time.sleep(0.002)  # each worker holds its chunk a while, so that both get some
        return decode(*args)

    monkeypatch.setattr(arc_eager_kernels, "decode_chunk", spy)
    heads, labels = greedy_parse(model, X, lengths)
    assert len({ident for ident, _, _ in seen}) == 2
    assert {(blas, n_torch) for _, blas, n_torch in seen} == {(1, 1)}
    assert [h.tolist() for h in heads] == [h.tolist() for h in want[0]]
    assert [lab.tolist() for lab in labels] == [lab.tolist() for lab in want[1]]
    assert threads.pool_sizes()["torch"] == (2 if uses_torch else 1)  # the plan again afterwards
    assert threads.pool_sizes()["blas"] == (1 if uses_torch else 2)
