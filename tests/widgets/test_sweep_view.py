"""SweepView on a real sweep's output: 2 trials of the tiny sample config, 2 evaluations each."""
import json
import math
import shutil

import pytest

from tests.helpers.sample import sample_config
from tests.training.test_sweep import TINY
from widgets.converters.sweep import load_sweep, parallel_axes, score_curves
from widgets.sweep_view import SweepView
from workbench.errors import DataError
from workbench.sweep import sweep

LR, DROPOUT = "training.optimizer.learn_rate", "training.dropout"


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "out"
    sweep(sample_config(**TINY), [f"{LR}=loguniform(1e-4,1e-2)", f"{DROPOUT}=choice(0.1,0.3)"], out,
          n_trials=2, seed=3, progress=False)
    return out


def test_the_table_lists_the_trials_best_first(sweep_dir):
    view = SweepView(sweep_dir)
    rows = [json.loads(line) for line in (sweep_dir / "results.jsonl").read_text().splitlines()]
    table = view.table
    assert list(table.columns) == ["trial", LR, DROPOUT, "score", "best_step", "evaluations", "steps", "status"]
    assert list(table["trial"]) == [r["trial"] for r in rows] and list(table["score"]) == [r["score"] for r in rows]
    assert table["score"].iloc[0] >= table["score"].iloc[1] and list(table["evaluations"]) == [2, 2]
    assert view.trial.value == rows[0]["trial"] and f"best {rows[0]['trial']}" in view.status.value
    assert "<table" in view.table_view.value and LR in view.table_view.value


def test_parallel_coordinates_place_each_trial_on_its_settings_and_score(sweep_dir):
    s = load_sweep(sweep_dir)
    assert s.metric == "score" and s.mode == "max" and s.keys == [LR, DROPOUT]
    lr_axis, dropout_axis, score_axis = parallel_axes(s)
    assert lr_axis.log and [label for _, label in lr_axis.ticks] == ["0.0001", "0.01"]
    for row, pos in zip(s.rows, lr_axis.positions):  # log scale between the distribution's bounds
        assert pos == pytest.approx((math.log10(row[LR]) + 4) / 2)
    assert dropout_axis.ticks == [(0.0, "0.1"), (1.0, "0.3")]
    assert dropout_axis.positions == [0.0 if r[DROPOUT] == 0.1 else 1.0 for r in s.rows]
    if s.rows[0]["score"] > s.rows[1]["score"]:
        assert score_axis.positions == [1.0, 0.0]
    view = SweepView(sweep_dir)
    lines = [line for line in view._axes[0].lines if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == [r["trial"] for r in s.rows]
    for line, i in zip(lines, range(len(s.rows))):
        assert list(line.get_ydata()) == pytest.approx([a.positions[i] for a in (lr_axis, dropout_axis, score_axis)])
    assert lines[0].get_linewidth() > lines[1].get_linewidth()  # the best trial stands out
    assert [t.get_text() for t in view._axes[0].get_xticklabels()] == ["optimizer.learn_rate (log)", "training.dropout", "score"]


def test_score_curves_come_from_each_trials_events(sweep_dir):
    s = load_sweep(sweep_dir)
    curves = score_curves(s)
    assert set(curves) == {r["trial"] for r in s.rows}
    for row in s.rows:
        steps, values = curves[row["trial"]]
        assert steps == [2, 4] and max(values) == pytest.approx(row["score"])
    view = SweepView(sweep_dir)
    drawn = {line.get_label().replace(" (best)", ""): list(line.get_xdata()) for line in view._axes[1].lines}
    assert drawn == {t: [2, 4] for t in curves}
    png = view.export(sweep_dir.parent / "sweep.png")
    assert png.stat().st_size > 10_000


def test_open_the_best_run_reopens_it_in_the_dashboard(sweep_dir):
    view = SweepView(sweep_dir)
    best = view.sweep.best
    view.best_button.click()
    dash = view.dashboard
    assert dash is not None and dash in view.run_box.children
    assert dash.run_path == sweep_dir / "trials" / best["trial"] and dash.state == "done"
    assert dash.history.scores["score"][0] == [2, 4]
    assert max(dash.history.scores["score"][1]) == pytest.approx(best["score"])
    assert dash.history.step == 4 and dash.history.losses  # the trial's step events came back too
    other = view.sweep.rows[1]["trial"]
    view.trial.value = other
    view.open_button.click()
    assert view.dashboard.run_path.name == other


def test_a_trial_stopped_before_saving_still_opens_and_a_non_sweep_folder_is_named(sweep_dir, tmp_path):
    copy = tmp_path / "moved"
    shutil.copytree(sweep_dir, copy)  # a moved sweep folder: trials are found under it
    trial = load_sweep(copy).rows[1]["trial"]
    shutil.rmtree(copy / "trials" / trial / "model-last")
    shutil.rmtree(copy / "trials" / trial / "model-best", ignore_errors=True)
    dash = SweepView(copy).open_trial(trial)
    assert dash.run_path == copy / "trials" / trial and dash.history.scores["score"][0] == [2, 4]
    with pytest.raises(DataError, match="no results.jsonl; is this the output folder of `python -m workbench sweep`"):
        SweepView(tmp_path / "nothing")
