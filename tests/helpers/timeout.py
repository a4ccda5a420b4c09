"""A hang guard for tests that start processes: fail the test instead of hanging CI."""
import contextlib
import signal


@contextlib.contextmanager
def time_limit(seconds: int, what: str = "the test"):
    """Raise TimeoutError in the main thread when the block runs longer than `seconds`."""
    def expire(signum, frame):
        raise TimeoutError(f"{what} took longer than {seconds}s: something hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
