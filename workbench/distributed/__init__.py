"""Ray: batch inference on a cluster (`apply_ray`) and config sweeps on Ray Tune.

Ray is an optional extra (`pip install '.[distributed]'`): nothing here imports it
until a function runs, and `import workbench` never does.
"""
from typing import Any


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


def apply_ray(*args: Any, **kwargs: Any) -> Any:
    """See `workbench.distributed.ray_apply.apply_ray`."""
    from .ray_apply import apply_ray as run

    return run(*args, **kwargs)


__all__ = ["apply_ray", "require_ray"]
