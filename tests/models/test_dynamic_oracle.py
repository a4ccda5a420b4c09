"""The parser's dynamic oracle (arc_eager_kernels.explore_walk) against exhaustive search.

On small random projective forests, the kernel walks with random scores, following
the model or the oracle at random. Each state it returns is replayed in Python, and
its zero-cost actions are checked against a search over every action sequence from
that state: an action costs nothing iff the best parse still reachable after it
scores as well (heads and labels) as the best one reachable before. Closing moves
(the buffer empty) are checked the same way, one test apart.
"""
from functools import lru_cache

import numpy as np
import pytest

from workbench.models.arc_eager import PARSER_SLOTS, get_arc_eager_moves, slot_ids
from workbench.models.arc_eager_kernels import explore_walk
from workbench.models.dep_parser import zero_cost_loss

LABELS = ("a", "b")
MOVES = get_arc_eager_moves(LABELS)


def random_forest(rng, n: int) -> np.ndarray:
    """Local heads of a random projective forest of contiguous trees, any number of
    dependents on either side of a head."""
    heads = np.full(n, -1, dtype=np.int64)

    def build(lo, hi, head):  # tokens lo..hi-1 form subtrees below `head`
        while lo < hi:
            end = int(rng.integers(lo + 1, hi + 1))  # one subtree: lo..end-1
            r = int(rng.integers(lo, end))
            heads[r] = head
            build(lo, r, r)
            build(r + 1, end, r)
            lo = end

    cut = int(rng.integers(1, n + 1))  # one or two sentences
    build(0, cut, -1)
    build(cut, n, -1)
    return heads


def apply(state, act):
    """One move; with the buffer empty, a closing move (r = s0 as the buffer front, t = s1 as the top)."""
    stack, b, head, label = state
    kind, lab = int(MOVES.kind[act]), int(MOVES.label[act])
    stack, head, label = list(stack), list(head), list(label)
    if b >= len(head):  # closing: SHIFT keeps r a root, REDUCE pops t, LEFT t <- r, RIGHT t -> r
        r, t = stack[-1], stack[-2]
        if kind == 2:
            head[t], label[t] = r, lab
        elif kind == 3:
            head[r], label[r] = t, lab
        if kind in (1, 2):
            del stack[-2]
        else:
            stack.pop()
    elif kind == 0:
        stack.append(b)
        b += 1
    elif kind == 1:
        stack.pop()
    elif kind == 2:
        s0 = stack.pop()
        head[s0], label[s0] = b, lab
    else:
        head[b], label[b] = stack[-1], lab
        stack.append(b)
        b += 1
    return tuple(stack), b, tuple(head), tuple(label)


def settle(state, closing):
    """Take the forced moves: SHIFT on an empty stack, closing REDUCEs of a top with a head."""
    stack, b, head, label = state
    while True:
        if b < len(head) and not stack:
            state = apply(state, 0)
        elif b >= len(head) and closing and len(stack) > 1 and head[stack[-1]] >= 0:
            state = (stack[:-1], b, head, label)
        else:
            return state
        stack, b, head, label = state


def is_final(state, closing) -> bool:
    return state[1] >= len(state[2]) and (not closing or len(state[0]) <= 1)


def code_of(state) -> int:
    stack, b, head, _ = state
    if b >= len(head):  # closing: the code of t
        stack = stack[:-1]
    return 0 if not stack else (2 if head[stack[-1]] >= 0 else 1)


def exhaustive_costs(gold_head, gold_label, closing):
    def correct(head, label):
        return sum(h == g and (h < 0 or lab == gl) for h, lab, g, gl in zip(head, label, gold_head, gold_label))

    def after(state, a):
        return settle(apply(state, a), closing)

    @lru_cache(maxsize=None)
    def best(state):  # the most correct tokens of any parse reachable from state
        if is_final(state, closing):
            return correct(state[2], state[3])
        return max(best(after(state, a)) for a in np.flatnonzero(MOVES.valid_table[code_of(state)]))

    def costs(state):
        here = best(state)
        return {int(a): here - best(after(state, a)) for a in np.flatnonzero(MOVES.valid_table[code_of(state)])}

    return costs


def walk(rng, heads, labels, p_follow, closing=False):
    """explore_walk over one doc, without an upper layer: the scores are random per token and slot."""
    n = len(heads)
    nA = MOVES.n_actions
    valid_cols = np.zeros((3, nA), np.int64)
    n_valid = MOVES.valid_table.sum(axis=1).astype(np.int64)
    for c in range(3):
        valid_cols[c, :n_valid[c]] = np.flatnonzero(MOVES.valid_table[c])
    P = rng.normal(size=(n + 1, len(PARSER_SLOTS), nA)).astype("float32")
    return explore_walk(P, np.zeros(nA, "float32"), np.zeros((3, 0, 0), "float32"), np.zeros((3, 0), "float32"), 1,
                        np.array([n]), slot_ids(PARSER_SLOTS), valid_cols, n_valid, MOVES.kind, MOVES.label,
                        closing, heads, labels, rng.random(3 * n) < p_follow)


