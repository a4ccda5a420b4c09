"""PretrainingPanel: a small pretraining experiment, then the same training with and without it.

    panel = PretrainingPanel("sample_data/configs/shared.cfg", "sample_data/raw_text.jsonl", "training/pretrain",
                             pretrain_overrides={"pretraining.max_epochs": 5},
                             train_overrides={"training.max_steps": 200})
    panel            # "run" pretrains (live loss plot), then trains twice and compares dev scores
    panel.run(); panel.wait(); panel.table

Built on `workbench.pretraining.loop.pretrain` (the API behind `python -m workbench
pretrain`) and `[initialize] init_tok2vec`: the "pretrained" run loads the last
epoch's weights, the "random init" run starts from the same seed without them.
Each experiment writes a new folder OUTDIR/run-001 (pretrain/, random/, pretrained/;
the two runs keep their events.jsonl for `RunsView`). The stop button stops the
phase running at the time (its label says which): pretraining ends after its batch
and saves that epoch's weights, a training run evaluates and saves model-last, and
the experiment goes on with the next phase. Whatever the engine prints is kept in
`panel.log`, not printed under the widget.
"""
import html
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import ipywidgets as W
from confection import Config

from workbench.config import apply_overrides
from workbench.pretraining.loop import fill_pretraining_config, pretrain
from workbench.training.events import EventLog
from workbench.training.loop import train

from .converters.pretraining import PretrainEpochs, comparison_table, final_weights
from .converters.runs import EVENTS, new_run_folder
from .converters.training import TrainingHistory, eta_text
from .curves import legend_below, placeholder, style_axes
from .dashboard import load_training_config
from .render import image_widget, new_figure, save_figure, show_figure
from .runner import BackgroundRun

RANDOM, PRETRAINED = "random init", "pretrained"
PRETRAINING = "pretraining"


class _Lines:
    """A stream for pretrain(): keeps the lines it prints."""

    def __init__(self) -> None:
        self.lines: List[str] = []

    def write(self, text: str) -> None:
        self.lines += [line for line in text.splitlines() if line.strip()]

    def flush(self) -> None:
        pass


def draw_pretraining(log_rows: List[Dict[str, Any]], histories: Dict[str, TrainingHistory], ax_loss, ax_score) -> None:
    """Pretraining loss per epoch (left); dev score of each downstream run per evaluation (right)."""
    ax_loss.clear()
    ax_score.clear()
    style_axes(ax_loss, "pretraining loss", "epoch", "loss")
    style_axes(ax_score, "downstream dev score", "step", "score")
    if log_rows:
        ax_loss.plot([r["epoch"] for r in log_rows], [r["loss"] for r in log_rows], marker="o", ms=4)
        ax_loss.xaxis.get_major_locator().set_params(integer=True)
    placeholder(ax_loss, None if log_rows else "waiting for the first epoch\u2026")
    for name, h in histories.items():
        steps, values = h.scores.get("score", ([], []))
        if steps:
            ax_score.plot(steps, values, marker="o", ms=4, label=name)
    shown = any(h.scores.get("score") for h in histories.values())
    placeholder(ax_score, None if shown else "runs start after pretraining")
    legend_below(ax_score)


