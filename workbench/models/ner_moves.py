"""The BILUO transition system of the named-entity recognizer.

One action per token, so a doc of n tokens takes exactly n steps. Actions are
numbered `O = 0`, then four per label: for label k, `B = 1 + 4k`, `I = 2 + 4k`,
`L = 3 + 4k`, `U = 4 + 4k`.

A state (per doc, before acting on token i) is the label of the open entity
(or -1) and whether token i is the doc's last token:

- an entity with label k is open: only `I-k` or `L-k` (only `L-k` at the last token);
- no entity is open: `O`, `B-*` or `U-*` (no `B-*` at the last token).

So every greedy decode yields a well-formed BILUO sequence. Everything here
works on whole batches: actions are int arrays over all tokens of a batch, with
`MISSING = -1` where the gold tag is unknown.
"""
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import DataError

# Action kinds (column values of `BiluoMoves.kind`).
O, B, I, L, U = 0, 1, 2, 3, 4
KIND_NAMES = "OBILU"
MISSING = -1  # gold action unknown: no loss at that token
MISSING_TAGS = frozenset({None, "", "-"})

Entity = Tuple[int, int, str]  # (start token, end token exclusive, label)
Gold = Union[Sequence[Optional[str]], np.ndarray]  # BILUO tags, or action ids


