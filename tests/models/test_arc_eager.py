"""The arc-eager transition system, its static oracle and pseudo-projective lifting.

Decoding (and the oracle against a numpy reference): test_parse_kernels.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.errors import DataError
from workbench.models.arc_eager import (
    PARSER_SLOTS,
    REDUCE,
    RIGHT,
    get_arc_eager_moves,
    oracle_states,
    roots_to_sentences,
    tree_starts,
)
from workbench.models.nonproj import deprojectivize, dominance, is_projective, nonprojective_arcs, projectivize

LABELS = ("nsubj", "obj", "det", "punct")


def random_projective(rng, n: int, n_sents: int = 1) -> np.ndarray:
    """Local heads of a random projective forest: `n_sents` contiguous trees."""
    cuts = sorted(rng.choice(np.arange(1, n), size=min(n_sents, n) - 1, replace=False).tolist()) if n > 1 else []
    heads = np.full(n, -1, dtype=np.int64)

    def build(lo, hi, head):  # tokens lo..hi-1 hang below `head`
        if lo >= hi:
            return
        r = int(rng.integers(lo, hi))
        heads[r] = head
        build(lo, r, r)
        build(r + 1, hi, r)

    for lo, hi in zip([0] + cuts, cuts + [n]):
        build(lo, hi, -1)
    return heads


def random_tree(rng, n: int) -> np.ndarray:
    """Local heads of a random (usually non-projective) tree with one root."""
    order = rng.permutation(n)
    heads = np.full(n, -1, dtype=np.int64)
    for k in range(1, n):
        heads[order[k]] = order[int(rng.integers(0, k))]
    return heads


def assert_forest(heads: np.ndarray, labels: np.ndarray) -> None:
    """Acyclic, projective, every root's tree is a contiguous run of tokens."""
    n = len(heads)
    dominance(heads)  # raises on a cycle
    assert is_projective(heads)
    starts = roots_to_sentences(heads)
    bounds = list(np.flatnonzero(starts)) + [n]
    for a, b in zip(bounds, bounds[1:]):
        sent = heads[a:b]
        assert (sent < 0).sum() == 1  # one root per sentence
        inside = sent[sent >= 0]
        assert ((inside >= a) & (inside < b)).all()
    assert ((labels >= 0) == (heads >= 0)).all()


def test_moves_numbering_and_validity():
    moves = get_arc_eager_moves(LABELS)
    assert moves.n_actions == 2 + 2 * len(LABELS)
    assert moves.names[:3] == ["S", "D", "L-nsubj"] and moves.names[-1] == "R-punct"
    assert moves.action_id(RIGHT, 1) == 2 + 4 + 1
    assert moves.valid_table[0].tolist() == [True] + [False] * (moves.n_actions - 1)  # empty stack
    assert not moves.valid_table[1, REDUCE] and moves.valid_table[1, 2]  # s0 headless: LEFT ok
    assert moves.valid_table[2, REDUCE] and not moves.valid_table[2, 2]  # s0 has a head: no LEFT
    with pytest.raises(DataError, match="duplicates"):
        get_arc_eager_moves(["a", "a"])


def test_hand_traced_sentence():
    # "She ate the fish ." heads: She<-ate, ate=root, the<-fish, fish<-ate, .<-ate
    heads = np.array([1, -1, 3, 1, 1])
    labels = np.array([0, -1, 2, 1, 3])
    moves = get_arc_eager_moves(LABELS)
    _, _, acts = oracle_states(np.array([5]), [heads], [labels], moves, PARSER_SLOTS[:8])
    assert [moves.names[a] for a in acts] == ["S", "L-nsubj", "S", "S", "L-det", "R-obj", "D", "R-punct"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 4)), min_size=1, max_size=6), st.integers(0, 2**31))
def test_oracle_rebuilds_every_projective_forest(docs, seed):
    rng = np.random.default_rng(seed)
    moves = get_arc_eager_moves(LABELS)
    lengths = np.array([n for n, _ in docs])
    heads = [random_projective(rng, n, k) for n, k in docs]
    labels = [np.where(h >= 0, rng.integers(0, len(LABELS), len(h)), -1) for h in heads]
    feats, codes, acts = oracle_states(lengths, heads, labels, moves, PARSER_SLOTS)  # raises if it cannot
    assert moves.valid_table[codes, acts].all()
    assert len(acts) <= int((2 * lengths - 1).sum())
    assert feats.shape == (len(acts), len(PARSER_SLOTS)) and feats.max() < lengths.sum()


def test_gold_that_arc_eager_cannot_build_is_a_clear_error():
    moves = get_arc_eager_moves(LABELS)
    heads = np.array([2, 3, -1, 2])  # 0<-2, 1<-3: crossing arcs
    with pytest.raises(DataError, match="projectivize"):
        oracle_states(np.array([4]), [heads], [np.where(heads >= 0, 0, -1)], moves, PARSER_SLOTS)


def test_roots_to_sentences():
    heads = np.array([1, -1, 1, 4, -1, 4, -1])
    assert roots_to_sentences(heads).tolist() == [True, False, False, True, False, False, True]
    assert tree_starts(heads).tolist() == [True, False, False, True, False, False, True]
    assert tree_starts(np.zeros(0, np.int64)).tolist() == []


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 5), st.integers(0, 2**31))
def test_tree_starts_equal_the_roots_walk_on_contiguous_forests(n, n_sents, seed):
    rng = np.random.default_rng(seed)
    heads = random_projective(rng, n, n_sents)
    assert tree_starts(heads).tolist() == roots_to_sentences(heads).tolist()
    assert int(tree_starts(heads).sum()) == int((heads < 0).sum())


# -- pseudo-projective lifting -----------------------------------------------------


def test_nonprojective_arc_detection_by_hand():
    # 0 <- 2 root, 1 <- 3, 3 <- 2: the arc 3 -> 1 covers 2, which 3 does not dominate
    heads = np.array([2, 3, -1, 2])
    assert nonprojective_arcs(heads).tolist() == [1]
    assert is_projective([1, -1, 3, 1])


def test_projectivize_lifts_and_labels_then_restores():
    heads = [2, 3, -1, 2]
    labels = ["det", "amod", "root", "obj"]
    proj, lifted = projectivize(heads, labels)
    assert proj.tolist() == [2, 2, -1, 2]
    assert lifted == ["det", "amod||obj", "root", "obj"]
    back, restored = deprojectivize(proj, lifted)
    assert back.tolist() == heads and restored == labels


@settings(max_examples=80, deadline=None)
@given(st.integers(2, 25), st.integers(0, 2**31))
def test_projectivize_round_trip_random_trees(n, seed):
    rng = np.random.default_rng(seed)
    heads = random_tree(rng, n)
    # distinct labels make the restoring search unambiguous, so the round trip is exact
    labels = [f"l{i}" for i in range(n)]
    proj, lifted = projectivize(heads, labels)
    assert is_projective(proj)
    assert (proj < 0).sum() == 1
    back, restored = deprojectivize(proj, lifted)
    assert restored == labels
    assert back.tolist() == heads.tolist()


def test_cycle_is_a_data_error():
    with pytest.raises(DataError, match="cycle"):
        dominance(np.array([1, 2, 0]))
