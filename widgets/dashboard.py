"""TrainingDashboard: train from a config in a background thread and watch it.

    dash = TrainingDashboard("sample_data/configs/shared.cfg", "training/shared",
                             overrides={"training.max_steps": 200})
    dash            # progress (% and ETA), stop button, smoothing, live loss/score/gradient plots
    dash.start()    # or the start button: a new run folder training/shared/run-001, run-002, ...
    dash.stop()     # the engine finishes the step, evaluates and saves model-last
    dash.wait(); dash.frame           # the evaluations as a pandas DataFrame
    TrainingDashboard.reopen("training/shared/run-001")   # a finished run, from its events.jsonl

Every start writes a fresh run folder under `output_path` (never the last one
again): model-best, model-last and `events.jsonl`, every training event as one
JSON line, so any run can be reopened here or compared in `RunsView`.
The dashboard only subscribes to the training events (`TrainingHistory` appends
each event to a list); curves are computed and drawn by a separate thread at most
every `redraw_every` seconds, and never more than `max_draw_share` of the time
(`widgets.runner`), so drawing stays a small fraction of the training time
(`bench/bench_dashboard_overhead.py` measures it).
"""
import html
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

import ipywidgets as W
from confection import Config

from workbench.config import apply_overrides, load_config, parse_config, require_complete
from workbench.training.events import EventLog
from workbench.training.loop import TrainingResult, train

from .converters.runs import EVENTS, load_run, new_run_folder
from .converters.training import TrainingHistory, eta_text, smooth
from .curves import legend_below, log_axis, placeholder, style_axes
from .render import image_widget, new_figure, save_figure, show_figure
from .runner import BackgroundRun

RUNNING, DONE, STOPPED, FAILED, READY = "running", "done", "stopped", "failed", "ready"
WAITING = "waiting for the first step\u2026"


def load_training_config(config: Union[str, Path, Config, Dict[str, Any]],
                         overrides: Optional[Dict[str, Any]] = None) -> Config:
    """A config from a path, config text or a Config, with dotted overrides applied."""
    if isinstance(config, Path) or (isinstance(config, str) and "\n" not in config and "[" not in config):
        return load_config(config, overrides)
    if isinstance(config, str):
        return parse_config(config, overrides)
    config = Config(dict(config), is_interpolated=False)
    return apply_overrides(config, overrides) if overrides else config


# ------------------------------------------------------------------ renderers


def _line(ax, label: str, step: bool = False, **style):
    """The axes' line with this label, made on first use. Redraws update lines in place
    (set_data) instead of clearing the axes: much cheaper to draw again and again."""
    for line in ax.lines:
        if line.get_label() == label:
            return line, False
    if step:
        return ax.step([], [], where="post", label=label, **style)[0], True
    return ax.plot([], [], label=label, **style)[0], True


def _finish_axes(ax, new_lines: bool, empty_note: Optional[str]) -> None:
    if new_lines:
        legend_below(ax)
    placeholder(ax, empty_note if not any(len(line.get_xdata()) for line in ax.lines) else None)
    ax.relim()
    ax.autoscale_view()


def _gaps(values):
    return [v if v > 0 else float("nan") for v in values]  # log axis: 0 is a gap


def draw_curves(history: TrainingHistory, ax_loss, ax_score, smoothing: float = 0.0,
                note: str = WAITING) -> None:
    """Loss per component per step (left, log scale; raw values faint under the smoothed
    curve) and dev scores per evaluation (right)."""
    style_axes(ax_loss, "training loss", "step", "loss (log scale)")
    style_axes(ax_score, "dev scores", "step", "score")
    new = False
    for i, (name, (steps, values)) in enumerate(sorted(history.losses.items())):
        color = f"C{i}"
        line, made = _line(ax_loss, name, lw=1.6, color=color)
        line.set_data(steps, _gaps(smooth(values, smoothing)))
        raw, _ = _line(ax_loss, "_raw " + name, lw=0.8, color=color, alpha=0.25)
        raw.set_data(*((steps, _gaps(values)) if smoothing else ([], [])))
        new |= made
    if history.losses:
        log_axis(ax_loss)
    _finish_axes(ax_loss, new, note)
    new = False
    for name, (steps, values) in sorted(history.scores.items()):
        line, made = _line(ax_score, name, marker="o", ms=4, lw=2.2 if name == "score" else 1.2)
        line.set_data(steps, values)
        new |= made
    _finish_axes(ax_score, new, note if not history.losses else "no evaluation yet")


