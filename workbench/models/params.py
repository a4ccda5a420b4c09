"""Swap a pipeline's weights for others (an optimizer's moving averages) and back.

thinc's own `Model.use_params` looks weights up as (node id, name) and so never finds
the weights of a wrapped torch model, which the optimizer keys as (shim id, name);
and `PyTorchShim.use_params` expects keys of another form. These functions walk
thinc nodes and torch shims alike, so averaging covers the transformer too.
"""
import contextlib
from typing import Any, Dict, Iterable, Iterator, Optional, Tuple

from thinc.api import Model, xp2torch


def iter_params(models: Iterable[Model]) -> Iterator[Tuple[Any, str, Any]]:
    """(thinc node or torch shim, parameter name, current value) of every weight in
    `models`, each once. The optimizer keys a weight as (holder.id, name)."""
    seen_nodes, seen_shims = set(), set()  # thinc numbers nodes and shims separately
    for model in models:
        for node in model.walk():
            if node.id in seen_nodes:
                continue
            seen_nodes.add(node.id)
            for name in node.param_names:
                if node.has_param(name):
                    yield node, name, node.get_param(name)
            for shim in node.shims:
                module = getattr(shim, "_model", None)
                if shim.id not in seen_shims and hasattr(module, "named_parameters"):
                    seen_shims.add(shim.id)
                    for name, tensor in module.named_parameters():
                        yield shim, name, tensor.data


@contextlib.contextmanager
def use_params(models: Iterable[Model], params: Optional[Dict[Any, Any]]):
    """Run with the weights in `params` (keyed (holder id, name)) swapped in, and the
    current ones restored afterwards. None or empty: no swap."""
    if not params:
        yield
        return
    swapped = []  # (holder, name, the weights to put back)
    try:
        for holder, name, current in iter_params(list(models)):
            key = (holder.id, name)
            if key in params:
                swapped.append((holder, name, current))
                put_param(holder, name, params[key], copy=False)
        yield
    finally:
        for holder, name, current in reversed(swapped):
            put_param(holder, name, current, copy=False)


def set_params(models: Iterable[Model], params: Dict[Any, Any]) -> int:
    """Copy the weights in `params` into `models` for good; returns how many were set."""
    n = 0
    for holder, name, _ in list(iter_params(list(models))):
        key = (holder.id, name)
        if key in params:
            put_param(holder, name, params[key], copy=True)
            n += 1
    return n


def put_param(holder: Any, name: str, value: Any, copy: bool) -> None:
    """Set parameter `name` of a thinc node, or of a torch shim's module, to `value`."""
    if hasattr(holder, "set_param"):
        holder.set_param(name, holder.ops.xp.array(value, copy=True) if copy else value)
        return
    tensor = holder._model.get_parameter(name)
    data = value if hasattr(value, "detach") else xp2torch(value, device=tensor.device)
    tensor.data = data.detach().clone() if copy else data.to(tensor.dtype)
