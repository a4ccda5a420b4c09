"""Variants of the accuracy preset on the held-out split, one thread each: UPOS, entity F, CPU s.

The split of bench_accuracy_vs_peer.py (EWT dev + UNER, every 5th document held out; the
held-out text is the only split: variants are chosen on it, as the preset was). Each run
trains `init config --optimize accuracy` with a variant's config overrides for the preset's
own epochs, with [system] n_threads = 1, and appends its row to bench/results/accuracy_grid.jsonl.
Run two at a time at most (one per seed); --table prints every row and the mean per variant.

    nice -n 10 python bench/bench_accuracy_grid.py --variant affix --seed 0
    python bench/bench_accuracy_grid.py --table
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_accuracy_vs_peer import run_ours  # noqa: E402
from ewt import split_ewt  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "accuracy_grid.jsonl"
EMBED, ENCODE = "components.tok2vec.model.embed", "components.tok2vec.model.encode"
NER = "components.ner.model"
# Each feature variant starts from the preset with its three features off (the previous preset).
OFF = {f"{EMBED}.attrs": [], f"{EMBED}.ngrams": [], f"{EMBED}.word_dropout": 0.0}
AFFIX = {f"{EMBED}.attrs": ["PREFIX", "SUFFIX", "SHAPE"], f"{EMBED}.attr_rows": 2500}
NGRAM = {f"{EMBED}.ngrams": [3, 4, 5], f"{EMBED}.ngram_rows": 20000}
VARIANTS = {
    "preset": {},
    "no_features": OFF,
    "affix": {**OFF, **AFFIX},
    "wdrop.15": {**OFF, f"{EMBED}.word_dropout": 0.15},
    "affix+wdrop.15": {**OFF, **AFFIX, f"{EMBED}.word_dropout": 0.15},
    "ngram": {**OFF, **NGRAM},
    "affix+ngram": {**OFF, **AFFIX, **NGRAM},
    "affix+ngram+wdrop.15": {**AFFIX, **NGRAM, f"{EMBED}.word_dropout": 0.15},  # = the preset
    "window2": {f"{ENCODE}.window_size": 2},
    "depth5": {f"{ENCODE}.depth": 5},
    "tagger_lr2": {"training.learn_rate_multipliers": {"tagger": 2.0}},
    "dropout.3": {"training.dropout": 0.3},
    "ner_lr2": {"training.learn_rate_multipliers": {"ner": 2.0}},
    "ner_h128": {f"{NER}.hidden_width": 128},
    "ner_lr2+h128": {"training.learn_rate_multipliers": {"ner": 2.0}, f"{NER}.hidden_width": 128},
}


def table() -> None:
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines()]
    print(f"{'variant':<28} {'seed':>4} {'epochs':>6} {'CPU s':>6} {'UPOS':>6} {'ENT F':>6} {'load':>5}")
    for r in rows:
        print(f"{r['variant']:<28} {r['seed']:>4} {r['epochs']:>6} {r['cpu_seconds']:6.0f} {100 * r['upos']:6.2f} "
              f"{100 * r['ents_f']:6.2f} {r['load']:5.1f}")
    print(f"\n{'variant':<28} {'seeds':>5} {'CPU s':>6} {'UPOS':>6} {'ENT F':>6}")
    for v in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == v]
        m = {k: statistics.mean(r[k] for r in rs) for k in ("cpu_seconds", "upos", "ents_f")}
        print(f"{v:<28} {len(rs):>5} {m['cpu_seconds']:6.0f} {100 * m['upos']:6.2f} {100 * m['ents_f']:6.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", choices=sorted(VARIANTS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=0, help="0: the preset's max_epochs")
    p.add_argument("--table", action="store_true")
    args = p.parse_args()
    if args.table or not args.variant:
        return table()
    tmp = Path(tempfile.mkdtemp(prefix="bench_grid_"))
    train_path, dev_path, _, _ = split_ewt(tmp)
    overrides = {"system.n_threads": 1, "training.logger.progress_bar": False, **VARIANTS[args.variant]}
    row = run_ours("accuracy", args.seed, train_path, dev_path, tmp / "out", epochs=args.epochs, overrides=overrides)
    row.update(variant=args.variant + (f"/{args.epochs}ep" if args.epochs else ""), overrides=VARIANTS[args.variant],
               load=os.getloadavg()[0])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"{row['variant']} seed {args.seed}: epochs {row['epochs']}, CPU {row['cpu_seconds']:.0f} s, "
          f"UPOS {100 * row['upos']:.2f}, ENT F {100 * row['ents_f']:.2f}, load {row['load']:.1f}")


if __name__ == "__main__":
    main()
