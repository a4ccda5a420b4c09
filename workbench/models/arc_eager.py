"""The arc-eager transition system of the dependency parser, over whole batches.

A state (per doc) is a stack, the buffer front `b` (the buffer is always the
suffix b..n-1) and the arcs built so far. Actions are numbered `SHIFT = 0`,
`REDUCE = 1`, then `LEFT-k = 2 + k` and `RIGHT-k = 2 + n_labels + k`:

- SHIFT: push b (needs a non-empty buffer);
- REDUCE: pop s0 (needs s0 to have a head);
- LEFT-k: s0 <-k- b, pop s0 (needs s0 without a head);
- RIGHT-k: s0 -k-> b, push b.

A doc is done when its buffer is empty. Tokens still without a head then are
roots, one per sentence: arc-eager arcs never cross, so each root's subtree is
a contiguous run of tokens, and those runs are the sentences (`doc.sents`).
Every decode therefore yields a projective forest whose trees tile the doc.

`ParseStates` holds the states of a batch as (n_docs, max_len) arrays, and
every method acts on the rows `ds` of the docs still active, with numpy ops
only: one Python step per transition over the whole batch, none per token.
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


class ParseStates:
    """The arc-eager states of a batch of docs with `lengths` tokens."""

    def __init__(self, lengths: Sequence[int]):
        self.n = np.asarray(lengths, dtype=np.int64)  # (D,)
        D = len(self.n)
        T = int(self.n.max()) if D else 0
        self.T = T
        self.offset = np.cumsum(self.n) - self.n  # (D,) global row of each doc's token 0
        self.stack = np.full((D, T + 1), -1, dtype=np.int64)
        self.sp = np.zeros(D, dtype=np.int64)  # stack depth
        self.b = np.zeros(D, dtype=np.int64)  # buffer front
        self.head = np.full((D, T + 1), -1, dtype=np.int64)  # column T: scratch for -1 lookups
        self.label = np.full((D, T + 1), -1, dtype=np.int32)
        self.lmost = np.full((D, T + 1), -1, dtype=np.int64)  # leftmost dependent
        self.rmost = np.full((D, T + 1), -1, dtype=np.int64)  # rightmost dependent

    def active(self) -> np.ndarray:
        """Rows of the docs whose buffer is not empty."""
        return np.flatnonzero(self.b < self.n)

    def _stack_item(self, ds: np.ndarray, depth: int) -> np.ndarray:
        """(len(ds),) the token `depth` below the stack top, -1 if none."""
        pos = self.sp[ds] - 1 - depth
        return np.where(pos >= 0, self.stack[ds, np.maximum(pos, 0)], -1)

    def _col(self, table: np.ndarray, ds: np.ndarray, tok: np.ndarray) -> np.ndarray:
        """table[d, tok] with tok = -1 reading -1 (column T is kept at -1)."""
        return table[ds, np.where(tok >= 0, tok, self.T)]

    def codes(self, ds: np.ndarray) -> np.ndarray:
        """(len(ds),) validity-table row: 0 empty stack, 1 s0 headless, 2 s0 has a head."""
        s0 = self._stack_item(ds, 0)
        return np.where(s0 < 0, 0, np.where(self._col(self.head, ds, s0) >= 0, 2, 1))

    def features(self, ds: np.ndarray, slots: Sequence[str]) -> np.ndarray:
        """(len(ds), len(slots)) int64 global token rows of each slot, -1 = pad."""
        s0, s1, s2 = (self._stack_item(ds, k) for k in range(3))
        b = self.b[ds]
        n = self.n[ds]
        local = {
            "S0": s0, "S1": s1, "S2": s2, "B0": b,
            "B1": np.where(b + 1 < n, b + 1, -1), "B2": np.where(b + 2 < n, b + 2, -1),
            "S0L": self._col(self.lmost, ds, s0), "S0R": self._col(self.rmost, ds, s0),
            "B0L": self._col(self.lmost, ds, b), "S1R": self._col(self.rmost, ds, s1),
        }
        out = np.empty((len(ds), len(slots)), dtype=np.int64)
        base = self.offset[ds]
        for f, name in enumerate(slots):
            tok = local[name]
            out[:, f] = np.where(tok >= 0, tok + base, -1)
        return out

    def apply(self, ds: np.ndarray, actions: np.ndarray, moves: ArcEagerMoves) -> None:
        """Take `actions` (valid ones) in the docs `ds`."""
        kind = moves.kind[actions]
        label = moves.label[actions]
        s0 = self._stack_item(ds, 0)
        b = self.b[ds]
        left = kind == LEFT
        if left.any():
            d, dep, head = ds[left], s0[left], b[left]
            self.head[d, dep] = head
            self.label[d, dep] = label[left]
            self.lmost[d, head] = dep  # left arcs to b come nearest first
        right = kind == RIGHT
        if right.any():
            d, head, dep = ds[right], s0[right], b[right]
            self.head[d, dep] = head
            self.label[d, dep] = label[right]
            self.rmost[d, head] = dep  # right arcs from s0 go further each time
        push = (kind == SHIFT) | right
        pop = (kind == REDUCE) | left
        if push.any():
            d = ds[push]
            self.stack[d, self.sp[d]] = self.b[d]
            self.sp[d] += 1
            self.b[d] += 1
        if pop.any():
            self.sp[ds[pop]] -= 1

    def static_oracle(self, ds: np.ndarray, gold_head: np.ndarray, gold_label: np.ndarray,
                      deps_left: np.ndarray, moves: ArcEagerMoves) -> np.ndarray:
        """The gold action of each state in `ds` for a projective gold forest.

        gold_head, gold_label: (D, T + 1) local gold head (-1: root) and label id;
        deps_left: (D, T + 1) gold dependents not yet attached, updated here.
        Order: LEFT if s0's gold head is b; RIGHT if b's gold head is s0; REDUCE if
        s0 has its head and all its dependents; else SHIFT.
        """
        s0 = self._stack_item(ds, 0)
        b = self.b[ds]
        has = s0 >= 0
        s0_gold = self._col(gold_head, ds, s0)
        b_gold = gold_head[ds, b]
        left = has & (s0_gold == b) & (self._col(self.head, ds, s0) < 0)
        right = ~left & has & (b_gold == s0)
        reduce = ~left & ~right & has & (self._col(self.head, ds, s0) >= 0) \
            & (self._col(deps_left, ds, s0) == 0)
        out = np.zeros(len(ds), dtype=np.int64)  # SHIFT
        out[reduce] = REDUCE
        L = len(moves.labels)
        out[left] = 2 + self._col(gold_label, ds, s0)[left]
        out[right] = 2 + L + gold_label[ds, b][right]
        if left.any():
            deps_left[ds[left], b[left]] -= 1
        if right.any():
            deps_left[ds[right], s0[right]] -= 1
        return out

    def result(self) -> Tuple[List[np.ndarray], List[np.ndarray]]:
        """Per doc (heads, label ids) as local int arrays; a root has head -1, label -1."""
        heads = [self.head[d, :n] for d, n in enumerate(self.n.tolist())]
        labels = [self.label[d, :n] for d, n in enumerate(self.n.tolist())]
        return heads, labels


def gold_tables(lengths: np.ndarray, heads: Sequence[np.ndarray], labels: Sequence[np.ndarray]):
    """Per doc local gold heads (-1: root) and label ids -> (D, T + 1) arrays + deps_left."""
    D = len(lengths)
    T = int(max(lengths)) if D else 0
    gold_head = np.full((D, T + 1), -1, dtype=np.int64)
    gold_label = np.full((D, T + 1), -1, dtype=np.int64)
    deps_left = np.zeros((D, T + 1), dtype=np.int64)
    for d, (h, lab) in enumerate(zip(heads, labels)):
        n = len(h)
        gold_head[d, :n] = h
        gold_label[d, :n] = lab
        deps_left[d, :n] = np.bincount(h[h >= 0], minlength=n)[:n]
    return gold_head, gold_label, deps_left


def oracle_states(lengths: np.ndarray, heads, labels, moves: ArcEagerMoves, slots: Sequence[str]):
    """Follow the static oracle in every doc at once.

    Returns features (M, n_slots) global token rows, codes (M,) validity rows and
    actions (M,) gold action ids, over the M states visited by all docs.
    """
    states = ParseStates(lengths)
    gold_head, gold_label, deps_left = gold_tables(lengths, heads, labels)
    feats, codes, acts = [], [], []
    while True:
        ds = states.active()
        if not len(ds):
            break
        feats.append(states.features(ds, slots))
        codes.append(states.codes(ds))
        a = states.static_oracle(ds, gold_head, gold_label, deps_left, moves)
        acts.append(a)
        states.apply(ds, a, moves)
    if not feats:
        return np.zeros((0, len(slots)), np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    heads_out, labels_out = states.result()
    for d, (h, want) in enumerate(zip(heads_out, heads)):
        if not np.array_equal(h, want):
            i = int(np.flatnonzero(h != want)[0])
            raise DataError(
                f"The gold parse of doc {d} cannot be built by arc-eager transitions (token {i}: "
                f"gold head {int(want[i])}, got {int(h[i])}); it must be projective with one "
                f"contiguous tree per sentence: projectivize it first (workbench.models.nonproj)."
            )
    return np.concatenate(feats), np.concatenate(codes), np.concatenate(acts)


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
