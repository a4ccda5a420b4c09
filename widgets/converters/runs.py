"""Training runs on disk as plain data: run folders, their events, their final scores.

A run folder holds `events.jsonl` (every TrainingEvent, one JSON line each, written
while training by `workbench.training.events.EventLog`) beside `model-best` and
`model-last`. `new_run_folder(root, name)` never returns a folder that exists, so
starting again never overwrites a run.
"""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Union

from workbench.errors import DataError
from workbench.training.events import read_events

from .training import TrainingHistory, history_of

EVENTS = "events.jsonl"


def new_run_folder(root: Union[str, Path], name: Optional[str] = None) -> Path:
    """`root/name` (or `root/run-001`, `run-002`, ...), made fresh: `name-2`, `name-3`, ...
    when the folder is taken."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DataError(f"{root} is a file: the runs folder must be a folder. Choose another path.")
    root.mkdir(parents=True, exist_ok=True)
    if name is None:
        numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.fullmatch(r"run-(\d+)", p.name))]
        path = root / f"run-{max(numbers, default=0) + 1:03d}"
    else:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"run name {name!r}: use a plain folder name")
        path, n = root / name, 1
        while path.exists():
            n += 1
            path = root / f"{name}-{n}"
    path.mkdir()
    return path


@dataclass
class Run:
    """A run read back from its folder."""

    name: str
    path: Path
    history: TrainingHistory

    @property
    def finished(self) -> bool:
        return self.history.finished is not None


def load_run(path: Union[str, Path], name: Optional[str] = None) -> Run:
    """The run in a folder (or its events.jsonl), named after the folder unless `name` is given."""
    path = Path(path)
    events_path = path if path.name == EVENTS else path / EVENTS
    folder = events_path.parent
    return Run(name or folder.name, folder, history_of(read_events(events_path)))


def find_runs(root: Union[str, Path]) -> List[Path]:
    """Every run folder under `root` (those holding events.jsonl), oldest first."""
    root = Path(root)
    found = [p.parent for p in root.rglob(EVENTS)] if root.is_dir() else []
    return sorted(found, key=lambda p: (p / EVENTS).stat().st_mtime)


def final_scores(runs: List[Run]):
    """One row per run: best score and the scores at the best evaluation, steps, and how it ended."""
    import pandas

    rows = []
    for run in runs:
        evals = run.history.evaluations
        best: Dict = max(evals, key=lambda r: r.get("score", float("-inf"))) if evals else {}
        end = run.history.finished or run.history.stopped
        row = {"run": run.name, "steps": run.history.step}
        row.update({k: v for k, v in best.items() if k not in ("epoch", "best", "words_per_second", "step")
                    and not k.startswith("loss_")})
        row["best_step"] = best.get("step")
        row["ended"] = end.message if end is not None else "unfinished"
        rows.append(row)
    return pandas.DataFrame(rows)


def total_loss(history: TrainingHistory):
    """(steps, summed loss of every component per step)."""
    totals: Dict[int, float] = {}
    for steps, values in history.losses.values():
        for step, value in zip(steps, values):
            totals[step] = totals.get(step, 0.0) + value
    steps = sorted(totals)
    return steps, [totals[s] for s in steps]


def score_names(runs: List[Run]) -> List[str]:
    """The dev score names the runs have, "score" (the weighted one) first."""
    names = {name for run in runs for name in run.history.scores}
    return (["score"] if "score" in names else []) + sorted(names - {"score"})
