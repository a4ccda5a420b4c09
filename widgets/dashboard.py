"""TrainingDashboard: train from a config in a background thread and watch it.

    dash = TrainingDashboard("sample_data/configs/shared.cfg", "training/shared",
                             overrides={"training.max_steps": 200})
    dash            # progress bar, stop button, live loss/score and gradient plots
    dash.start()    # or the start button
    dash.stop()     # the engine finishes the step, evaluates and saves model-last
    dash.wait(); dash.frame   # the evaluations as a pandas DataFrame

The dashboard only subscribes to the training events (`TrainingHistory` appends
each event to a list); curves are computed and drawn by a separate thread at
most every `redraw_every` seconds, and never more than `max_draw_share` of the
time, so drawing stays a small fraction of the training time.
(`bench/bench_dashboard_overhead.py` measures it.)
"""
import contextvars
import html
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

import ipywidgets as W
from confection import Config

from workbench.config import apply_overrides, load_config, parse_config, require_complete
from workbench.training.loop import TrainingResult, train

from .converters.training import TrainingHistory
from .render import image_widget, new_figure, save_figure, show_figure

RUNNING, DONE, STOPPED, FAILED, READY = "running", "done", "stopped", "failed", "ready"


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


def _finish_axes(ax, title: str, new_lines: bool) -> None:
    if not ax.get_title():
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    if new_lines:
        ax.legend(fontsize=7)
    ax.relim()
    ax.autoscale_view()


def _log_axis(ax) -> None:
    """A log y axis with plain tick labels (the default mathtext labels are slow to draw)."""
    from matplotlib.ticker import LogFormatter

    if ax.get_yscale() != "log":
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(LogFormatter())
        ax.yaxis.set_minor_formatter(LogFormatter(minor_thresholds=(0, 0)))


def draw_curves(history: TrainingHistory, ax_loss, ax_score) -> None:
    """Loss per component per step (left, log scale) and dev scores per evaluation (right)."""
    new = False
    for name, (steps, values) in sorted(history.losses.items()):
        line, made = _line(ax_loss, name, lw=1)
        line.set_data(steps, [v if v > 0 else float("nan") for v in values])  # log axis: 0 is a gap
        new |= made
    if history.losses:
        _log_axis(ax_loss)
    _finish_axes(ax_loss, "training loss", new)
    new = False
    for name, (steps, values) in sorted(history.scores.items()):
        line, made = _line(ax_score, name, marker="o", ms=3, lw=2 if name == "score" else 1)
        line.set_data(steps, values)
        new |= made
    _finish_axes(ax_score, "dev scores", new)


def draw_gradients(history: TrainingHistory, ax_norm, ax_factor) -> None:
    """Each listener's gradient norm sent to its upstream (left, log scale) and its
    grad_factor over the steps (right)."""
    curves = history.grad_curves()
    new_norm = new_factor = False
    for listener, c in sorted(curves.items()):
        if c["steps"]:
            line, made = _line(ax_norm, f"{listener} \u2192 {c['upstream']}", lw=1)
            line.set_data(c["steps"], [v if v > 0 else float("nan") for v in c["norms"]])  # 0 (factor 0): a gap
            new_norm |= made
        if c["factor_steps"]:
            line, made = _line(ax_factor, listener, step=True, lw=1.5)
            line.set_data(c["factor_steps"], c["factors"])
            new_factor |= made
    if any(c["steps"] for c in curves.values()):
        _log_axis(ax_norm)
    _finish_axes(ax_norm, "gradient norm each listener sends", new_norm)
    _finish_axes(ax_factor, "grad_factor", new_factor)
    if not ax_factor.lines and not ax_factor.texts:
        ax_factor.text(0.5, 0.5, "no grad_factor\n(tok2vec listeners pass\ngradients unscaled)", ha="center",
                       va="center", fontsize=8, color="#666", transform=ax_factor.transAxes)
    elif ax_factor.lines and ax_factor.texts:
        for text in list(ax_factor.texts):
            text.remove()


