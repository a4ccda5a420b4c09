"""Dependency arcs as inline SVG (no JavaScript): one SVG per row of `arc_rows`.

    svgs = render_arcs(doc)                     # [svg, ...], long sentences wrapped
    render_doc(doc, extra_rows=render_arcs(doc))  # under the highlighted text
    DepsView(doc)                               # the same as a widget

Words sit on the baseline with their tag below; each arc rises from its head to its
dependent, an arrow at the dependent, its label on a white pad at the top. Arcs to a
head on another row run to the row's edge and name the head.
"""
import html
from typing import Any, List

import ipywidgets as W

from .converters.dep_arcs import Arc, ArcRow, arc_rows

LEVEL_PX = 26  # the height one level of nesting adds
FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
ARC = "#4a5a8a"


def _arc_svg(arc: Arc, base: float) -> str:
    top = base - arc.level * LEVEL_PX
    lo, hi = arc.x_start, arc.x_end
    r = min(10.0, (hi - lo) / 2) if hi > lo else 0.0
    if arc.side == "left":  # from the left edge, coming down on the dependent at hi
        d = f"M{lo:.1f},{top:.1f} L{hi - r:.1f},{top:.1f} Q{hi:.1f},{top:.1f} {hi:.1f},{top + r:.1f} L{hi:.1f},{base:.1f}"
    elif arc.side == "right":  # from the dependent at lo up and out to the right edge
        d = f"M{lo:.1f},{base:.1f} L{lo:.1f},{top + r:.1f} Q{lo:.1f},{top:.1f} {lo + r:.1f},{top:.1f} L{hi:.1f},{top:.1f}"
    else:
        d = (f"M{lo:.1f},{base:.1f} L{lo:.1f},{top + r:.1f} Q{lo:.1f},{top:.1f} {lo + r:.1f},{top:.1f} "
             f"L{hi - r:.1f},{top:.1f} Q{hi:.1f},{top:.1f} {hi:.1f},{top + r:.1f} L{hi:.1f},{base:.1f}")
    tip = lo if arc.towards == "left" else hi
    arrow = f"M{tip - 4:.1f},{base - 7:.1f} L{tip:.1f},{base:.1f} L{tip + 4:.1f},{base - 7:.1f}"
    mid = (lo + hi) / 2
    label = html.escape(arc.label)
    pad = len(arc.label) * 6.4 + 6
    dashed = ' stroke-dasharray="4 3"' if arc.side else ""
    return (f'<g class="wb-arc" data-head="{arc.head}" data-child="{arc.child}">'
            f'<title>{label} ({arc.head} \u2192 {arc.child})</title>'
            f'<path d="{d}" fill="none" stroke="{ARC}" stroke-width="1.6"{dashed}/>'
            f'<path d="{arrow}" fill="none" stroke="{ARC}" stroke-width="1.6"/>'
            f'<rect x="{mid - pad / 2:.1f}" y="{top - 8:.1f}" width="{pad:.1f}" height="15" rx="3" fill="white"/>'
            f'<text x="{mid:.1f}" y="{top + 4:.1f}" text-anchor="middle" font-size="11.5" fill="#222">{label}</text></g>')


def row_svg(row: ArcRow) -> str:
    """One row as an SVG element (width = the row's words, height = its arc levels)."""
    base = (row.levels + 0.6) * LEVEL_PX + 6
    height = base + 44
    parts = [_arc_svg(a, base) for a in row.arcs]
    for w in row.words:
        parts.append(f'<text x="{w.x:.1f}" y="{base + 18:.1f}" text-anchor="middle" font-size="14" '
                     f'fill="#111">{html.escape(w.text)}</text>')
        below = " \u00b7 ".join(x for x in (w.tag, w.root_label) if x)
        if below:
            weight = ' font-weight="bold"' if w.root_label else ""
            parts.append(f'<text x="{w.x:.1f}" y="{base + 34:.1f}" text-anchor="middle" font-size="11" '
                         f'fill="#555"{weight}>{html.escape(below)}</text>')
    return (f'<svg class="wb-deps" width="{row.width + 2:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {row.width + 2:.0f} {height:.0f}" style="font-family:{FONT};max-width:100%;display:block">'
            f'{"".join(parts)}</svg>')


def render_arcs(doc: Any, *, max_width: float = 860, tag: str = "pos") -> List[str]:
    """The doc's parse as SVG rows (empty when the doc has no heads)."""
    return [row_svg(r) for r in arc_rows(doc, max_width=max_width, tag=tag)]


class DepsView(W.HTML):
    """`render_arcs` as a widget."""

    def __init__(self, doc: Any, **kwargs):
        super().__init__("".join(render_arcs(doc, **kwargs)) or "<i>This doc has no parse.</i>")
        self.add_class("wb-deps-view")
