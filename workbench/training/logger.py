"""Print training progress: a tqdm bar between evaluations and a score table."""
import sys
from typing import List, Optional, TextIO

from tqdm import tqdm

from .events import TrainingEvent


def console_logger(progress_bar: bool = True) -> "ConsoleLogger":
    """[training.logger]: print a score table, with a progress bar between evaluations."""
    return ConsoleLogger(progress=progress_bar)


class ConsoleLogger:
    """A subscriber that prints one table row per evaluation."""

    def __init__(self, eval_frequency: int = 200, stream: TextIO = sys.stdout, progress: bool = True):
        self.eval_frequency = eval_frequency
        self.stream = stream
        self.progress = progress
        self.bar: Optional[tqdm] = None
        self.columns: List[str] = []

    def __call__(self, event: TrainingEvent) -> None:
        if event.kind == "start":
            self._print(f"Training: {event.message}")
        elif event.kind == "step":
            if self.progress:
                if self.bar is None:
                    self.bar = tqdm(total=self.eval_frequency, leave=False, file=sys.stderr, desc="train", unit="step")
                self.bar.update(1)
        elif event.kind == "evaluate":
            self._close_bar()
            scores = {k: v for k, v in (event.scores or {}).items() if isinstance(v, (int, float))}
            if not self.columns:
                self.columns = sorted(event.losses) + sorted(scores)
                header = ["E", "#"] + [f"LOSS {c.upper()}" if c in event.losses else c.upper() for c in self.columns] + ["SCORE", "WORDS/S"]
                self._print("  ".join(f"{h:>10}" for h in header))
                self._print("  ".join(["-" * 10] * len(header)))
            cells = [str(event.epoch), str(event.step)]
            for c in self.columns:
                if c in event.losses:
                    cells.append(f"{event.losses[c]:.2f}")
                else:
                    cells.append(f"{100 * scores.get(c, 0.0):.2f}")
            cells += [f"{100 * (event.score or 0.0):.2f}" + (" *" if event.is_best else ""), f"{event.words_per_second:,.0f}"]
            self._print("  ".join(f"{c:>10}" for c in cells))
        elif event.kind in ("stop", "end"):
            self._close_bar()
            if event.message:
                self._print(f"Stopped: {event.message}" if event.kind == "stop" else f"Done ({event.message}). Best score {100 * (event.best_score or 0):.2f}")
            if event.output_path:
                self._print(f"Saved to {event.output_path}")

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
