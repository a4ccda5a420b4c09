"""No save is half-written and no run is lost: Pipeline.to_disk swaps a complete folder
in; SIGTERM stops `train` like Ctrl-C (model-last saved, exit 143); --output that is a
file, or that holds a run without --overwrite, is refused before any step.

The kills are real signals sent to `python -m workbench train` subprocesses; the save
that is killed is slowed down by tests/helpers/slow_save.py.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import workbench
from tests.helpers import ROOT, tiny_examples
from tests.helpers.sample import DATA, SAMPLE
from tests.helpers.slow_save import folder_digests
from workbench.cli import main
from workbench.commands import build_init_config
from workbench.errors import WorkbenchError
from workbench.pipeline.language import Pipeline

SHARED = SAMPLE / "configs" / "shared.cfg"
DATA_ARGS = ["--paths.train", DATA["paths.train"], "--paths.dev", DATA["paths.dev"]]


def tagger_pipeline(steps: int = 0):
    """A shared tok2vec + tagger, initialized, after `steps` updates."""
    nlp = Pipeline.from_config(build_init_config(["tagger"], shared=True))
    examples = tiny_examples(nlp)
    sgd = nlp.initialize(lambda: iter(examples))
    for _ in range(steps):
        nlp.update(examples, sgd=sgd)
    return nlp


def tags(nlp):
    return [d.tags for d in nlp.pipe(["Alice works for Acme in Paris .", "The cat sat on the mat ."])]


def siblings(path: Path):
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


# ---------------------------------------------------------------- Pipeline.to_disk


def test_a_save_replaces_the_whole_folder(tmp_path):
    old, new = tagger_pipeline(), tagger_pipeline(steps=3)
    path = tmp_path / "model"
    old.to_disk(path)
    old_files = folder_digests(path)
    (path / "stale-component").mkdir()  # e.g. a component the new pipeline no longer has
    new.to_disk(path)
    assert not (path / "stale-component").exists()
    assert folder_digests(path) != old_files
    assert tags(workbench.load(path)) == tags(new)
    assert siblings(path) == []


def test_a_save_that_fails_halfway_leaves_the_old_folder(tmp_path, monkeypatch):
    old, new = tagger_pipeline(), tagger_pipeline(steps=3)
    path = tmp_path / "model"
    old.to_disk(path)
    before = folder_digests(path)
    tagger = type(new.get_pipe("tagger"))

    def fail(self, folder):
        raise KeyboardInterrupt  # as a Ctrl-C or SIGTERM arriving after the tok2vec is written

    monkeypatch.setattr(tagger, "to_disk", fail)
    with pytest.raises(KeyboardInterrupt):
        new.to_disk(path)
    assert folder_digests(path) == before
    assert siblings(path) == []  # the half-written folder is removed
    assert tags(workbench.load(path)) == tags(old)


def test_saving_refuses_a_folder_that_is_not_a_pipeline(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    with pytest.raises(WorkbenchError, match="no saved pipeline .* choose a new or empty folder"):
        tagger_pipeline().to_disk(folder)
    assert (folder / "mine.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(WorkbenchError, match="is a file"):
        tagger_pipeline().to_disk(tmp_path / "file")


# ---------------------------------------------------------------- --output


def test_output_that_is_a_file_is_refused_before_any_step(tmp_path, capsys):
    target = tmp_path / "out"
    target.write_text("not a folder")
    assert main(["train", str(SHARED), "--output", str(target), *DATA_ARGS, "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"--output {target} is a file" in err and "Traceback" not in err
    assert target.read_text() == "not a folder"


def test_output_holding_a_run_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "model-last").mkdir(parents=True)
    (out / "model-last" / "meta.json").write_text("{}")
    (out / "events.jsonl").write_text("{}\n")
    args = ["train", str(SHARED), "--output", str(out), *DATA_ARGS, "--no-progress",
            "--training.max_steps", "2", "--training.eval_frequency", "1", "--training.max_epochs", "0"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "already holds a run (model-last, events.jsonl). Pass --overwrite" in err
    assert (out / "events.jsonl").exists()
    assert main(args + ["--overwrite"]) == 0
    assert not (out / "events.jsonl").exists()  # the old run's entries are gone, the new run is whole
    meta = json.loads((out / "model-last" / "meta.json").read_text())
    assert meta["pipeline"] == ["tok2vec", "tagger", "ner"]
    workbench.load(out / "model-best")


# ---------------------------------------------------------------- signals


def _start(args, **kw):
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _wait_for(proc, prefix: str, timeout: float = 240.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"no line starting with {prefix!r}: {proc.communicate()[1][-2000:]}")


def test_sigterm_saves_model_last_and_exits_143(tmp_path):
    out = tmp_path / "out"
    proc = _start(["-m", "workbench", "train", str(SHARED), "--output", str(out), *DATA_ARGS, "--no-progress",
                   "--training.max_steps", "100000", "--training.max_epochs", "0",
                   "--training.eval_frequency", "100000"])
    _wait_for(proc, "Training:")
    time.sleep(2.0)  # a few steps in
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Terminated (SIGTERM): model-last was saved" in err and "Traceback" not in err
    nlp = workbench.load(out / "model-last")
    assert nlp.pipe_names == ["tok2vec", "tagger", "ner"]
    assert all(all(d.pos) for d in nlp.pipe(["Alice works in Paris ."]))  # the tagger annotates


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_signal_during_a_save_leaves_the_previous_model_best(tmp_path, sig):
    out, state = tmp_path / "out", tmp_path / "state"
    proc = _start(["-m", "tests.helpers.slow_save", str(state), "train", str(SHARED), "--output", str(out),
                   *DATA_ARGS, "--no-progress", "--training.max_steps", "100000", "--training.max_epochs", "0",
                   "--training.eval_frequency", "4", "--training.patience", "0"])
    _wait_for(proc, "SAVING")  # the second model-best: its tok2vec is written, its heads are not
    half = [p for p in out.iterdir() if p.name.startswith(".model-best.saving-")]
    assert len(half) == 1 and (half[0] / "tok2vec").exists() and not (half[0] / "ner").exists()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    first = json.loads((state / "first-best.json").read_text())
    assert folder_digests(out / "model-best") == first  # the first save, complete: no tok2vec of the second
    assert workbench.load(out / "model-best").pipe_names == ["tok2vec", "tagger", "ner"]
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, err
        assert siblings(out / "model-best") == []
        workbench.load(out / "model-last")
    else:
        assert proc.returncode == -signal.SIGKILL
        assert len(siblings(out / "model-best")) == 1  # the killed save's folder, until the next save
        workbench.load(out / "model-best").to_disk(out / "model-best")  # the next save removes it
        assert siblings(out / "model-best") == []


def test_the_folder_of_a_save_still_running_is_left_alone(tmp_path):
    """A `.saving-PID` folder of a process that still runs is not removed by another save."""
    path = tmp_path / "model"
    tagger_pipeline().to_disk(path)
    live = path.parent / f".model.saving-{os.getppid()}"
    live.mkdir()
    tagger_pipeline().to_disk(path)
    assert live.exists()


def test_python_train_refuses_an_output_file_before_any_step(tmp_path):
    from tests.helpers.sample import sample_config
    from workbench.training.loop import train

    target = tmp_path / "out"
    target.write_text("not a folder")
    events = []
    with pytest.raises(WorkbenchError, match="is a file"):
        train(sample_config(training__max_steps=2), target, subscribers=[events.append])
    assert events == [] and target.read_text() == "not a folder"
