"""MiniLM + tagger (UPOS) on EWT train within a CPU budget, scored on held-out EWT text.

Ours: `init config --pipeline transformer,tagger` (MiniLM shared through a layer-mixing
listener, the tagger at 20x the learn rate), the tagger on UPOS, one thread per run. The run
stops when the training process has used `--budget` CPU seconds (time.process_time, every
thread, set-up included), or at `--wall` seconds of wall-clock time, whichever comes first;
both are printed, with the words trained on. `[training] max_cpu_seconds` = the budget, so a
learn rate that decays to the end of the run follows the CPU clock (the set-up's CPU seconds,
printed, come first, so it stops short of the end of its decay by their share). Scored on
the held-out split of bench_embedding_layouts (every 5th EWT-dev document). `--frozen` keeps
the transformer as loaded (3x cheaper updates).

`--peer`: spacy-transformers (bench/trf_peer_spacy.py, run by `--peer-python`) is trained in
the same run on the same JSONL (EWT train, gold words, UPOS as tag_) with the same CPU budget
(set-up included, its evaluations excluded) and one thread, scored on the same held-out gold
tokens (model-last; its best evaluation is printed beside it). Each seed runs ours and the
peer side by side (two one-thread processes on two cores), then the next seed. Rows and the
load average go to bench/results/trf_accuracy.json.

    python bench/bench_trf_accuracy.py [--seeds 0 1] [--budget 600] [--wall 3000] [--frozen] [--peer]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PEER_SCRIPT = ROOT / "bench" / "trf_peer_spacy.py"
RESULTS = ROOT / "bench" / "results" / "trf_accuracy.json"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def prepare(tmp: Path):
    from ewt import need, split_ewt

    from workbench.corpora.convert import convert

    train = tmp / "ewt_train.jsonl"
    convert([need(DATA / "ud-ewt" / "en_ewt-ud-train.conllu")], train)
    _, heldout, _, n_held = split_ewt(tmp)
    return train, heldout, n_held


def ours(seed: int, train_path: Path, heldout: Path, budget: float, wall: float, frozen: bool) -> dict:
    """One run in this process; returns UPOS on the held-out text and what the budget bought."""
    from workbench.commands import build_init_config
    from workbench.training.loop import train

    config = build_init_config(["transformer", "tagger"])
    config["paths"]["train"], config["paths"]["dev"] = str(train_path), str(heldout)
    config["system"]["seed"] = seed
    config["system"]["n_threads"] = 1  # the seeds run side by side, one core each
    config["components"]["tagger"]["attr"] = "pos"
    config["components"]["transformer"]["annotation_setter"] = {"@annotation_setters": "workbench.null_annotation_setter.v1"}
    T = config["training"]
    T.update(max_epochs=0, max_steps=0, max_cpu_seconds=budget, eval_frequency=10**9, score_weights={"pos_acc": 1.0})
    if frozen:
        T["frozen_components"] = ["transformer"]
    stop = threading.Event()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    seen = {"words": 0, "epoch": 0, "setup_cpu_s": 0.0}

    def watch(event):
        if event.kind == "start":
            seen["setup_cpu_s"] = time.process_time() - cpu0
        elif event.kind == "step":
            seen.update(words=event.words, epoch=event.epoch)
            if time.process_time() - cpu0 >= budget or time.perf_counter() - wall0 >= wall:
                stop.set()

    result = train(config, None, subscribers=[watch], stop=stop)
    return {"system": "ours" + (" (frozen)" if frozen else ""), "seed": seed, "upos": 100 * result.best_scores["pos_acc"],
            "cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0, "setup_cpu_s": seen["setup_cpu_s"],
            "words": seen["words"], "epochs": seen["epoch"], "steps": result.steps, "ended": result.stopped_by}


def peer_command(python: str, seed: int, train_path: Path, heldout: Path, budget: float, eval_frequency: int,
                 tmp: Path) -> list:
    return [python, str(PEER_SCRIPT), str(train_path), str(heldout), str(tmp / f"peer_{seed}"), str(seed),
            str(budget), str(eval_frequency)]


def launch(cmd: list, log: Path, env=None) -> tuple:
    """Start `cmd` with stdout and stderr in files (no pipe to fill while another process is awaited)."""
    out, err = open(log.with_suffix(".out"), "w"), open(log.with_suffix(".err"), "w")
    return subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env), log


def last_json(started: tuple, what: str, prefix: str = "") -> dict:
    """The last line of a process's stdout that starts with `prefix` + "{", parsed; exits naming `what` if it failed."""
    proc, log = started
    proc.wait()
    out = log.with_suffix(".out").read_text()
    lines = [line[len(prefix):] for line in out.splitlines() if line.startswith(prefix + "{")]
    if proc.returncode or not lines:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{log.with_suffix('.err').read_text()[-3000:]}")
    return json.loads(lines[-1])


