"""Progress for long notebook cells: a bar with % and ETA, and helpers that drive it.

    for name in track(getters, "span getters"): ...            # a loop
    bar = ProgressBar(max_steps, "training"); train(..., subscribers=[bar.on_training_event])
    bar = ProgressBar(max_epochs, "pretraining", unit="epoch"); pretrain(..., subscribers=[bar.on_training_event])
    with quiet() as printed: train(...)                         # keep repeated reports out of the cell

All of them are ipywidgets (a plain line of text where there is no front end).
"""
import contextlib
import io
import time
from typing import Iterable, Iterator, List, Optional, TypeVar

import ipywidgets as W

from .converters.training import eta_text

T = TypeVar("T")


class ProgressBar(W.HBox):
    """A bar, its description and "n / total · 42% · 1m 20s left"."""

    def __init__(self, total: int, description: str = "", *, unit: str = "step", display_now: bool = True):
        """unit: what `on_training_event` counts, "step" (train) or "epoch" (pretrain)."""
        super().__init__()
        if unit not in ("step", "epoch"):
            raise ValueError(f"ProgressBar: unit = {unit!r}; use 'step' or 'epoch'.")
        self.unit = unit
        self.epochs_done = 0
        self.total = max(1, int(total))
        self.done_count = 0
        self.stage = ""  # what on_progress counts now
        self.started = time.perf_counter()
        self.bar = W.FloatProgress(min=0.0, max=1.0, value=0.0, description=description,
                                   style={"description_width": "initial"}, layout=W.Layout(width="380px"))
        self.label = W.Label("")
        self.children = [self.bar, self.label]
        self.add_class("wb-progress")
        if display_now:
            from IPython.display import display

            display(self)

    def update(self, done: int, note: str = "") -> None:
        self.done_count = min(int(done), self.total)
        fraction = self.done_count / self.total
        self.bar.value = fraction
        self.label.value = (f"{self.done_count} / {self.total} \u00b7 "
                            f"{eta_text(fraction, time.perf_counter() - self.started)}" + (f" \u00b7 {note}" if note else ""))

    def finish(self, note: str = "") -> None:
        self.update(self.total, note)
        self.bar.bar_style = "success"

    def on_progress(self, stage: str, done: int, total: int) -> None:
        """A `progress(stage, done, total)` callback (e.g. `init_vectors(progress=bar.on_progress)`):
        each new stage restarts the count and its ETA."""
        if stage != self.stage:
            self.stage, self.started = stage, time.perf_counter()
        self.total = max(1, int(total))
        self.update(done, stage)

    def on_training_event(self, event) -> None:
        """A `train()` / `pretrain()` subscriber: one tick per step, or per epoch."""
        loss = f"loss {sum(event.losses.values()):.4g}" if event.losses else ""
        if event.kind == "step" and self.unit == "step":
            self.update(event.step, loss)
        elif event.kind == "epoch" and self.unit == "epoch":
            self.epochs_done += 1
            self.update(self.epochs_done, loss)
        elif event.kind in ("end", "stop"):
            self.finish(event.message)


def track(items: Iterable[T], description: str = "", total: Optional[int] = None) -> Iterator[T]:
    """Yield the items, advancing a progress bar after each one."""
    items = list(items) if total is None else items
    bar = ProgressBar(total if total is not None else len(items), description)
    for i, item in enumerate(items):
        bar.update(i, f"{item}" if isinstance(item, (str, int)) else "")
        yield item
    bar.finish()


@contextlib.contextmanager
def quiet():
    """Collect what the code inside prints (a list of lines) instead of printing it."""
    buffer = io.StringIO()
    lines: List[str] = []
    with contextlib.redirect_stdout(buffer):
        yield lines
    lines += [line for line in buffer.getvalue().splitlines() if line.strip()]
