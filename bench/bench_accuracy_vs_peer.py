"""Shared tagger + ner: ours against spaCy 3.8 on the same held-out text, data and wall-clock budget.

For each seed, in this order, in one run:
1. spaCy 3.8 (the peer venv): `spacy init config -p tagger,ner -o efficiency`, then
   `spacy train` for its default 30 epochs (timed: the wall clock of that command), then
   `spacy evaluate --gold-preproc` (gold words, as we score);
2. ours, `init config --optimize efficiency` (the default), 30 epochs (timed the same way);
3. ours, `init config --optimize accuracy`, with `[training] max_seconds` set so that the
   whole `train()` call (set-up, loop, last evaluation, saving) fits in spaCy's time of step 1.
Data: EWT dev with UNER entities, every 5th document held out (bench_embedding_layouts.split_corpus;
the peer's DocBins under PEER/corpus hold the same sentences). No vectors, no other data.
Prints UPOS accuracy and entity P/R/F per run, the mean over seeds, the differences to
spaCy, the budgets in seconds and the load average; writes the rows to bench/results/.

    python bench/bench_accuracy_vs_peer.py [--seeds 0 1] [--jobs 2] [--peer /work/peer] [--rows spacy efficiency accuracy]
    python bench/bench_accuracy_vs_peer.py --spacy-seconds 253 --rows accuracy   # ours only, a given budget
"""
import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_embedding_layouts import split_corpus  # noqa: E402

import workbench  # noqa: E402
from workbench.commands import build_init_config  # noqa: E402
from workbench.corpora.corpus import Corpus  # noqa: E402
from workbench.training.loop import train  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MARGIN = 0.08  # share of spaCy's time kept back for our set-up, last evaluation and saving


def spacy_env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS"):
        env[key] = "2"
    return env


def run_spacy(peer: Path, seed: int, work: Path, epochs: int) -> dict:
    """spaCy's default tagger+ner: init config, train (timed), evaluate on gold words."""
    py = str(peer / "venv" / "bin" / "python")
    corpus = peer / "corpus"
    cfg, model, scores = work / "config.cfg", work / "model", work / "eval.json"
    env = spacy_env()

    def sh(cmd):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"spaCy command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")

    sh([py, "-m", "spacy", "init", "config", "-l", "en", "-p", "tagger,ner", "-o", "efficiency", "-F", str(cfg)])
    load = os.getloadavg()[0]
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    sh([py, "-m", "spacy", "train", str(cfg), "--output", str(model), "--paths.train", str(corpus / "train.spacy"),
        "--paths.dev", str(corpus / "heldout.spacy"), "--training.max_epochs", str(epochs), "--training.max_steps", "0",
        "--system.seed", str(seed), "--nlp.batch_size", "1000"])
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    sh([py, "-m", "spacy", "evaluate", str(model / "model-last"), str(corpus / "heldout.spacy"), "--output", str(scores),
        "--gold-preproc"])
    s = json.loads(scores.read_text())
    return {"system": "spaCy 3.8 efficiency", "seed": seed, "seconds": seconds, "cpu_seconds": cpu_seconds, "load": load, "budget": None,
            "epochs": epochs, "upos": s["tag_acc"], "ents_p": s["ents_p"], "ents_r": s["ents_r"], "ents_f": s["ents_f"]}


def run_ours(optimize: str, seed: int, train_path: Path, dev_path: Path, out: Path, *, epochs: int = 0,
             max_seconds: float = 0.0) -> dict:
    config = build_init_config(["tagger", "ner"], shared=True, optimize=optimize)
    config["paths"]["train"], config["paths"]["dev"] = str(train_path), str(dev_path)
    config["system"]["seed"] = seed
    T = config["training"]
    T["max_steps"], T["patience"], T["eval_frequency"] = 0, 0, 10 ** 9  # one evaluation, at the end
    if epochs:
        T["max_epochs"] = epochs
    if max_seconds:
        T["max_seconds"] = max_seconds
    config["components"]["tagger"]["attr"] = "pos"
    T["score_weights"] = {k.replace("tag_acc", "pos_acc"): v for k, v in T["score_weights"].items()}
    load = os.getloadavg()[0]
    epochs_done = []
    start, cpu = time.perf_counter(), time.process_time()
    result = train(config, out, subscribers=[lambda e: epochs_done.append(e.epoch) if e.kind == "step" else None])
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    nlp = workbench.load(out / "model-last")
    s = nlp.evaluate(list(Corpus(dev_path)(nlp)))
    return {"system": f"ours {optimize}", "seed": seed, "seconds": seconds, "cpu_seconds": cpu_seconds, "load": load, "budget": max_seconds or None,
            "epochs": epochs_done[-1] if epochs_done else 0, "steps": result.steps, "stopped_by": result.stopped_by,
            "upos": s["pos_acc"], "ents_p": s["ents_p"], "ents_r": s["ents_r"], "ents_f": s["ents_f"]}