class PretrainingPanel(W.VBox):
    """Pretrain the embedding of a training config on raw text, then compare downstream scores.

    config: a complete training config (path, text or Config) whose embedding is pretrained
    ([pretraining] is filled in when missing); raw_text: JSONL texts ({"text": ...} per line);
    output_dir: each experiment writes OUTDIR/run-NNN/pretrain, .../random and .../pretrained;
    pretrain_overrides / train_overrides: dotted settings for the two stages.
    """

    def __init__(self, config: Union[str, Path, Config], raw_text: Union[str, Path], output_dir: Union[str, Path], *,
                 pretrain_overrides: Optional[Dict[str, Any]] = None, train_overrides: Optional[Dict[str, Any]] = None,
                 redraw_every: float = 0.5):
        super().__init__()
        self.add_class("wb-pretraining-panel")
        base = load_training_config(config, train_overrides)
        base = apply_overrides(base, {"paths.raw_text": str(raw_text)})
        self.config = fill_pretraining_config(apply_overrides(base, pretrain_overrides or {}))
        self.output_dir = Path(output_dir)
        self.run_path: Optional[Path] = None
        self.max_epochs = int(self.config["pretraining"]["max_epochs"])
        self.max_steps = int(self.config["training"].get("max_steps") or 0)
        self.histories: Dict[str, TrainingHistory] = {RANDOM: TrainingHistory(), PRETRAINED: TrainingHistory()}
        self.pretrain_epochs: Optional[PretrainEpochs] = None
        self.lines = _Lines()
        self.pretrain_result = None
        self.weights: Optional[Path] = None
        self.results: Dict[str, Any] = {}
        self.stopped: List[str] = []  # the phases stopped on request
        self.error: Optional[BaseException] = None
        self.stage = "ready"
        self.failed_stage = ""
        self.stop_event = threading.Event()  # the running phase's; a new one per phase
        self.started_at: Optional[float] = None
        self._run = BackgroundRun("workbench-pretrain", work=self._work, redraw=self.redraw, finish=self._finish,
                                  redraw_every=redraw_every)

        self.run_button = W.Button(description="pretrain + compare", icon="play", button_style="success",
                                   layout=W.Layout(width="200px"))
        self.stop_button = W.Button(description="stop", icon="stop", disabled=True, layout=W.Layout(width="220px"))
        self.progress = W.FloatProgress(min=0.0, max=1.0, value=0.0, description="progress")
        self.eta = W.Label("")
        self.status = W.HTML("ready")
        self.image = image_widget()
        self.table_view = W.HTML()
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.children = [W.HBox([self.run_button, self.stop_button, self.progress, self.eta]), self.status,
                         self.image, self.table_view]
        self.fig = new_figure(9.0, 3.8, dpi=100, constrained=False)
        self._axes = self.fig.subplots(1, 2)
        self.fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.3, wspace=0.28)
        self.redraw()

    # ------------------------------------------------------------ control

    def run(self) -> threading.Thread:
        """Pretrain, then train without and with the pretrained weights, in a background thread."""
        if self._run.alive:
            raise RuntimeError("The experiment is already running.")
        self.error, self.results, self.stopped = None, {}, []
        self.histories = {RANDOM: TrainingHistory(), PRETRAINED: TrainingHistory()}
        self.run_path = new_run_folder(self.output_dir)
        self.run_button.disabled = True
        self.started_at = time.perf_counter()
        return self._run.start()

    def stop(self) -> None:
        """Stop the phase running now (pretraining: after its batch; a run: after its step)."""
        if self.stage == PRETRAINING or self.stage.startswith("training"):
            self.stopped.append(self.stage)
        self.stop_event.set()
        self.stop_button.disabled = True
        self.stop_button.description = "stopping\u2026"

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until the experiment and the final redraw are done."""
        self._run.join(timeout)

    @property
    def log(self) -> List[str]:
        """Everything the engine printed (pretraining lines, init_tok2vec load reports)."""
        return self.lines.lines + self._run.log

    @property
    def table(self):
        """Best dev score (and the scores there) of the runs that evaluated, as a pandas DataFrame."""
        finished = {}
        for name, h in self.histories.items():
            h.refresh()
            if h.evaluations:  # a run that never evaluated has no row (not a row of NaN)
                finished[name] = h
        return comparison_table(finished)

    def export(self, path: Union[str, Path], fmt: Optional[str] = None) -> Path:
        return save_figure(self.fig, path, fmt, title="pretraining experiment")

    # ------------------------------------------------------------ work

    def _phase(self, stage: str, label: str) -> None:
        self.stage = stage
        self.stop_event = threading.Event()
        self.stop_button.description = label
        self.stop_button.disabled = False

    def _work(self) -> None:
        try:
            self._phase(PRETRAINING, "stop pretraining")
            out = self.run_path / "pretrain"
            out.mkdir(parents=True, exist_ok=True)
            self.pretrain_epochs = PretrainEpochs()
            self.pretrain_result = pretrain(self.config, out, progress=False, stream=self.lines,
                                            subscribers=[self.pretrain_epochs], stop=self.stop_event)
            self.weights = final_weights(out, self.pretrain_result)
            for name, init in ((RANDOM, None), (PRETRAINED, self.weights)):
                self._phase(f"training ({name})", f"stop run: {name}")
                config = apply_overrides(self.config, {"initialize.init_tok2vec": str(init) if init else None})
                folder = self.run_path / ("random" if init is None else "pretrained")
                events = EventLog(folder / EVENTS)
                try:
                    self.results[name] = train(config, folder, subscribers=[self.histories[name], events],
                                               stop=self.stop_event)
                finally:
                    events.close()
            self.stage = "finishing"
        except BaseException as e:  # shown in the status
            self.error, self.failed_stage, self.stage = e, self.stage, "failed"

    def redraw(self) -> None:
        for h in self.histories.values():
            h.refresh()
        rows = list(self.pretrain_epochs.rows) if self.pretrain_epochs is not None else []
        draw_pretraining(rows, self.histories, *self._axes)
        show_figure(self.image, self.fig)
        if self.started_at is None or self.stage in ("done", "failed"):
            return
        self.progress.value = self._fraction(rows)
        self.eta.value = eta_text(self.progress.value, time.perf_counter() - self.started_at)
        if self.stage == PRETRAINING:
            last = f", loss {rows[-1]['loss']:.4f}" if rows else ""
            self.status.value = f"pretraining: epoch {len(rows)} of {self.max_epochs}{last}"
        elif self.stage.startswith("training"):
            name = self.stage[len("training ("):-1]
            h = self.histories[name]
            self.status.value = f"{html.escape(self.stage)}: step {h.step}" + (
                f" of {self.max_steps}" if self.max_steps else "")

    def _fraction(self, rows) -> float:
        # pretraining is the first half of the bar, the two runs the second
        done_pretraining = self.stage != PRETRAINING and self.stage != "ready"
        part = 0.5 if done_pretraining else min(1.0, len(rows) / self.max_epochs) * 0.5
        for name, h in self.histories.items():
            if h.finished is not None:
                part += 0.25
            elif self.max_steps:
                part += 0.25 * min(1.0, h.step / self.max_steps)
        return min(part, 1.0)

    def _finish(self) -> None:
        self.run_button.disabled, self.stop_button.disabled = False, True
        self.stop_button.description = "stop"
        if self.error is not None:
            self.eta.value = "failed"
            self.status.value = (f"<span style='color:#b3261e'>{html.escape(self.failed_stage)} failed: "
                                 f"{html.escape(type(self.error).__name__)}: {html.escape(str(self.error))}</span>")
            return
        frame = self.table
        self.table_view.value = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}") if len(frame) else ""
        loaded = f"; pretrained weights: {html.escape(str(self.weights))}" if self.weights else ""
        stopped = f" ({', '.join(self.stopped)} stopped on request)" if self.stopped else ""
        self.stage = "done"
        self.progress.value = 1.0
        self.eta.value = eta_text(1.0, time.perf_counter() - (self.started_at or time.perf_counter()))
        self.status.value = f"done{stopped}{loaded}"
