"""`[training] learn_rate_multipliers`: a learn-rate factor per component, one optimizer.

`{"tagger": 20.0}` makes every weight the tagger's model owns move at 20 times the
optimizer's current learn rate (schedules included); a missing name means 1.0. A shared
tok2vec or transformer is a component of its own and follows its own entry.

thinc's `Optimizer.__call__(key, weights, gradient, lr_scale=...)` takes the scale per
call, but neither `Model.finish_update` nor `PyTorchShim.finish_update` passes one. So
`ScaledOptimizer` is thinc's Optimizer with one more slot, a table (holder id, name) ->
scale, that it looks each key up in. It takes over the state of the optimizer the config
built (moments, averages, schedules): still one optimizer, one learn rate.
"""
import difflib
from typing import Any, Dict, Tuple

from thinc.api import Optimizer

from ..errors import ConfigError
from ..models.params import iter_params

KEY = "learn_rate_multipliers"


class ScaledOptimizer(Optimizer):
    """A thinc Optimizer whose `lr_scale` comes from a per-parameter table."""

    __slots__ = ["lr_scales"]

    def __call__(self, key: Tuple[int, str], weights, gradient, *, lr_scale: float = 1.0):
        return super().__call__(key, weights, gradient, lr_scale=lr_scale * self.lr_scales.get(key, 1.0))


def apply_learn_rate_multipliers(optimizer: Any, nlp: Any, multipliers: Dict[str, Any]) -> Any:
    """The optimizer to train with: `optimizer` itself when no factor differs from 1.0,
    else a ScaledOptimizer holding its state. Call after `nlp.initialize` (every weight
    exists by then); the keys are (thinc node or torch shim id, parameter name)."""
    factors = check_learn_rate_multipliers(multipliers or {}, nlp.pipe_names)
    if all(f == 1.0 for f in factors.values()):
        return optimizer
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(
            f"[training] {KEY} needs a thinc Optimizer in [training.optimizer] "
            f"(e.g. @optimizers = \"Adam.v1\"), got {type(optimizer).__name__}."
        )
    scaled = ScaledOptimizer.__new__(ScaledOptimizer)
    for slot in Optimizer.__slots__:
        setattr(scaled, slot, getattr(optimizer, slot))
    scaled.lr_scales = {}
    for name, comp in nlp.components:
        model = getattr(comp, "model", None)
        if name in factors and model is not None:
            for holder, param, _ in iter_params([model]):
                scaled.lr_scales.setdefault((holder.id, param), factors[name])
    return scaled


def check_learn_rate_multipliers(multipliers: Dict[str, Any], pipe_names) -> Dict[str, float]:
    """{component: factor} as floats; unknown names and negative or non-numbers refused."""
    if not isinstance(multipliers, dict):
        raise ConfigError(
            f"[training] {KEY} must map component names to factors, e.g. "
            f"{{\"tagger\": 20.0}}; got {multipliers!r}."
        )
    factors = {}
    for name, value in multipliers.items():
        if name not in pipe_names:
            close = difflib.get_close_matches(str(name), list(pipe_names), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"[training] {KEY} names '{name}', which is not in the pipeline "
                f"({', '.join(pipe_names)}).{hint}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(
                f"[training] {KEY} gives '{name}' the factor {value!r}; factors are numbers >= 0 "
                f"(1.0: the optimizer's learn rate)."
            )
        factors[name] = float(value)
    return factors
