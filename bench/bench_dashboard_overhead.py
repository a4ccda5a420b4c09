"""What the TrainingDashboard costs the training loop.

Trains the same config (sample_data/configs/shared.cfg, a fixed number of steps,
no saving) in the same process, alternating runs WITHOUT the dashboard (the loop
with one subscriber that keeps the last event) and WITH it (its event collector
plus its drawing thread, redrawing as it does in a notebook). Prints, per run,
the engine's training words/s (time inside nlp.update only), the wall-clock time
of `train` and the CPU time of the whole process, then the ratios with/without
(medians over the rounds). On a machine shared with other work, words/s and wall
time swing with the load; the CPU-time ratio is the steadier figure.

    python bench/bench_dashboard_overhead.py [--steps 150] [--rounds 3] [--redraw-every 0.5]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from widgets.dashboard import TrainingDashboard  # noqa: E402
from workbench.config import load_config  # noqa: E402
from workbench.training.loop import train  # noqa: E402


def config(steps: int):
    overrides = {"training.max_steps": steps, "training.max_epochs": 0, "training.eval_frequency": max(10, steps // 3),
                 "paths.train": str(ROOT / "sample_data" / "train.jsonl"), "paths.dev": str(ROOT / "sample_data" / "dev.jsonl")}
    return load_config(ROOT / "sample_data" / "configs" / "shared.cfg", overrides)


def without_dashboard(cfg):
    last = {}

    def keep(event):
        if event.kind == "step":
            last["event"] = event

    t0, c0 = time.perf_counter(), time.process_time()
    train(cfg, None, subscribers=[keep])
    return last["event"].words_per_second, time.perf_counter() - t0, time.process_time() - c0, None


def with_dashboard(cfg, redraw_every: float):
    dash = TrainingDashboard(cfg, None, redraw_every=redraw_every)
    t0, c0 = time.perf_counter(), time.process_time()
    dash.start()
    dash._run.join_work()  # training only; the final redraw is not training time
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    dash.wait()
    if dash.error is not None:
        raise dash.error
    steps = [e for e in dash.history.events if e.kind == "step"]
    return steps[-1].words_per_second, wall, cpu, (dash.draws, dash.draw_seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redraw-every", type=float, default=0.5)
    args = parser.parse_args()
    cfg = config(args.steps)
    without_dashboard(config(5))  # warm up imports and caches
    runs = {"without": [], "with": []}
    draw_share = []
    for r in range(args.rounds):
        for name in ("without", "with") if r % 2 == 0 else ("with", "without"):
            wps, wall, cpu, draws = without_dashboard(cfg) if name == "without" else with_dashboard(cfg, args.redraw_every)
            runs[name].append((wps, wall, cpu))
            if name == "with":
                draw_share.append(draws[1] / wall)
            print(f"round {r} {name:>7} dashboard: {wps:8.0f} words/s (in update), {wall:6.2f} s wall, "
                  f"{cpu:6.2f} s CPU" + (f", {draws[0]} redraws taking {draws[1]:.2f} s" if name == "with" else ""),
                  flush=True)
    wps = {k: statistics.median(v[0] for v in runs[k]) for k in runs}
    wall = {k: statistics.median(v[1] for v in runs[k]) for k in runs}
    cpu = {k: statistics.median(v[2] for v in runs[k]) for k in runs}
    ratio_wps = wps["with"] / wps["without"]
    ratio_wall = wall["with"] / wall["without"]
    ratio_cpu = cpu["with"] / cpu["without"]
    print(f"\nmedian words/s without {wps['without']:.0f}, with {wps['with']:.0f}: ratio {ratio_wps:.3f} "
          f"({100 * (1 - ratio_wps):+.1f}% slower with the dashboard)")
    print(f"median wall time without {wall['without']:.2f} s, with {wall['with']:.2f} s: ratio {ratio_wall:.3f}")
    print(f"median CPU time without {cpu['without']:.2f} s, with {cpu['with']:.2f} s: ratio {ratio_cpu:.3f}")
    print(f"drawing took {100 * statistics.median(draw_share):.1f}% of the wall time (median), the rest is the "
          f"event collector and noise")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dashboard_overhead.json").write_text(json.dumps(
        {"steps": args.steps, "rounds": args.rounds, "redraw_every": args.redraw_every, "runs": runs,
         "ratio_words_per_second": ratio_wps, "ratio_wall": ratio_wall, "ratio_cpu": ratio_cpu,
         "draw_share": draw_share}, indent=2), encoding="utf8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
