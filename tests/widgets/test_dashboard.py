"""TrainingDashboard and TrainingHistory: events -> curves and table; background training, stop."""
import time
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from widgets.converters.training import TrainingHistory, flat_scores
from widgets.dashboard import DONE, FAILED, STOPPED, TrainingDashboard, draw_curves, draw_gradients
from workbench.config import load_config
from workbench.training.events import TrainingEvent

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "sample_data" / "configs" / "shared.cfg"
DATA = {"paths.train": str(ROOT / "sample_data" / "train.jsonl"), "paths.dev": str(ROOT / "sample_data" / "dev.jsonl")}


def synthetic_events():
    yield TrainingEvent("start", message="3 training and 1 dev examples")
    for step in range(1, 7):
        yield TrainingEvent("step", step=step, epoch=1 + step // 4, losses={"tagger": 10.0 / step, "ner": 20.0 / step},
                            words_per_second=100.0 * step,
                            grad_norms={"transformer": {"tagger": 0.5 * step, "ner": 0.1 * step}},
                            grad_factors={"tagger": 1.0, "ner": 0.0 if step < 4 else 0.5})
        if step % 3 == 0:
            yield TrainingEvent("evaluate", step=step, epoch=1, losses={"tagger": 1.0, "ner": 2.0},
                                scores={"pos_acc": 0.1 * step, "ents_f": 0.05 * step, "ents_per_type": {"PER": {"f": 1}}},
                                score=0.07 * step, words_per_second=300.0, is_best=True)
    yield TrainingEvent("end", step=6, epoch=2, best_score=0.42, message="max_steps")


def test_history_collects_without_working():
    h = TrainingHistory()
    for e in synthetic_events():
        h(e)
    assert len(h.events) == 10 and h.losses == {}  # the subscriber only appends
    assert h.refresh() == 10 and h.refresh() == 0
    assert h.losses["tagger"] == ([1, 2, 3, 4, 5, 6], [10.0 / s for s in range(1, 7)])
    assert h.scores["score"][0] == [3, 6]
    assert h.scores["pos_acc"][1] == pytest.approx([0.3, 0.6])
    assert "ents_per_type" not in h.scores
    assert h.step == 6 and h.words_per_second == 600.0 and h.finished.message == "max_steps"
    curves = h.grad_curves()
    assert curves["tagger"]["upstream"] == "transformer"
    assert curves["ner"]["norms"] == pytest.approx([0.1 * s for s in range(1, 7)])
    assert curves["ner"]["factors"] == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5]
    table = h.table()
    assert list(table["step"]) == [3, 6]
    assert {"loss_tagger", "loss_ner", "pos_acc", "ents_f", "score", "words_per_second", "best"} <= set(table.columns)
    assert flat_scores({"a": 1, "b": True, "c": float("nan"), "d": {"x": 1}}) == {"a": 1.0}


def test_renderers_plot_the_history():
    h = TrainingHistory()
    for e in synthetic_events():
        h(e)
    h.refresh()
    fig = Figure()
    axes = fig.subplots(2, 2)
    draw_curves(h, *axes[0])
    draw_gradients(h, *axes[1])
    loss_lines = {l.get_label(): l.get_xydata().tolist() for l in axes[0][0].lines}
    assert loss_lines["tagger"][0] == [1.0, 10.0]
    assert {l.get_label() for l in axes[0][1].lines} == {"pos_acc", "ents_f", "score"}
    norm_lines = {l.get_label(): list(l.get_ydata()) for l in axes[1][0].lines}
    assert norm_lines["tagger \u2192 transformer"] == pytest.approx([0.5 * s for s in range(1, 7)])
    factor_lines = {l.get_label(): list(l.get_ydata()) for l in axes[1][1].lines}
    assert factor_lines["ner"] == [0.0, 0.0, 0.0, 0.5, 0.5, 0.5]
    # a redraw with more events updates the same lines
    h(TrainingEvent("step", step=7, losses={"tagger": 1.0, "ner": 2.0}))
    h.refresh()
    draw_curves(h, *axes[0])
    lines = {l.get_label(): l for l in axes[0][0].lines}
    assert set(lines) == {"tagger", "ner", "_raw tagger", "_raw ner"}  # raw curves show only when smoothing
    assert lines["tagger"].get_xydata().tolist()[-1] == [7.0, 1.0]
    # every panel has a title, axis labels >= 10 pt and its legend below the axes
    for ax in axes.flat:
        assert ax.get_xlabel() == "step" and ax.get_ylabel()
        assert ax.xaxis.label.get_fontsize() >= 10 and ax.title.get_fontsize() >= 10
        legend = ax.get_legend()
        assert legend is not None and legend.get_texts()[0].get_fontsize() >= 10
        assert legend.get_bbox_to_anchor().y1 < ax.get_window_extent().y0 + 1  # below the plot


