"""RunsView: several training runs overlaid, TensorBoard style, read from their folders.

    view = RunsView("training/04")              # every run folder under it (those with events.jsonl)
    view = RunsView(["training/a/run-001", "training/b/run-003"])
    view                                        # choose runs, a dev score and the smoothing
    view.table                                  # best score and the scores there, per run

Curves: the summed training loss, a dev score, each listener's gradient norm and
its grad_factor, one colour per run (one line style per listener). It reads only
the runs' events.jsonl: no server, works offline, and a run still training shows
its newest events on "reload".
"""
from pathlib import Path
from typing import List, Optional, Sequence, Union

import ipywidgets as W

from .converters.runs import Run, final_scores, find_runs, load_run, score_names, total_loss
from .converters.training import smooth
from .curves import legend_below, log_axis, placeholder, style_axes
from .render import image_widget, new_figure, save_figure, show_figure

STYLES = ["-", "--", ":", "-."]
Source = Union[str, Path, Run, Sequence[Union[str, Path, Run]]]


def _gaps(values):
    return [v if v > 0 else float("nan") for v in values]


def draw_runs(runs: List[Run], axes, metric: str = "score", smoothing: float = 0.0) -> None:
    """Overlay the runs on 2x2 axes: loss, dev `metric`, gradient norms, grad_factors."""
    (ax_loss, ax_score), (ax_norm, ax_factor) = axes
    for ax in (ax_loss, ax_score, ax_norm, ax_factor):
        ax.clear()
    style_axes(ax_loss, "training loss (all components)", "step", "loss (log scale)")
    style_axes(ax_score, f"dev {metric}", "step", metric)
    style_axes(ax_norm, "gradient norm each listener sends", "step", "norm (log scale)")
    style_axes(ax_factor, "grad_factor", "step", "factor")
    any_norm = any_factor = False
    for i, run in enumerate(runs):
        color = f"C{i % 10}"
        steps, values = total_loss(run.history)
        if steps:
            ax_loss.plot(steps, _gaps(smooth(values, smoothing)), color=color, lw=1.6, label=run.name)
            if smoothing:
                ax_loss.plot(steps, _gaps(values), color=color, lw=0.8, alpha=0.25, label="_raw")
        steps, values = run.history.scores.get(metric, ([], []))
        if steps:
            ax_score.plot(steps, values, color=color, marker="o", ms=4, lw=1.6, label=run.name)
        for j, (listener, c) in enumerate(sorted(run.history.grad_curves().items())):
            style = STYLES[j % len(STYLES)]
            if c["steps"]:
                ax_norm.plot(c["steps"], _gaps(c["norms"]), color=color, ls=style, lw=1.2,
                             label=f"{run.name}: {listener}")
                any_norm = True
            if c["factor_steps"]:
                ax_factor.step(c["factor_steps"], c["factors"], where="post", color=color, ls=style, lw=1.6,
                               label=f"{run.name}: {listener}")
                any_factor = True
    if any(ax_loss.lines):
        log_axis(ax_loss)
    if any_norm:
        log_axis(ax_norm)
    empty = "no runs chosen" if not runs else None
    placeholder(ax_loss, empty or (None if ax_loss.lines else "no steps in these runs"))
    placeholder(ax_score, empty or (None if ax_score.lines else f"no dev {metric} in these runs"))
    placeholder(ax_norm, empty or (None if any_norm else "no listener sends gradients"))
    placeholder(ax_factor, empty or (None if any_factor else "no grad_factor (tok2vec listeners)"))
    for ax in (ax_loss, ax_score, ax_norm, ax_factor):
        legend_below(ax, ncol=2 if ax in (ax_norm, ax_factor) else 3)


