"""The arc-eager transition system of the dependency parser, over whole batches.

A state (per doc) is a stack, the buffer front `b` (the buffer is always the
suffix b..n-1) and the arcs built so far. Actions are numbered `SHIFT = 0`,
`REDUCE = 1`, then `LEFT-k = 2 + k` and `RIGHT-k = 2 + n_labels + k`:

- SHIFT: push b (needs a non-empty buffer);
- REDUCE: pop s0 (needs s0 to have a head);
- LEFT-k: s0 <-k- b, pop s0 (needs s0 without a head);
- RIGHT-k: s0 -k-> b, push b.

Once the buffer is empty, closing moves settle the tokens left on the stack (the
arc-eager tree constraint with an unshift, as in Nivre and Fernandez-Gonzalez 2014):
a top r = s0 with a head is popped; a headless one acts as the buffer front, with
t = s1 as the stack top, and the model picks SHIFT (r stays a root: a sentence ends
before it), REDUCE (pop t, which has a head), LEFT-k (t <-k- r) or RIGHT-k (t -k-> r),
until one token is left. The actions keep their meaning and their validity rows.
Tokens still without a head at the end are roots, one per sentence: arc-eager arcs
never cross, so each root's subtree is a contiguous run of tokens, and those runs
are the sentences (`doc.sents`). Every decode therefore yields a projective forest
whose trees tile the doc. (Parsers saved before closing moves existed, model attr
`closing_moves` false, end with the buffer.)

Training walks the dynamic oracle: per state, the actions that lose no reachable
gold arc (Goldberg and Nivre 2012; a gold root's head is a virtual token after the
doc), following the model's own choices with probability `explore`.

The state machine itself (decode and oracles) is compiled, in `arc_eager_kernels`.
Token positions are local to their doc; `-1` means none.
"""
from functools import lru_cache
from typing import List, Sequence, Tuple

import numpy as np

from ..errors import DataError

SHIFT, REDUCE, LEFT, RIGHT = 0, 1, 2, 3
KIND_NAMES = ("S", "D", "L", "R")

# Feature slots a parser state can read, in the order nr_feature_tokens takes them.
PARSER_SLOTS = ("S0", "B0", "S1", "B1", "S2", "S0L", "S0R", "B0L", "S1R", "B2")
N_DEFAULT_SLOTS = 8  # extra_state_tokens adds the last two


class ArcEagerMoves:
    """Action tables for a fixed tuple of dependency labels. Use `get_arc_eager_moves`."""

    def __init__(self, labels: Sequence[str]):
        self.labels: Tuple[str, ...] = tuple(labels)
        if len(set(self.labels)) != len(self.labels):
            raise DataError(f"Parser labels contain duplicates: {list(self.labels)}.")
        L = len(self.labels)
        self.n_actions = 2 + 2 * L
        self.kind = np.array([SHIFT, REDUCE] + [LEFT] * L + [RIGHT] * L, dtype=np.int32)
        self.label = np.array([-1, -1] + list(range(L)) * 2, dtype=np.int32)
        self.names: List[str] = ["S", "D"] + [f"L-{x}" for x in self.labels] + [f"R-{x}" for x in self.labels]
        self.label_index = {x: k for k, x in enumerate(self.labels)}
        # Validity by state code: 0 = empty stack, 1 = s0 has no head, 2 = s0 has a head.
        table = np.zeros((3, self.n_actions), dtype=bool)
        table[:, SHIFT] = True
        table[1] = (self.kind == SHIFT) | (self.kind == LEFT) | (self.kind == RIGHT)
        table[2] = (self.kind == SHIFT) | (self.kind == REDUCE) | (self.kind == RIGHT)
        self.valid_table = table

    def __repr__(self) -> str:
        return f"ArcEagerMoves(labels={list(self.labels)})"

    def action_id(self, kind: int, label: int = -1) -> int:
        if kind in (SHIFT, REDUCE):
            return kind
        return 2 + label + (len(self.labels) if kind == RIGHT else 0)


@lru_cache(maxsize=64)
def _cached_moves(labels: Tuple[str, ...]) -> ArcEagerMoves:
    return ArcEagerMoves(labels)


def get_arc_eager_moves(labels: Sequence[str]) -> ArcEagerMoves:
    return _cached_moves(tuple(labels))


