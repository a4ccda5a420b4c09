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
