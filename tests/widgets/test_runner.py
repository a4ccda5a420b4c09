"""BackgroundRun: the job in a thread, redraws while it runs, one final redraw and finish, prints kept."""
import threading
import time

from widgets.runner import BackgroundRun


def test_job_prints_go_to_the_log_and_finish_runs_once(capsys):
    calls = {"redraw": 0, "finish": 0}
    seen = threading.Event()

    def work():
        print("engine says hello")
        time.sleep(0.3)
        seen.set()

    def finish():
        calls["finish"] += 1

    run = BackgroundRun("t", work=work, redraw=lambda: calls.__setitem__("redraw", calls["redraw"] + 1),
                        finish=finish, redraw_every=0.05)
    run.start()
    print("main thread output")  # other threads still print as usual
    run.join(timeout=10)
    assert seen.is_set() and run.error is None
    assert run.log == ["engine says hello"]
    out = capsys.readouterr().out
    assert "main thread output" in out and "engine says hello" not in out
    assert calls["finish"] == 1 and calls["redraw"] >= 2 and run.draws == calls["redraw"]


def test_errors_are_kept_and_a_second_start_is_refused():
    gate = threading.Event()

    def work():
        gate.wait(5)
        raise ValueError("bad input")

    run = BackgroundRun("t", work=work, redraw=lambda: None, finish=lambda: None)
    run.start()
    try:
        run.start()
        raise AssertionError("a second start while running must fail")
    except RuntimeError as e:
        assert "already running" in str(e)
    gate.set()
    run.join(timeout=10)
    assert isinstance(run.error, ValueError) and str(run.error) == "bad input"


def test_redraws_only_when_something_changed():
    redraws = []
    run = BackgroundRun("t", work=lambda: time.sleep(0.4), redraw=lambda: redraws.append(1), finish=lambda: None,
                        changed=lambda: False, redraw_every=0.01)
    run.start()
    run.join(timeout=10)
    assert len(redraws) == 1  # only the final redraw
