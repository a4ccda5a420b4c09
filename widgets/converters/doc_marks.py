"""A doc as plain data for a displaCy-style view: tokens with their tags, spans with levels.

    cells, marks = doc_marks(doc)                       # doc.ents, tags from pos / tag
    cells, marks = doc_marks(doc, spans=[(0, 2, "ORG"), (1, 2, "GPE")])   # overlapping spans too

Each span gets a `level` (0, 1, ...): spans that overlap go on different levels, so
the renderer draws them as separate bars under the text. Colours are fixed per label.
"""
import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence, Tuple

# Readable on white, distinct from each other; the text on them is dark.
PALETTE = ["#7aecec", "#bfeeb7", "#feca74", "#ff9561", "#aa9cfc", "#c887fb", "#9cc9cc", "#ffeb80",
           "#ff8197", "#f0d0ff", "#bfe1d9", "#e4e7d2", "#d9fe74", "#ddd8c4", "#fca3a3"]
KNOWN = {"PER": 4, "PERSON": 4, "ORG": 0, "LOC": 2, "GPE": 3, "MISC": 5, "DATE": 1, "NORP": 8}


@dataclass(frozen=True)
class Cell:
    """One token: its text, whether a space follows, and its tags [(attr, value)]."""

    i: int
    text: str
    space: bool
    tags: Tuple[Tuple[str, str], ...]


@dataclass(frozen=True)
class Mark:
    """A span of tokens [start, end) with a label, drawn on bar `level` in `color`."""

    start: int
    end: int
    label: str
    level: int
    color: str


def label_color(label: str) -> str:
    if label in KNOWN:
        return PALETTE[KNOWN[label]]
    digest = int(hashlib.md5(label.encode("utf8")).hexdigest(), 16)
    return PALETTE[digest % len(PALETTE)]


def assign_levels(spans: Sequence[Tuple[int, int]]) -> List[int]:
    """The lowest level where each span (in the order given) overlaps no span already placed."""
    placed: List[List[Tuple[int, int]]] = []
    levels = []
    for start, end in spans:
        for level, row in enumerate(placed):
            if all(end <= s or start >= e for s, e in row):
                row.append((start, end))
                levels.append(level)
                break
        else:
            placed.append([(start, end)])
            levels.append(len(placed) - 1)
    return levels


def _spans_of(doc: Any, spans: Optional[Iterable[Any]]) -> List[Tuple[int, int, str]]:
    items = list(doc.ents) if spans is None else list(spans)
    out = []
    for item in items:
        if hasattr(item, "label_"):
            out.append((int(item.start), int(item.end), str(item.label_)))
        else:
            start, end, label = item
            out.append((int(start), int(end), str(label)))
    n = len(doc)
    for start, end, label in out:
        if not 0 <= start < end <= n:
            raise ValueError(f"span ({start}, {end}, {label!r}) is outside the doc's {n} tokens")
    return out


def doc_marks(doc: Any, spans: Optional[Iterable[Any]] = None, tags: Sequence[str] = ("pos", "tag")
              ) -> Tuple[List[Cell], List[Mark]]:
    """(cells, marks) of a doc: spans default to doc.ents; `tags` names the token
    attributes shown under each token (those not set on any token are left out)."""
    shown = [attr for attr in tags if any(getattr(t, attr + "_", "") for t in doc)]
    cells = [Cell(t.i, t.text, bool(t.whitespace_), tuple((a, getattr(t, a + "_") or "") for a in shown))
             for t in doc]
    raw = sorted(_spans_of(doc, spans), key=lambda s: (s[0], -(s[1] - s[0])))  # longer spans first: lower bars
    levels = assign_levels([(s, e) for s, e, _ in raw])
    marks = [Mark(s, e, label, level, label_color(label)) for (s, e, label), level in zip(raw, levels)]
    return cells, marks


def tag_rows(doc: Any, spans: Optional[Iterable[Any]] = None) -> List[dict]:
    """One row per token: i, text, pos, tag and the labels of the spans it is in."""
    _, marks = doc_marks(doc, spans)
    rows = []
    for t in doc:
        labels = [("B-" if m.start == t.i else "I-") + m.label for m in marks if m.start <= t.i < m.end]
        rows.append({"i": t.i, "text": t.text, "pos": t.pos_ or "", "tag": t.tag_ or "", "spans": " ".join(labels)})
    return rows
