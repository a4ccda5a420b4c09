"""Ray: batch inference on a cluster (`apply_ray`) and config sweeps on Ray Tune.

Ray is an optional extra (`pip install '.[distributed]'`): nothing here imports it
until a function runs, and `import workbench` never does.
"""
import logging
import os
from typing import Any, Optional

# What a Ray worker process of the workbench imports before it takes work: Ray Data's
# map worker, torch, thinc and the workbench (~4 CPU s in a fresh process).
WORKER_PRELOAD = ("ray.data", "workbench.distributed.ray_apply")
PRELOAD_ENV = "RAY_preload_python_modules"  # read by the raylet when a node starts


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

    A node started here imports WORKER_PRELOAD in each worker process as it starts (Ray
    starts one per CPU with the node); a cluster started with `ray start` does the same
    when RAY_preload_python_modules is set there (README). Measured on 2 cores, the actors
    of `apply --ray` still start ~10 s each run: Ray Data's actors do not land on those
    workers yet (bench/bench_scale_out.py --only ray)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    options = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": False, **options}
    before = os.environ.get(PRELOAD_ENV)
    os.environ[PRELOAD_ENV] = before or ",".join(WORKER_PRELOAD)  # the raylet started below inherits it
    try:
        ray.init(address=address, **options)
    finally:
        if before is None:
            os.environ.pop(PRELOAD_ENV, None)
    return ray


def apply_ray(*args: Any, **kwargs: Any) -> Any:
    """See `workbench.distributed.ray_apply.apply_ray`."""
    from .ray_apply import apply_ray as run

    return run(*args, **kwargs)


__all__ = ["apply_ray", "init_ray", "require_ray"]
