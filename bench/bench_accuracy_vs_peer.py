"""Shared tagger + ner: ours against spaCy 3.8 on the same held-out text, data and wall-clock budget.

For each seed (seeds side by side with --jobs 2):
- spaCy 3.8 (the peer venv): `spacy init config -p tagger,ner -o efficiency`, then `spacy train`
  for its default 30 epochs (timed: the wall clock of that command), then `spacy evaluate
  --gold-preproc` (gold words, as we score);
- ours, `init config --optimize accuracy`, trained WHILE spaCy's `train` runs, on the same
  machine: its loop stops when spaCy's command ends, so both get the same wall clock under the
  same load (on a shared machine, a budget measured first and spent later is not the same
  budget), or earlier at the preset's own end (its `max_epochs`, which its learn rate decays
  to; the "ended" column says which). --sequential instead trains ours after spaCy with `[training] max_seconds` set to
  spaCy's time less 8% (for our set-up, last evaluation and saving);
- with `--rows ... efficiency`: also ours with the default (`--optimize efficiency`), 30 epochs.
Data: EWT dev with UNER entities, every 5th document held out (ewt.split_ewt;
the peer reads the same JSONL lines as DocBins, made by ewt.peer_docbins). No vectors, no other data.
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
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ewt import peer_docbins, split_ewt  # noqa: E402

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


class SpacyRun:
    """spaCy's default tagger+ner: init config, then `spacy train` in the background (timed), then
    `spacy evaluate --gold-preproc` (gold words, as we score)."""

    def __init__(self, peer: Path, corpus: Path, seed: int, work: Path, epochs: int):
        self.py, self.corpus, self.seed, self.epochs = str(peer / "venv" / "bin" / "python"), corpus, seed, epochs
        self.cfg, self.model, self.scores = work / "config.cfg", work / "model", work / "eval.json"
        work.mkdir(parents=True, exist_ok=True)
        self.log = (work / "train.log").open("w")
        self._sh([self.py, "-m", "spacy", "init", "config", "-l", "en", "-p", "tagger,ner", "-o", "efficiency", "-F", str(self.cfg)])
        self.load = os.getloadavg()[0]
        self.ended = threading.Event()
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(
            [self.py, "-m", "spacy", "train", str(self.cfg), "--output", str(self.model),
             "--paths.train", str(self.corpus / "train.spacy"), "--paths.dev", str(self.corpus / "heldout.spacy"),
             "--training.max_epochs", str(epochs), "--training.max_steps", "0", "--system.seed", str(seed),
             "--nlp.batch_size", "1000"], env=spacy_env(), stdout=self.log, stderr=subprocess.STDOUT)
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self) -> None:
        self.proc.wait()
        self.seconds = time.perf_counter() - self.start
        self.ended.set()

    def _sh(self, cmd) -> None:
        done = subprocess.run(cmd, env=spacy_env(), stdout=self.log, stderr=subprocess.STDOUT)
        if done.returncode:
            raise SystemExit(f"spaCy command failed ({done.returncode}): {' '.join(cmd)} (log: {self.log.name})")

    def finish(self) -> dict:
        self.ended.wait()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # this worker's finished children: init, train
        if self.proc.returncode:
            raise SystemExit(f"spacy train failed ({self.proc.returncode}), log: {self.log.name}")
        self._sh([self.py, "-m", "spacy", "evaluate", str(self.model / "model-last"), str(self.corpus / "heldout.spacy"),
                  "--output", str(self.scores), "--gold-preproc"])
        s = json.loads(self.scores.read_text())
        return {"system": "spaCy 3.8 efficiency", "seed": self.seed, "seconds": self.seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime, "load": self.load, "budget": None, "epochs": self.epochs,
                "upos": s["tag_acc"], "ents_p": s["ents_p"], "ents_r": s["ents_r"], "ents_f": s["ents_f"]}


def run_ours(optimize: str, seed: int, train_path: Path, dev_path: Path, out: Path, *, epochs: int = 0,
             max_seconds: float = 0.0, stop: Optional[threading.Event] = None, overrides: Optional[dict] = None) -> dict:
    """Train and score ours; the loop stops on max_seconds, on `stop` (spaCy's run ended), or after `epochs`.
    overrides: {"dotted.key": value} set in the config first (bench/bench_accuracy_grid.py)."""
    config = build_init_config(["tagger", "ner"], shared=True, optimize=optimize)
    for key, value in (overrides or {}).items():
        *path, name = key.split(".")
        node = config
        for part in path:
            node = node.setdefault(part, {})
        node[name] = value
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
    result = train(config, out, stop=stop, subscribers=[lambda e: epochs_done.append(e.epoch) if e.kind == "step" else None])
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    nlp = workbench.load(out / "model-last")
    s = nlp.evaluate(list(Corpus(dev_path)(nlp)))
    return {"system": f"ours {optimize}", "seed": seed, "seconds": seconds, "cpu_seconds": cpu_seconds, "load": load,
            "budget": max_seconds or ("spaCy's" if stop else None),
            "epochs": epochs_done[-1] if epochs_done else 0, "steps": result.steps, "stopped_by": result.stopped_by,
            "upos": s["pos_acc"], "ents_p": s["ents_p"], "ents_r": s["ents_r"], "ents_f": s["ents_f"]}


def run_seed(args, seed: int, train_path: Path, dev_path: Path, tmp: Path) -> list:
    """One seed. Side by side (the default): ours trains while spaCy's `train` runs and stops when it
    ends, so both get the same wall clock under the same load. --sequential: spaCy first, then ours
    with `[training] max_seconds` = spaCy's time less MARGIN (or --spacy-seconds without spaCy)."""
    rows = []
    if "efficiency" in args.rows:
        rows.append(run_ours("efficiency", seed, train_path, dev_path, tmp / f"eff-{seed}", epochs=args.epochs))
        show(rows[-1:])
    if "spacy" not in args.rows:
        rows.append(run_ours("accuracy", seed, train_path, dev_path, tmp / f"acc-{seed}",
                             max_seconds=round(args.spacy_seconds * (1 - MARGIN), 1)))
        show(rows[-1:])
        return rows
    spacy = SpacyRun(args.peer, tmp / "peer-corpus", seed, tmp / f"spacy-{seed}", args.epochs)
    if args.sequential or "accuracy" not in args.rows:
        rows.append(spacy.finish())
        show(rows[-1:])
        if "accuracy" in args.rows:
            rows.append(run_ours("accuracy", seed, train_path, dev_path, tmp / f"acc-{seed}",
                                 max_seconds=round(rows[-1]["seconds"] * (1 - MARGIN), 1)))
            show(rows[-1:])
        return rows
    ours = run_ours("accuracy", seed, train_path, dev_path, tmp / f"acc-{seed}", stop=spacy.ended)
    rows += [spacy.finish(), ours]
    show(rows[-2:])
    return rows


def show(rows) -> None:
    print(f"{'system':<24} {'seed':>4} {'train s':>8} {'CPU s':>6} {'budget s':>8} {'epochs':>6} {'UPOS':>6} {'ENT P':>6} {'ENT R':>6} "
          f"{'ENT F':>6} {'load':>5} {'ended':>12}")
    for r in rows:
        budget = r.get("budget") or "-"
        budget = f"{budget:8.0f}" if isinstance(budget, float) else f"{budget:>8}"
        print(f"{r['system']:<24} {r['seed']:>4} {r['seconds']:8.0f} {r['cpu_seconds']:6.0f} {budget} {r['epochs']:>6} {100 * r['upos']:6.2f} "
              f"{100 * r['ents_p']:6.2f} {100 * r['ents_r']:6.2f} {100 * r['ents_f']:6.2f} {r['load']:5.1f} "
              f"{r.get('stopped_by', '-'):>12}", flush=True)


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
    p.add_argument("--peer", type=Path, default=ROOT.parent / "peer", help="folder with venv/ (spaCy 3.8)")
    p.add_argument("--rows", nargs="+", default=["spacy", "efficiency", "accuracy"], choices=["spacy", "efficiency", "accuracy"])
    p.add_argument("--epochs", type=int, default=30, help="spaCy's epochs and our efficiency run's")
    p.add_argument("--spacy-seconds", type=float, help="the budget, without running spaCy (ours-only runs)")
    p.add_argument("--sequential", action="store_true", help="spaCy first, then ours with max_seconds = its time")
    p.add_argument("--jobs", type=int, default=1, help="seeds run side by side (each: spaCy, then ours)")
    p.add_argument("--json", type=Path, help=f"where to write the rows (default {RESULTS}/accuracy_vs_peer.json)")
    args = p.parse_args()
    if "spacy" in args.rows and not (args.peer / "venv" / "bin" / "python").exists():
        print(f"SKIP: no spaCy venv at {args.peer}/venv (pass --peer, or --spacy-seconds S --rows accuracy).")
        return
    if "spacy" not in args.rows and not args.spacy_seconds and "accuracy" in args.rows:
        p.error("without the spacy row, give the budget with --spacy-seconds")
    tmp = Path(tempfile.mkdtemp(prefix="bench_accuracy_"))
    train_path, dev_path, n_train, n_dev = split_ewt(tmp)
    print(f"tagger + ner, EWT dev + UNER: {n_train} sentences to train, {n_dev} held out (every 5th document); "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")
    if "spacy" in args.rows:
        peer_docbins(args.peer / "venv" / "bin" / "python", tmp / "peer-corpus", train_path, dev_path)
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
