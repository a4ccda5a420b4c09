"""TrfInspector: look at a doc's transformer output (`doc._.trf_data`).

    doc = nlp("A text ...")          # a pipeline with a transformer (output_attentions = true
    TrfInspector(doc)                #   for the attention views)

Shows the token <-> wordpiece alignment (windows shaded, overlaps and truncated
pieces flagged) and attention heatmaps at word or wordpiece level, with a layer
slider, head/summary selectors (a head, or mean/max over heads and layers) and a
window selector for docs longer than one window. "hide special tokens" takes the
[CLS] / [SEP] pieces out of the maps (rows renormalized), the per-head entropy
panel marks the layer and head shown, and "hover values" shows the map as a table
whose cells tell their value on hover (plain HTML `title`s: no JavaScript). Exports PNG, SVG or
self-contained HTML (inline SVG, no CDN, no JavaScript).

The data comes from `widgets.converters.trf`; `draw_alignment`,
`draw_attention` and `draw_head_summary` are the renderers.
"""
import html
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import ipywidgets as W
import numpy
from matplotlib import colormaps
from matplotlib.figure import Figure

from .converters.trf import (
    alignment_matrix,
    cell_values,
    head_summary,
    n_layers_heads,
    without_special,
    word_attention,
    wordpiece_attention,
)
from .render import figures_html, image_widget, new_figure, save_figure, show_figure

WINDOW_COLORS = ("#4c72b0", "#dd8452")
TICK_PT = 10  # every tick label, however many tokens: more tokens than fit are labelled every k-th
PITCH_IN = 0.17  # inches one 10 pt tick label needs along its axis
MAX_WIDTH_IN = 9.0  # a notebook's output area at 100 dpi: wider figures would be shrunk, fonts with them
MARGIN_IN = 1.6  # what an axis loses to the other axis's tick labels and axis label
COLORBAR_IN = 1.2  # a colour bar and its label, beside a heatmap
MERGE_NOTE = ("Word level: attention FROM a word = mean over its wordpieces' rows; TO a word = sum over its "
              "wordpieces' columns; tokens in overlapping windows average the windows; grey = no shared window.")


def short(label: str, n: int = 16) -> str:
    """Long tokens (a URL, a run of characters) would squeeze the plot: cut them for the axis."""
    return label if len(label) <= n else label[: n - 1] + "\u2026"


def label_step(n: int, length_in: float) -> int:
    """Label every k-th of `n` ticks so that 10 pt labels fit along `length_in` inches of axis."""
    room = max(1, int((length_in - MARGIN_IN) / PITCH_IN))
    return max(1, int(numpy.ceil(n / room)))


def _ticks(ax, axis: str, labels: Sequence[str], colors: Optional[Dict[int, str]] = None, first: int = 0,
           beside: float = 0.0) -> List[int]:
    """10 pt tick labels for positions first .. first + len(labels), thinned only where the figure
    (less `beside` inches of colour bar on the right) cannot hold them all; returns the positions labelled."""
    width, height = ax.figure.get_size_inches()
    step = label_step(len(labels), (width - beside) if axis == "x" else height)
    idx = list(range(0, len(labels), step))
    if axis == "x":
        ax.set_xticks([first + i for i in idx], [labels[i] for i in idx], rotation=90, fontsize=TICK_PT)
        ticks = ax.get_xticklabels()
    else:
        ax.set_yticks([first + i for i in idx], [labels[i] for i in idx], fontsize=TICK_PT)
        ticks = ax.get_yticklabels()
    for i, t in zip(idx, ticks):
        if colors and i in colors:
            t.set_color(colors[i])
    return [first + i for i in idx]


def _side(n: int, lo: float = 3.0, hi: float = 14.0) -> float:
    return float(min(hi, max(lo, PITCH_IN * n + MARGIN_IN)))


# ------------------------------------------------------------------ renderers


