"""Tagger + parser against spaCy 3.8, trained and scored in the same run.

Data: the EWT-dev split of bench/bench_embedding_layouts.py (every 5th document held
out: 1,636 sentences to train, 365 held out). spaCy reads the same JSONL lines as DocBin
files (ewt.peer_docbins, written by the peer's own spaCy). For each seed: spaCy's efficiency tagger,parser
config is trained for --spacy-epochs (wall clock timed), then ours trains with the same
wall-clock budget (a stop event at spaCy's seconds; its epochs are capped by
--max-epochs). Both are scored on the held-out gold tokens (spaCy: `evaluate
--gold-preproc`; ours: nlp.evaluate), model-last on both sides.

    python bench/bench_parser_vs_peer.py [--seeds 0 1] [--spacy-epochs 30] [--set KEY VALUE]

Prints the table and writes it to bench/results/parser_vs_peer.json.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER = ROOT.parent / "peer"
sys.path.insert(0, str(ROOT))

from ewt import peer_docbins, split_ewt  # noqa: E402  (bench/ewt.py)

import workbench  # noqa: E402
from workbench.commands import build_init_config  # noqa: E402
from workbench.corpora.corpus import Corpus  # noqa: E402
from workbench.training.loop import train  # noqa: E402


def peer_env(threads: int = 2) -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS"):
        env[k] = str(threads)
    env.update(HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)
    return env


def run_spacy(seed: int, epochs: int, corpus: Path, out: Path) -> dict:
    py = str(PEER / "venv" / "bin" / "python")
    env = peer_env()
    cfg = out / "config.cfg"
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "log.txt", "w")
    subprocess.run([py, "-m", "spacy", "init", "config", "-l", "en", "-p", "tagger,parser", "-o", "efficiency",
                    "-F", str(cfg)], check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    start = time.perf_counter()
    subprocess.run([py, "-m", "spacy", "train", str(cfg), "--output", str(out / "model"),
                    "--paths.train", str(corpus / "train.spacy"), "--paths.dev", str(corpus / "heldout.spacy"),
                    "--training.max_epochs", str(epochs), "--training.max_steps", "0", "--system.seed", str(seed),
                    "--nlp.batch_size", "1000"], check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    scores = out / "eval.json"
    subprocess.run([py, "-m", "spacy", "evaluate", str(out / "model" / "model-last"), str(corpus / "heldout.spacy"),
                    "--output", str(scores), "--gold-preproc"], check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    s = json.loads(scores.read_text())
    return {"system": "spaCy 3.8", "seed": seed, "epochs": epochs, "seconds": seconds,
            "upos": s.get("tag_acc"), "uas": s.get("dep_uas"), "las": s.get("dep_las"), "sents_f": s.get("sents_f")}


OVERRIDES: dict = {}


def run_ours(seed: int, budget_s: float, max_epochs: int, train_path: Path, held_path: Path, out: Path) -> dict:
    config = build_init_config(["tagger", "parser"], shared=True)
    config["paths"]["train"], config["paths"]["dev"] = str(train_path), str(held_path)
    config["system"]["seed"] = seed
    config["components"]["tagger"]["attr"] = "pos"
    config["training"]["score_weights"] = {"pos_acc": 0.5, "dep_las": 0.5}
    config["training"].update(max_epochs=max_epochs, max_steps=0, patience=0, eval_frequency=10 ** 9)
    for key, value in OVERRIDES.items():
        *path, last = key.split(".")
        node = config
        for part in path:
            node = node[part]
        node[last] = value
    stop = threading.Event()
    epochs = []
    started = time.perf_counter()

    def watch(event):
        if event.kind == "step":
            epochs.append(event.epoch)
            if time.perf_counter() - started > budget_s:
                stop.set()

    train(config, out, subscribers=[watch], stop=stop)
    seconds = time.perf_counter() - started
    nlp = workbench.load(out / "model-last")
    s = nlp.evaluate(list(Corpus(held_path)(nlp)))
    return {"system": "workbench", "seed": seed, "epochs": (max(epochs) + 1) if epochs else 0, "seconds": seconds,
            "upos": s.get("pos_acc"), "uas": s.get("dep_uas"), "las": s.get("dep_las"), "sents_f": s.get("sents_f")}


def show(rows) -> str:
    lines = [f"{'system':<11} {'seed':>4} {'epochs':>6} {'train s':>8} {'UPOS':>6} {'UAS':>6} {'LAS':>6} {'sents F':>7}"]
    pct = lambda v: f"{100 * v:6.2f}" if v is not None else "     -"  # noqa: E731
    for r in rows:
        lines.append(f"{r['system']:<11} {r['seed']:>4} {r['epochs']:>6} {r['seconds']:>8.0f} {pct(r['upos'])} "
                     f"{pct(r['uas'])} {pct(r['las'])} {pct(r['sents_f']):>7}")
    for system in dict.fromkeys(r["system"] for r in rows):
        mine = [r for r in rows if r["system"] == system]
        mean = lambda k: sum(r[k] or 0 for r in mine) / len(mine)  # noqa: E731
        lines.append(f"{system + ' mean':<16} {'':>6} {mean('seconds'):>8.0f} {pct(mean('upos'))} {pct(mean('uas'))} "
                     f"{pct(mean('las'))} {pct(mean('sents_f')):>7}")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--spacy-epochs", type=int, default=30)
    p.add_argument("--max-epochs", type=int, default=100, help="cap on our epochs inside spaCy's wall-clock budget")
    p.add_argument("--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="config override for ours, e.g. --set components.parser.model.hidden_width 256")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "parser_vs_peer.json"))
    args = p.parse_args()
    for key, value in args.set:
        OVERRIDES[key] = json.loads(value)
    if not (PEER / "venv" / "bin" / "python").exists():
        print(f"SKIP: no spaCy 3.8 venv at {PEER}/venv (pip install 'spacy==3.8.*' in a scratch venv there).")
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_parser_peer_"))
    rows = []
    try:
        train_path, held_path, n_train, n_held = split_ewt(tmp, entities=False, cats=True)  # heads, deps and genre cats
        corpus = tmp / "peer-corpus"
        peer_docbins(PEER / "venv" / "bin" / "python", corpus, train_path, held_path)
        print(f"tagger + parser, EWT dev split: {n_train} sentences to train, {n_held} held out; load {os.getloadavg()}")
        for seed in args.seeds:
            peer = run_spacy(seed, args.spacy_epochs, corpus, tmp / f"spacy-{seed}")
            rows.append(peer)
            print(show(rows[-1:]), flush=True)
            rows.append(run_ours(seed, peer["seconds"], args.max_epochs, train_path, held_path, tmp / f"ours-{seed}"))
            print(show(rows[-1:]), flush=True)
        table = show(rows)
        print("\n" + table)
        print(f"load average at the end: {os.getloadavg()}; overrides: {OVERRIDES or 'none'}")
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"rows": rows, "overrides": OVERRIDES, "spacy_epochs": args.spacy_epochs,
                                              "table": table}, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
