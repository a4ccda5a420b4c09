"""PipelineLayout: draw a pipeline's components, their embeddings and listener links.

    view = PipelineLayout("sample_data/configs/shared.cfg")   # or a config, or a live nlp
    view                                                      # current | other version, side by side
    view.make_independent("ner")                              # what the button does
    view.make_shared("ner"); view.undo()                      # back again
    view.export("layout.svg")

The data comes from `widgets.converters.layout` (`layout_data`, `compare_layouts`);
`draw_layout(data, ax)` is the renderer. The "make independent" control calls
`nlp.make_independent(name)` on the widget's pipeline: a live pipeline passed in
is changed in place (that is the point), a config is built into a new one;
"make shared" is its inverse and "undo" takes the last change back. The view
watches a live pipeline: a change made in code (`nlp.make_independent("ner")`)
is drawn within a second (or at once with `view.refresh()`). Its title names the
actual layout ("mixed: tagger listens, ner independent").
"""
import html
import threading
import weakref
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import ipywidgets as W
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

import workbench

from .converters.layout import (
    as_pipeline,
    embedding_of,
    format_bytes,
    format_count,
    layout_data,
    layout_signature,
    layout_title,
    listening,
    make_independent,
    make_shared,
    other_version,
)
from .render import image_widget, new_figure, save_figure, show_figure

COLORS = {"component": "#dbe8f6", "embedding": "#f9d9a8", "own": "#cdeccd", "listener": "#ffffff"}
EDGE = {"component": "#2f5d8a", "embedding": "#b26b00", "own": "#2e7d32", "listener": "#555555"}
DX, W_BOX, H_BOX = 2.5, 2.4, 1.3  # column step, box width, box height (data units)
ROW_Y = {0: 1.8, 1: 0.0}
BOX_PT, TITLE_PT = 10, 12
MAX_WIDTH_IN = 9.0  # a notebook's output area at 100 dpi: a wider PNG is shrunk, and its text with it
COLUMN_IN, MIN_COLUMN_IN = 2.3, 1.7  # inches per column of boxes; below the minimum, 10 pt box text overflows
PANEL_IN, NOTE_IN = 4.4, 0.8  # the height of a layout panel, of a "no other version" panel


def _node_text(node: Dict[str, Any]) -> str:
    lines = node["label"].split(": ", 1)  # "tok2vec: shared by 2" on two lines
    if node["kind"] == "component":
        lines.append(f"factory: {node['factory']}")
        if node.get("total_params") is not None:
            total, head = node["total_params"], node["params"]
            lines.append(f"{format_count(total)} params")
            if head and head != total:
                lines.append(f"head {format_count(head)}")
            lines.append(format_bytes(node.get("bytes")))
    else:
        if node["architecture"]:
            lines.append(node["architecture"])
        if node["kind"] != "listener" and node.get("params") is not None:
            lines.append(f"{format_count(node['params'])} params")
        elif node["kind"] == "listener":
            lines.append("no own weights")
    return "\n".join(lines)


def n_columns(data: Optional[Dict[str, Any]]) -> int:
    """The columns of boxes a layout needs (a "no other version" panel: 2)."""
    return max(2, max([n["x"] for n in data["nodes"]] + [0]) + 1) if data else 2


