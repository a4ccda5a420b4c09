"""Every figure a view shows is readable at notebook width: no wider than the output area, every
text at 10 pt or more (as shown, after the image is shrunk to fit), axis labels on every plot,
legends outside the lines.

Each figure is the one the widget itself draws, with data in it (and, where a view has one, its
placeholder before any data).
"""
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text

from tests.widgets.test_dashboard import DATA, SHARED, synthetic_events
from tests.widgets.test_runs_view import write_run
from tests.widgets.test_sweep_view import sweep_dir  # noqa: F401 (the module's sweep, run once)
from tests.widgets.test_trf import TOKENS, synthetic
from widgets.cats_view import cats_figure
from widgets.converters.layout import layout_data
from widgets.converters.training import TrainingHistory
from widgets.dashboard import TrainingDashboard
from widgets.layout import layout_figure
from widgets.pretraining_panel import PRETRAINED, RANDOM, PretrainingPanel
from widgets.runs_view import RunsView
from widgets.sweep_view import SweepView
from widgets.trf_inspector import TrfInspector
from workbench.commands import build_init_config
from workbench.config import load_config
from workbench.training.events import TrainingEvent

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_PX = 900  # the width every view is drawn for: a JupyterLab output area beside the file browser
MIN_PT = 10


def shown_scale(fig: Figure) -> float:
    """How much the browser shrinks the PNG to fit the output area (max-width: 100%)."""
    return min(1.0, OUTPUT_PX / (fig.get_figwidth() * fig.dpi))


def texts(fig: Figure):
    """Every visible, non-empty text in the figure: titles, labels, tick labels, legends, notes."""
    fig.canvas.draw()  # tick labels exist once drawn
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and _in_figure(fig, t)]


def _in_figure(fig: Figure, t: Text) -> bool:
    box = t.get_window_extent()
    return box.x1 > 0 and box.y1 > 0 and box.x0 < fig.bbox.width and box.y0 < fig.bbox.height


