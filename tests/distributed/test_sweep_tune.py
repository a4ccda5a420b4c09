"""sweep --ray on a real local Ray Tune: 2 trials x a tiny config x 2 evaluations."""
import json

from tests.helpers.sample import TINY, sample_config
from tests.helpers.timeout import time_limit
from workbench.sweep import sweep


def test_two_trials_on_tune_report_and_write_the_table(ray_cluster, tmp_path):
    out = tmp_path / "sweep"
    with time_limit(480, "sweep on Ray Tune"):
        rows = sweep(sample_config(**TINY), ["training.dropout=choice(0.1,0.3)"], out, search="grid", use_ray=True,
                     max_concurrent=1, progress=False)
    # ASHA (grace period 1) may stop the weaker trial after its first evaluation.
    assert len(rows) == 2 and all(r["status"] in ("done", "stopped early") and r["evaluations"] in (1, 2) for r in rows), [(r["status"], r["evaluations"]) for r in rows]
    assert max(r["evaluations"] for r in rows) == 2
    for r in rows:
        lines = (out / "trials" / r["trial"] / "events.jsonl").read_text().splitlines()
        steps = [json.loads(line)["step"] for line in lines if '"evaluate"' in line]
        assert steps == [2, 4][: r["evaluations"]]
    assert (out / "results.csv").exists() and (out / "best.cfg").exists() and (out / "ray" / "tune").exists()