def draw_layout(data: Dict[str, Any], ax, n_cols: Optional[int] = None) -> None:
    """Draw one `layout_data` dict on a matplotlib Axes (`n_cols` wide: as wide as its widest
    neighbour, so that stacked panels keep one box size)."""
    ax.set_axis_off()
    nodes = {n["id"]: n for n in data["nodes"]}
    n_cols = max(n_cols or 0, max([n["x"] for n in data["nodes"]] + [0]) + 1)
    for node in data["nodes"]:
        x, y = node["x"] * DX, ROW_Y[node["row"]]
        style = "round,pad=0.04,rounding_size=0.12"
        box = FancyBboxPatch((x - W_BOX / 2, y - H_BOX / 2), W_BOX, H_BOX, boxstyle=style,
                             facecolor=COLORS[node["kind"]], edgecolor=EDGE[node["kind"]], linewidth=1.4,
                             linestyle="--" if node["kind"] == "listener" else "-")
        ax.add_patch(box)
        ax.text(x, y, _node_text(node), ha="center", va="center", fontsize=BOX_PT, linespacing=1.2)
    for edge in data["edges"]:
        a, b = nodes[edge["source"]], nodes[edge["target"]]
        ax_, ay = a["x"] * DX, ROW_Y[a["row"]]
        bx, by = b["x"] * DX, ROW_Y[b["row"]]
        if edge["kind"] == "owns":
            ax.add_patch(FancyArrowPatch((ax_, ay + H_BOX / 2), (bx, by - H_BOX / 2), arrowstyle="-|>",
                                         mutation_scale=10, color=EDGE[a["kind"]], linewidth=1.2))
        else:  # listens: an arc under the embedding row, from the upstream to the listener
            ax.add_patch(FancyArrowPatch((ax_, ay - H_BOX / 2), (bx, by - H_BOX / 2), arrowstyle="-|>",
                                         connectionstyle="arc3,rad=0.35", mutation_scale=12,
                                         color="#b26b00", linewidth=1.5))
    ax.set_xlim(-DX / 2, (n_cols - 0.5) * DX)
    ax.set_ylim(-1.45 - 0.3 * max(0, n_cols - 2), ROW_Y[0] + 0.8)  # room for the longest listens-arc
    title = data.get("title") or ""
    total, size = data["params"]["total"], data["bytes"]["total"]
    if total is not None:
        title = f"{title}\n{format_count(total)} params, {format_bytes(size)}".lstrip("\n")
    ax.set_title(title, fontsize=TITLE_PT)


def layout_figure(layouts: List[Optional[Dict[str, Any]]], notes: Optional[List[str]] = None) -> Figure:
    """One panel per layout (None panels show why there is no layout): side by side when they fit
    the notebook's width with 10 pt box text, else one above the other."""
    widths = [n_columns(d) for d in layouts]
    column = min(COLUMN_IN, (MAX_WIDTH_IN - 0.4) / sum(widths))
    if column >= MIN_COLUMN_IN:
        width, height = sum(widths) * column + 0.4, PANEL_IN
        fig = new_figure(width=width, height=height, constrained=False)
        axes = fig.subplots(1, len(layouts), width_ratios=widths, squeeze=False)[0]
        fig.subplots_adjust(wspace=0.3 / column / (sum(widths) / len(widths)))
        n_cols = [None] * len(layouts)
    else:
        widest = max(widths)
        heights = [PANEL_IN if d else NOTE_IN for d in layouts]
        width, height = widest * min(COLUMN_IN, (MAX_WIDTH_IN - 0.4) / widest) + 0.4, sum(heights)
        fig = new_figure(width=width, height=height, constrained=False)
        axes = fig.subplots(len(layouts), 1, height_ratios=heights, squeeze=False)[:, 0]
        fig.subplots_adjust(hspace=0.6 / (height / len(layouts)))
        n_cols = [widest] * len(layouts)
    # margins in inches: 0.2 at the sides, room for the two-line titles at the top
    fig.subplots_adjust(left=0.2 / width, right=1 - 0.2 / width, top=1 - 0.55 / height, bottom=0.05 / height)
    for ax, d, cols in zip(axes, layouts, n_cols):
        if d is None:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no other version\n(see notes)", ha="center", va="center", fontsize=BOX_PT, color="#666")
        else:
            draw_layout(d, ax, cols)
    return fig


