"""SweepView: a config sweep's trials as a table, a parallel-coordinates plot and score curves.

    view = SweepView("sweeps/lr")     # the output folder of `python -m workbench sweep ... -o sweeps/lr`
    view                              # table, parallel coordinates, score curves, "open the best run"
    view.table                        # the trials as a DataFrame, best first
    view.open_best()                  # the best trial in a TrainingDashboard (reopened from its events.jsonl)

Everything is read from the sweep folder (results.jsonl, sweep.json, each trial's
events.jsonl) and drawn with matplotlib: offline, no server, works while Ray is
long gone. "reload" reads the folder again.
"""
import html
import math
from pathlib import Path
from typing import Optional, Union

import ipywidgets as W

from .converters.sweep import Sweep, load_sweep, parallel_axes, score_curves, trial_table
from .curves import LABEL_PT, TICK_PT, legend_below, placeholder, style_axes
from .render import image_widget, new_figure, save_figure, show_figure


def draw_parallel(sweep: Sweep, ax, highlight: Optional[str] = None) -> None:
    """One line per trial across an axis per swept setting and the metric (each trial in the
    colour it has in the score curves); `highlight` (a trial) drawn thick."""
    ax.clear()
    ax.set_title(f"settings vs {sweep.metric} (one line per trial)", fontsize=12)
    axes = parallel_axes(sweep)
    if not sweep.rows or not any(row.get(sweep.metric) is not None for row in sweep.rows):
        placeholder(ax, "no trial reported " + sweep.metric if sweep.rows else "no trials")
        return
    placeholder(ax, None)
    xs = list(range(len(axes)))
    for i, row in enumerate(sweep.rows):
        chosen = row["trial"] == highlight
        ax.plot(xs, [a.positions[i] for a in axes], color=f"C{i % 10}", lw=3.0 if chosen else 1.4,
                alpha=1.0 if chosen else 0.75, marker="o", ms=4, label=row["trial"], zorder=3 if chosen else 2)
    for x, a in zip(xs, axes):
        ax.axvline(x, color="#999999", lw=1.0, zorder=1, label="_axis")
        for pos, label in a.ticks:
            ax.text(x + 0.03, pos, label, fontsize=TICK_PT, va="center", ha="left", color="#333333")
    ax.set_xticks(xs)
    ax.set_xticklabels([_short(a.name) + (" (log)" if a.log else "") for a in axes], fontsize=LABEL_PT - 1)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(axes) - 0.6)
    ax.set_ylim(-0.08, 1.08)
    ax.grid(False)


def draw_curves(sweep: Sweep, ax, highlight: Optional[str] = None) -> None:
    """The metric at each evaluation, one line per trial."""
    ax.clear()
    style_axes(ax, f"dev {sweep.metric} per trial", "step", sweep.metric)
    curves = score_curves(sweep)
    best = (sweep.best or {}).get("trial")
    for i, row in enumerate(sweep.rows):
        if row["trial"] in curves:
            steps, values = curves[row["trial"]]
            ax.plot(steps, values, marker="o", ms=4, lw=2.6 if row["trial"] == highlight else 1.4,
                    color=f"C{i % 10}", label=row["trial"] + (" (best)" if row["trial"] == best else ""))
    placeholder(ax, None if ax.lines else f"no trial has evaluated {sweep.metric} yet")
    legend_below(ax, ncol=4)


def _short(key: str) -> str:
    """The last two parts of a dotted key: enough to tell the settings apart on an axis."""
    return ".".join(key.split(".")[-2:])


class SweepView(W.VBox):
    """A sweep's trials, their settings against the metric, their curves, and the best run.

    source: a sweep output folder (holding results.jsonl).
    """

    def __init__(self, source: Union[str, Path]):
        super().__init__()
        self.add_class("wb-sweep-view")
        self.source = Path(source)
        self.sweep = load_sweep(self.source)
        self.dashboard = None  # the TrainingDashboard of the run opened last
        self.trial = W.Dropdown(description="trial", layout=W.Layout(width="260px"))
        self.open_button = W.Button(description="open run", icon="folder-open",
                                    tooltip="show the chosen trial in the training dashboard")
        self.best_button = W.Button(description="open the best run", icon="trophy", button_style="success")
        self.reload_button = W.Button(description="reload", icon="refresh", tooltip="read the sweep folder again")
        self.status = W.HTML()
        self.table_view = W.HTML()
        self.image = image_widget()
        self.run_box = W.VBox()
        self.open_button.on_click(lambda _: self.open_trial(self.trial.value))
        self.best_button.on_click(lambda _: self.open_best())
        self.reload_button.on_click(lambda _: self.reload())
        self.trial.observe(lambda _: self.redraw(), names="value")
        self.children = [W.HBox([self.best_button, self.trial, self.open_button, self.reload_button]),
                         self.status, self.table_view, self.image, self.run_box]
        self.fig = new_figure(9.0, 7.4, dpi=100, constrained=False)
        self._axes = self.fig.subplots(2, 1)
        self.fig.subplots_adjust(left=0.08, right=0.96, top=0.95, bottom=0.14, hspace=0.45)
        self._fill()

    @property
    def table(self):
        """The trials as a DataFrame, best first."""
        return trial_table(self.sweep)

    def reload(self) -> None:
        """Read the sweep folder again (a sweep run again with --force, trials that went on)."""
        self.sweep = load_sweep(self.source)
        self._fill()

    def _fill(self) -> None:
        names = [row["trial"] for row in self.sweep.rows]
        best = self.sweep.best
        self.trial.options = names
        self.trial.value = best["trial"] if best else (names[0] if names else None)
        self.best_button.disabled = best is None
        self.open_button.disabled = not names
        self.status.value = (f"{len(names)} trials; best {html.escape(best['trial'])}: {self.sweep.metric} "
                             f"{best[self.sweep.metric]:.4f} ({'higher' if self.sweep.mode == 'max' else 'lower'} is better)"
                             if best else f"{len(names)} trials; none reported {html.escape(self.sweep.metric)}")
        frame = self.table
        self.table_view.value = frame.to_html(index=False, float_format=_number, na_rep="\u2013") if len(frame) else ""
        self.redraw()

    def redraw(self) -> None:
        draw_parallel(self.sweep, self._axes[0], highlight=self.trial.value)
        draw_curves(self.sweep, self._axes[1], highlight=self.trial.value)
        show_figure(self.image, self.fig)

    def open_trial(self, trial: str):
        """Show `trial`'s run in a TrainingDashboard below the plots; returns the dashboard."""
        from .dashboard import TrainingDashboard

        try:
            self.dashboard = TrainingDashboard.reopen(self.sweep.trial_path(trial))
        except (FileNotFoundError, OSError, ValueError) as e:
            self.status.value = f"<span style='color:#b3261e'>cannot open {html.escape(trial)}: {html.escape(str(e))}</span>"
            raise
        self.run_box.children = [W.HTML(f"<b>{html.escape(trial)}</b> ({html.escape(str(self.sweep.trial_path(trial)))})"),
                                 self.dashboard]
        return self.dashboard

    def open_best(self):
        """The best trial's run in the TrainingDashboard."""
        best = self.sweep.best
        if best is None:
            raise ValueError(f"{self.source}: no trial reported {self.sweep.metric}, so there is no best run.")
        self.trial.value = best["trial"]
        return self.open_trial(best["trial"])

    def export(self, path: Union[str, Path], fmt: Optional[str] = None) -> Path:
        """Save the parallel coordinates and curves as PNG, SVG or self-contained HTML."""
        return save_figure(self.fig, path, fmt, title=f"sweep {self.source.name}")


def _number(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"
