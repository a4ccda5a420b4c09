"""Pseudo-projective parsing: lift non-projective arcs before training, restore them after.

An arc h -> d is projective when h dominates every token strictly between h and
d. `projectivize` lifts the shortest non-projective arc to the head's head until
none is left, and records the lift in the label as `label||head_label` (the
label of d's original head). `deprojectivize` undoes it: a token whose label is
`x||y` is moved to the first token labelled `y` found breadth-first below its
current head (else below the head's head, ...), and gets the label `x`. Heads are local positions, -1 for a root.
"""
from typing import List, Sequence, Tuple

import numpy as np

from ..errors import DataError

DELIMITER = "||"


def dominance(heads: np.ndarray) -> np.ndarray:
    """(n, n) bool: A[a, k] is True when a is k or one of k's ancestors."""
    n = len(heads)
    A = np.eye(n, dtype=bool)
    cols = np.arange(n)
    cur = heads.copy()
    for _ in range(n):
        live = cur >= 0
        if not live.any():
            break
        A[cur[live], cols[live]] = True
        cur = np.where(live, heads[np.maximum(cur, 0)], -1)
    else:
        if (cur >= 0).any():
            raise DataError(f"the heads {heads.tolist()} contain a cycle")
    return A


def nonprojective_arcs(heads: np.ndarray) -> np.ndarray:
    """Dependents d whose arc heads[d] -> d is not projective."""
    n = len(heads)
    deps = np.flatnonzero(heads >= 0)
    if n < 3 or not len(deps):
        return deps[:0]
    h = heads[deps]
    lo, hi = np.minimum(h, deps), np.maximum(h, deps)
    A = dominance(heads)
    cs = np.concatenate([np.zeros((n, 1), dtype=np.int64), A.cumsum(axis=1)], axis=1)  # (n, n+1)
    inside = cs[h, hi] - cs[h, lo + 1]  # tokens in (lo, hi) that h dominates
    return deps[inside != hi - lo - 1]


def is_projective(heads: Sequence[int]) -> bool:
    return len(nonprojective_arcs(np.asarray(heads, dtype=np.int64))) == 0


def projectivize(heads: Sequence[int], labels: Sequence[str]) -> Tuple[np.ndarray, List[str]]:
    """A projective tree with lifted labels `x||y`; projective input comes back unchanged."""
    heads = np.array(heads, dtype=np.int64)
    labels = list(labels)
    bad = nonprojective_arcs(heads)
    if not len(bad):
        return heads, labels
    original, original_labels = heads.copy(), list(labels)
    while len(bad):
        span = np.abs(heads[bad] - bad)
        d = int(bad[np.argmin(span)])  # the shortest non-projective arc first
        h = int(heads[d])
        if heads[h] < 0:
            raise DataError(
                f"token {d}'s arc from the root {h} is not projective: the sentence's tokens "
                f"are not one contiguous tree (heads {original.tolist()})"
            )
        if DELIMITER not in labels[d]:
            labels[d] = f"{labels[d]}{DELIMITER}{original_labels[original[d]]}"
        heads[d] = heads[h]
        bad = nonprojective_arcs(heads)
    return heads, labels


def deprojectivize(heads: Sequence[int], labels: Sequence[str]) -> Tuple[np.ndarray, List[str]]:
    """Move each `x||y` token under the first `y` below its head (breadth-first).

    Lifted tokens nearest the root go first, so a lifted head is back in place
    before its lifted dependents look for it; a token whose `y` is not below its
    head looks below the head's head, and so on up to the root.
    """
    heads = np.array(heads, dtype=np.int64)
    labels = list(labels)
    lifted = [i for i, lab in enumerate(labels) if lab and DELIMITER in lab]
    if not lifted:
        return heads, labels
    depth = dominance(heads).sum(axis=0)
    for d in sorted(lifted, key=lambda i: (depth[i], i)):
        base, _, wanted = labels[d].partition(DELIMITER)
        labels[d] = base
        start = int(heads[d])
        while start >= 0:
            target = _first_below(heads, labels, start, wanted, skip=d)
            if target is not None:
                heads[d] = target
                break
            start = int(heads[start])
    return heads, labels


def _first_below(heads: np.ndarray, labels: List[str], start: int, wanted: str, skip: int):
    queue = [start]
    while queue:
        level = []
        for node in queue:
            for child in np.flatnonzero(heads == node).tolist():
                if child == skip:
                    continue
                if labels[child].partition(DELIMITER)[0] == wanted:
                    return child
                level.append(child)
        queue = level
    return None
