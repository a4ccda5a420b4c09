"""RunsView: runs read back from their events.jsonl, overlaid, with their final scores."""
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from widgets.converters.runs import final_scores, find_runs, load_run, new_run_folder, total_loss
from widgets.runs_view import RunsView, draw_runs
from workbench.training.events import EventLog, TrainingEvent, read_events


def write_run(folder: Path, scale: float, listeners=("tagger", "ner"), finished=True):
    log = EventLog(folder / "events.jsonl")
    log(TrainingEvent("start", message="2 training and 1 dev examples"))
    for step in range(1, 5):
        log(TrainingEvent("step", step=step, losses={"tagger": scale / step, "ner": 2 * scale / step},
                          grad_norms={"tok2vec": {name: 0.1 * step for name in listeners}},
                          grad_factors={name: 1.0 for name in listeners}))
        if step % 2 == 0:
            log(TrainingEvent("evaluate", step=step, scores={"pos_acc": 0.2 * step / scale, "ents_f": 0.1 * step},
                              score=0.15 * step / scale, is_best=True))
    if finished:
        log(TrainingEvent("end", step=4, best_score=0.6 / scale, message="max_steps"))
    log.close()


def test_run_folders_are_never_reused(tmp_path):
    assert new_run_folder(tmp_path) == tmp_path / "run-001"
    assert new_run_folder(tmp_path) == tmp_path / "run-002"
    assert new_run_folder(tmp_path, "lr") == tmp_path / "lr"
    assert new_run_folder(tmp_path, "lr") == tmp_path / "lr-2"
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="is a file"):
        new_run_folder(tmp_path / "file")


def test_events_round_trip_and_partial_lines(tmp_path):
    write_run(tmp_path / "a", 1.0, finished=False)
    with (tmp_path / "a" / "events.jsonl").open("a") as f:
        f.write('{"kind": "step", "st')  # a line still being written
    events = read_events(tmp_path / "a" / "events.jsonl")
    assert [e.kind for e in events][:2] == ["start", "step"] and len(events) == 7
    assert asdict(events[1])["grad_norms"] == {"tok2vec": {"tagger": 0.1, "ner": 0.1}}
    (tmp_path / "bad.jsonl").write_text('{"kind": "step"}\nnot json\n')
    with pytest.raises(Exception, match=r"bad.jsonl:2"):
        read_events(tmp_path / "bad.jsonl")
    run = load_run(tmp_path / "a")
    assert not run.finished and total_loss(run.history) == ([1, 2, 3, 4], [3.0, 1.5, 1.0, 0.75])


def test_runs_view_overlays_runs_and_tables_final_scores(tmp_path):
    write_run(tmp_path / "shared", 1.0)
    write_run(tmp_path / "independent", 2.0, listeners=("tagger",))
    assert [p.name for p in find_runs(tmp_path)] == ["shared", "independent"]
    view = RunsView(tmp_path)
    assert view.select.options == ("shared", "independent") and view.metric.value == "score"
    labels = {l.get_label() for l in view._axes[0][0].lines}
    assert {"shared", "independent"} <= labels
    norms = {l.get_label() for l in view._axes[1][0].lines}
    assert norms == {"shared: ner", "shared: tagger", "independent: tagger"}
    table = view.table.set_index("run")
    assert table.loc["shared", "score"] == pytest.approx(0.6) and table.loc["independent", "best_step"] == 4
    assert (table["ended"] == "max_steps").all()
    assert view.image.value[:4] == b"\x89PNG"
    before = view.image.value
    view.select.value = ("independent",)  # one interaction: the view changes
    assert {l.get_label() for l in view._axes[0][1].lines} == {"independent"}
    assert view.image.value != before and list(view.table["run"]) == ["independent"]
    view.metric.value = "pos_acc"
    assert view._axes[0][1].get_title() == "dev pos_acc"
    write_run(tmp_path / "third", 4.0)
    view.reload()
    assert "third" in view.select.options and "third" in view.select.value
    assert view.export(tmp_path / "runs.svg").read_text().lstrip().startswith("<svg")


def test_names_and_placeholders(tmp_path):
    write_run(tmp_path / "a", 1.0)
    write_run(tmp_path / "b", 1.0)
    view = RunsView([tmp_path / "a", tmp_path / "b"], names=["small", "big"])
    assert view.select.options == ("small", "big")
    view.select.value = ()
    assert [t.get_text() for t in view._axes[0][0].texts] == ["no runs chosen"]
    assert "no runs chosen" in view.table_view.value
    with pytest.raises(ValueError, match="one name per run"):
        RunsView([tmp_path / "a"], names=["x", "y"])
    with pytest.raises(FileNotFoundError, match="no run folders"):
        RunsView(tmp_path / "empty")
    assert list(final_scores([]).columns) == []
    json.dumps(view.table.to_dict())  # plain data


def test_draw_runs_without_listeners(tmp_path):
    from matplotlib.figure import Figure

    write_run(tmp_path / "a", 1.0, listeners=())
    axes = Figure().subplots(2, 2)
    draw_runs([load_run(tmp_path / "a")], axes)
    assert [t.get_text() for t in axes[1][1].texts] == ["no grad_factor (tok2vec listeners)"]
