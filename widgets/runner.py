"""One background job per widget, drawn while it runs: `BackgroundRun`.

    run = BackgroundRun("workbench-train", work=..., redraw=..., finish=..., changed=history.refresh)
    run.start(); run.join()

`work` runs in a thread, in a copy of the caller's context (thinc keeps the current
ops, BLAS CPU ops or the GPU after `require_gpu`, in a ContextVar that a bare new
thread would not see). A second thread calls `redraw` while the job runs, at most
every `redraw_every` seconds and never more than `max_draw_share` of the time (a slow
draw spaces the next ones out), and only when `changed()` says there is something
new; then `redraw` once more and `finish` once. Whatever the job prints goes to
`run.log` (not under the notebook cell that happens to be current).
"""
import contextvars
import io
import sys
import threading
import time
from typing import Callable, Dict, List, Optional


class _ThreadRouter(io.TextIOBase):
    """sys.stdout that sends the writes of registered threads to their sink, the rest on."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.sinks: Dict[int, Callable[[str], None]] = {}

    def write(self, text: str) -> int:
        sink = self.sinks.get(threading.get_ident())
        if sink is None:
            return self.fallback.write(text)
        sink(text)
        return len(text)

    def flush(self) -> None:
        self.fallback.flush()

    def __getattr__(self, name):  # the kernel's stream attributes (parent_header, ...)
        return getattr(self.fallback, name)


def _router() -> _ThreadRouter:
    if not isinstance(sys.stdout, _ThreadRouter):
        sys.stdout = _ThreadRouter(sys.stdout)
    return sys.stdout


class BackgroundRun:
    """A job in a thread plus a drawing thread; `error` holds what the job raised."""

    def __init__(self, name: str, *, work: Callable[[], None], redraw: Callable[[], object],
                 finish: Callable[[], None], changed: Callable[[], object] = lambda: True,
                 redraw_every: float = 0.5, max_draw_share: float = 0.05):
        self.name = name
        self.work, self.redraw, self.finish, self.changed = work, redraw, finish, changed
        self.redraw_every, self.max_draw_share = redraw_every, max_draw_share
        self.error: Optional[BaseException] = None
        self.log: List[str] = []  # the lines the job printed
        self.draws = 0
        self.draw_seconds = 0.0
        self._worker: Optional[threading.Thread] = None
        self._drawer: Optional[threading.Thread] = None

    @property
    def alive(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start(self) -> threading.Thread:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running: stop it first.")
        self.error = None
        context = contextvars.copy_context()
        self._worker = threading.Thread(target=context.run, args=(self._work,), name=self.name, daemon=True)
        self._drawer = threading.Thread(target=self._draw_loop, name=self.name + "-draw", daemon=True)
        self._worker.start()
        self._drawer.start()
        return self._worker

    def join_work(self, timeout: Optional[float] = None) -> None:
        """Wait for the job only (not for its final redraw)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def join(self, timeout: Optional[float] = None) -> None:
        for t in (self._worker, self._drawer):
            if t is not None:
                t.join(timeout)

    def _work(self) -> None:
        router = _router()
        me = threading.get_ident()
        router.sinks[me] = self._write
        try:
            self.work()
        except BaseException as e:  # shown by `finish`; the thread must not die silently
            self.error = e
        finally:
            router.sinks.pop(me, None)

    def _write(self, text: str) -> None:
        self.log += [line for line in text.splitlines() if line.strip()]

    def _draw(self) -> float:
        t0 = time.perf_counter()
        self.redraw()
        took = time.perf_counter() - t0
        self.draws += 1
        self.draw_seconds += took
        return took

    def _draw_loop(self) -> None:
        next_at = 0.0
        try:
            while self.alive:
                time.sleep(0.05)
                if time.perf_counter() < next_at or not self.changed():
                    continue
                took = self._draw()
                next_at = time.perf_counter() + max(self.redraw_every, took / max(self.max_draw_share, 1e-3))
            self.changed()
            self._draw()
        finally:
            self.finish()
