"""sweep without Ray: 2 trials x a tiny config x 2 evaluations; table, best config, validation."""
import json

import pytest

from tests.helpers.sample import TINY, sample_config
from workbench.errors import ConfigError
from workbench.sweep import parse_param, plan_trials, sweep


def test_two_trials_report_and_write_the_table_and_best_config(tmp_path):
    out = tmp_path / "sweep"
    rows = sweep(sample_config(**TINY), ["training.optimizer.learn_rate=loguniform(1e-4,1e-2)",
                                         "training.dropout=choice(0.1,0.3)"], out, n_trials=2, seed=3, progress=False)
    assert len(rows) == 2 and {r["trial"] for r in rows} == {"trial_000", "trial_001"}
    assert all(r["evaluations"] == 2 and r["status"] == "done" and r["steps"] == 4 for r in rows)
    assert rows[0]["score"] >= rows[1]["score"]
    for r in rows:
        events = [json.loads(line) for line in (out / "trials" / r["trial"] / "events.jsonl").read_text().splitlines()]
        assert [e["step"] for e in events if e["kind"] == "evaluate"] == [2, 4] and events[-1]["kind"] == "end"
        assert (out / "trials" / r["trial"] / "model-last" / "config.cfg").exists()
        assert 1e-4 <= r["training.optimizer.learn_rate"] <= 1e-2 and r["training.dropout"] in (0.1, 0.3)
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("trial,training.optimizer.learn_rate,training.dropout,score") and len(csv_lines) == 3
    best = (out / "best.cfg").read_text()
    assert f"learn_rate = {rows[0]['training.optimizer.learn_rate']}" in best
    with pytest.raises(Exception, match="already holds a sweep"):
        sweep(sample_config(**TINY), ["training.dropout=choice(0.1)"], out, n_trials=1, progress=False)


def test_keys_and_values_are_checked_before_any_trial(tmp_path):
    config = sample_config(**TINY)
    with pytest.raises(ConfigError, match="has no setting training.optimizer.learn_rat. Did you mean training.optimizer.learn_rate"):
        sweep(config, ["training.optimizer.learn_rat=uniform(0.1,0.2)"], tmp_path, n_trials=1)
    with pytest.raises(ConfigError, match="the value 'abc' does not fit"):
        sweep(config, ["training.optimizer.learn_rate=choice(0.001,abc)"], tmp_path, n_trials=1)
    with pytest.raises(ConfigError, match="--metric 'f1'"):
        sweep(config, ["training.dropout=uniform(0.1,0.2)"], tmp_path, n_trials=1, metric="f1")
    with pytest.raises(ConfigError, match="low < high"):
        parse_param("training.dropout=uniform(0.3,0.1)")
    with pytest.raises(ConfigError, match="unknown distribution 'normal'"):
        parse_param("training.dropout=normal(0,1)")
    assert not (tmp_path / "trials").exists()


def test_grid_and_random_plans():
    a, b = parse_param("x.a=choice(1,2)"), parse_param("x.b=choice('u','v','w')")
    assert len(plan_trials([a, b], None, "grid")) == 6
    assert plan_trials([a, b], None, "grid")[1] == {"x.a": 1, "x.b": "v"}
    r = parse_param("x.r=randint(2,5)")
    samples = plan_trials([r], 50, "random", seed=1)
    assert samples == plan_trials([r], 50, "random", seed=1) and {s["x.r"] for s in samples} == {2, 3, 4}
    with pytest.raises(ConfigError, match="grid needs choice"):
        plan_trials([r], None, "grid")


def test_the_sweep_command_runs_with_overrides(tmp_path, capsys):
    from tests.helpers.sample import DATA, SAMPLE
    from workbench.cli import main

    args = ["sweep", str(SAMPLE / "configs" / "shared.cfg"), "-o", str(tmp_path / "s"), "--search", "grid",
            "--no-progress"]
    for key, value in {**DATA, **{k.replace("__", "."): v for k, v in TINY.items()}}.items():
        args += [f"--{key}", str(value)]
    assert main(args + ["--param", "training.dropout=choice(0.1,0.2)"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "s" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["training.dropout"] for r in rows) == [0.1, 0.2] and all(r["evaluations"] == 2 for r in rows)
    assert main(args + ["--force", "--param", "training.nope=choice(1)"]) == 1
    assert "has no setting training.nope" in capsys.readouterr().err
