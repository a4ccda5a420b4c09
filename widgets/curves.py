"""Axes styling shared by the dashboard, the runs view and the pretraining panel.

Readable at notebook width: figures are drawn at 100 dpi and shown no wider than
their own size (`render.image_widget`), text is >= 10 pt, every axis is labelled,
and legends sit below the plot, outside the lines.
"""
from typing import Optional

TITLE_PT, LABEL_PT, TICK_PT, LEGEND_PT, NOTE_PT = 12, 11, 10, 10, 11
GREY = "#666666"


def style_axes(ax, title: str, xlabel: str, ylabel: str) -> None:
    """Title and axis labels, set once (redraws keep them)."""
    if ax.get_title() != title:
        ax.set_title(title, fontsize=TITLE_PT)
        ax.set_xlabel(xlabel, fontsize=LABEL_PT)
        ax.set_ylabel(ylabel, fontsize=LABEL_PT)
        ax.tick_params(labelsize=TICK_PT)
        ax.grid(True, alpha=0.25)
        from matplotlib.ticker import MaxNLocator

        if xlabel in ("step", "epoch"):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def legend_below(ax, ncol: int = 3) -> None:
    """The legend under the axes (outside the lines); none when nothing is labelled."""
    handles, labels = ax.get_legend_handles_labels()
    old = ax.get_legend()
    if old is not None:
        old.remove()
    pairs = [(h, lab) for h, lab in zip(handles, labels) if not lab.startswith("_")]
    if pairs:
        ax.legend(*zip(*pairs), fontsize=LEGEND_PT, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                  ncol=min(ncol, len(pairs)), frameon=False, handlelength=1.5, columnspacing=1.0)


def placeholder(ax, text: Optional[str]) -> None:
    """A note in the middle of empty axes ("waiting for the first step", an error); None removes it."""
    for t in list(ax.texts):
        if getattr(t, "_wb_placeholder", False):
            t.remove()
    empty = bool(text)
    ax.tick_params(labelbottom=not empty, labelleft=not empty, length=0 if empty else 3.5)
    if empty:
        ax.grid(False)
    else:
        ax.grid(True, alpha=0.25)
    if text:
        note = ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=NOTE_PT, color=GREY,
                       transform=ax.transAxes, wrap=True)
        note._wb_placeholder = True  # type: ignore[attr-defined]


def log_axis(ax) -> None:
    """A log y axis with plain tick labels (the default mathtext labels are slow to draw)."""
    from matplotlib.ticker import LogFormatter

    if ax.get_yscale() != "log":
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(LogFormatter())
        ax.yaxis.set_minor_formatter(LogFormatter(minor_thresholds=(0, 0)))