def run_all(args, train_path: Path, heldout: Path, tmp: Path) -> list:
    """Ours per seed in a fresh process; with --peer, ours and the peer side by side, one seed at a time."""
    cmd = [sys.executable, __file__, "--budget", str(args.budget), "--wall", str(args.wall)] + (["--frozen"] if args.frozen else [])

    def start_ours(seed):
        return launch(cmd + ["--one", str(seed)], tmp / f"ours_{seed}")

    if not args.peer:
        procs = [start_ours(s) for s in args.seeds]
        return [last_json(p, f"ours seed {s}", "ROW ") for p, s in zip(procs, args.seeds)]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    rows = []
    for seed in args.seeds:
        theirs = launch(peer_command(args.peer_python, seed, train_path, heldout, args.budget, args.eval_frequency, tmp),
                        tmp / f"peer_{seed}_log", env)
        mine = start_ours(seed)
        rows += [last_json(mine, f"ours seed {seed}", "ROW "), last_json(theirs, f"spacy-transformers seed {seed}")]
        print(f"seed {seed}: ours {rows[-2]['upos']:.2f}, spacy-transformers {rows[-1]['upos']:.2f} "
              f"(load {os.getloadavg()[0]:.1f})", flush=True)
    return rows


def mean(values) -> float:
    return sum(values) / len(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--budget", type=float, default=600.0, help="CPU seconds of training per run")
    parser.add_argument("--wall", type=float, default=float("inf"), help="wall-clock cap per run, seconds")
    parser.add_argument("--frozen", action="store_true")
    parser.add_argument("--peer", action="store_true", help="train and score spacy-transformers in the same run")
    parser.add_argument("--peer-python", default=str(ROOT.parent / "peer" / "venv" / "bin" / "python"))
    parser.add_argument("--eval-frequency", type=int, default=50, help="the peer's evaluation frequency, steps")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a single seed, JSON out
    args = parser.parse_args()
    if args.peer and not Path(args.peer_python).exists():
        raise SystemExit(f"--peer: no peer interpreter at {args.peer_python} (give --peer-python)")
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train_path, heldout, n_held = prepare(tmp)
        if args.one is not None:
            print("ROW " + json.dumps(ours(args.one, train_path, heldout, args.budget, args.wall, args.frozen)))
            return
        rows = run_all(args, train_path, heldout, tmp)
    load1 = os.getloadavg()
    print(f"\nMiniLM + tagger, EWT train -> held-out EWT-dev documents ({n_held} sentences), budget {args.budget:.0f} "
          f"CPU s per run, one thread each; load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end "
          f"({os.cpu_count()} CPUs)")
    print("| system | seed | UPOS | best eval | CPU s | set-up CPU s | wall s | words trained | epochs | steps | ended |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['seed']} | {r['upos']:.2f} | {r.get('upos_best', r['upos']):.2f} | {r['cpu_s']:.0f} | "
              f"{r['setup_cpu_s']:.0f} | {r['wall_s']:.0f} | {r['words']:,} | {r['epochs']} | {r['steps']} | {r['ended']} |")
    mine = mean([r["upos"] for r in rows if r["system"].startswith("ours")])
    print(f"ours: mean UPOS {mine:.2f} over seeds {args.seeds}")
    summary = {"ours_mean": mine}
    if args.peer:
        theirs = mean([r["upos"] for r in rows if r["system"] == "spacy-transformers"])
        diff = mine - theirs
        print(f"spacy-transformers: mean UPOS {theirs:.2f}; difference {diff:+.2f} "
              f"(goal >= +1.0: {'met' if diff >= 1.0 else 'NOT met'})")
        summary.update(peer_mean=theirs, difference=diff)
    else:
        print("(--peer trains and scores spacy-transformers in the same run)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"command": " ".join(sys.argv), "budget_cpu_s": args.budget, "load_average": [load0, load1],
                                   "heldout_sentences": n_held, "rows": rows, **summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