def draw_gradients(history: TrainingHistory, ax_norm, ax_factor, note: str = WAITING) -> None:
    """Each listener's gradient norm sent to its upstream (left, log scale) and its
    grad_factor over the steps (right)."""
    style_axes(ax_norm, "gradient norm each listener sends", "step", "norm (log scale)")
    style_axes(ax_factor, "grad_factor", "step", "factor")
    curves = history.grad_curves()
    new_norm = new_factor = False
    for listener, c in sorted(curves.items()):
        if c["steps"]:
            line, made = _line(ax_norm, f"{listener} \u2192 {c['upstream']}", lw=1.2)
            line.set_data(c["steps"], _gaps(c["norms"]))  # 0 (factor 0): a gap
            new_norm |= made
        if c["factor_steps"]:
            line, made = _line(ax_factor, listener, step=True, lw=1.6)
            line.set_data(c["factor_steps"], c["factors"])
            new_factor |= made
    if any(c["steps"] for c in curves.values()):
        log_axis(ax_norm)
    started = bool(history.losses)
    _finish_axes(ax_norm, new_norm, note if not started else "no listener sends gradients")
    _finish_axes(ax_factor, new_factor, note if not started else
                 "no grad_factor\n(tok2vec listeners pass\ngradients unscaled)")


class TrainingDashboard(W.VBox):
    """Runs `workbench.training.loop.train` in a thread with live plots and a stop button.

    config: a path, config text or a Config (complete, as `train` requires);
    output_path: the runs folder; each start trains into a new folder in it (None: not saved);
    run_name: the runs' folder name (the next start adds -2, -3, ...; default run-001, run-002, ...);
    overrides: dotted settings, e.g. {"training.max_steps": 100};
    redraw_every: seconds between redraws at most; max_draw_share: the largest share of
    time drawing may take (redraws are spaced out when a draw is slow).
    """

    def __init__(self, config: Union[str, Path, Config], output_path: Optional[Union[str, Path]] = None, *,
                 overrides: Optional[Dict[str, Any]] = None, run_name: Optional[str] = None,
                 redraw_every: float = 0.5, max_draw_share: float = 0.05, autostart: bool = False):
        super().__init__()
        self.add_class("wb-dashboard")
        self.config = load_training_config(config, overrides)
        require_complete(self.config, "the dashboard's config")
        self.output_path = Path(output_path) if output_path else None
        self.run_name = run_name
        self.run_path: Optional[Path] = None  # the folder of the current (or last) run
        self.history = TrainingHistory()
        self.stop_event = threading.Event()
        self.result: Optional[TrainingResult] = None
        self.error: Optional[BaseException] = None
        self.state = READY
        self.started_at: Optional[float] = None
        self._events_log: Optional[EventLog] = None
        self._run = BackgroundRun("workbench-train", work=self._train, redraw=self.redraw, finish=self._finish,
                                  changed=lambda: self.history.refresh(), redraw_every=redraw_every,
                                  max_draw_share=max_draw_share)
        training = self.config["training"]
        self.max_steps = int(training.get("max_steps") or 0)
        self.max_epochs = int(training.get("max_epochs") or 0)
        self._steps_per_epoch: Optional[int] = None

        self.start_button = W.Button(description="train", icon="play", button_style="success")
        self.stop_button = W.Button(description="stop", icon="stop", button_style="danger", disabled=True)
        self.progress = W.FloatProgress(min=0.0, max=1.0, value=0.0, description="progress",
                                        layout=W.Layout(width="320px"))
        self.eta = W.Label("")
        self.smoothing = W.FloatSlider(value=0.6, min=0.0, max=0.95, step=0.05, description="smoothing",
                                       continuous_update=False, readout_format=".2f",
                                       layout=W.Layout(width="300px"))
        self.status = W.HTML("ready")
        self.image = image_widget()
        self.table = W.HTML()
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.smoothing.observe(lambda _: self.redraw(), names="value")
        self.children = [W.HBox([self.start_button, self.stop_button, self.progress, self.eta]),
                         W.HBox([self.smoothing]), self.status, self.image, self.table]
        # one figure, four panels, fixed placement: redrawn often, so kept cheap to draw
        self.fig = new_figure(9.0, 7.2, dpi=100, constrained=False)
        self._axes = self.fig.subplots(2, 2)
        self.fig.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.13, hspace=0.62, wspace=0.3)
        self.redraw()
        if autostart:
            self.start()

    @classmethod
    def reopen(cls, run_path: Union[str, Path]) -> "TrainingDashboard":
        """A finished (or interrupted) run, drawn again from its folder's events.jsonl."""
        run_path = Path(run_path)
        run = load_run(run_path)
        config_path = next((p for p in (run_path / "model-last" / "config.cfg", run_path / "model-best" / "config.cfg",
                                        run_path / "config.cfg")  # a sweep trial stopped before saving
                            if p.is_file()), None)
        if config_path is None:
            raise FileNotFoundError(f"{run_path}: no model-last/config.cfg (or config.cfg) beside {EVENTS}; is this a run folder?")
        dash = cls(config_path, run_path.parent)
        dash.run_path, dash.history = run_path, run.history
        end = run.history.finished
        dash.state = DONE if end is not None and end.message != "stop requested" else STOPPED
        dash.redraw()
        dash._show_end()
        return dash

    # ------------------------------------------------------------ control

    def start(self) -> threading.Thread:
        """Start training in a background thread (and the drawing thread), into a new run folder."""
        if self.state == RUNNING:
            raise RuntimeError("Training is already running: stop it first.")
        self.stop_event.clear()
        self.history = TrainingHistory()
        for ax in self._axes.flat:
            ax.clear()  # a new run draws new lines
        self.result, self.error, self.state = None, None, RUNNING
        self.run_path = new_run_folder(self.output_path, self.run_name) if self.output_path else None
        self._events_log = EventLog(self.run_path / EVENTS) if self.run_path else None
        self.start_button.disabled, self.stop_button.disabled = True, False
        self.status.value = "starting\u2026" + (f" (run folder {html.escape(str(self.run_path))})"
                                                if self.run_path else "")
        self.started_at = time.perf_counter()
        return self._run.start()

    def stop(self) -> None:
        """Ask the loop to stop after the current step; it evaluates and saves model-last."""
        self.stop_event.set()
        self.stop_button.disabled = True
        self.status.value = "stopping after this step\u2026"

    def wait(self, timeout: Optional[float] = None) -> Optional[TrainingResult]:
        """Block until training and the final redraw are done; the result (None on error)."""
        self._run.join(timeout)
        return self.result

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def draws(self) -> int:
        return self._run.draws

    @property
    def draw_seconds(self) -> float:
        return self._run.draw_seconds

    @property
    def log(self):
        """The lines the engine printed while training (kept here, not under the cell)."""
        return self._run.log

    @property
    def frame(self):
        """The evaluations as a pandas DataFrame."""
        return self.history.table()

    def export(self, path: Union[str, Path], fmt: Optional[str] = None) -> Path:
        """Save the curves (loss, scores, gradient norms, grad_factors) as PNG, SVG or HTML."""
        return save_figure(self.fig, path, fmt, title="training curves")

    # ------------------------------------------------------------ threads

    def _train(self) -> None:
        subscribers = [self.history] + ([self._events_log] if self._events_log else [])
        try:
            self.result = train(self.config, self.run_path, subscribers=subscribers, stop=self.stop_event)
            self.state = STOPPED if self.stop_event.is_set() else DONE
        except BaseException as e:  # shown in the status
            self.error, self.state = e, FAILED
        finally:
            if self._events_log is not None:
                self._events_log.close()

    def redraw(self) -> float:
        """Draw the curves and update progress and status now; returns the seconds it took."""
        t0 = time.perf_counter()
        h = self.history
        h.refresh()
        note = WAITING if self.state in (RUNNING, READY) else "training failed before the first step" \
            if self.state == FAILED else "no steps were run"
        draw_curves(h, *self._axes[0], smoothing=self.smoothing.value, note=note)
        draw_gradients(h, *self._axes[1], note=note)
        show_figure(self.image, self.fig)
        if self.state == RUNNING:
            self.progress.value = self._fraction()
            self.eta.value = eta_text(self.progress.value, time.perf_counter() - (self.started_at or time.perf_counter()))
            self.status.value = (f"step {h.step}, epoch {h.epoch}, {h.words_per_second:,.0f} words/s"
                                 + (f", last score {h.scores['score'][1][-1]:.3f}" if "score" in h.scores else ""))
        return time.perf_counter() - t0

    def _fraction(self) -> float:
        h = self.history
        if self.max_steps:
            return min(1.0, h.step / self.max_steps)
        if self.max_epochs:
            if h.epoch > 1 and self._steps_per_epoch is None:
                first = [e.step for e in h.events if e.kind == "step" and e.epoch == 1]
                self._steps_per_epoch = max(first) if first else None
            if self._steps_per_epoch:
                return min(1.0, h.step / (self._steps_per_epoch * self.max_epochs))
            return min(1.0, max(0, h.epoch - 1) / self.max_epochs)
        return 0.0

    def _finish(self) -> None:
        self.start_button.disabled, self.stop_button.disabled = False, True
        if self.error is not None:
            self.status.value = (f"<span style='color:#b3261e'>training failed: "
                                 f"{html.escape(type(self.error).__name__)}: {html.escape(str(self.error))}</span>")
            self.eta.value = "failed"
            self.redraw()
            return
        self._show_end()

    def _show_end(self) -> None:
        self.progress.value = 1.0 if self.state == DONE else self._fraction()
        elapsed = time.perf_counter() - self.started_at if self.started_at else 0.0
        self.eta.value = (eta_text(1.0, elapsed) if self.state == DONE and elapsed else
                          f"{100 * self.progress.value:.0f}%")
        end = self.history.finished
        saved = f"; model-last saved in {html.escape(str(self.run_path))}" if self.run_path else ""
        how = "stopped on request" if self.state == STOPPED else f"finished ({html.escape(end.message if end else '')})"
        best = f", best score {end.best_score:.3f}" if end is not None and end.best_score is not None else ""
        self.status.value = f"{how} at step {self.history.step}{best}{saved}"
        frame = self.frame
        self.table.value = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}") if len(frame) else ""
