"""The thread policy: how many threads numpy's BLAS and torch each get.

A process here has two thread pools that do the heavy work: numpy's BLAS
(OpenBLAS, or blis; thinc's layers through `BlasNumpyOps`) and torch's
intra-op pool (OpenMP). Both keep their threads spinning for a while after
each call, so when both have one thread per core, the idle pool's spinning
threads take cores from the busy one; on a machine shared with another
process a step can take 10x longer. The policy gives the pool that does a
pipeline's heavy work all of `[system] n_threads` and the other pool one
thread:

- a pipeline with a torch model (a transformer): torch n, BLAS 1;
- a pipeline of thinc layers only (CNN tok2vec, tagger, ner): BLAS n, torch 1.

n defaults to the cores this process may run on (`os.sched_getaffinity`) less
those other processes keep busy when the pipeline is built (measured over 0.1 s
from /proc/stat, at least 1): with a neighbour on one of 2 cores, a 2-thread
BLAS or OpenMP pool waits for its descheduled thread and runs 3-12x slower than
one thread (measured for numpy and torch matmuls here), so the engine takes the
idle cores only. A neighbour may also start after the pipeline is built: while
it trains or annotates with `n_threads = null`, `follow_load` re-measures between
batches (at most every RECHECK_SECONDS, from /proc/stat and this process's own
CPU time, without sleeping) and resizes the heavy pool to the cores others leave
idle now, down when a neighbour arrives and back up when it leaves.
A number written in the config is used as it is.
The pools are process-wide, so the pipeline built or extended last decides.
A component that splits its own work over Python threads (the parser's decode)
runs them inside `worker_threads()`: as many threads as the plan's total, with
both pools at one thread meanwhile.
`nlp.pipe(n_process=k)` workers each take `worker_share(n, k)` threads: a worker
process (also a Ray actor or a Tune trial) calls `enter_worker(share)` first, and
every pipeline it builds then uses that share in place of `[system] n_threads`.
"""
import os
import time
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

from .errors import ConfigError

_applied: Optional[Dict[str, int]] = None  # the last plan applied in this process
_worker_share: Optional[int] = None  # set by enter_worker: this process's share of the cores
_idle_cache: Tuple[float, int] = (-1e9, 0)  # (when measured, idle cores)
IDLE_CACHE_SECONDS = 30.0
RECHECK_SECONDS = 1.0  # follow_load: how often the cores others keep busy are measured again
_last_sample: Optional[Tuple[float, float, float, float]] = None  # (monotonic s, idle, total jiffies, own CPU s)


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _cpu_times(cpus: List[int]) -> Tuple[float, float]:
    """(idle, total) jiffies of `cpus` from /proc/stat."""
    idle = total = 0.0
    want = {f"cpu{c}" for c in cpus}
    with open("/proc/stat", encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] in want:
                values = [float(v) for v in parts[1:]]
                idle += values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
                total += sum(values[:8])  # without guest time, which is counted in user
    return idle, total


def idle_cores(seconds: float = 0.1) -> int:
    """Cores of this process's affinity that no other process keeps busy now (at least 1).

    Measured over `seconds` from /proc/stat (while this process sleeps), remembered for
    IDLE_CACHE_SECONDS; all available cores where /proc/stat cannot be read.
    """
    global _idle_cache
    now = time.monotonic()
    if now - _idle_cache[0] < IDLE_CACHE_SECONDS:
        return _idle_cache[1]
    n = available_cores()
    try:
        cpus = sorted(os.sched_getaffinity(0))
        idle0, total0 = _cpu_times(cpus)
        time.sleep(seconds)
        idle1, total1 = _cpu_times(cpus)
    except (AttributeError, OSError, ValueError, IndexError):
        return n
    if total1 <= total0:
        return n
    idle = n * (idle1 - idle0) / (total1 - total0)  # idle cores, fractional
    result = max(1, min(n, int(idle + 0.5)))
    _idle_cache = (time.monotonic(), result)
    return result


def _sample() -> Tuple[float, float, float, float]:
    """(now, idle jiffies, total jiffies of this process's cores, this process's CPU seconds)."""
    idle, total = _cpu_times(sorted(os.sched_getaffinity(0)))
    own = os.times()
    return time.monotonic(), idle, total, own.user + own.system


def others_busy_cores(before: Tuple[float, float, float, float], after: Tuple[float, float, float, float]) -> float:
    """Cores that other processes kept busy between two `_sample`s: all busy time less this process's."""
    wall, total = after[0] - before[0], after[2] - before[2]
    if wall <= 0 or total <= 0:
        return 0.0
    busy_cores = available_cores() * (total - (after[1] - before[1])) / total
    return max(0.0, busy_cores - (after[3] - before[3]) / wall)