def draw_alignment(data: Dict[str, Any], ax, token_range: Optional[tuple] = None) -> None:
    """Tokens (rows) x wordpiece rows (columns): a dark cell = the piece is aligned to the token.
    Windows are shaded in turn; special pieces are grey columns; tokens in two windows
    (overlap) are orange, truncated tokens red, unaligned tokens grey."""
    M = data["matrix"].astype(float)
    t0, t1 = token_range or (0, M.shape[0])
    cols = numpy.flatnonzero(M[t0:t1].any(axis=0))
    if token_range is not None:
        # show the rows of the window(s) touched, whole
        wins = sorted({int(data["row_window"][c]) for c in cols}) if len(cols) else []
        c0 = min(data["window_rows"][w][0] for w in wins) if wins else 0
        c1 = max(data["window_rows"][w][1] for w in wins) if wins else M.shape[1]
    else:
        c0, c1 = 0, M.shape[1]
    sub = M[t0:t1, c0:c1]
    ax.imshow(sub, aspect="auto", cmap="Greys", vmin=0, vmax=1.3, interpolation="nearest",
              extent=(c0 - 0.5, c1 - 0.5, t1 - 0.5, t0 - 0.5))
    for k, (r0, r1) in enumerate(data["window_rows"]):
        if r1 <= c0 or r0 >= c1:
            continue
        ax.axvspan(max(r0, c0) - 0.5, min(r1, c1) - 0.5, color=WINDOW_COLORS[k % 2], alpha=0.13, lw=0)
        ax.text((max(r0, c0) + min(r1, c1)) / 2 - 0.5, t0 - 0.9, f"window {k}", ha="center", va="bottom",
                fontsize=TICK_PT, color=WINDOW_COLORS[k % 2])
    for r in data["special_rows"]:
        if c0 <= r < c1:
            ax.axvspan(r - 0.5, r + 0.5, color="#999999", alpha=0.35, lw=0)
    for r in data["truncated_rows"]:
        if c0 <= r < c1:
            ax.axvline(r + 0.5, color="#c62828", lw=1.5, ls="--")
    for t in data["overlap_tokens"]:
        if t0 <= t < t1:
            ax.axhspan(t - 0.5, t + 0.5, color="#dd8452", alpha=0.12, lw=0)
    colors = {}  # token index -> label color: overlap, unaligned, truncated (the last wins)
    for kind, color in (("overlap_tokens", "#c05f00"), ("unaligned_tokens", "#9e9e9e"), ("truncated_tokens", "#c62828")):
        for t in data[kind]:
            colors[t] = color
    labels = [f"{short(tok)} (cut)" if t in data["truncated_tokens"] else short(tok)
              for t, tok in enumerate(data["tokens"])]
    _ticks(ax, "x", [short(p) for p in data["wordpieces"][c0:c1]], first=c0)
    _ticks(ax, "y", labels[t0:t1], {t - t0: c for t, c in colors.items() if t0 <= t < t1}, first=t0)
    ax.set_xlabel("wordpiece rows (grey: special; dashed red: truncated)", fontsize=TICK_PT)
    ax.set_ylabel("tokens (orange: in two windows)", fontsize=TICK_PT)


def alignment_figure(data: Dict[str, Any], token_range: Optional[tuple] = None) -> Figure:
    t0, t1 = token_range or (0, data["matrix"].shape[0])
    n_cols = data["matrix"][t0:t1].any(axis=0).sum() if t1 > t0 else 1
    fig = new_figure(width=_side(int(n_cols), 4, MAX_WIDTH_IN), height=_side(t1 - t0, 2.5, 12))
    ax = fig.add_subplot()
    draw_alignment(data, ax, token_range)
    ax.set_title("token \u2194 wordpiece alignment", fontsize=11, pad=18)  # above the "window k" labels
    return fig


def draw_attention(data: Dict[str, Any], ax, labels_key: str = "labels") -> None:
    """A heatmap of `word_attention` / `wordpiece_attention` data: rows attend to columns."""
    M = numpy.asarray(data["matrix"], dtype=float)
    cmap = colormaps["viridis"].with_extremes(bad="#e6e6e6")  # grey: no attention (different windows)
    finite = M[numpy.isfinite(M)]
    vmax = float(finite.max()) if finite.size else 1.0
    im = ax.imshow(numpy.ma.masked_invalid(M), cmap=cmap, vmin=0.0, vmax=max(vmax, 1e-6), interpolation="nearest")
    labels = [short(s) for s in data.get(labels_key) or data.get("tokens") or []]
    colors = {i: "#9e9e9e" for i, s in enumerate(data.get("special", [])) if s}
    _ticks(ax, "x", labels, colors, beside=COLORBAR_IN)
    _ticks(ax, "y", labels, colors)
    ax.set_xlabel("attends to", fontsize=11)
    ax.set_ylabel("from", fontsize=11)
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.8)
    bar.set_label("attention" + (" (specials hidden, rows renormalized)" if data.get("special_hidden") else ""),
                  fontsize=10)
    bar.ax.tick_params(labelsize=10)


