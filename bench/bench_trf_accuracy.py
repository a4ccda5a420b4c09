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

The spacy-transformers reference (94.4 UPOS on this held-out text, 10 CPU minutes) is the
peer's: with --peer it is also trained here, in the same run, with /work/peer/trf/minilm_tagger.cfg.

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
PEER = ROOT.parent / "peer"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SPACY_TRF_REFERENCE = 94.4  # UPOS of spacy-transformers MiniLM + tagger, 10 CPU minutes, this held-out text


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


def peer(seed: int, budget: float, tmp: Path) -> dict:
    """spacy-transformers with the peer's validated config, stopped at the same wall-clock budget."""
    venv = PEER / "venv" / "bin" / "python"
    cfg = PEER / "trf" / "minilm_tagger.cfg"
    if not venv.exists() or not cfg.exists():
        return {"system": "spacy-transformers", "seed": seed, "upos": float("nan"), "note": f"{cfg} or {venv} missing"}
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    out = tmp / f"peer_{seed}"
    t0 = time.perf_counter()
    try:
        subprocess.run([str(venv), "-m", "spacy", "train", str(cfg), "--output", str(out), "--system.seed", str(seed)],
                       cwd=cfg.parent, env=env, timeout=budget, capture_output=True)
    except subprocess.TimeoutExpired:
        pass
    meta = out / "model-best" / "meta.json"
    upos = 100 * json.loads(meta.read_text())["performance"].get("pos_acc", float("nan")) if meta.exists() else float("nan")
    return {"system": "spacy-transformers", "seed": seed, "upos": upos, "wall_s": time.perf_counter() - t0}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--budget", type=float, default=600.0, help="CPU seconds of training per run")
    parser.add_argument("--wall", type=float, default=float("inf"), help="wall-clock cap per run, seconds")
    parser.add_argument("--frozen", action="store_true")
    parser.add_argument("--peer", action="store_true")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a single seed, JSON out
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train_path, heldout, n_held = prepare(tmp)
        if args.one is not None:
            print("ROW " + json.dumps(ours(args.one, train_path, heldout, args.budget, args.wall, args.frozen)))
            return
        # one process per seed, side by side: each stops at its own CPU budget
        cmd = [sys.executable, __file__, "--budget", str(args.budget), "--wall", str(args.wall)] + (["--frozen"] if args.frozen else [])
        procs = [subprocess.Popen(cmd + ["--one", str(s)], stdout=subprocess.PIPE, text=True) for s in args.seeds]
        rows = [json.loads(next(line for line in p.communicate()[0].splitlines() if line.startswith("ROW "))[4:]) for p in procs]
        if args.peer:
            rows += [peer(s, args.budget, tmp) for s in args.seeds]
    print(f"\nMiniLM + tagger, EWT train -> held-out EWT-dev documents ({n_held} sentences), budget {args.budget:.0f} CPU s per run")
    print("| system | seed | UPOS | CPU s | set-up CPU s | wall s | words trained | epochs | steps | ended |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['seed']} | {r['upos']:.2f} | {r.get('cpu_s', float('nan')):.0f} | "
              f"{r.get('setup_cpu_s', float('nan')):.0f} | {r.get('wall_s', float('nan')):.0f} | {r.get('words', 0):,} | "
              f"{r.get('epochs', '')} | {r.get('steps', '')} | {r.get('ended', '')} |")
    mine = [r["upos"] for r in rows if r["system"].startswith("ours")]
    mean = sum(mine) / len(mine)
    print(f"ours: mean UPOS {mean:.2f} over seeds {args.seeds}; spacy-transformers reference {SPACY_TRF_REFERENCE} "
          f"(goal >= {SPACY_TRF_REFERENCE + 1.0:.1f}): {'met' if mean >= SPACY_TRF_REFERENCE + 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
