"""A doc's dependency parse as plain data for an arc view: rows of positioned words and arcs.

    rows = arc_rows(doc, max_width=860)     # one sentence or more per row; long sentences wrap

Each row holds the words it shows (x centre, width in px) and the arcs drawn on it.
An arc whose head and dependent are on the same row has a `level` (1 = the lowest):
an arc sits above every arc nested inside it, so arcs never cross their labels.
An arc whose head is on another row is drawn on the dependent's row, running out to
the row's edge (`side` "left" or "right") and naming the head word in its label.
Roots get no arc; their label is `root_label` under the word.
"""
from dataclasses import dataclass, field
from typing import Any, List, Tuple

CHAR_PX = 8.4  # the average width of a character of the 14px word font
PAD_PX = 18  # space between words


@dataclass(frozen=True)
class Word:
    i: int
    text: str
    tag: str
    x: float  # centre, px from the row's left edge
    width: float
    root_label: str = ""  # the dep label when the word is a root


@dataclass(frozen=True)
class Arc:
    head: int
    child: int
    label: str
    x_start: float  # the left end, px
    x_end: float  # the right end, px
    level: int
    towards: str  # "left": the arrow points at the left end (the dependent is left of its head)
    side: str = ""  # "", or the edge a cross-row arc runs to: "left" / "right"


@dataclass
class ArcRow:
    words: List[Word] = field(default_factory=list)
    arcs: List[Arc] = field(default_factory=list)
    width: float = 0.0

    @property
    def levels(self) -> int:
        return max((a.level for a in self.arcs), default=0)


def word_width(text: str, tag: str, label: str = "") -> float:
    return max(len(text), len(tag), len(label), 2) * CHAR_PX + PAD_PX


def _sentence_chunks(doc: Any) -> List[Tuple[int, int]]:
    return [(s.start, s.end) for s in doc.sents] if len(doc) else []


def _wrap(doc: Any, widths: List[float], max_width: float) -> List[List[int]]:
    """Token indices per row: whole sentences while they fit; a longer sentence is cut
    where the row is full."""
    rows: List[List[int]] = [[]]
    used = 0.0
    for start, end in _sentence_chunks(doc):
        sent_w = sum(widths[start:end])
        if rows[-1] and used + sent_w > max_width:
            rows.append([])
            used = 0.0
        for i in range(start, end):
            if rows[-1] and used + widths[i] > max_width:
                rows.append([])
                used = 0.0
            rows[-1].append(i)
            used += widths[i]
        if sent_w > max_width:  # a wrapped sentence: the next one starts on a new row
            rows.append([])
            used = 0.0
    return [r for r in rows if r]


def _levels(spans: List[Tuple[int, int]]) -> List[int]:
    """Each arc one level above the highest arc strictly inside its span (shorter arcs first)."""
    order = sorted(range(len(spans)), key=lambda k: spans[k][1] - spans[k][0])
    level = [0] * len(spans)
    for k in order:
        lo, hi = spans[k]
        inside = [level[j] for j in order if level[j] and lo <= spans[j][0] and spans[j][1] <= hi and j != k]
        level[k] = 1 + max(inside, default=0)
    return level


def arc_rows(doc: Any, *, max_width: float = 860, tag: str = "pos") -> List[ArcRow]:
    """The parse of `doc` laid out in rows no wider than `max_width` px (see the module doc)."""
    if not doc.has_heads:
        return []
    heads, deps = doc.heads, doc.deps
    tags = [getattr(t, tag + "_", "") or "" for t in doc]
    widths = [word_width(t.text, tags[t.i], deps[t.i] or "" if heads[t.i] == t.i else "") for t in doc]
    out = []
    for token_ids in _wrap(doc, widths, max_width):
        row = ArcRow()
        x = 0.0
        xs = {}
        for i in token_ids:
            is_root = heads[i] == i
            xs[i] = x + widths[i] / 2
            row.words.append(Word(i, doc[i].text, tags[i], xs[i], widths[i], (deps[i] or "root") if is_root else ""))
            x += widths[i]
        row.width = x
        inner, spans, crossing = [], [], []
        for i in token_ids:
            h = heads[i]
            if h is None or h == i:
                continue
            if h in xs:
                inner.append((h, i))
                spans.append((min(h, i), max(h, i)))
            else:
                crossing.append((h, i))
        levels = _levels(spans)
        for (h, i), level in zip(inner, levels):
            lo, hi = min(xs[h], xs[i]), max(xs[h], xs[i])
            row.arcs.append(Arc(h, i, deps[i] or "", lo, hi, level, "left" if i < h else "right"))
        top = max(levels, default=0) + 1  # cross-row arcs go over everything on the row
        for h, i in crossing:
            label = f"{deps[i] or ''} \u2190 {doc[h].text}"
            if h < i:
                row.arcs.append(Arc(h, i, label, 0.0, xs[i], top, "right", side="left"))
            else:
                row.arcs.append(Arc(h, i, label, xs[i], row.width, top, "left", side="right"))
        out.append(row)
    return out
