"""`nlp.pipe(texts, n_process=N)`: the pipeline run by N worker processes.

The parent checks that every part of the pipeline can be rebuilt in a fresh
process, saves the pipeline once to a temporary folder and starts N workers.
The start method is chosen explicitly: `forkserver` where the OS has it (Linux,
macOS), else `spawn`. A fresh process pays ~3 s of CPU to import torch, thinc
and the workbench; the forkserver (one per parent process, started at the first
call and kept) imports them once (`PRELOAD`), and every worker of this and later
calls forks from it with them imported. It never runs torch or BLAS work, so no
thread pool is copied by the fork. `spawn` stays available (`start_method`).
Each worker takes its share of the threads from the one thread policy
(`workbench.threads.worker_share` of `[system] n_threads`; `enter_worker`), loads
the pipeline once (which sizes its torch and BLAS pools by that policy) and
annotates whole batches. Texts go out as strings
(Docs as plain data); annotated docs come back as msgpack bytes
(`doc_transfer`); `as_tuples` contexts never leave the parent. At most two
batches per worker are in flight, so memory stays flat however long the input
is, and docs are yielded in input order. `last_profile()` tells where the time
of the last run went (the parent's and each worker's CPU seconds).

Scripts that call it need the usual `if __name__ == "__main__":` guard (each
worker imports the main module, with either start method).
"""
import importlib
import importlib.util
import itertools
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from types import FunctionType
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..errors import ConfigError, WorkbenchError
from ..threads import available_cores, config_n_threads, enter_worker, worker_share

START_METHODS = ("forkserver", "spawn")
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
PRELOAD = ["workbench.pipeline.language", "workbench.pipeline.doc_transfer"]  # torch, thinc, the registrations
IN_FLIGHT_PER_WORKER = 2  # batches submitted ahead per worker: enough to keep it busy, bounded memory


class WorkerError(WorkbenchError):
    """A text failed in a worker process (`text_index` is its position in the input)."""

    def __init__(self, message: str, text_index: Optional[int] = None):
        super().__init__(message, text_index)
        self.text_index = text_index

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class PipeProfile:
    """Where the time of one `nlp.pipe(n_process>1)` run went, in seconds (see `last_profile`)."""

    start_method: str
    n_process: int
    threads_per_worker: int
    save_seconds: float = 0.0  # the parent saving the pipeline for the workers
    first_doc_seconds: float = 0.0  # from the first request to the first doc back: workers' start + a batch
    total_seconds: float = 0.0
    parent_cpu_seconds: float = 0.0  # all the parent's threads: reading, sending, receiving, decoding
    parent_decode_seconds: float = 0.0  # docs back from bytes (`doc_transfer.docs_from_bytes`)
    parent_wait_seconds: float = 0.0  # waiting for a worker's batch: the workers were the bottleneck
    docs: int = 0
    workers: Dict[int, Dict[str, float]] = field(default_factory=dict)  # pid -> the worker's `_stats`

    def worker_cpu_seconds(self) -> float:
        return sum(w["cpu"] for w in self.workers.values())

    def summary(self) -> str:
        load = sum(w["load_cpu"] for w in self.workers.values())
        annotate = sum(w["annotate_cpu"] for w in self.workers.values())
        encode = sum(w["encode_cpu"] for w in self.workers.values())
        return (f"{self.start_method}, {self.n_process} workers x {self.threads_per_worker} thread(s): "
                f"save {self.save_seconds:.2f}s, first doc at {self.first_doc_seconds:.2f}s, total "
                f"{self.total_seconds:.2f}s; parent CPU {self.parent_cpu_seconds:.2f}s (decode "
                f"{self.parent_decode_seconds:.2f}s), waited {self.parent_wait_seconds:.2f}s; workers' CPU "
                f"{self.worker_cpu_seconds():.2f}s = start+load {load:.2f} + annotate {annotate:.2f} + encode "
                f"{encode:.2f}")


_LAST_PROFILE: Optional[PipeProfile] = None
_server_modules: set = set()  # what the forkserver this module started imported


def last_profile() -> Optional[PipeProfile]:
    """The `PipeProfile` of the last `nlp.pipe(n_process>1)` run in this process (None before)."""
    return _LAST_PROFILE


# ------------------------------------------------------------------ the parent side