def assert_readable(fig: Figure, name: str) -> None:
    scale = shown_scale(fig)
    small = sorted({(round(t.get_fontsize() * scale, 1), t.get_text()[:30]) for t in texts(fig)
                    if t.get_fontsize() * scale < MIN_PT - 0.05})
    assert not small, f"{name}: text under {MIN_PT} pt as shown (scale {scale:.2f}): {small[:8]}"
    for ax in fig.axes:
        if not ax.axison or not (ax.lines or ax.images or ax.patches or ax.collections):
            continue
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            assert ax.get_ylabel() or ax.get_xlabel(), f"{name}: a colour bar without a label"
            continue
        title = " ".join(ax.get_title(loc) for loc in ("left", "center", "right")).strip()
        assert title or fig._suptitle, f"{name}: a plot without a title"
        for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
            ticks = [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            numeric = ticks and all(_is_number(t) for t in ticks)
            # a numeric axis needs its label; named ticks (tokens, categories, settings) label themselves
            assert label or not numeric, f"{name}: the {axis.axis_name} axis of {title!r} has no label"
        legend = ax.get_legend()
        if legend is not None:
            inside = ax.get_window_extent()
            box = legend.get_window_extent()
            assert box.y1 <= inside.y0 + 1 or box.x0 >= inside.x1 - 1, f"{name}: the legend of {title!r} covers the lines"


def _is_number(text: str) -> bool:
    try:
        float(text.replace("\u2212", "-").replace("%", "").replace(",", ""))
        return True
    except ValueError:
        return False


def history():
    h = TrainingHistory()
    for e in synthetic_events():
        h(e)
    h.refresh()
    return h


def test_training_dashboard_before_and_after_steps(tmp_path):
    dash = TrainingDashboard(load_config(SHARED, DATA), tmp_path / "run")
    assert_readable(dash.fig, "dashboard (placeholders)")
    dash.history = history()
    dash.redraw()
    assert_readable(dash.fig, "dashboard")


def test_runs_view(tmp_path):
    write_run(tmp_path / "shared", 1.0)
    write_run(tmp_path / "independent", 2.0, listeners=("tagger",))
    assert_readable(RunsView(tmp_path).fig, "runs view")


def test_sweep_view(sweep_dir):  # noqa: F811
    assert_readable(SweepView(sweep_dir).fig, "sweep view")


def test_pretraining_panel(tmp_path):
    panel = PretrainingPanel(ROOT / "sample_data" / "configs" / "pretraining.cfg", ROOT / "sample_data" / "raw_text.jsonl",
                             tmp_path / "exp")
    assert_readable(panel.fig, "pretraining panel (placeholders)")
    for name, scores in ((RANDOM, (0.5, 0.6)), (PRETRAINED, (0.7, 0.65))):
        for step, score in zip((4, 8), scores):
            panel.histories[name](TrainingEvent("step", step=step, losses={"tagger": 1.0 / step}))
            panel.histories[name](TrainingEvent("evaluate", step=step, scores={"pos_acc": score}, score=score))
    panel.redraw()
    assert_readable(panel.fig, "pretraining panel")


def test_trf_inspector_figures():
    ins = TrfInspector(synthetic(), tokens=TOKENS)
    for name, fig in ins.figures.items():
        assert_readable(fig, f"inspector {name}")


def test_trf_inspector_on_a_real_doc_of_40_words():
    from tests.helpers.trf import tiny_bert_pipeline

    nlp = tiny_bert_pipeline("""output_attentions = true

[components.transformer.model.get_spans]
@span_getters = "workbench.strided_spans.v1"
window = 24
stride = 16""")
    doc = nlp(" ".join(["Alice visited Paris and London , then Bob worked in Berlin ."] * 4))
    ins = TrfInspector(doc)
    for window in (0, "all"):
        ins.window.value = window
        for name, fig in ins.figures.items():
            assert_readable(fig, f"inspector {name} ({len(doc)} words, window {window})")


def assert_box_text_fits(fig: Figure, name: str) -> None:
    """Each box's text lies inside its box."""
    fig.canvas.draw()
    for ax in fig.axes:
        boxes = [p.get_window_extent() for p in ax.patches if isinstance(p, FancyBboxPatch)]
        for t in ax.texts:
            if not boxes or "no other version" in t.get_text():
                continue
            extent = t.get_window_extent()
            cx, cy = (extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2
            (box,) = [b for b in boxes if b.x0 <= cx <= b.x1 and b.y0 <= cy <= b.y1]
            assert (box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1 and box.y0 - 1 <= extent.y0
                    and extent.y1 <= box.y1 + 1), f"{name}: {t.get_text()!r} overflows its box"


@pytest.mark.parametrize("components", [["tagger", "ner"], ["tagger", "parser", "ner", "textcat"]])
def test_pipeline_layouts_side_by_side_or_stacked(components):
    shared = layout_data(build_init_config(components, shared=True))  # measured: boxes with params and sizes
    independent = layout_data(build_init_config(components, shared=False))
    for panels in ([shared, independent], [shared, None], [independent]):
        fig = layout_figure(panels)
        name = f"layout of {'+'.join(components)}, {len(panels)} panels"
        assert_readable(fig, name)
        assert_box_text_fits(fig, name)
    side_by_side = layout_figure([shared, independent])
    (a, b) = side_by_side.axes
    placed = a.get_position(), b.get_position()
    if len(components) == 2:  # the sample pipeline: shared | independent, as notebook 02 compares them
        assert placed[0].x1 <= placed[1].x0
    else:  # five columns and four: one above the other, boxes the same size
        assert placed[0].y0 >= placed[1].y1 and a.get_xlim() == b.get_xlim()


def test_cats_chart():
    assert_readable(cats_figure({"answers": 0.1, "email": 0.55, "newsgroup": 0.05, "reviews": 0.2, "weblog": 0.1}), "cats")
