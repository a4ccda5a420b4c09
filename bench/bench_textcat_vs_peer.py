"""Text classification of the EWT genre: the workbench's textcat against spaCy 3.8's.

Task: each sentence's genre (answers, email, newsgroup, reviews, weblog), taken from its
`# sent_id` (`convert --cats-from-sent-id`). Trained on EWT train (`--train ewt-train`,
the default) or on the other EWT-dev documents (`--train dev-split`, the earlier peer
runs' setup); always scored on the held-out split: every 5th EWT-dev document (as in
bench_embedding_layouts.py and /work/peer). Same data files, same number of epochs and
the same gold words at scoring for both sides; both score with workbench.scorer.score_cats.

Rows, for every seed:
- ours: `init config --pipeline textcat --shared` (tok2vec + the default TextCatEnsemble);
- ours-bow: the TextCatBOW model alone (what spaCy's efficiency config uses);
- spacy: `spacy init config -p textcat -o efficiency`, trained by `spacy train` in the peer
  venv (bench/textcat_peer_spacy.py), measured in this same run;
and the majority-class baseline (the most frequent training genre).

    python bench/bench_textcat_vs_peer.py [--peer-python /work/peer/venv/bin/python]
        [--train ewt-train|dev-split] [--epochs 1] [--seeds 0 1] [--out bench/results/textcat_vs_peer.md]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_SCRIPT = ROOT / "bench" / "textcat_peer_spacy.py"
sys.path.insert(0, str(ROOT))

from ewt import DATA, need, split_ewt  # noqa: E402  (bench/ewt.py)

import workbench  # noqa: E402
from workbench.commands import build_init_config  # noqa: E402
from workbench.corpora.convert import convert  # noqa: E402
from workbench.scorer import score_cats  # noqa: E402
from workbench.text.doc import Doc  # noqa: E402
from workbench.training.example import Example  # noqa: E402
from workbench.training.loop import train  # noqa: E402

GENRES = ["answers", "email", "newsgroup", "reviews", "weblog"]
OVERRIDES = {}  # --set KEY VALUE: config overrides for our runs


def genre_data(tmp: Path, train_on: str):
    """train.jsonl and heldout.jsonl, one sentence per doc, cats one-hot over the genres; the
    held-out documents of ewt.split_ewt, trained on the rest of dev or on all of EWT train."""
    train_path, held_path, *_ = split_ewt(tmp, entities=False, cats=True)
    if train_on != "dev-split":
        convert([need(DATA / "ud-ewt" / "en_ewt-ud-train.conllu")], train_path, cats_from_sent_id=True)
    return train_path, held_path


def read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text(encoding="utf8").splitlines() if line.strip()]


def scored(vocab, held_recs, predicted_cats):
    """score_cats over the held-out docs with the given predicted cats per doc."""
    examples = []
    for rec, cats in zip(held_recs, predicted_cats):
        ref = Doc(vocab, words=rec["words"], spaces=rec.get("spaces"), cats=rec["cats"])
        pred = Doc(vocab, words=rec["words"], spaces=rec.get("spaces"), cats=cats)
        examples.append(Example(pred, ref))
    return score_cats(examples, GENRES)


def run_ours(kind: str, seed: int, train_path: Path, held_path: Path, out: Path, epochs: int) -> dict:
    config = build_init_config(["textcat"], shared=True)
    if kind == "ours-bow":
        config["components"]["textcat"]["model"] = dict(config["components"]["textcat"]["model"]["linear_model"])
        config["nlp"]["pipeline"] = ["textcat"]
        del config["components"]["tok2vec"]
    config["paths"]["train"] = str(train_path)
    config["paths"]["dev"] = str(held_path)
    config["system"]["seed"] = seed
    config["training"]["max_epochs"] = epochs
    config["training"]["max_steps"] = 0
    config["training"]["patience"] = 0
    config["training"]["eval_frequency"] = 10 ** 9  # evaluate once, at the end
    for key, value in OVERRIDES.items():
        *path, last = key.split(".")
        node = config
        for part in path:
            node = node[part]
        node[last] = value
    t0, c0 = time.perf_counter(), time.process_time()
    train(config, out, progress=False)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    nlp = workbench.load(out / "model-last")
    held = read_jsonl(held_path)
    docs = [Doc(nlp.vocab, words=r["words"], spaces=r.get("spaces")) for r in held]
    cats = [dict(d.cats) for d in nlp.pipe(docs)]
    arch = nlp.config["components"]["textcat"]["model"]["@architectures"]
    return {"system": kind, "seed": seed, "seconds": seconds, "cpu": cpu, "arch": arch,
            **scored(nlp.vocab, held, cats)}


def run_spacy(peer_python: str, seed: int, train_path: Path, held_path: Path, work: Path, epochs: int) -> dict:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    proc = subprocess.run([peer_python, str(PEER_SCRIPT), str(train_path), str(held_path), str(work), str(seed), str(epochs)],
                          capture_output=True, text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"the spaCy run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    held = read_jsonl(held_path)
    return {"system": "spacy", "seed": seed, "seconds": result["train_seconds"], "cpu": result["train_cpu_seconds"],
            "arch": result["architecture"], "process_seconds": time.perf_counter() - t0,
            **scored(workbench.blank("en").vocab, held, result["cats"])}


def majority(train_path: Path, held_path: Path) -> dict:
    counts = Counter(max(r["cats"], key=r["cats"].get) for r in read_jsonl(train_path))
    top = counts.most_common(1)[0][0]
    held = read_jsonl(held_path)
    cats = [{g: float(g == top) for g in GENRES} for _ in held]
    return {"system": f"majority ({top})", "seed": "-", "seconds": 0.0, "cpu": 0.0, "arch": "-",
            **scored(workbench.blank("en").vocab, held, cats)}


def table(rows) -> str:
    head = "| system | seed | architecture | accuracy | macro F | micro F | " + " | ".join(f"F {g}" for g in GENRES) + " | train s | train CPU s |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        per = " | ".join(f"{100 * r['cats_f_per_type'][g]['f']:.2f}" for g in GENRES)
        lines.append(f"| {r['system']} | {r['seed']} | {r['arch']} | {100 * r['cats_accuracy']:.2f} | {100 * r['cats_macro_f']:.2f} | "
                     f"{100 * r['cats_micro_f']:.2f} | {per} | {r['seconds']:.0f} | {r['cpu']:.0f} |")
    return "\n".join(lines)


def mean_rows(rows, system):
    picked = [r for r in rows if r["system"] == system]
    return sum(r["cats_macro_f"] for r in picked) / len(picked) if picked else None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peer-python", default="/work/peer/venv/bin/python")
    p.add_argument("--train", choices=["ewt-train", "dev-split"], default="ewt-train")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--systems", nargs="+", default=["ours", "ours-bow", "spacy"])
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "textcat_vs_peer.md"))
    p.add_argument("--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="config override for our runs, e.g. --set training.optimizer.use_averages false")
    args = p.parse_args()
    for key, value in args.set:
        OVERRIDES[key] = json.loads(value)
    if "spacy" in args.systems and not Path(args.peer_python).exists():
        print(f"(no peer interpreter at {args.peer_python}: the spacy rows are left out)")
        args.systems = [s for s in args.systems if s != "spacy"]
    tmp = Path(tempfile.mkdtemp(prefix="bench_textcat_"))
    load = [os.getloadavg()]
    try:
        train_path, held_path = genre_data(tmp, args.train)
        n_train = len(read_jsonl(train_path))
        n_held = len(read_jsonl(held_path))
        setup = (f"Genre classification, trained on {args.train} ({n_train} sentences), scored on the EWT-dev "
                 f"held-out split ({n_held} sentences, every 5th document), {args.epochs} epochs, model-last, gold words."
                 + (f" Our overrides: {OVERRIDES}." if OVERRIDES else ""))
        print(setup)
        rows = [majority(train_path, held_path)]
        print(table(rows[-1:]))
        for seed in args.seeds:
            for system in args.systems:
                out = tmp / f"{system}-{seed}"
                if system == "spacy":
                    rows.append(run_spacy(args.peer_python, seed, train_path, held_path, out, args.epochs))
                else:
                    rows.append(run_ours(system, seed, train_path, held_path, out, args.epochs))
                load.append(os.getloadavg())
                print(table(rows[-1:]).splitlines()[-1], flush=True)
        summary = ", ".join(f"{s} {100 * mean_rows(rows, s):.2f}" for s in args.systems if mean_rows(rows, s) is not None)
        loads = ", ".join(f"{x[0]:.1f}" for x in load)
        text = (f"{setup}\n\n{table(rows)}\n\nMean macro F over the seeds: {summary}.\n"
                f"1-minute load average before and after each run: {loads}.\n")
        print("\n" + text)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf8")
        Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=2, default=str), encoding="utf8")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