def summary_html(layouts: List[Optional[Dict[str, Any]]]) -> str:
    """A table of parameters and sizes per component, per version."""
    parts = []
    for d in layouts:
        if d is None:
            continue
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{format_count(p)}</td>"
            f"<td style='text-align:right'>{format_bytes(d['bytes']['by_component'].get(name))}</td>"
            f"<td>{html.escape(', '.join(d['listening'].get(name, [])))}</td></tr>"
            for name, p in d["params"]["by_component"].items()
        )
        parts.append(
            f"<div style='display:inline-block;vertical-align:top;margin-right:24px'><b>{html.escape(d['title'])}</b>"
            f"<table><tr><th>component</th><th>params</th><th>size</th><th>listened to by</th></tr>{rows}"
            f"<tr><td><b>total</b></td><td style='text-align:right'><b>{format_count(d['params']['total'])}</b></td>"
            f"<td style='text-align:right'><b>{format_bytes(d['bytes']['total'])}</b></td><td></td></tr></table></div>"
        )
    return "".join(parts)


class PipelineLayout(W.VBox):
    """The pipeline drawn beside its other version (shared | independent), with a
    "make independent" control and PNG/SVG export.

    nlp_or_config: a live Pipeline (changed in place by "make independent"), a Config,
    config text or a path. measure: count parameters and bytes (builds and
    initializes a config on sample docs). compare: draw the other version too.
    """

    def __init__(self, nlp_or_config: Any, *, measure: bool = True, compare: bool = True, watch: float = 1.0):
        super().__init__()
        self.measure, self.compare = measure, compare
        self.history: List[tuple] = []  # (what was done, component) for undo
        self._lock = threading.RLock()  # one change-and-redraw at a time (the watcher thread redraws too)
        if isinstance(nlp_or_config, workbench.Pipeline):
            self.nlp, self.notes = nlp_or_config, []  # drawn as it is; measured on a copy if uninitialized
        else:
            self.nlp, self.notes = as_pipeline(nlp_or_config, initialized=measure)
        self.layouts: List[Optional[Dict[str, Any]]] = []
        self.fig: Optional[Figure] = None
        self.component = W.Dropdown(description="component", layout=W.Layout(width="260px"))
        self.independent_button = W.Button(description="make independent", icon="unlink",
                                            layout=W.Layout(width="170px"))
        self.shared_button = W.Button(description="make shared", icon="link", layout=W.Layout(width="140px"))
        self.undo_button = W.Button(description="undo", icon="undo", layout=W.Layout(width="100px"), disabled=True)
        self.format = W.Dropdown(options=["png", "svg"], value="png", layout=W.Layout(width="80px"))
        self.filename = W.Text(value="pipeline_layout", description="file", layout=W.Layout(width="300px"))
        self.export_button = W.Button(description="export", icon="download")
        self.image = image_widget()
        self.image.add_class("wb-layout-image")
        self.summary = W.HTML()
        self.status = W.HTML()
        self.independent_button.on_click(lambda _: self._clicked(self.make_independent))
        self.shared_button.on_click(lambda _: self._clicked(self.make_shared))
        self.undo_button.on_click(lambda _: self._clicked(lambda _name: self.undo()))
        self.component.observe(lambda _: self._update_buttons(), names="value")
        self.export_button.on_click(lambda _: self._export_clicked())
        self.children = [
            W.HBox([self.component, self.independent_button, self.shared_button, self.undo_button]),
            self.image,
            self.summary,
            W.HBox([self.filename, self.format, self.export_button]),
            self.status,
        ]
        self._signature = None
        self.redraw()
        self._stop_watching = threading.Event()
        if watch and isinstance(nlp_or_config, workbench.Pipeline):
            _watch(weakref.ref(self), watch, self._stop_watching)

    # ------------------------------------------------------------ public API

    @property
    def data(self) -> Dict[str, Any]:
        """The layout data of the current pipeline."""
        return self.layouts[0]

    def redraw(self) -> None:
        """Recompute the layouts (and counts) and redraw."""
        with self._lock:
            self._redraw()

    def _redraw(self) -> None:
        current = layout_data(self.nlp, measure=self.measure, title="current")
        notes = list(self.notes) + [n for n in current["notes"] if n not in self.notes]
        layouts: List[Optional[Dict[str, Any]]] = [current]
        if self.compare:
            other, kind, more = other_version(self.nlp)
            notes += more
            title = "all independent" if kind == "independent" else "shared"
            layouts.append(layout_data(other, measure=self.measure, title=title) if other is not None else None)
        current["title"] = layout_title(self.nlp)
        self._signature = layout_signature(self.nlp)
        self.layouts = layouts
        self.fig = layout_figure(layouts)
        show_figure(self.image, self.fig)
        self.summary.value = summary_html(layouts)
        self.status.value = "<br>".join(html.escape(n) for n in notes)
        options = [n for n, c in self.nlp.components
                   if embedding_of(c)[0] in ("listener", "own") and not getattr(c, "is_upstream", False)]
        old = self.component.value
        self.component.options = options
        listeners = [n for names in listening(self.nlp).values() for n in names]
        self.component.value = old if old in options else (listeners or options or [None])[0]
        self._update_buttons()

    def refresh(self) -> bool:
        """Redraw if the pipeline changed since the last drawing (the watcher calls this); True if it did."""
        if not self._lock.acquire(blocking=False):
            return False  # a change made here is being drawn
        try:
            if layout_signature(self.nlp) == self._signature:
                return False
            self.notes = []
            self._redraw()
            return True
        finally:
            self._lock.release()

    def make_independent(self, name: str) -> None:
        """Give `name` its own copy of the embedding it listens to, and redraw."""
        with self._lock:
            self.notes = make_independent(self.nlp, name)
            self.history.append(("independent", name))
            self._redraw()

    def make_shared(self, name: str) -> None:
        """Let `name` listen to the tok2vec component again instead of its own embedding, and redraw."""
        with self._lock:
            self.notes = make_shared(self.nlp, name)
            self.history.append(("shared", name))
            self._redraw()

    def undo(self) -> None:
        """Take the last change made here back."""
        if not self.history:
            return
        with self._lock:
            what, name = self.history.pop()
            self.notes = make_shared(self.nlp, name) if what == "independent" else make_independent(self.nlp, name)
            self._redraw()

    def close(self) -> None:
        self._stop_watching.set()
        super().close()

    def export(self, path: Union[str, Path], fmt: Optional[str] = None) -> Path:
        """Save the drawing as PNG or SVG (format from `fmt` or the file suffix)."""
        return save_figure(self.fig, path, fmt, title="pipeline layout")

    # ------------------------------------------------------------ events

    def _update_buttons(self) -> None:
        kinds = {n: embedding_of(c)[0] for n, c in self.nlp.components}
        chosen = self.component.value
        has_tok2vec = any(getattr(c, "upstream_kind", "") == "tok2vec" for _, c in self.nlp.components)
        self.independent_button.disabled = kinds.get(chosen) != "listener"
        self.shared_button.disabled = not (kinds.get(chosen) == "own" and has_tok2vec)
        self.undo_button.disabled = not self.history
        self.undo_button.tooltip = f"undo: make {self.history[-1][1]} {self.history[-1][0]}" if self.history else ""

    def _clicked(self, action) -> None:
        try:
            action(self.component.value)
        except Exception as e:  # show it: exceptions in callbacks are only logged
            self.status.value = f"<span style='color:#b3261e'>{html.escape(str(e))}</span>"

    def _export_clicked(self) -> None:
        path = self.export(self.filename.value, self.format.value)
        self.status.value = f"Saved {html.escape(str(path))}"


def _watch(ref, every: float, stop: threading.Event) -> None:
    """Redraw the view (held weakly) when its live pipeline changes, until it is closed or dropped."""

    def loop() -> None:
        while not stop.wait(every):
            view = ref()
            if view is None:
                return
            try:
                view.refresh()
            except Exception:  # a pipeline changed half-way: try again on the next tick
                pass
            del view

    threading.Thread(target=loop, name="workbench-layout-watch", daemon=True).start()
