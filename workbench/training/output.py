"""The `--output` folder of `train`, and stopping a run by signal.

- `check_output(path, overwrite)`: refuse a path that is a file, and a folder that
  already holds a run unless `overwrite`; both before anything is read or trained.
- `RunFolder`: a training subscriber that removes the old run's entries once the new
  run starts its first step (with `overwrite`), and records whether `model-last`
  was saved when the run was stopped.
- `sigterm_stops_training()`: SIGTERM raises `Terminated` (a KeyboardInterrupt), so
  the loop stops as on Ctrl-C and saves `model-last`; a second SIGTERM acts at once.
- `signals_set(event)`: SIGTERM and Ctrl-C set a stop event instead (pretraining ends
  its epoch at the next batch and saves it); a second signal acts at once.
"""
import contextlib
import shutil
import signal
import threading
from pathlib import Path
from typing import Iterator, List, Optional

from ..errors import WorkbenchError
from .events import TrainingEvent

RUN_ENTRIES = ("model-best", "model-last", "events.jsonl")  # what a run leaves in its output folder
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as for a process killed by SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def check_output(path: Optional[Path], overwrite: bool = False) -> None:
    if path is None:
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise WorkbenchError(f"--output {path} is a file; training writes a folder (model-best, model-last). "
                             f"Choose a folder path.")
    held = [name for name in RUN_ENTRIES if (path / name).exists()]
    if held and not overwrite:
        raise WorkbenchError(f"--output {path} already holds a run ({', '.join(held)}). Pass --overwrite to "
                             f"replace it, or choose another folder.")


class RunFolder:
    """Subscriber: clears the previous run at the "start" event when `overwrite`;
    `saved_last` tells whether a stopped run saved model-last."""

    def __init__(self, path: Optional[Path], overwrite: bool = False):
        self.path = Path(path) if path else None
        self.overwrite = overwrite
        self.saved_last = False

    def __call__(self, event: TrainingEvent) -> None:
        if event.kind == "start" and self.overwrite and self.path is not None:
            clear_run(self.path)
        elif event.kind == "stop" and event.output_path:
            self.saved_last = True


def clear_run(path: Path) -> None:
    """Remove what an earlier run left in `path` (RUN_ENTRIES only)."""
    for name in RUN_ENTRIES:
        entry = path / name
        if entry.is_dir():
            shutil.rmtree(entry)
        elif entry.exists():
            entry.unlink()


@contextlib.contextmanager
def sigterm_stops_training() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated in the main thread (no-op in other threads)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        signal.signal(signal.SIGTERM, previous)  # a second SIGTERM is not caught
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_set(event: threading.Event) -> Iterator[List[int]]:
    """While inside, the first SIGTERM or SIGINT sets `event` (a second one acts as
    usual); yields the list of the signals received. No-op outside the main thread."""
    received: List[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def request_stop(signum, frame):
        received.append(signum)
        event.set()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    for sig in previous:
        signal.signal(sig, request_stop)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