def attention_title(data: Dict[str, Any], level: str) -> str:
    layer, head, window = data["layer"], data["head"], data["window"]
    lt = f"{layer} over layers" if isinstance(layer, str) else f"layer {layer}"
    ht = f"{head} over heads" if isinstance(head, str) else f"head {head}"
    wt = "all windows" if window is None else f"window {window}"
    return f"{level} attention: {lt}, {ht}, {wt}"


def attention_figure(data: Dict[str, Any], level: str = "word") -> Figure:
    n = len(data["matrix"])
    side = _side(n, 3.5, MAX_WIDTH_IN - COLORBAR_IN)  # and a colour bar beside it
    fig = new_figure(width=side + COLORBAR_IN, height=side)
    ax = fig.add_subplot()
    draw_attention(data, ax, "tokens" if level == "word" else "labels")
    ax.set_title(attention_title(data, level), fontsize=11)
    return fig


def attention_table_html(data: Dict[str, Any], labels_key: str = "tokens", max_side: int = 80) -> str:
    """The heatmap as an HTML table: each cell's colour is its value, and hovering shows
    "from -> to: value" (the browser's own tooltip: no JavaScript)."""
    values = cell_values(data)
    labels = [short(s, 12) for s in (data.get(labels_key) or data.get("tokens") or [])]
    n = len(values)
    if n > max_side:
        return f"<i>{n} rows: too many for the hover table (at most {max_side}); choose a window.</i>"
    finite = [v for row in values for v in row if v is not None]
    vmax = max(finite) if finite else 1.0
    cmap = colormaps["viridis"]

    def color(v):
        if v is None:
            return "#e6e6e6"
        r, g, b, _ = cmap(v / vmax if vmax > 0 else 0.0)
        return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"

    head = "<tr><th></th>" + "".join(
        f"<th style='writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:11px;"
        f"padding:0 1px'>{html.escape(lab)}</th>" for lab in labels) + "</tr>"
    rows = []
    for i, row in enumerate(values):
        cells = "".join(
            f"<td title='{html.escape(labels[i])} → {html.escape(labels[j])}: "
            f"{'no shared window' if v is None else f'{v:.4f}'}' style='width:14px;height:14px;padding:0;"
            f"background:{color(v)}'></td>" for j, v in enumerate(row))
        rows.append(f"<tr><th style='text-align:right;font-weight:normal;font-size:11px;padding-right:4px'>"
                    f"{html.escape(labels[i])}</th>{cells}</tr>")
    return ("<table class='wb-trf-table' style='border-collapse:collapse;line-height:1'>" + head + "".join(rows)
            + "</table><small>hover a cell for its value (row attends to column)</small>")


def draw_head_summary(data: Dict[str, Any], ax, layer: Any = None, head: Any = None) -> None:
    """Entropy per (layer, head): low = the head focuses on few pieces. The layer and head
    shown in the attention view are marked (a box on one cell, or a band for mean/max)."""
    from matplotlib.patches import Rectangle

    E = data["entropy"]
    im = ax.imshow(E, cmap="magma_r", aspect="auto")
    ax.set_xticks(range(E.shape[1]))
    ax.set_yticks(range(E.shape[0]))
    ax.tick_params(labelsize=10)
    ax.set_xlabel("head", fontsize=11)
    ax.set_ylabel("layer", fontsize=11)
    ax.set_title(f"attention entropy per head\n(window {data['window']})", fontsize=11)
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.9)
    bar.set_label("entropy (nats): low = focused", fontsize=10)
    bar.ax.tick_params(labelsize=10)
    n_layers, n_heads = E.shape
    rows = range(n_layers) if isinstance(layer, str) or layer is None else [int(layer) % n_layers]
    cols = range(n_heads) if isinstance(head, str) or head is None else [int(head) % n_heads]
    if layer is not None or head is not None:
        r0, c0 = min(rows), min(cols)
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), len(cols), len(rows), fill=False, edgecolor="#00c8ff",
                               linewidth=2.5, label="shown"))


