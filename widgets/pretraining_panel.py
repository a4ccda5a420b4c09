"""PretrainingPanel: a small pretraining experiment, then the same training with and without it.

    panel = PretrainingPanel("sample_data/configs/shared.cfg", "sample_data/raw_text.jsonl", "training/pretrain",
                             pretrain_overrides={"pretraining.max_epochs": 5},
                             train_overrides={"training.max_steps": 200})
    panel            # "run" pretrains (live loss plot), then trains twice and compares dev scores
    panel.run(); panel.wait(); panel.table

Built on `workbench.pretraining.loop.pretrain` (the API behind `python -m workbench
pretrain`) and `[initialize] init_tok2vec`: the "pretrained" run loads the last
epoch's weights, the "random init" run starts from the same seed without them.
Everything runs in a background thread. The engine's pretrain() reports per epoch
(OUTDIR/log.jsonl) and has no stop request, so the loss plot moves once per epoch
and pretraining cannot be stopped half-way; the downstream runs can be stopped.
"""
import contextvars
import html
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import ipywidgets as W
from confection import Config

from workbench.config import apply_overrides
from workbench.pretraining.loop import fill_pretraining_config, pretrain
from workbench.training.loop import train

from .converters.pretraining import PretrainLog, comparison_table, final_weights
from .converters.training import TrainingHistory
from .dashboard import load_training_config
from .render import image_widget, new_figure, save_figure, show_figure

RANDOM, PRETRAINED = "random init", "pretrained"


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
    if log_rows:
        ax_loss.plot([r["epoch"] for r in log_rows], [r["loss"] for r in log_rows], marker="o", ms=3)
    ax_loss.set_title("pretraining loss", fontsize=9)
    ax_loss.set_xlabel("epoch", fontsize=8)
    ax_score.clear()
    for name, h in histories.items():
        steps, values = h.scores.get("score", ([], []))
        if steps:
            ax_score.plot(steps, values, marker="o", ms=3, label=name)
    ax_score.set_title("downstream dev score", fontsize=9)
    ax_score.set_xlabel("step", fontsize=8)
    if any(h.scores.get("score") for h in histories.values()):
        ax_score.legend(fontsize=7)


