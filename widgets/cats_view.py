"""`doc.cats` as a horizontal bar chart (matplotlib, no pyplot): one bar per category.

    fig = cats_figure(doc)                         # best category on top, scores 0..1
    fig = cats_figure(doc, gold=reference.cats)    # gold categories marked
    CatsView(doc)                                  # the same as a widget (PNG, fits the cell)
    cats_svg(doc)                                  # inline SVG for HTML views (TryText)
"""
from typing import Any, Mapping, Optional

from .converters.cats import cats_bars
from .render import figure_svg, image_widget, new_figure

BAR = "#5b7bd5"
BEST = "#2c4fb0"
WIDTH_IN = 6.4  # fits a notebook's output area at 100 dpi


def cats_figure(doc_or_cats: Any, gold: Optional[Mapping[str, float]] = None, *, top: Optional[int] = 12,
                title: str = "doc.cats"):
    """The figure; `gold` marks the gold categories (value >= 0.5) with a tick."""
    bars = cats_bars(doc_or_cats, gold, top)
    fig = new_figure(WIDTH_IN, 0.9 + 0.36 * max(len(bars), 1))
    ax = fig.add_subplot(1, 1, 1)
    if not bars:
        ax.text(0.5, 0.5, "no categories", ha="center", va="center", fontsize=12, color="#666")
        ax.set_axis_off()
        return fig
    labels = [b[0] + (" \u2713" if b[2] is not None and b[2] >= 0.5 else "") for b in bars]
    scores = [b[1] for b in bars]
    y = list(range(len(bars)))[::-1]
    ax.barh(y, scores, color=[BEST] + [BAR] * (len(bars) - 1), height=0.62)
    for yi, s in zip(y, scores):
        ax.text(min(s + 0.01, 0.92), yi, f"{s:.2f}", va="center", fontsize=10.5, color="#222")
    ax.set_yticks(y, labels, fontsize=11)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=10)
    ax.set_xlabel("score", fontsize=11)
    ax.set_title(title + (" (\u2713 gold)" if gold is not None else ""), fontsize=12, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def cats_svg(doc_or_cats: Any, **kwargs) -> str:
    return figure_svg(cats_figure(doc_or_cats, **kwargs))


def CatsView(doc_or_cats: Any, **kwargs):
    """An image widget showing `cats_figure` at its own size (shrunk to fit the cell)."""
    img = image_widget(cats_figure(doc_or_cats, **kwargs))
    img.add_class("wb-cats-view")
    return img