class BiluoMoves:
    """Action tables for a fixed tuple of labels. Cheap to build; use `get_moves`."""

    def __init__(self, labels: Sequence[str]):
        self.labels: Tuple[str, ...] = tuple(labels)
        if len(set(self.labels)) != len(self.labels):
            raise DataError(f"NER labels contain duplicates: {list(self.labels)}.")
        n_labels = len(self.labels)
        self.n_actions = 1 + 4 * n_labels
        acts = np.arange(self.n_actions)
        # kind[a] in O/B/I/L/U, label[a] is the label index or -1 for O.
        self.kind = np.where(acts == 0, O, (acts - 1) % 4 + 1).astype(np.int32)
        self.label = np.where(acts == 0, -1, (acts - 1) // 4).astype(np.int32)
        # The open label after taking action a (B-k, I-k keep k open).
        self.next_open = np.where(
            (self.kind == B) | (self.kind == I), self.label, -1
        ).astype(np.int32)
        self.opens = self.kind == B  # action starts a multi-token entity
        self.names: List[str] = ["O"] + [
            f"{KIND_NAMES[k]}-{lab}" for lab in self.labels for k in (B, I, L, U)
        ]
        self.index = {name: a for a, name in enumerate(self.names)}
        self.label_index = {lab: i for i, lab in enumerate(self.labels)}
        self.valid_table = self._build_valid_table()

    def __repr__(self) -> str:
        return f"BiluoMoves(labels={list(self.labels)})"

    def action_id(self, kind: int, label: Optional[str] = None) -> int:
        """The id of e.g. `action_id(B, "PER")`, or `action_id(O)`."""
        if kind == O:
            return 0
        return 1 + 4 * self.label_index[label] + (kind - 1)

    # -- validity ---------------------------------------------------------------

    def _build_valid_table(self) -> np.ndarray:
        """(2 * (n_labels + 1), n_actions) bool, row = state code (see `state_code`)."""
        n_labels = len(self.labels)
        table = np.zeros((2 * (n_labels + 1), self.n_actions), dtype=bool)
        closed_ok = (self.kind == O) | (self.kind == B) | (self.kind == U)
        table[0] = closed_ok  # nothing open, not last
        table[1] = closed_ok & (self.kind != B)  # nothing open, last token
        for k in range(n_labels):
            mine = self.label == k
            table[2 * (k + 1)] = mine & ((self.kind == I) | (self.kind == L))
            table[2 * (k + 1) + 1] = mine & (self.kind == L)
        return table

    @staticmethod
    def state_code(open_label: np.ndarray, is_last: np.ndarray) -> np.ndarray:
        """Row of `valid_table` for states given as arrays of open label (-1: none)."""
        return (open_label.astype(np.int64) + 1) * 2 + is_last.astype(np.int64)

    def valid_mask(self, open_label: np.ndarray, is_last: np.ndarray) -> np.ndarray:
        """(n_states, n_actions) bool: which actions each state allows."""
        return self.valid_table[self.state_code(np.asarray(open_label), np.asarray(is_last))]

    # -- gold -> actions --------------------------------------------------------

    def tags_to_actions(self, tags: Sequence[Optional[str]], doc_index: int = 0) -> np.ndarray:
        """BILUO tag strings -> (n,) int32 actions; None, "" and "-" -> MISSING.

        Prefer `spans_to_actions` when the gold comes as entity spans: it loops
        over entities, not tokens.
        """
        index = self.index
        out = np.empty(len(tags), dtype=np.int32)
        for i, tag in enumerate(tags):
            a = index.get(tag)
            if a is None:
                if tag in MISSING_TAGS:
                    a = MISSING
                else:
                    self._raise_bad_tag(tag, doc_index, i)
            out[i] = a
        return out

    def spans_to_actions(
        self,
        n_tokens: int,
        spans: Sequence[Entity],
        missing: Optional[np.ndarray] = None,
        doc_index: int = 0,
    ) -> np.ndarray:
        """Entity spans (start, end, label) -> (n_tokens,) int32 actions.

        `missing`: optional (n_tokens,) bool, True where the annotation is unknown.
        """
        out = np.zeros(n_tokens, dtype=np.int32)  # O everywhere
        for start, end, label in spans:
            k = self.label_index.get(label)
            if k is None:
                self._raise_unknown_label(label, doc_index, f"tokens {start}-{end}")
            if not 0 <= start < end <= n_tokens:
                raise DataError(
                    f"Gold entity ({start}, {end}, {label!r}) of doc {doc_index} is outside "
                    f"the doc's {n_tokens} tokens or empty; entity spans are "
                    f"(start_token, end_token_exclusive, label)."
                )
            first = 1 + 4 * k
            if end - start == 1:
                out[start] = first + (U - 1)
            else:
                out[start] = first
                out[start + 1 : end - 1] = first + (I - 1)
                out[end - 1] = first + (L - 1)
        if missing is not None:
            out[np.asarray(missing, dtype=bool)] = MISSING
        return out

    def _raise_unknown_label(self, label: str, doc_index: int, where: str):
        raise DataError(
            f"Gold entity label {label!r} (doc {doc_index}, {where}) is not one of the NER "
            f"model's labels {list(self.labels)}. Labels are fixed once the model is "
            f"initialized: add {label!r} with the component's add_label({label!r}) before "
            f"initializing, or include examples with it in the data given to initialize."
        )

    def _raise_bad_tag(self, tag, doc_index: int, i: int):
        if isinstance(tag, str) and len(tag) > 2 and tag[1] == "-" and tag[0] in "BILU":
            self._raise_unknown_label(tag[2:], doc_index, f"token {i}, tag {tag!r}")
        raise DataError(
            f"Gold NER tag {tag!r} (doc {doc_index}, token {i}) is not a BILUO tag. Use "
            f"'O', 'B-X', 'I-X', 'L-X', 'U-X', or None/'-' for unknown; convert IOB "
            f"tags with workbench.text.biluo.iob_to_biluo."
        )

    def golds_to_actions(self, golds: Sequence[Gold], lengths: np.ndarray) -> np.ndarray:
        """Per-doc golds (tag lists or action arrays) -> (n_total,) int32 actions."""
        if len(golds) != len(lengths):
            raise DataError(
                f"Got gold annotations for {len(golds)} docs but the batch has "
                f"{len(lengths)} docs: pass one gold per doc, in the same order."
            )
        parts = []
        for d, (gold, n) in enumerate(zip(golds, lengths)):
            if isinstance(gold, np.ndarray) and gold.dtype.kind in "iu":
                acts = gold.astype(np.int32, copy=False)
                if acts.size and (acts.min() < MISSING or acts.max() >= self.n_actions):
                    raise DataError(
                        f"Gold action ids of doc {d} must lie in [-1, {self.n_actions}); "
                        f"got {int(acts.min())}..{int(acts.max())}."
                    )
            else:
                acts = self.tags_to_actions(gold, doc_index=d)
            if len(acts) != n:
                raise DataError(
                    f"Doc {d} has {int(n)} tokens but its gold NER annotation has "
                    f"{len(acts)}; tags must align with the predicted doc's tokens."
                )
            parts.append(acts)
        if not parts:
            return np.zeros(0, dtype=np.int32)
        return np.concatenate(parts).astype(np.int32, copy=False)

    # -- static oracle ----------------------------------------------------------

    def gold_states(
        self, actions: np.ndarray, lengths: np.ndarray
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The state before each token when the gold actions are followed.

        actions: (N,) int32 over all tokens of the batch (MISSING allowed).
        Returns `open_label` (N,) int32 (-1: none), `e0` (N,) int64 global index
        of the first token of the open entity (-1: none), `is_last` (N,) bool.
        Malformed gold sequences raise DataError naming doc and token.
        """
        lengths = np.asarray(lengths, dtype=np.int64)
        N = int(lengths.sum())
        starts = np.cumsum(lengths) - lengths
        doc_of = np.repeat(np.arange(len(lengths)), lengths)  # (N,)
        pos = np.arange(N) - starts[doc_of]  # position in doc
        is_last = pos == lengths[doc_of] - 1
        known = actions >= 0
        safe = np.where(known, actions, 0)
        kind = np.where(known, self.kind[safe], -1)
        label = np.where(known, self.label[safe], -1)
        inside = (kind == I) | (kind == L)  # an entity is open before this token
        open_label = np.where(inside, label, -1).astype(np.int32)
        idx = np.arange(N)
        last_b = np.maximum.accumulate(np.where(kind == B, idx, -1)) if N else idx
        # Last token before i that ends or breaks an entity (O, L, U or unknown):
        # a B before it cannot be the start of the entity open at i.
        breaks = (kind == O) | (kind == L) | (kind == U) | (kind < 0)
        last_break = np.maximum.accumulate(np.where(breaks, idx, -1)) if N else idx
        last_break = np.concatenate([[-1], last_break[:-1]]) if N else last_break
        e0 = np.where(
            inside & (last_b >= starts[doc_of]) & (last_b > last_break), last_b, -1
        )
        self._check_gold(kind, label, pos, is_last, doc_of)
        return open_label, e0, is_last

    def _check_gold(self, kind, label, pos, is_last, doc_of) -> None:
        N = len(kind)
        if N == 0:
            return
        known = kind >= 0
        bad = known & (
            ((pos == 0) & ((kind == I) | (kind == L))) | (is_last & ((kind == B) | (kind == I)))
        )
        # Consecutive known tags within a doc must agree on the open entity.
        prev_kind = np.concatenate([[-1], kind[:-1]])
        prev_label = np.concatenate([[-1], label[:-1]])
        pair = known & (prev_kind >= 0) & (pos > 0)
        prev_opens = (prev_kind == B) | (prev_kind == I)
        cur_inside = (kind == I) | (kind == L)
        bad |= pair & ((prev_opens != cur_inside) | (cur_inside & (prev_label != label)))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            d, p = int(doc_of[i]), int(pos[i])
            tag = self.names[self.action_id(int(kind[i]), self._lab(label[i]))]
            prev = "(doc start)" if p == 0 else self._tag_name(prev_kind[i - 1], prev_label[i - 1])
            raise DataError(
                f"Malformed gold BILUO sequence in doc {d} at token {p}: {tag!r} after "
                f"{prev}. Entities must be U-X or B-X I-X* L-X; convert entity spans with "
                f"spans_to_actions or workbench.text.biluo.spans_to_biluo."
            )

    def _lab(self, k) -> Optional[str]:
        return None if k < 0 else self.labels[int(k)]

    def _tag_name(self, kind, label) -> str:
        if kind < 0:
            return "'-'"
        return repr(self.names[self.action_id(int(kind), self._lab(label))])

    # -- actions -> entities ----------------------------------------------------

    def actions_to_entities(
        self, actions: np.ndarray, lengths: np.ndarray
    ) -> List[List[Entity]]:
        """Valid action sequences (N,) -> per doc [(start, end, label), ...]."""
        lengths = np.asarray(lengths, dtype=np.int64)
        starts = np.cumsum(lengths) - lengths
        out: List[List[Entity]] = [[] for _ in range(len(lengths))]
        if len(actions) == 0:
            return out
        kind = self.kind[actions]
        ent_first = np.flatnonzero((kind == B) | (kind == U))
        ent_last = np.flatnonzero((kind == L) | (kind == U))
        if len(ent_first) != len(ent_last):
            raise DataError("Action sequence has unclosed entities; it was not decoded validly.")
        docs = np.searchsorted(starts, ent_first, side="right") - 1
        labels = self.label[actions[ent_first]]
        begin = ent_first - starts[docs]
        end = ent_last + 1 - starts[docs]
        names = self.labels
        for d, b, e, k in zip(docs.tolist(), begin.tolist(), end.tolist(), labels.tolist()):
            out[d].append((b, e, names[k]))
        return out

    def actions_to_tags(self, actions: np.ndarray) -> List[Optional[str]]:
        """Action ids -> BILUO tag strings (None for MISSING)."""
        names = self.names
        return [names[a] if a >= 0 else None for a in np.asarray(actions).tolist()]


@lru_cache(maxsize=64)
def _cached_moves(labels: Tuple[str, ...]) -> BiluoMoves:
    return BiluoMoves(labels)


def get_moves(labels: Sequence[str]) -> BiluoMoves:
    """The (cached) action tables for these labels."""
    return _cached_moves(tuple(labels))
