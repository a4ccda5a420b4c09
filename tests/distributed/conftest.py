"""One real local Ray for the whole pytest run (skipped when the extra is not installed)."""
import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray node with 2 CPUs, started once; shut down after the last test."""
    try:
        import ray
    except ImportError:
        pytest.skip("Ray is not installed: pip install -e '.[distributed]' to run the Ray tests")
    from workbench.distributed import init_ray

    started = not ray.is_initialized()
    if started:
        errors = []
        for _ in range(2):  # a busy machine can miss Ray's start-up deadline once
            try:
                init_ray(None, num_cpus=2, object_store_memory=300 * 2**20)  # as apply --ray starts one
                break
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")
                ray.shutdown()
        else:
            # Seen on an overloaded shared machine: the raylet gives up waiting for its agent.
            pytest.skip("Ray is installed but could not start a local node here (twice): " + " | ".join(errors))
    yield ray
    if started:
        ray.shutdown()