def n_workers(n_process: int, nlp: Any) -> int:
    """How many processes to use: -1 is one per core; 1 on a GPU (with a warning)."""
    if not isinstance(n_process, int) or isinstance(n_process, bool) or n_process == 0 or n_process < -1:
        raise ConfigError(f"n_process = {n_process!r}: use a positive number of processes, or -1 for one per core.")
    n = available_cores() if n_process == -1 else n_process
    if n > 1 and pipeline_on_gpu(nlp):
        warnings.warn(
            f"nlp.pipe(n_process={n_process}): the pipeline runs on the GPU, which one process uses best; "
            f"running in one process instead. Raise batch_size to use the GPU fully.",
            RuntimeWarning, stacklevel=3,
        )
        return 1
    return n


def pipeline_on_gpu(nlp: Any) -> bool:
    from thinc.api import get_current_ops

    if getattr(get_current_ops(), "device_type", "cpu") != "cpu":
        return True
    for _, name, value in nlp.iter_params():
        if getattr(value, "is_cuda", False):
            return True
    return False


def split_pairs(items: Iterable[Any]) -> Tuple[Iterator[Any], Iterator[Any]]:
    """(texts, contexts) from an iterable of (text, context) pairs, both lazy. The
    contexts lag the texts by at most the batches in flight."""
    checked = (_pair(item, i) for i, item in enumerate(items))
    a, b = itertools.tee(checked)
    return (text for text, _ in a), (context for _, context in b)


def _pair(item: Any, i: int) -> Tuple[Any, Any]:
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise TypeError(f"nlp.pipe(as_tuples=True): item {i} is {item!r:.80}; pass (text, context) pairs.")
    return item[0], item[1]


def pipe_in_processes(nlp: Any, texts: Iterable[Any], *, n_process: int, batch_size: int,
                      disable: Sequence[str] = (), keep_trf_data: bool = True,
                      start_method: str = START_METHOD) -> Iterator[Any]:
    """The annotated Docs of `texts`, in order, from `n_process` worker processes. What
    cannot cross a process boundary is reported here, before any process starts; the
    forkserver starts here too, so it imports while the caller reads its input."""
    check_portable(nlp)
    context = worker_context(start_method, PRELOAD + preload_for(nlp))
    return _pipe_in_processes(nlp, texts, n_process, batch_size, disable, keep_trf_data, context)


def worker_context(start_method: str, preload: Sequence[str] = PRELOAD) -> Any:
    """The multiprocessing context for `start_method`. For "forkserver", the server is
    started now (not waited for) with `preload` imported. One this module started for
    fewer modules is restarted when no process this one started is alive (a transformer
    pipeline after a CNN one); one started by other code is used as it is."""
    global _server_modules
    if start_method not in START_METHODS:
        raise ConfigError(f"nlp.pipe: start_method = {start_method!r}; use one of {', '.join(START_METHODS)}.")
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        from multiprocessing import forkserver

        server = forkserver._forkserver
        running = getattr(server, "_forkserver_pid", None) is not None
        if running and _server_modules and not set(preload) <= _server_modules and not multiprocessing.active_children():
            server._stop()  # no child holds it, so it exits at once
            running = False
        if not running:
            _server_modules = set(preload)
            context.set_forkserver_preload(sorted(_server_modules))
        forkserver.ensure_running()
    return context


def preload_for(nlp: Any) -> List[str]:
    """The modules of the classes inside the pipeline's torch models and their tokenizers
    (e.g. transformers' modeling_bert, ~10 CPU s of imports): the forkserver imports them
    once, not each worker when it loads the pipeline."""
    modules = set()
    for _, comp in nlp.components:
        model = getattr(comp, "model", None)
        for node in model.walk() if model is not None else []:
            for shim in node.shims:
                torch_model = getattr(shim, "_model", None)
                for module in torch_model.modules() if hasattr(torch_model, "modules") else []:
                    modules.add(type(module).__module__)
            for value in node.attrs.values():
                if type(value).__module__.split(".")[0] in ("transformers", "tokenizers"):
                    modules.add(type(value).__module__)
    return sorted(m for m in modules if m.split(".")[0] in ("transformers", "torch"))


def _pipe_in_processes(nlp, texts, n_process, batch_size, disable, keep_trf_data, context) -> Iterator[Any]:
    global _LAST_PROFILE
    modules = user_modules(nlp)
    threads = worker_share(config_n_threads(nlp._config), n_process)
    profile = _LAST_PROFILE = PipeProfile(context.get_start_method(), n_process, threads)
    began, cpu0 = time.perf_counter(), time.process_time()
    folder = tempfile.mkdtemp(prefix="workbench-pipe-")
    pool = None
    try:
        nlp.to_disk(folder)
        profile.save_seconds = time.perf_counter() - began
        pool = ProcessPoolExecutor(
            n_process, mp_context=context, initializer=_init_worker,
            initargs=(folder, threads, modules, sorted(disable), keep_trf_data),
        )
        pending: deque = deque()  # (index of the batch's first text, its size, future)
        start = 0
        for batch in _batches(texts, batch_size):
            pending.append((start, len(batch), pool.submit(_annotate, [_outgoing(t, start + i) for i, t in enumerate(batch)], start)))
            start += len(batch)
            if len(pending) >= IN_FLIGHT_PER_WORKER * n_process:
                yield from _receive(nlp, *pending.popleft(), profile, began)
        while pending:
            yield from _receive(nlp, *pending.popleft(), profile, began)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(folder, ignore_errors=True)
        profile.total_seconds = time.perf_counter() - began
        profile.parent_cpu_seconds = time.process_time() - cpu0