def follow_load(nlp: Any) -> Optional[Dict[str, int]]:
    """Between batches: with `[system] n_threads = null` (and not in a worker), at most every
    RECHECK_SECONDS, resize the heavy pool to the cores other processes left idle since the
    last call; returns the new plan when it changed, else None."""
    global _last_sample, _idle_cache
    if _worker_share is not None or (_last_sample and time.monotonic() - _last_sample[0] < RECHECK_SECONDS):
        return None
    try:
        sample = _sample()
    except (AttributeError, OSError, ValueError, IndexError):  # no /proc/stat: keep the plan
        return None
    before, _last_sample = _last_sample, sample
    if before is None or config_n_threads(nlp._config) is not None:
        return None
    n = available_cores()
    idle = max(1, min(n, int(n - others_busy_cores(before, sample) + 0.5)))
    _idle_cache = (sample[0], idle)
    if _applied is not None and max(_applied.values()) == idle:
        return None
    return apply_thread_policy(idle, uses_torch=uses_torch(nlp))


def default_n_threads() -> int:
    """`[system] n_threads = null`: the available cores other processes leave idle."""
    return idle_cores()


def check_n_threads(value: Any, where: str = "[system] n_threads") -> Optional[int]:
    """`null` or a positive integer; anything else is a ConfigError naming the setting."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{where} = {value!r}: write a positive whole number of threads (e.g. 2), "
            f"or null for the cores available to the process that other processes leave idle."
        )
    return value


def worker_share(n_threads: Optional[int], n_process: int) -> int:
    """Threads for each of `n_process` worker processes sharing `n_threads` (null: all cores)."""
    total = check_n_threads(n_threads) or default_n_threads()
    return max(1, total // max(1, n_process))


def thread_plan(n_threads: Optional[int], uses_torch: bool) -> Dict[str, int]:
    """{"blas": threads, "torch": threads} for a pipeline; see the module docstring."""
    n = check_n_threads(n_threads) or default_n_threads()
    return {"blas": 1, "torch": n} if uses_torch else {"blas": n, "torch": 1}


def apply_thread_policy(n_threads: Optional[int] = None, *, uses_torch: bool) -> Dict[str, int]:
    """Size numpy's BLAS pool (threadpoolctl) and torch's pools to `thread_plan`; returns the plan.

    A worker process calls `apply_thread_policy(worker_share(n, n_process), uses_torch=...)`
    before it runs anything.
    """
    global _applied
    plan = thread_plan(n_threads, uses_torch)
    # Every time: a BLAS library loaded since the last call (scipy's, say) starts unlimited.
    threadpool_limits(limits=plan["blas"], user_api="blas")  # OpenBLAS / blis / MKL used by numpy
    if plan != _applied:
        if torch.get_num_threads() != plan["torch"]:
            torch.set_num_threads(plan["torch"])  # intra-op (OpenMP) pool, also for threads started later
        if torch.get_num_interop_threads() != 1:
            try:
                torch.set_num_interop_threads(1)  # the workbench runs no inter-op parallel work
            except RuntimeError:  # only settable before torch's first parallel work; it then stays idle
                pass
        _applied = plan
    return plan


@contextmanager
def worker_threads() -> Iterator[int]:
    """For work split over Python threads: yields k, how many to run, with both pools at one
    thread until the block ends (then the plan again), so k threads use k cores.

    k is the applied plan's total; 1 (and nothing changed) before any plan or with one thread.
    """
    k = max(_applied.values()) if _applied is not None else 1
    if k < 2:
        yield 1
        return
    if _applied["torch"] > 1:
        torch.set_num_threads(1)
    try:
        with _controller().limit(limits=1, user_api="blas"):
            yield k
    finally:
        if torch.get_num_threads() != _applied["torch"]:
            torch.set_num_threads(_applied["torch"])


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    """The BLAS pools, inspected once (a fresh inspection walks every loaded library)."""
    return ThreadpoolController()


def uses_torch(nlp: Any) -> bool:
    """True when a component of `nlp` runs a torch model (a PyTorchWrapper's shim)."""
    for _name, comp in nlp.components:
        model = getattr(comp, "model", None)
        if model is not None and any(node.shims for node in model.walk()):
            return True
    return False


def enter_worker(share: int) -> None:
    """Make this process a worker with `share` threads (from `worker_share`): every pipeline
    built or loaded here from now on uses it in place of its `[system] n_threads`."""
    global _worker_share
    _worker_share = check_n_threads(share, "a worker's thread share")


def config_n_threads(config: Any) -> Optional[int]:
    """A config's `[system] n_threads` (null when not set), interpolated."""
    n_threads = (config.get("system") or {}).get("n_threads")
    if isinstance(n_threads, str) and "${" in n_threads:
        from .config import interpolate

        n_threads = interpolate(config)["system"]["n_threads"]
    return n_threads


def apply_to_pipeline(nlp: Any) -> Dict[str, int]:
    """Apply the policy for `nlp` with its config's `[system] n_threads` (a worker: its share)."""
    n_threads = _worker_share if _worker_share is not None else config_n_threads(nlp._config)
    return apply_thread_policy(n_threads, uses_torch=uses_torch(nlp))


def pool_sizes() -> Dict[str, int]:
    """The pools' sizes now: {"blas": ..., "openmp": ... (as threadpoolctl reports them), "torch": ...}."""
    sizes = {"torch": torch.get_num_threads(), "torch_interop": torch.get_num_interop_threads()}
    for pool in threadpool_info():
        sizes.setdefault(pool["user_api"], pool["num_threads"])
    return sizes
