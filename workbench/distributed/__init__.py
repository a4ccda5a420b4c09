"""Ray: batch inference on a cluster (`apply_ray`) and config sweeps on Ray Tune.

Ray is an optional extra (`pip install '.[distributed]'`): nothing here imports it
until a function runs, and `import workbench` never does.
"""
import logging
from typing import Any, Optional


def require_ray() -> Any:
    """The `ray` module, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError:
        from ..errors import WorkbenchError

        raise WorkbenchError(
            "This needs Ray, which is not installed. Install the extra: pip install -e '.[distributed]' "
            "(or run without --ray)."
        ) from None
    return ray


def init_ray(address: Optional[str] = None, **options: Any) -> Any:
    """Join the Ray cluster at `address` (None: the one this machine runs, else a new local
    node) unless this process already has; returns `ray`. `options` go to `ray.init`.
    Each `apply --ray` run starts fresh actors: ~10 s each on 2 cores, most of it the
    worker process starting and importing Ray Data, torch and the workbench
    (bench/bench_scale_out.py --only ray)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    options = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False, **options}
    ray.init(address=address, **options)
    return ray


def apply_ray(*args: Any, **kwargs: Any) -> Any:
    """See `workbench.distributed.ray_apply.apply_ray`."""
    from .ray_apply import apply_ray as run

    return run(*args, **kwargs)


__all__ = ["apply_ray", "init_ray", "require_ray"]