def _batches(texts: Iterable[Any], size: int) -> Iterator[List[Any]]:
    iterator = iter(texts)
    while True:
        batch = list(itertools.islice(iterator, size))
        if not batch:
            return
        yield batch


def _outgoing(text: Any, index: int) -> Any:
    from ..text.doc import Doc
    from .doc_transfer import doc_to_dict

    if isinstance(text, str):
        return text
    if isinstance(text, Doc):
        return doc_to_dict(text)
    raise TypeError(f"nlp.pipe: text {index} is a {type(text).__name__}; expected a str or a Doc.")


def _receive(nlp: Any, start: int, size: int, future: Any, profile: PipeProfile, began: float) -> List[Any]:
    from .doc_transfer import docs_from_bytes

    waited = time.perf_counter()
    try:
        data, stats = future.result()
    except BrokenProcessPool:
        raise WorkerError(
            f"nlp.pipe: a worker process died while annotating texts {start}-{start + size - 1} (it was "
            f"killed, ran out of memory, or crashed in native code). Try a smaller batch_size or fewer "
            f"processes (n_process).", start,
        ) from None
    received = time.perf_counter()
    profile.parent_wait_seconds += received - waited
    profile.first_doc_seconds = profile.first_doc_seconds or received - began
    profile.workers[stats["pid"]] = stats
    docs = docs_from_bytes(nlp.vocab, data)
    profile.parent_decode_seconds += time.perf_counter() - received
    profile.docs += len(docs)
    return docs


def check_portable(nlp: Any) -> None:
    """Raise a ConfigError for any part of the pipeline a fresh process cannot rebuild:
    a component added as a Python object, or a function defined in a notebook cell or
    the interactive interpreter (registered in the config, or set on a model)."""
    from ..config import iter_promises
    from ..registry import registry

    config = nlp.config
    how = "Move it into a .py file that you import (or pass that file with --code), or use n_process=1."
    for name in nlp.pipe_names:
        if name not in config["components"]:
            raise ConfigError(
                f"nlp.pipe(n_process>1): component '{name}' was added with nlp.add_component() as a Python "
                f"object, so a worker process cannot rebuild it. Add it with nlp.add_pipe(FACTORY) from a "
                f"registered factory, or use n_process=1."
            )
    for section, reg_name, func_name in _references(config, iter_promises):
        fn = registry.get(reg_name, func_name)
        if not _importable(fn):
            raise ConfigError(
                f"nlp.pipe(n_process>1): [{'.'.join(section)}] uses '{func_name}' ({reg_name}), which is "
                f"defined in {_where(fn)}; a worker process cannot import it. {how}"
            )
    for name, comp in nlp.components:
        for attr, value in getattr(comp, "__dict__", {}).items():  # e.g. an annotation_setter assigned in a notebook
            if isinstance(value, FunctionType) and not _importable(value):
                raise ConfigError(
                    f"nlp.pipe(n_process>1): component '{name}' has {attr} = {value.__qualname__!r}, defined "
                    f"in {_where(value)}; a worker process cannot import it. {how}"
                )
        model = getattr(comp, "model", None)
        for node in model.walk() if model is not None else []:
            for attr, value in node.attrs.items():
                if callable(value) and not isinstance(value, type) and not _importable(value):
                    raise ConfigError(
                        f"nlp.pipe(n_process>1): component '{name}' has layer '{node.name}' with "
                        f"attrs['{attr}'] = {getattr(value, '__qualname__', value)!r}, defined in "
                        f"{_where(value)}; a worker process cannot import it. {how}"
                    )


def _references(config: Any, iter_promises) -> Iterator[Tuple[Tuple[str, ...], str, str]]:
    """Every registered function the config names: factories and `@` references."""
    for name, block in config["components"].items():
        if isinstance(block, dict) and "factory" in block:
            yield ("components", name), "factories", block["factory"]
    yield from iter_promises(config)


def _importable(fn: Any) -> bool:
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is None:
        return not isinstance(fn, FunctionType)  # e.g. a builtin or a callable object
    return getattr(module, "__file__", None) is not None


