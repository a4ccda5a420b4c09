"""Schedules that follow the run's progress, 0 at the start to 1 at its end, whatever ends it.

thinc 8.3's optimizer takes a schedule as an iterator and calls `next()` on it once when it
is built and once after every step (`Optimizer.step_schedules`). A `ProgressSchedule` is
such an iterator whose value also depends on `progress`, which the training loop sets
before each step from `[training] max_steps`, `max_epochs`, `max_seconds` and
`max_cpu_seconds` (the earliest end wins; see `training.loop.run_progress`). So a decay
reaches its end when the run does, without a `total_steps` that depends on the data size and the budget.
"""
from typing import Any, Dict, List

from ..errors import ConfigError
from ..settings import NonNegativeInt, PositiveFloat, Probability, checked


class ProgressSchedule:
    """An iterator of values; `progress` (0..1) is set by the loop, `step` counts the values given."""

    def __init__(self):
        self.progress = 0.0
        self.step = 0

    def __iter__(self):
        return self

    def __next__(self) -> float:
        value = self.value(self.step, self.progress)
        self.step += 1
        return value

    def value(self, step: int, progress: float) -> float:
        raise NotImplementedError


class WarmupDecayToEnd(ProgressSchedule):
    """Linear warm-up over the first `warmup_steps` values, times a linear decay from `peak`
    at progress 0 to `peak * final` at progress 1 (the end of the run).

        value(step, p) = peak * min(1, (step + 1) / warmup_steps) * (1 - (1 - final) * p)
    """

    def __init__(self, peak: float, warmup_steps: int, final: float):
        super().__init__()
        self.peak, self.warmup_steps, self.final = peak, warmup_steps, final

    def value(self, step: int, progress: float) -> float:
        warmup = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        progress = min(1.0, max(0.0, progress))
        return self.peak * warmup * (1.0 - (1.0 - self.final) * progress)


@checked
def warmup_decay_to_end(peak: PositiveFloat, warmup_steps: NonNegativeInt = 250, final: Probability = 0.0) -> WarmupDecayToEnd:
    """`workbench.warmup_decay_to_end.v1`: warm up to `peak` over `warmup_steps` steps, then
    decay linearly to `peak * final` at the end of the run (max_steps, max_epochs,
    max_seconds or max_cpu_seconds, the earliest). A run without any of those ends is refused."""
    return WarmupDecayToEnd(peak, warmup_steps, final)


def progress_schedules(optimizer: Any) -> Dict[str, ProgressSchedule]:
    """The optimizer's schedules that follow the run's progress, by attribute (learn_rate, L2...)."""
    schedules = getattr(optimizer, "schedules", None) or {}
    return {name: s for name, s in schedules.items() if isinstance(s, ProgressSchedule)}


def check_run_has_an_end(schedules: Dict[str, ProgressSchedule], ends: List[str]) -> None:
    """Refuse a progress schedule in a run that nothing but patience or a stop request ends."""
    if schedules and not ends:
        names = ", ".join(sorted(schedules))
        raise ConfigError(
            f"[training.optimizer] {names} follows the run's progress to its end, but the run has no end: "
            f"[training] max_steps, max_epochs, max_seconds and max_cpu_seconds are all 0. Set one of them "
            f"(e.g. max_epochs = 30), or use a schedule with its own length (e.g. warmup_linear.v1)."
        )