def slot_ids(slots: Sequence[str]) -> np.ndarray:
    """(len(slots),) PARSER_SLOTS positions of the named feature slots, for the kernels."""
    unknown = [s for s in slots if s not in PARSER_SLOTS]
    if unknown:
        raise DataError(f"Unknown parser feature slots {unknown}; known: {list(PARSER_SLOTS)}.")
    return np.array([PARSER_SLOTS.index(s) for s in slots], dtype=np.int64)


def oracle_states(lengths: np.ndarray, heads, labels, moves: ArcEagerMoves, slots: Sequence[str]):
    """Follow the static oracle in every doc (compiled: arc_eager_kernels.oracle_walk).

    heads, labels: per doc local gold heads (-1: root) and label ids. Returns features
    (M, n_slots) global token rows (-1: pad), codes (M,) validity rows and actions (M,)
    gold action ids, over the M states visited by all docs: all docs' first states,
    then their second ones, and so on (the order of a batch-wide walk). Raises a
    DataError for gold that arc-eager transitions cannot build.
    """
    from .arc_eager_kernels import oracle_walk

    lengths = np.asarray(lengths, dtype=np.int64)
    if not len(lengths) or not lengths.sum():
        return np.zeros((0, len(slots)), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    gold_head = np.concatenate([np.asarray(h, dtype=np.int64) for h in heads])
    gold_label = np.concatenate([np.asarray(x, dtype=np.int64) for x in labels])
    feats, codes, acts, steps, built = oracle_walk(lengths, gold_head, gold_label, slot_ids(slots), len(moves.labels))
    _check_built(lengths, gold_head, built)
    order = np.argsort(steps, kind="stable")  # step by step, docs in order within a step
    return feats[order], codes[order], acts[order]


def check_buildable(lengths: np.ndarray, heads: Sequence[np.ndarray]) -> None:
    """Raise a DataError unless every doc's gold heads (local, -1: root) form a projective
    forest of contiguous trees, which arc-eager transitions can build (the static
    oracle rebuilds them)."""
    from .arc_eager_kernels import oracle_walk

    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and lengths.sum():
        gold_head = np.concatenate([np.asarray(h, dtype=np.int64) for h in heads])
        no_slots = np.zeros(0, np.int64)
        _check_built(lengths, gold_head, oracle_walk(lengths, gold_head, np.zeros_like(gold_head), no_slots, 1)[-1])


def _check_built(lengths: np.ndarray, gold_head: np.ndarray, built: np.ndarray) -> None:
    wrong = np.flatnonzero(built != gold_head)
    if len(wrong):
        ends = np.cumsum(lengths)
        d = int(np.searchsorted(ends, wrong[0], side="right"))
        i = int(wrong[0] - (ends[d] - lengths[d]))
        raise DataError(
            f"The gold parse of doc {d} cannot be built by arc-eager transitions (token {i}: "
            f"gold head {int(gold_head[wrong[0]])}, got {int(built[wrong[0]])}); it must be projective "
            f"with one contiguous tree per sentence: projectivize it first (workbench.models.nonproj)."
        )


def roots_to_sentences(heads: np.ndarray) -> np.ndarray:
    """(n,) bool sentence starts of a projective forest (local heads, -1 = root).

    Each token's root is found by pointer jumping (log n numpy steps); a sentence
    starts where the root changes.
    """
    n = len(heads)
    if n == 0:
        return np.zeros(0, dtype=bool)
    root = np.where(heads < 0, np.arange(n), heads)
    for _ in range(max(1, int(np.ceil(np.log2(n + 1))) + 1)):
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    starts = np.ones(n, dtype=bool)
    starts[1:] = root[1:] != root[:-1]
    return starts


def tree_starts(heads: np.ndarray) -> np.ndarray:
    """(n,) bool sentence starts of a forest whose trees are contiguous runs of tokens
    (what arc-eager decoding builds, also once lifts are undone): a sentence starts
    where no arc crosses the gap before the token. A few numpy calls, no iteration.
    """
    heads = np.asarray(heads, dtype=np.int64)
    n = len(heads)
    deps = np.flatnonzero(heads >= 0)
    lo, hi = np.minimum(deps, heads[deps]), np.maximum(deps, heads[deps])
    crossing = np.cumsum(np.bincount(lo, minlength=n) - np.bincount(hi, minlength=n))  # arcs over gap (k, k+1)
    starts = np.ones(n, dtype=bool)
    starts[1:] = crossing[:-1] == 0
    return starts
