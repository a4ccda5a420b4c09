"""Training events: plain records that the CLI, callbacks and widgets subscribe to."""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional


@dataclass
class TrainingEvent:
    """One thing that happened in training.

    kind: "start", "step", "evaluate", "stop" (stopped early: patience, max_steps,
    a stop request or Ctrl-C) or "end"; pretraining also emits "epoch" (scores: the
    epoch's row of log.jsonl).
    grad_norms: {upstream component: {listening component: norm of its gradient}}.
    """

    kind: str
    step: int = 0
    epoch: int = 0
    losses: Dict[str, float] = field(default_factory=dict)
    words: int = 0
    words_per_second: float = 0.0
    grad_norms: Dict[str, Dict[str, float]] = field(default_factory=dict)
    grad_factors: Dict[str, float] = field(default_factory=dict)
    scores: Optional[Dict[str, Any]] = None
    score: Optional[float] = None
    best_score: Optional[float] = None
    is_best: bool = False
    message: str = ""
    output_path: Optional[str] = None


Subscriber = Callable[[TrainingEvent], None]


class EventBus:
    """Calls every subscriber with each event, in order."""

    def __init__(self, subscribers: Optional[List[Subscriber]] = None):
        self.subscribers: List[Subscriber] = list(subscribers or [])

    def subscribe(self, fn: Subscriber) -> None:
        self.subscribers.append(fn)

    def emit(self, event: TrainingEvent) -> None:
        for fn in self.subscribers:
            fn(event)


class EventLog:
    """A subscriber that appends every event as one JSON line to `path` (a run's
    `events.jsonl`, beside its model-best / model-last), so that any finished run
    can be reopened: `read_events(path)` gives the events back."""

    def __init__(self, path):
        from pathlib import Path

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf8", buffering=1)  # line-buffered: readable while running

    def __call__(self, event: TrainingEvent) -> None:
        import dataclasses
        import json

        if self._file.closed:
            return
        self._file.write(json.dumps(dataclasses.asdict(event)) + "\n")
        if event.kind == "end":
            self._file.close()

    def close(self) -> None:
        self._file.close()


def read_events(path) -> List[TrainingEvent]:
    """The events of an `events.jsonl` (a last line still being written is left out)."""
    import json
    from pathlib import Path

    from ..errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such events file. A run folder holds events.jsonl beside its model.")
    names = set(TrainingEvent.__dataclass_fields__)
    events = []
    text = path.read_text(encoding="utf8")
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # an unfinished line
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise DataError(f"{path}:{number}: not a JSON event ({e}). Delete the line or the file.") from None
        events.append(TrainingEvent(**{k: v for k, v in row.items() if k in names}))
    return events