def replay(rng, heads, labels, p_follow, closing, check):
    """Walk one doc in the kernel, then replay its states in Python: check(state, gold row, taken)."""
    n = len(heads)
    feats, codes, gold, taken, steps = walk(rng, heads, labels, p_follow, closing)
    state = settle(((), 0, (-1,) * n, (-1,) * n), closing)
    m = 0
    while not is_final(state, closing):
        assert codes[m] == code_of(state)
        check(state, gold[m], int(taken[m]))
        state = settle(apply(state, int(taken[m])), closing)
        m += 1
    assert m == len(codes)
    return state


def random_docs(seed, count=60):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(2, 7))
        heads = random_forest(rng, n)
        yield heads, np.where(heads >= 0, rng.integers(0, len(LABELS), n), -1).astype(np.int64)


def builds_gold(state, heads, labels) -> bool:
    return list(state[2]) == heads.tolist() and all(lab == g for lab, g, h in zip(state[3], labels, heads) if h >= 0)


@pytest.mark.parametrize("p_follow", [0.0, 0.5, 1.0])
def test_zero_cost_actions_are_those_that_keep_the_best_reachable_parse(p_follow):
    """Without closing moves the costs are exact (arc-eager is arc-decomposable)."""
    checked = []
    rng = np.random.default_rng(1)
    for heads, labels in random_docs(7):
        costs = exhaustive_costs(tuple(heads.tolist()), tuple(labels.tolist()), False)

        def check(state, gold, taken):
            exact = costs(state)
            assert min(exact.values()) == 0  # a projective gold forest stays buildable
            assert sorted(np.flatnonzero(gold).tolist()) == sorted(a for a, c in exact.items() if c == 0), (
                heads, state, exact)
            assert gold[taken] or p_follow > 0  # following the oracle takes a zero-cost action
            checked.append(1)

        final = replay(rng, heads, labels, p_follow, False, check)
        if p_follow == 0.0:  # the oracle alone builds the gold parse
            assert builds_gold(final, heads, labels)
    assert len(checked) > 150


@pytest.mark.parametrize("p_follow", [0.0, 1.0])
def test_closing_moves_attach_what_the_buffer_left(p_follow):
    """Once the buffer is empty, every closing move the oracle marks gold keeps the best
    reachable parse, and the oracle alone builds the gold forest (its closing moves keep
    the gold roots). (Before, the moves keep arc-eager's costs, checked exactly above.)"""
    closing_states = []
    rng = np.random.default_rng(2)
    for heads, labels in random_docs(11, count=300):
        costs = exhaustive_costs(tuple(heads.tolist()), tuple(labels.tolist()), True)

        def check(state, gold, taken):
            assert gold.any()
            if state[1] >= len(heads):
                exact = costs(state)
                assert all(exact[a] == 0 for a in np.flatnonzero(gold)), (heads, state, exact)
                closing_states.append(taken)

        final = replay(rng, heads, labels, p_follow, True, check)
        if p_follow == 0.0:
            assert builds_gold(final, heads, labels)
    if p_follow == 1.0:  # the model's own walks leave tokens to attach
        assert len(closing_states) > 20 and {int(MOVES.kind[a]) for a in closing_states} >= {0, 3}


def test_the_walk_records_each_states_feature_rows():
    rng = np.random.default_rng(3)
    heads = random_forest(rng, 6)
    labels = np.where(heads >= 0, 0, -1).astype(np.int64)
    feats, codes, gold, taken, steps = walk(rng, heads, labels, 1.0)
    assert feats.shape == (len(codes), len(PARSER_SLOTS))
    assert feats[0, PARSER_SLOTS.index("S0")] == 0 and feats[0, PARSER_SLOTS.index("B0")] == 1
    assert (np.diff(steps) > 0).all()  # one doc: its transitions in order
    assert gold.any(axis=1).all()


def test_zero_cost_loss_is_minus_log_of_the_gold_mass():
    S = np.array([[1.0, 2.0, 0.5, 9.0], [0.0, 0.0, 0.0, 0.0]], dtype="float32")
    valid = np.array([[True, True, True, False], [True, True, False, False]])
    gold = np.array([[True, False, True, False], [False, True, False, False]])
    loss, d = zero_cost_loss(S, valid, gold)
    p = np.exp([1.0, 2.0, 0.5]) / np.exp([1.0, 2.0, 0.5]).sum()
    assert loss == pytest.approx(-np.log(p[0] + p[2]) - np.log(0.5), rel=1e-5)
    # d/dS of -log sum_gold p = p - p * gold / gold mass
    assert np.allclose(d[0, :3], p - np.array([p[0], 0, p[2]]) / (p[0] + p[2]), atol=1e-6)
    assert d[0, 3] == 0 and np.allclose(d[1], [0.5, -0.5, 0, 0])