def run_seed(args, seed: int, train_path: Path, dev_path: Path, tmp: Path) -> list:
    """One seed: spaCy (its time is the budget), then ours."""
    rows, budget = [], args.spacy_seconds
    if "spacy" in args.rows:
        rows.append(run_spacy(args.peer, seed, tmp / f"spacy-{seed}", args.epochs))
        budget = rows[-1]["seconds"]
        show(rows[-1:])
    if "efficiency" in args.rows:
        rows.append(run_ours("efficiency", seed, train_path, dev_path, tmp / f"eff-{seed}", epochs=args.epochs))
        show(rows[-1:])
    if "accuracy" in args.rows:
        rows.append(run_ours("accuracy", seed, train_path, dev_path, tmp / f"acc-{seed}",
                             max_seconds=round(budget * (1 - MARGIN), 1)))
        show(rows[-1:])
    return rows


def show(rows) -> None:
    print(f"{'system':<24} {'seed':>4} {'train s':>8} {'CPU s':>6} {'budget s':>8} {'epochs':>6} {'UPOS':>6} {'ENT P':>6} {'ENT R':>6} "
          f"{'ENT F':>6} {'load':>5}")
    for r in rows:
        budget = f"{r['budget']:8.0f}" if r.get("budget") else "       -"
        print(f"{r['system']:<24} {r['seed']:>4} {r['seconds']:8.0f} {r['cpu_seconds']:6.0f} {budget} {r['epochs']:>6} {100 * r['upos']:6.2f} "
              f"{100 * r['ents_p']:6.2f} {100 * r['ents_r']:6.2f} {100 * r['ents_f']:6.2f} {r['load']:5.1f}", flush=True)


def summary(rows) -> None:
    systems = list(dict.fromkeys(r["system"] for r in rows))
    mean = {s: {k: statistics.mean(r[k] for r in rows if r["system"] == s) for k in ("upos", "ents_f", "seconds")}
            for s in systems}
    peer = next((s for s in systems if s.startswith("spaCy")), None)
    print(f"\nmean over seeds {sorted({r['seed'] for r in rows})}:")
    print(f"{'system':<24} {'train s':>8} {'UPOS':>6} {'ENT F':>6} {'dUPOS':>6} {'dENT F':>6}")
    for s in systems:
        m = mean[s]
        d = (f"{100 * (m['upos'] - mean[peer]['upos']):+6.2f} {100 * (m['ents_f'] - mean[peer]['ents_f']):+6.2f}"
             if peer and s != peer else "     -      -")
        print(f"{s:<24} {m['seconds']:8.0f} {100 * m['upos']:6.2f} {100 * m['ents_f']:6.2f} {d}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--peer", type=Path, default=ROOT.parent / "peer", help="folder with venv/ (spaCy 3.8) and corpus/*.spacy")
    p.add_argument("--rows", nargs="+", default=["spacy", "efficiency", "accuracy"], choices=["spacy", "efficiency", "accuracy"])
    p.add_argument("--epochs", type=int, default=30, help="spaCy's epochs and our efficiency run's")
    p.add_argument("--spacy-seconds", type=float, help="the budget, without running spaCy (ours-only runs)")
    p.add_argument("--jobs", type=int, default=1, help="seeds run side by side (each: spaCy, then ours)")
    p.add_argument("--json", type=Path, help=f"where to write the rows (default {RESULTS}/accuracy_vs_peer.json)")
    args = p.parse_args()
    if "spacy" in args.rows and not (args.peer / "venv" / "bin" / "python").exists():
        print(f"SKIP: no spaCy venv at {args.peer}/venv (pass --peer, or --spacy-seconds S --rows accuracy).")
        return
    if "spacy" not in args.rows and not args.spacy_seconds and "accuracy" in args.rows:
        p.error("without the spacy row, give the budget with --spacy-seconds")
    tmp = Path(tempfile.mkdtemp(prefix="bench_accuracy_"))
    train_path, dev_path, n_train, n_dev = split_corpus(tmp)
    print(f"tagger + ner, EWT dev + UNER: {n_train} sentences to train, {n_dev} held out (every 5th document); "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")
    jobs = [(args, seed, train_path, dev_path, tmp) for seed in args.seeds]
    if args.jobs > 1:  # seeds side by side: each spaCy run and the run given its budget share the machine's load
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            rows = [row for seed_rows in pool.map(run_seed, *zip(*jobs)) for row in seed_rows]
    else:
        rows = [row for job in jobs for row in run_seed(*job)]
    print()
    show(rows)
    summary(rows)
    out = args.json or RESULTS / "accuracy_vs_peer.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2) + "\n")
    print(f"\nrows written to {out}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
