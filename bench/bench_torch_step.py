"""MiniLM + tagger fine-tuning words/s: the optimizer step in torch (now) against thinc's
per-parameter numpy path (before), in alternating fresh processes.

    python bench/bench_torch_step.py [--repeats 4] [--trf-steps 6] [--profile]

Whole fine-tuning runs: the workload of bench_vs_peer.py's trf_train (EWT dev sentences,
~400-word batches, 128/96 strided windows, Adam L2 0.01, grad_clip 1.0), each side in
fresh processes, alternating; prints every run, min / median / max of each side and the ratio of the
medians. --profile adds the stage breakdown of the new step (bench_vs_peer.py's
trf_profile) with and without use_averages. Last, the optimizer step alone, in this
process: MiniLM's 22.7M weights with random gradients, `finish_update` of the torch path
and of thinc's path alternating, ms per step (median of --step-reps), without and with
use_averages.
"""
import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_vs_peer import mmm, model_dir, prepare, run  # noqa: E402

SIDES = {"torch step": "trf_train", "thinc step": "trf_train_thinc_step"}


def optimizer_step_ms(model: str, reps: int):
    """{(path, averages): median ms of one finish_update} on MiniLM's weights."""
    import torch
    from thinc.api import Adam, PyTorchShim
    from transformers import AutoModel

    from workbench.models.torch_shim import TorchUpdateShim
    from workbench.threads import apply_thread_policy

    apply_thread_policy(None, uses_torch=True)  # as a transformer pipeline sets it
    module = AutoModel.from_pretrained(model, local_files_only=True)
    gen = torch.Generator().manual_seed(0)
    grads = {n: torch.randn(p.shape, generator=gen) * 1e-2 for n, p in module.named_parameters() if "pooler" not in n}
    out = {}
    for averages in (False, True):
        shims = {"torch": TorchUpdateShim(copy.deepcopy(module)), "thinc": PyTorchShim(copy.deepcopy(module))}
        opts = {k: Adam(5e-5, L2=0.01, grad_clip=1.0, use_averages=averages) for k in shims}
        times = {k: [] for k in shims}
        for rep in range(reps + 1):
            for k in (list(shims) if rep % 2 == 0 else list(shims)[::-1]):
                params = dict(shims[k]._model.named_parameters())
                for n, g in grads.items():
                    params[n].grad = g.clone()
                start = time.perf_counter()
                shims[k].finish_update(opts[k])
                if rep:  # the first allocates the moments
                    times[k].append(1000 * (time.perf_counter() - start))
        for k, ts in times.items():
            out[(k, averages)] = statistics.median(ts)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--trf-steps", type=int, default=6)
    p.add_argument("--step-reps", type=int, default=8)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    print(f"cores available: {len(os.sched_getaffinity(0))}; load average at start: {os.getloadavg()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_torch_step_"))
    data = prepare(tmp, args.trf_steps)
    model = model_dir(sys.executable)
    log = open(tmp / "runs.jsonl", "w")
    results = {side: [] for side in SIDES}
    for rep in range(args.repeats):
        order = list(SIDES) if rep % 2 == 0 else list(SIDES)[::-1]
        for side in order:
            r = run("ours", sys.executable, SIDES[side], data, model, log)
            if r:
                results[side].append(r)
    print("\nwords/s, min – median – max over fresh processes")
    for side, rs in results.items():
        print(f"   {side:<12} {mmm([r['wps'] for r in rs]):>24}   load {min(r['load_before'] for r in rs):.1f}–{max(r['load'][0] for r in rs):.1f}"
              if rs else f"   {side:<12} failed")
    if all(results.values()):
        new, old = (statistics.median([r["wps"] for r in results[s]]) for s in SIDES)
        print(f"   torch step / thinc step = {new / old:.2f}x")
    if args.profile:
        for task in ("trf_profile", "trf_profile_avg"):
            r = run("ours", sys.executable, task, data, model, log)
            if r:
                print(f"\n{task}: {r['wps']:,.0f} words/s, share of the update time:")
                for stage, share in r["breakdown"].items():
                    print(f"   {stage:<38} {100 * share:5.1f}%")
    # last: a process started after this one has grown would report its peak memory as its own
    ms = optimizer_step_ms(model, args.step_reps)
    print(f"\noptimizer step alone (MiniLM, Adam L2 0.01 grad_clip 1.0; median of {args.step_reps}; load {os.getloadavg()[0]:.2f}):")
    for averages in (False, True):
        t, n = ms[("torch", averages)], ms[("thinc", averages)]
        print(f"   use_averages={str(averages):<5}  torch path {t:7.1f} ms   thinc path {n:7.1f} ms   {n / t:.1f}x")
    print(f"\nload average at the end: {os.getloadavg()}; every run: {tmp / 'runs.jsonl'}")
    json.dump({k: [r["wps"] for r in v] for k, v in results.items()}, open(tmp / "summary.json", "w"))


if __name__ == "__main__":
    main()