class TrainingDashboard(W.VBox):
    """Runs `workbench.training.loop.train` in a thread with live plots and a stop button.

    config: a path, config text or a Config (complete, as `train` requires);
    output_path: where model-best / model-last are written (None: not saved);
    overrides: dotted settings, e.g. {"training.max_steps": 100};
    redraw_every: seconds between redraws at most; max_draw_share: the largest share of
    time drawing may take (redraws are spaced out when a draw is slow).
    """

    def __init__(self, config: Union[str, Path, Config], output_path: Optional[Union[str, Path]] = None, *,
                 overrides: Optional[Dict[str, Any]] = None, redraw_every: float = 0.5,
                 max_draw_share: float = 0.05, autostart: bool = False):
        super().__init__()
        self.config = load_training_config(config, overrides)
        require_complete(self.config, "the dashboard's config")
        self.output_path = Path(output_path) if output_path else None
        self.redraw_every, self.max_draw_share = redraw_every, max_draw_share
        self.history = TrainingHistory()
        self.stop_event = threading.Event()
        self.result: Optional[TrainingResult] = None
        self.error: Optional[BaseException] = None
        self.state = READY
        self.draws = 0
        self.draw_seconds = 0.0  # time spent drawing, all redraws together
        self._thread: Optional[threading.Thread] = None
        self._drawer: Optional[threading.Thread] = None
        training = self.config["training"]
        self.max_steps = int(training.get("max_steps") or 0)
        self.max_epochs = int(training.get("max_epochs") or 0)
        self._steps_per_epoch: Optional[int] = None

        self.start_button = W.Button(description="train", icon="play", button_style="success")
        self.stop_button = W.Button(description="stop", icon="stop", button_style="danger", disabled=True)
        self.progress = W.FloatProgress(min=0.0, max=1.0, value=0.0, description="progress",
                                        layout=W.Layout(width="420px"))
        self.status = W.HTML("ready")
        self.image = image_widget()
        self.table = W.HTML()
        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.children = [W.HBox([self.start_button, self.stop_button, self.progress]), self.status,
                         self.image, self.table]
        # one figure, four panels, fixed placement: redrawn often, so kept cheap to draw
        self.fig = new_figure(9.5, 5.6, dpi=80, constrained=False)
        self._axes = self.fig.subplots(2, 2)
        self.fig.subplots_adjust(left=0.07, right=0.98, top=0.94, bottom=0.08, hspace=0.45, wspace=0.22)
        if autostart:
            self.start()

    # ------------------------------------------------------------ control

    def start(self) -> threading.Thread:
        """Start training in a background thread (and the drawing thread)."""
        if self.state == RUNNING:
            raise RuntimeError("Training is already running: stop it first.")
        self.stop_event.clear()
        self.history = TrainingHistory()
        for ax in self._axes.flat:
            ax.clear()  # a new run draws new lines
        self.result, self.error, self.state = None, None, RUNNING
        self.start_button.disabled, self.stop_button.disabled = True, False
        self.status.value = "starting\u2026"
        # run in a copy of the caller's context: thinc keeps the current ops (BLAS CPU ops, or the
        # GPU after require_gpu) in a ContextVar, which a bare new thread would not see
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), name="workbench-train", daemon=True)
        self._drawer = threading.Thread(target=self._draw_loop, name="workbench-dashboard", daemon=True)
        self._thread.start()
        self._drawer.start()
        return self._thread

    def stop(self) -> None:
        """Ask the loop to stop after the current step; it evaluates and saves model-last."""
        self.stop_event.set()
        self.stop_button.disabled = True
        self.status.value = "stopping after this step\u2026"

    def wait(self, timeout: Optional[float] = None) -> Optional[TrainingResult]:
        """Block until training and the final redraw are done; the result (None on error)."""
        for t in (self._thread, self._drawer):
            if t is not None:
                t.join(timeout)
        return self.result

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def frame(self):
        """The evaluations as a pandas DataFrame."""
        return self.history.table()

    def export(self, path: Union[str, Path], fmt: Optional[str] = None) -> Path:
        """Save the curves (loss, scores, gradient norms, grad_factors) as PNG, SVG or HTML."""
        return save_figure(self.fig, path, fmt, title="training curves")

    # ------------------------------------------------------------ threads

    def _run(self) -> None:
        try:
            self.result = train(self.config, self.output_path, subscribers=[self.history], stop=self.stop_event)
            self.state = STOPPED if self.stop_event.is_set() else DONE
        except BaseException as e:  # shown in the status; the thread must not die silently
            self.error, self.state = e, FAILED

    def _draw_loop(self) -> None:
        next_at = 0.0
        while self._thread is not None and self._thread.is_alive():
            time.sleep(0.05)
            if time.perf_counter() < next_at or not self.history.refresh():
                continue
            took = self.redraw()
            next_at = time.perf_counter() + max(self.redraw_every, took / max(self.max_draw_share, 1e-3))
        self.history.refresh()
        self.redraw()
        self._finish()

    def redraw(self) -> float:
        """Draw the curves and update progress and status now; returns the seconds it took."""
        t0 = time.perf_counter()
        h = self.history
        h.refresh()
        draw_curves(h, *self._axes[0])
        draw_gradients(h, *self._axes[1])
        show_figure(self.image, self.fig)
        self.progress.value = self._fraction()
        if self.state == RUNNING:
            self.status.value = (f"step {h.step}, epoch {h.epoch}, {h.words_per_second:,.0f} words/s"
                                 + (f", last score {h.scores['score'][1][-1]:.3f}" if "score" in h.scores else ""))
        took = time.perf_counter() - t0
        self.draws += 1
        self.draw_seconds += took
        return took

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
            return
        self.progress.value = 1.0 if self.state == DONE else self.progress.value
        end = self.history.finished
        saved = f"; model-last saved in {html.escape(str(self.output_path))}" if self.output_path else ""
        how = "stopped on request" if self.state == STOPPED else f"finished ({html.escape(end.message if end else '')})"
        best = f", best score {end.best_score:.3f}" if end is not None and end.best_score is not None else ""
        self.status.value = f"{how} at step {self.history.step}{best}{saved}"
        frame = self.frame
        self.table.value = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}") if len(frame) else ""