def _load(source: Source) -> List[Run]:
    if isinstance(source, Run):
        return [source]
    if isinstance(source, (str, Path)):
        path = Path(source)
        if (path / "events.jsonl").is_file() or path.name == "events.jsonl":
            return [load_run(path)]
        folders = find_runs(path)
        if not folders:
            raise FileNotFoundError(f"{path}: no run folders (with events.jsonl) in it. Train with the "
                                    f"TrainingDashboard, or pass run folders.")
        # name each run by its path under the root, so runs of the same name in two folders differ
        return [load_run(f, str(f.relative_to(path))) for f in folders]
    runs: List[Run] = []
    for item in source:
        runs += _load(item)
    return runs


class RunsView(W.VBox):
    """Several runs' curves overlaid and their final scores side by side.

    source: a folder of runs, a run folder, a Run, or a list of these;
    names: labels for the runs, in order (default: their folder names).
    """

    def __init__(self, source: Source, *, names: Optional[Sequence[str]] = None, smoothing: float = 0.6):
        super().__init__()
        self.add_class("wb-runs-view")
        self.source = source
        self.runs = self._named(_load(source), names)
        self.names = names
        labels = [r.name for r in self.runs]
        self.select = W.SelectMultiple(options=labels, value=tuple(labels), description="runs", rows=min(6, len(labels)),
                                       layout=W.Layout(width="360px"))
        metrics = score_names(self.runs) or ["score"]
        self.metric = W.Dropdown(options=metrics, value=metrics[0], description="dev score",
                                 layout=W.Layout(width="260px"))
        self.smoothing = W.FloatSlider(value=smoothing, min=0.0, max=0.95, step=0.05, description="smoothing",
                                       continuous_update=False, layout=W.Layout(width="300px"))
        self.reload_button = W.Button(description="reload", icon="refresh", tooltip="read the runs' events again")
        self.image = image_widget()
        self.table_view = W.HTML()
        for control in (self.select, self.metric, self.smoothing):
            control.observe(lambda _: self.redraw(), names="value")
        self.reload_button.on_click(lambda _: self.reload())
        self.children = [W.HBox([self.select, W.VBox([self.metric, self.smoothing, self.reload_button])]),
                         self.image, self.table_view]
        self.fig = new_figure(9.0, 7.6, dpi=100, constrained=False)
        self._axes = self.fig.subplots(2, 2)
        self.fig.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.16, hspace=0.7, wspace=0.3)
        self.redraw()

    @staticmethod
    def _named(runs: List[Run], names: Optional[Sequence[str]]) -> List[Run]:
        if names is None:
            return runs
        if len(names) != len(runs):
            raise ValueError(f"{len(names)} names for {len(runs)} runs: give one name per run.")
        return [Run(n, r.path, r.history) for n, r in zip(names, runs)]

    @property
    def shown(self) -> List[Run]:
        chosen = set(self.select.value)
        return [r for r in self.runs if r.name in chosen]

    @property
    def table(self):
        """One row per chosen run: steps, best dev scores, the step of the best one, how it ended."""
        return final_scores(self.shown)

    def reload(self) -> None:
        """Read the runs again (new events, new run folders)."""
        self.runs = self._named(_load(self.source), self.names)
        labels = [r.name for r in self.runs]
        keep = [n for n in self.select.value if n in labels] or labels
        new = [n for n in labels if n not in self.select.options]
        self.select.options = labels
        self.select.value = tuple(keep + [n for n in new if n not in keep])
        metrics = score_names(self.runs) or ["score"]
        self.metric.options = metrics
        self.redraw()

    def redraw(self) -> None:
        draw_runs(self.shown, self._axes, self.metric.value, self.smoothing.value)
        show_figure(self.image, self.fig)
        frame = self.table
        self.table_view.value = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="\u2013") \
            if len(frame) else "<i>no runs chosen</i>"

    def export(self, path: Union[str, Path], fmt: Optional[str] = None) -> Path:
        """Save the overlaid curves as PNG, SVG or self-contained HTML."""
        return save_figure(self.fig, path, fmt, title="training runs")