# ------------------------------------------------------------------ the widget


class TrfInspector(W.VBox):
    """Alignment and attention views of one doc's transformer output.

    doc_or_trf_data: a Doc with `doc._.trf_data`, or a TransformerData (then pass `tokens`).
    to: how word-level attention merges the pieces a word attends to ("sum" or "mean").
    """

    def __init__(self, doc_or_trf_data: Any, *, tokens: Optional[Sequence[str]] = None, to: str = "sum"):
        super().__init__()
        self.source = doc_or_trf_data
        self.to = to
        self.alignment = alignment_matrix(doc_or_trf_data, tokens)
        self.tokens = self.alignment["tokens"]
        self.n_layers, self.n_heads = n_layers_heads(doc_or_trf_data)
        n_windows = self.alignment["n_windows"]
        self.attention: Optional[Dict[str, Any]] = None
        self.figures: Dict[str, Figure] = {}

        self.level = W.ToggleButtons(options=["word", "wordpiece"], value="word", description="level")
        self.layer = W.IntSlider(min=0, max=max(0, self.n_layers - 1), value=max(0, self.n_layers - 1),
                                 description="layer", continuous_update=False)
        self.layer_summary = W.Dropdown(options=[("this layer", "one"), ("mean over layers", "mean"),
                                                 ("max over layers", "max")], value="one", description="layers")
        self.head = W.Dropdown(options=list(range(self.n_heads)) + ["mean", "max"], value=0 if self.n_heads else "mean",
                               description="head")
        default_window = 0 if n_windows > 1 else "all"
        self.window = W.Dropdown(options=["all"] + list(range(n_windows)), value=default_window, description="window")
        self.hide_special = W.Checkbox(value=True, description="hide special tokens ([CLS], [SEP])", indent=False)
        self.view_mode = W.ToggleButtons(options=["image", "hover values"], value="image", description="map")
        self.table_view = W.HTML()
        self.caption = W.HTML()
        self.alignment_image = image_widget()
        self.attention_image = image_widget()
        self.summary_image = image_widget()
        self.format = W.Dropdown(options=["png", "svg", "html"], value="html", layout=W.Layout(width="90px"))
        self.filename = W.Text(value="trf_view", description="file", layout=W.Layout(width="300px"))
        self.export_button = W.Button(description="export", icon="download")
        self.status = W.HTML()
        self.notes = W.HTML(self._notes_html())
        # CSS classes, so a page (and the browser test) can find the parts
        for widget, name in ((self.layer, "wb-trf-layer"), (self.head, "wb-trf-head"), (self.caption, "wb-trf-caption-box"),
                             (self.alignment_image, "wb-trf-alignment"), (self.attention_image, "wb-trf-attention")):
            widget.add_class(name)

        for control in (self.level, self.layer, self.layer_summary, self.head, self.hide_special, self.view_mode):
            control.observe(lambda _: self.update_attention(), names="value")
        self.window.observe(lambda _: self.update(), names="value")
        self.export_button.on_click(lambda _: self._export_clicked())

        attention_box: List[W.Widget] = []
        if self.n_layers:
            attention_box = [
                W.HBox([self.level, self.window, self.hide_special]),
                W.HBox([self.layer, self.layer_summary, self.head]),
                self.view_mode,
                self.caption,
                W.HBox([self.attention_image, self.table_view]),
                self.summary_image,  # its own row: drawn at its own size, fonts readable
            ]
        else:
            attention_box = [self.window, self.caption]
        self.children = [
            W.HTML("<b>token &#8596; wordpiece alignment</b>"),
            self.alignment_image,
            self.notes,
            *attention_box,
            W.HBox([self.filename, self.format, self.export_button]),
            self.status,
        ]
        self.update()

    # ------------------------------------------------------------ state

    @property
    def selected_window(self) -> Optional[int]:
        return None if self.window.value == "all" else int(self.window.value)

    @property
    def selected_layer(self) -> Union[int, str]:
        return self.layer.value if self.layer_summary.value == "one" else self.layer_summary.value

    def update(self) -> None:
        """Redraw everything (the window changed)."""
        k = self.selected_window
        token_range = None if k is None else tuple(self.alignment["window_tokens"][k])
        self.figures["alignment"] = alignment_figure(self.alignment, token_range)
        show_figure(self.alignment_image, self.figures["alignment"])
        if self.n_layers:
            self._summary = head_summary(self.source, window=k or 0)
        self.update_attention()

    def _draw_summary(self) -> None:
        fig = new_figure(width=3.6 + 0.3 * self.n_heads, height=2.8 + 0.25 * self.n_layers)
        draw_head_summary(self._summary, fig.add_subplot(), self.selected_layer, self.head.value)
        self.figures["heads"] = fig
        show_figure(self.summary_image, fig)

    def update_attention(self) -> None:
        """Recompute and redraw the attention heatmap for the current selectors."""
        if not self.n_layers:
            self.caption.value = ("<i>No attention weights: set <code>output_attentions = true</code> in the "
                                  "transformer's model block to see attention.</i>")
            return
        # the slider does nothing for a mean/max over layers, or with one layer
        self.layer.disabled = self.layer_summary.value != "one" or self.n_layers <= 1
        level = self.level.value
        if level == "word":
            self.attention = word_attention(self.source, self.selected_layer, self.head.value, to=self.to,
                                            window=self.selected_window, tokens=self.tokens)
        else:
            self.attention = wordpiece_attention(self.source, self.selected_layer, self.head.value,
                                                 window=self.selected_window)
        if self.hide_special.value:
            self.attention = without_special(self.attention)
        self.figures["attention"] = attention_figure(self.attention, level)
        show_figure(self.attention_image, self.figures["attention"])
        hover = self.view_mode.value == "hover values"
        self.table_view.value = attention_table_html(self.attention, "tokens" if level == "word" else "labels") \
            if hover else ""
        self.attention_image.layout.display = "none" if hover else None
        self._draw_summary()
        note = f" {MERGE_NOTE}" if level == "word" else ""
        self.caption.value = (f"<span class='wb-trf-caption'>{html.escape(attention_title(self.attention, level))}</span>"
                              f"<br><small>{html.escape(note)}</small>")

    def _notes_html(self) -> str:
        a = self.alignment
        parts = [f"{len(a['tokens'])} tokens, {a['matrix'].shape[1]} wordpiece rows in {a['n_windows']} window(s)"]
        if a["overlap_tokens"]:
            parts.append(f"{len(a['overlap_tokens'])} token(s) in two windows (orange)")
        if a["unaligned_tokens"]:
            parts.append(f"unaligned tokens: {', '.join(a['tokens'][i] for i in a['unaligned_tokens'][:10])}")
        for r in a["report"]:
            if r.get("truncated_tokens"):
                parts.append(f"<span style='color:#c62828'>truncated: {r['dropped_wordpieces']} wordpiece(s) of "
                             f"token(s) {r['truncated_tokens']} were cut (longer than {r['limit']} pieces)</span>")
            else:
                parts.append(f"span {r['start']}:{r['end']} ({r['n_wordpieces']} pieces > {r['limit']}) was split "
                             f"into {r['n_windows']} windows")
        return "<small>" + "; ".join(parts) + "</small>"

    # ------------------------------------------------------------ export

    def export(self, path: Union[str, Path], fmt: Optional[str] = None, view: str = "all") -> Path:
        """Save a view: "attention", "alignment" or "all" (HTML with every figure; PNG/SVG
        of "all" save the attention view, or the alignment when there is no attention)."""
        path = Path(path)
        fmt = (fmt or path.suffix.lstrip(".") or "html").lower()
        if fmt == "html" and view == "all":
            figs = [("token \u2194 wordpiece alignment", self.figures["alignment"])]
            if "attention" in self.figures:
                figs.append((attention_title(self.attention, self.level.value), self.figures["attention"]))
            path = path.with_suffix(".html")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(figures_html(figs, "transformer inspector", caption=MERGE_NOTE), encoding="utf8")
            return path
        name = view if view != "all" else ("attention" if "attention" in self.figures else "alignment")
        return save_figure(self.figures[name], path, fmt, title=name, caption=MERGE_NOTE if name == "attention" else "")

    def _export_clicked(self) -> None:
        try:
            path = self.export(self.filename.value, self.format.value)
            self.status.value = f"Saved {html.escape(str(path))}"
        except Exception as e:
            self.status.value = f"<span style='color:#c62828'>{html.escape(str(e))}</span>"