def _where(fn: Any) -> str:
    module = getattr(fn, "__module__", None)
    if module == "__main__":
        return "a notebook cell or the interactive interpreter (module __main__)"
    return f"module {module!r}, which has no file"


def user_modules(nlp: Any) -> List[Tuple[str, str]]:
    """(module name, file) of every module outside the workbench whose functions the config
    names: each worker imports them (by name, else from the file) before loading."""
    from ..config import iter_promises
    from ..registry import registry

    seen, out = set(), []
    for _, reg_name, func_name in _references(nlp.config, iter_promises):
        fn = registry.get(reg_name, func_name)
        name = getattr(fn, "__module__", None) or ""
        module = sys.modules.get(name)
        if name in seen or module is None or name.split(".")[0] in ("workbench", "thinc", "confection"):
            continue
        seen.add(name)
        if name != "__main__":  # spawn imports the main script in each worker itself
            out.append((name, getattr(module, "__file__", None)))
    return out


# ------------------------------------------------------------------ the worker side

_WORKER: dict = {}  # this worker's pipeline and settings, set once by _init_worker
_STATS: Dict[str, float] = {}  # this worker's CPU seconds so far, sent back with every batch


def _init_worker(folder: str, threads: int, modules: List[Tuple[str, str]], disable: List[str],
                 keep_trf_data: bool) -> None:
    """Runs once in each worker: threads, user modules, the pipeline. An error is kept and
    raised with the first batch (an initializer that raises would only break the pool)."""
    try:
        enter_worker(threads)  # the pipeline loaded below sizes its pools to this share
        for name, file in modules:
            _import(name, file)
        from .language import load

        _WORKER.update(nlp=load(folder), disable=set(disable), keep_trf_data=keep_trf_data, error=None)
    except BaseException as e:
        _WORKER["error"] = f"the worker could not load the pipeline: {type(e).__name__}: {e}"
    # a forked worker's CPU clock starts at its fork: load_cpu is its start-up after that
    _STATS.update(pid=os.getpid(), ppid=os.getppid(), load_cpu=time.process_time(), annotate_cpu=0.0, encode_cpu=0.0, batches=0)


def _import(name: str, file: Optional[str]) -> None:
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
    except ImportError:
        if not file:
            raise
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


def _annotate(items: List[Any], start: int) -> Tuple[bytes, Dict[str, float]]:
    """Annotate one batch in a worker: (msgpack bytes of the docs, `_stats`). A failure names the text."""
    from .doc_transfer import doc_from_dict, docs_to_bytes

    if _WORKER.get("error"):
        raise WorkerError(f"nlp.pipe: {_WORKER['error']}", start)
    nlp = _WORKER["nlp"]

    def make(item):
        return item if isinstance(item, str) else doc_from_dict(nlp.vocab, item)

    try:
        cpu = time.process_time()
        docs = list(nlp.pipe([make(item) for item in items], batch_size=len(items), disable=_WORKER["disable"]))
        annotated = time.process_time()
        data = docs_to_bytes(docs, keep_trf_data=_WORKER["keep_trf_data"])
        done = time.process_time()
        _STATS.update(annotate_cpu=_STATS["annotate_cpu"] + annotated - cpu, batches=_STATS["batches"] + 1,
                      encode_cpu=_STATS["encode_cpu"] + done - annotated, cpu=done)
        return data, dict(_STATS)
    except Exception:
        batch_error = traceback.format_exc()
    for i, item in enumerate(items):  # find the text that fails on its own
        try:
            docs_to_bytes(list(nlp.pipe([make(item)], batch_size=1, disable=_WORKER["disable"])),
                          keep_trf_data=_WORKER["keep_trf_data"])
        except Exception as e:
            text = item if isinstance(item, str) else " ".join(item["words"])
            raise WorkerError(
                f"nlp.pipe: text {start + i} ({text[:60]!r}) failed in a worker process: "
                f"{type(e).__name__}: {e}\n\nWorker traceback:\n{traceback.format_exc()}", start + i,
            ) from None
    raise WorkerError(
        f"nlp.pipe: the batch of texts {start}-{start + len(items) - 1} failed in a worker process, though "
        f"each text passes on its own.\n\nWorker traceback:\n{batch_error}", start,
    )


def without_trf_data(docs: Iterable[Any]) -> Iterator[Any]:
    """The docs with `doc._.trf_data` dropped (what `keep_trf_data=False` does in one process)."""
    from .doc_transfer import EXTENSION, TRF_DATA

    for doc in docs:
        doc.user_data.pop((EXTENSION, TRF_DATA, None, None), None)
        yield doc