class PretrainingPanel(W.VBox):
    """Pretrain the embedding of a training config on raw text, then compare downstream scores.

    config: a complete training config (path, text or Config) whose embedding is pretrained
    ([pretraining] is filled in when missing); raw_text: JSONL texts ({"text": ...} per line);
    output_dir: pretraining writes OUTDIR/pretrain, the two runs OUTDIR/random and OUTDIR/pretrained;
    pretrain_overrides / train_overrides: dotted settings for the two stages.
    """

    def __init__(self, config: Union[str, Path, Config], raw_text: Union[str, Path], output_dir: Union[str, Path], *,
                 pretrain_overrides: Optional[Dict[str, Any]] = None, train_overrides: Optional[Dict[str, Any]] = None,
                 redraw_every: float = 0.5):
        super().__init__()
        base = load_training_config(config, train_overrides)
        base = apply_overrides(base, {"paths.raw_text": str(raw_text)})
        self.config = fill_pretraining_config(apply_overrides(base, pretrain_overrides or {}))
        self.output_dir = Path(output_dir)
        self.redraw_every = redraw_every
        self.max_epochs = int(self.config["pretraining"]["max_epochs"])
        self.histories: Dict[str, TrainingHistory] = {RANDOM: TrainingHistory(), PRETRAINED: TrainingHistory()}
        self.pretrain_log: Optional[PretrainLog] = None
        self.lines = _Lines()
        self.pretrain_result = None
        self.weights: Optional[Path] = None
        self.results: Dict[str, Any] = {}
        self.error: Optional[BaseException] = None
        self.stage = "ready"
        self.failed_stage = ""
        self.stop_event = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._drawer: Optional[threading.Thread] = None

        self.run_button = W.Button(description="pretrain + compare", icon="play", button_style="success",
                                   layout=W.Layout(width="200px"))
        self.stop_button = W.Button(description="stop training", icon="stop", disabled=True,
                                    tooltip="stops the downstream runs (pretraining runs to its last epoch)")
        self.progress = W.FloatProgress(min=0.0, max=1.0, value=0.0, description="progress")
        self.status = W.HTML("ready")
        self.image = image_widget()
        self.table_view = W.HTML()
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.children = [W.HBox([self.run_button, self.stop_button, self.progress]), self.status, self.image,
                         self.table_view]
        self.fig = new_figure(9, 3.0, dpi=80, constrained=False)
        self._axes = self.fig.subplots(1, 2)
        self.fig.subplots_adjust(left=0.07, right=0.98, top=0.88, bottom=0.16, wspace=0.22)
        self.redraw()

    # ------------------------------------------------------------ control

    def run(self) -> threading.Thread:
        """Pretrain, then train without and with the pretrained weights, in a background thread."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("The experiment is already running.")
        self.stop_event.clear()
        self.error, self.results = None, {}
        self.histories = {RANDOM: TrainingHistory(), PRETRAINED: TrainingHistory()}
        self.run_button.disabled, self.stop_button.disabled = True, False
        context = contextvars.copy_context()  # thinc's current ops live in a ContextVar
        self._thread = threading.Thread(target=context.run, args=(self._work,), name="workbench-pretrain", daemon=True)
        self._thread.start()
        self._drawer = threading.Thread(target=self._draw_loop, name="workbench-pretrain-draw", daemon=True)
        self._drawer.start()
        return self._thread

    def stop(self) -> None:
        """Stop the downstream training runs after their current step (each saves model-last)."""
        self.stop_event.set()
        self.stop_button.disabled = True

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until the experiment and the final redraw are done."""
        for t in (self._thread, self._drawer):
            if t is not None:
                t.join(timeout)

    @property
    def table(self):
        """Best dev score (and the scores there) of the two runs, as a pandas DataFrame."""
        return comparison_table(self.histories)

    def export(self, path: Union[str, Path], fmt: Optional[str] = None) -> Path:
        return save_figure(self.fig, path, fmt, title="pretraining experiment")

    # ------------------------------------------------------------ work

    def _work(self) -> None:
        try:
            self.stage = "pretraining"
            out = self.output_dir / "pretrain"
            out.mkdir(parents=True, exist_ok=True)
            self.pretrain_log = PretrainLog(out)
            self.pretrain_result = pretrain(self.config, out, progress=False, stream=self.lines)
            self.weights = final_weights(out, self.pretrain_result)
            for name, init in ((RANDOM, None), (PRETRAINED, self.weights)):
                if self.stop_event.is_set():
                    break
                self.stage = f"training ({name})"
                config = apply_overrides(self.config, {"initialize.init_tok2vec": str(init) if init else None})
                folder = self.output_dir / ("random" if init is None else "pretrained")
                self.results[name] = train(config, folder, subscribers=[self.histories[name]], stop=self.stop_event)
            self.stage = "stopped" if self.stop_event.is_set() else "finishing"
        except BaseException as e:  # shown in the status
            self.error, self.failed_stage, self.stage = e, self.stage, "failed"

    def _draw_loop(self) -> None:
        while self._thread is not None and self._thread.is_alive():
            time.sleep(self.redraw_every)
            self.redraw()
        self.redraw()
        self._finish()

    def redraw(self) -> None:
        if self.pretrain_log is not None:
            self.pretrain_log.refresh()
        for h in self.histories.values():
            h.refresh()
        rows = self.pretrain_log.rows if self.pretrain_log is not None else []
        draw_pretraining(rows, self.histories, *self._axes)
        show_figure(self.image, self.fig)
        self.progress.value = self._fraction(rows)
        if self.stage == "pretraining":
            last = f", loss {rows[-1]['loss']:.4f}" if rows else ""
            self.status.value = f"pretraining: epoch {len(rows)} of {self.max_epochs}{last}"
        elif self.stage.startswith("training"):
            name = self.stage[len("training ("):-1]
            h = self.histories[name]
            self.status.value = f"{html.escape(self.stage)}: step {h.step}"

    def _fraction(self, rows) -> float:
        # pretraining is the first half of the bar, the two runs the second
        part = min(1.0, len(rows) / self.max_epochs) * 0.5
        max_steps = int(self.config["training"].get("max_steps") or 0)
        for h in self.histories.values():
            if max_steps:
                part += 0.25 * min(1.0, h.step / max_steps)
            elif h.finished is not None:
                part += 0.25
        return part

    def _finish(self) -> None:
        self.run_button.disabled, self.stop_button.disabled = False, True
        if self.error is not None:
            self.status.value = (f"<span style='color:#b3261e'>{html.escape(self.failed_stage)} failed: "
                                 f"{html.escape(type(self.error).__name__)}: {html.escape(str(self.error))}</span>")
            return
        frame = self.table
        self.table_view.value = frame.to_html(index=False, float_format=lambda v: f"{v:.4g}") if len(frame) else ""
        loaded = f"; pretrained weights: {html.escape(str(self.weights))}" if self.weights else ""
        if self.stage == "stopped":
            self.status.value = f"stopped on request{loaded}"
        else:
            self.stage = "done"
            self.progress.value = 1.0
            self.status.value = f"done{loaded}"
