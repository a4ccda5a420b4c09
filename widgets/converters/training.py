"""Training events as plain data: loss, score and gradient curves, and a final table.

`TrainingHistory` is a subscriber for `workbench.training.loop.train`: calling it
with an event only appends the event to a list (no copying, no computing), so the
training loop pays next to nothing. `refresh()` (called by whoever draws, on its
own schedule) turns the new events into curves.
"""
import math
import threading
from typing import Any, Dict, List, Optional, Tuple

from workbench.training.events import TrainingEvent


class TrainingHistory:
    """Collects training events; curves and tables are derived on demand."""

    def __init__(self) -> None:
        self.events: List[TrainingEvent] = []
        self._seen = 0
        self._lock = threading.Lock()  # refresh() may run in a drawing thread
        self.losses: Dict[str, Tuple[List[int], List[float]]] = {}     # per step
        self.eval_losses: Dict[str, Tuple[List[int], List[float]]] = {}  # summed per evaluation interval
        self.scores: Dict[str, Tuple[List[int], List[float]]] = {}      # numeric scores per evaluation
        self.grad_norms: Dict[Tuple[str, str], Tuple[List[int], List[float]]] = {}  # (upstream, listener)
        self.grad_factors: Dict[str, Tuple[List[int], List[float]]] = {}            # listener
        self.evaluations: List[Dict[str, Any]] = []
        self.step = 0
        self.epoch = 0
        self.words_per_second = 0.0
        self.started = False
        self.finished: Optional[TrainingEvent] = None
        self.stopped: Optional[TrainingEvent] = None
        self.message = ""

    def __call__(self, event: TrainingEvent) -> None:
        self.events.append(event)  # the only work done in the training thread

    # ------------------------------------------------------------ deriving

    def refresh(self) -> int:
        """Fold the events that arrived since the last call into the curves; returns how many."""
        with self._lock:
            new = self.events[self._seen:]
            self._seen += len(new)
            for event in new:
                self._fold(event)
            return len(new)

    def _fold(self, e: TrainingEvent) -> None:
        if e.kind == "start":
            self.started = True
            self.message = e.message
        elif e.kind == "step":
            self.step, self.epoch = e.step, e.epoch
            self.words_per_second = e.words_per_second
            for name, value in e.losses.items():
                _append(self.losses, name, e.step, value)
            for upstream, per_listener in (e.grad_norms or {}).items():
                for listener, norm in per_listener.items():
                    if norm is not None:
                        _append(self.grad_norms, (upstream, listener), e.step, norm)
            for listener, factor in (e.grad_factors or {}).items():
                _append(self.grad_factors, listener, e.step, factor)
        elif e.kind == "evaluate":
            row: Dict[str, Any] = {"step": e.step, "epoch": e.epoch}
            for name, value in e.losses.items():
                _append(self.eval_losses, name, e.step, value)
                row[f"loss_{name}"] = value
            for name, value in flat_scores(e.scores or {}).items():
                _append(self.scores, name, e.step, value)
                row[name] = value
            if e.score is not None:
                _append(self.scores, "score", e.step, e.score)
                row["score"] = e.score
            row["words_per_second"] = e.words_per_second
            row["best"] = bool(e.is_best)
            self.evaluations.append(row)
        elif e.kind == "stop":
            self.stopped = e
            self.message = e.message
        elif e.kind == "end":
            self.finished = e
            self.message = e.message

    # ------------------------------------------------------------ views

    def table(self):
        """One row per evaluation: step, epoch, losses, scores, score, words/s, best."""
        import pandas

        self.refresh()
        return pandas.DataFrame(self.evaluations)

    def grad_curves(self) -> Dict[str, Dict[str, Any]]:
        """{listener: {"upstream", "steps", "norms", "factor_steps", "factors"}}."""
        self.refresh()
        out = {}
        for (upstream, listener), (steps, norms) in self.grad_norms.items():
            fs, fv = self.grad_factors.get(listener, ([], []))
            out[listener] = {"upstream": upstream, "steps": steps, "norms": norms,
                             "factor_steps": fs, "factors": fv}
        for listener, (fs, fv) in self.grad_factors.items():
            if listener not in out:  # a factor of 0 all along: no gradient was sent
                out[listener] = {"upstream": "", "steps": [], "norms": [], "factor_steps": fs, "factors": fv}
        return out


def _append(store: Dict[Any, Tuple[List[int], List[float]]], key: Any, step: int, value: float) -> None:
    steps, values = store.setdefault(key, ([], []))
    steps.append(step)
    values.append(float(value))


def flat_scores(scores: Dict[str, Any]) -> Dict[str, float]:
    """The numeric top-level scores (per-label tables are left out)."""
    return {k: float(v) for k, v in scores.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v))}


def history_of(events) -> TrainingHistory:
    """A TrainingHistory holding these events (e.g. `read_events(run / "events.jsonl")`), refreshed."""
    history = TrainingHistory()
    for event in events:
        history(event)
    history.refresh()
    return history


def smooth(values: List[float], weight: float) -> List[float]:
    """Exponential moving average with debiasing: weight 0 gives the values back, 0.9 a
    smooth curve that still starts at the first value. NaN values stay gaps."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight {weight} must be in [0, 1)")
    out, avg, n = [], 0.0, 0
    for v in values:
        if v != v:  # NaN
            out.append(v)
            continue
        n += 1
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight ** n) if weight else v)
    return out


def eta_text(fraction: float, elapsed: float) -> str:
    """'42% · 1m 20s left' from the done fraction and the seconds so far ('' before any progress)."""
    if fraction <= 0 or elapsed <= 0:
        return "0%"
    if fraction >= 1:
        return f"100% · took {_duration(elapsed)}"
    left = elapsed * (1 - fraction) / fraction
    return f"{100 * fraction:.0f}% · {_duration(left)} left"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