def test_smoothing_eta_and_placeholders():
    from widgets.converters.training import eta_text, smooth

    assert smooth([1.0, 3.0], 0.0) == [1.0, 3.0]
    s = smooth([1.0, 3.0, 3.0], 0.5)
    assert s[0] == 1.0 and 1.0 < s[1] < 3.0 and s[1] < s[2] < 3.0  # starts at the first value, lags behind
    with pytest.raises(ValueError):
        smooth([1.0], 1.0)
    assert eta_text(0.0, 5.0) == "0%" and eta_text(0.25, 30.0) == "25% · 1m 30s left"
    assert eta_text(1.0, 12.0) == "100% · took 12s"
    h = TrainingHistory()
    fig = Figure()
    axes = fig.subplots(2, 2)
    draw_curves(h, *axes[0])
    draw_gradients(h, *axes[1])
    for ax in axes.flat:
        assert [t.get_text() for t in ax.texts] == ["waiting for the first step…"]
    for e in synthetic_events():
        h(e)
    h.refresh()
    draw_curves(h, *axes[0], smoothing=0.9)
    assert not axes[0][0].texts  # the placeholder goes once there are lines
    lines = {l.get_label(): l for l in axes[0][0].lines}
    assert list(lines["_raw tagger"].get_ydata()) == pytest.approx([10.0 / s for s in range(1, 7)])
    assert lines["tagger"].get_ydata()[-1] > 10.0 / 6  # the smoothed curve lags behind the raw one


def test_dashboard_trains_in_the_background(tmp_path):
    dash = TrainingDashboard(SHARED, tmp_path / "out", overrides={**DATA, "training.max_steps": 6,
                                                                  "training.eval_frequency": 3, "training.max_epochs": 0})
    assert dash.state == "ready" and dash.stop_button.disabled
    dash.start_button.click()
    assert dash.running and dash.start_button.disabled and not dash.stop_button.disabled
    with pytest.raises(RuntimeError, match="already running"):
        dash.start()
    dash.wait(timeout=300)
    assert dash.state == DONE, dash.status.value
    assert dash.result.steps == 6
    assert dash.progress.value == 1.0
    assert "finished (max_steps) at step 6" in dash.status.value
    assert dash.draws >= 1 and dash.image.value[:4] == b"\x89PNG"
    frame = dash.frame
    assert list(frame["step"]) == [3, 6] and "pos_acc" in frame.columns
    assert "<table" in dash.table.value
    assert dash.run_path == tmp_path / "out" / "run-001"
    assert (dash.run_path / "model-last" / "config.cfg").exists()
    assert "100%" in dash.eta.value
    curves = dash.history.grad_curves()
    assert set(curves) == {"tagger", "ner"} and all(c["upstream"] == "tok2vec" for c in curves.values())
    assert len(curves["tagger"]["norms"]) == 6
    assert not dash.start_button.disabled and dash.stop_button.disabled
    assert dash.export(tmp_path / "curves.svg").read_text().lstrip().startswith("<svg")


def test_stop_button_saves_model_last(tmp_path):
    dash = TrainingDashboard(SHARED, tmp_path / "out", overrides={**DATA, "training.max_steps": 0,
                                                                  "training.max_epochs": 1000, "training.eval_frequency": 1000})
    dash.start()
    deadline = time.time() + 300
    while not any(e.kind == "step" for e in list(dash.history.events)) and time.time() < deadline:
        time.sleep(0.05)
    dash.stop_button.click()
    assert dash.stop_event.is_set() and "stopping" in dash.status.value
    dash.wait(timeout=300)
    assert dash.state == STOPPED
    assert dash.history.finished.message == "stop requested"
    assert "stopped on request" in dash.status.value and "model-last saved" in dash.status.value
    assert (dash.run_path / "model-last" / "meta.json").exists()
    assert 0.0 <= dash.progress.value < 1.0


def test_every_start_is_a_new_run_folder_that_can_be_reopened(tmp_path):
    from widgets.converters.runs import find_runs, load_run
    from workbench.training.events import read_events

    dash = TrainingDashboard(SHARED, tmp_path / "runs", run_name="small",
                             overrides={**DATA, "training.max_steps": 4, "training.eval_frequency": 2,
                                        "training.max_epochs": 0})
    dash.start()
    dash.wait(timeout=300)
    first = dash.run_path
    dash.start()
    dash.wait(timeout=300)
    assert (first, dash.run_path) == (tmp_path / "runs" / "small", tmp_path / "runs" / "small-2")
    assert find_runs(tmp_path / "runs") == [first, dash.run_path]
    events = read_events(first / "events.jsonl")
    assert [e.kind for e in events][0] == "start" and events[-1].kind == "end"
    assert sum(e.kind == "step" for e in events) == 4
    run = load_run(first)
    assert run.finished and run.history.scores["score"][0] == [2, 4]
    again = TrainingDashboard.reopen(first)
    assert again.state == DONE and "finished (max_steps) at step 4" in again.status.value
    assert list(again.frame["step"]) == [2, 4] and again.image.value[:4] == b"\x89PNG"
    assert (first / "model-last" / "config.cfg").exists()  # the second run left the first alone


def test_training_errors_are_shown(tmp_path):
    dash = TrainingDashboard(SHARED, None, overrides={"paths.train": str(tmp_path / "missing.jsonl"),
                                                      "paths.dev": DATA["paths.dev"], "training.max_steps": 2})
    dash.start()
    dash.wait(timeout=120)
    assert dash.state == FAILED and dash.error is not None
    assert "training failed" in dash.status.value and "missing.jsonl" in dash.status.value
    assert not dash.start_button.disabled


def test_incomplete_config_is_refused():
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="missing value"):
        TrainingDashboard('[nlp]\npipeline = ["tagger"]\n\n[components.tagger]\nfactory = "tagger"\n')


def test_config_object_and_overrides():
    dash = TrainingDashboard(load_config(SHARED), overrides={"training.max_steps": 3})
    assert dash.max_steps == 3 and dash.config["training"]["max_steps"] == 3
