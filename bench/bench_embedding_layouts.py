"""Shared vs independent embedding layers: accuracy, speed and size on real data.

Setup (a): tagger (UPOS) + ner trained together on the 2,001 EWT dev sentences
with UNER entities; the last 20% of the sentences are held out for scoring.
Runs the shared and the independent layout for two seeds each.
Setup (b), with --tagger-full: the tagger alone on full EWT train, scored on
EWT dev.

Prints, per run: UPOS accuracy, entity P/R/F, training words/s, inference
words/s (nlp.pipe, batch 256, documents of ~10 sentences) and size on disk.

    python bench/bench_embedding_layouts.py [--epochs 20] [--seeds 0 1] [--tagger-full]
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ewt import DATA, dir_size, need, split_ewt  # noqa: E402  (bench/ewt.py)

import workbench  # noqa: E402
from workbench.commands import build_init_config  # noqa: E402
from workbench.corpora.corpus import Corpus  # noqa: E402
from workbench.training.loop import train  # noqa: E402

OVERRIDES = {}


def inference_wps(nlp, path: Path, n_sents: int = 10, repeats: int = 2) -> float:
    docs = [eg.reference for eg in Corpus(path, n_sents=n_sents)(nlp)]
    texts = [workbench.Doc(nlp.vocab, words=d.words, spaces=d.spaces) for d in docs]
    n_words = sum(len(d) for d in docs)
    list(nlp.pipe(texts[:20], batch_size=256))  # warm up
    best = 0.0
    for _ in range(repeats):
        fresh = [workbench.Doc(nlp.vocab, words=d.words, spaces=d.spaces) for d in docs]
        start = time.perf_counter()
        for _doc in nlp.pipe(fresh, batch_size=256):
            pass
        best = max(best, n_words / (time.perf_counter() - start))
    return best


def run(layout: str, seed: int, train_path: Path, dev_path: Path, out: Path, epochs: int, pipeline, attr: str = "pos") -> dict:
    config = build_init_config(pipeline, shared=layout == "shared")
    config["paths"]["train"] = str(train_path)
    config["paths"]["dev"] = str(dev_path)
    config["system"]["seed"] = seed
    config["training"]["max_epochs"] = epochs
    for key, value in OVERRIDES.items():
        section, _, name = key.rpartition(".")
        node = config
        for part in section.split("."):
            node = node[part]
        node[name] = value
    config["training"]["max_steps"] = 0
    config["training"]["patience"] = 0
    config["training"]["eval_frequency"] = 10 ** 9  # evaluate once, at the end
    if "tagger" in pipeline:
        config["components"]["tagger"]["attr"] = attr
        config["training"]["score_weights"] = {k.replace("tag_acc", f"{attr}_acc"): v for k, v in config["training"]["score_weights"].items()}
    steps = []  # the loop's own words/s: updates only, no initialization or evaluation
    result = train(config, out, subscribers=[lambda e: steps.append(e) if e.kind == "step" else None])
    nlp = workbench.load(out / "model-last")
    scores = nlp.evaluate(list(Corpus(dev_path)(nlp)))
    return {
        "layout": layout, "seed": seed, "steps": result.steps,
        "upos": scores.get(f"{attr}_acc"), "ents_p": scores.get("ents_p"), "ents_r": scores.get("ents_r"), "ents_f": scores.get("ents_f"),
        "train_wps": steps[-1].words_per_second if steps else 0.0,
        "infer_wps": inference_wps(nlp, dev_path),
        "size_mb": dir_size(out / "model-last") / 1e6,
    }


def show(rows):
    print(f"{'layout':<12} {'seed':>4} {'steps':>6} {'UPOS':>6} {'ENT P':>6} {'ENT R':>6} {'ENT F':>6} {'train w/s':>10} {'infer w/s':>10} {'size MB':>8}")
    for r in rows:
        pct = lambda v: f"{100 * v:6.2f}" if v is not None else "     -"
        print(f"{r['layout']:<12} {r['seed']:>4} {r['steps']:>6} {pct(r['upos'])} {pct(r['ents_p'])} {pct(r['ents_r'])} {pct(r['ents_f'])} "
              f"{r['train_wps']:>10,.0f} {r['infer_wps']:>10,.0f} {r['size_mb']:>8.1f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--layouts", nargs="+", default=["shared", "independent"])
    p.add_argument("--tagger-full", action="store_true", help="also: tagger alone on full EWT train, scored on EWT dev")
    p.add_argument("--tagger-epochs", type=int, default=10)
    p.add_argument("--skip-joint", action="store_true", help="skip (a), e.g. to run only --tagger-full")
    p.add_argument("--all-dev", action="store_true", help="also train on all 2,001 sentences, UPOS scored on EWT train text")
    p.add_argument("--json", help="write the rows here")
    p.add_argument("--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="config override, e.g. --set components.ner.model.hidden_width 128")
    args = p.parse_args()
    for key, value in args.set:
        OVERRIDES[key] = json.loads(value)
    tmp = Path(tempfile.mkdtemp(prefix="bench_layouts_"))
    rows = []
    try:
        train_path, dev_path, n_train, n_dev = split_ewt(tmp)
        if not args.skip_joint:
            print(f"(a) tagger + ner on EWT dev with UNER entities: {n_train} sentences to train, {n_dev} held out\n")
        for seed in args.seeds if not args.skip_joint else []:
            for layout in args.layouts:
                rows.append(run(layout, seed, train_path, dev_path, tmp / f"{layout}-{seed}", args.epochs, ["tagger", "ner"]))
                show(rows[-1:])
        if rows:
            print()
            show(rows)
        if args.all_dev:
            print("\n(a2) the same, trained on all 2,001 sentences; UPOS scored on the first 2,000 sentences "
                  "of EWT train (other documents, no entity annotation)")
            full = tmp / "all_dev.jsonl"
            full.write_text((tmp / "ewt_dev_uner.jsonl").read_text(encoding="utf8"), encoding="utf8")
            score_on = tmp / "ewt_train_2000.jsonl"
            train_lines = []
            for eg in Corpus(need(DATA / "ud-ewt" / "en_ewt-ud-train.conllu"), limit=2000)(workbench.blank("en")):
                train_lines.append(json.dumps(eg.reference.to_json()))
            score_on.write_text("\n".join(train_lines) + "\n", encoding="utf8")
            for layout in args.layouts:
                row = run(layout, args.seeds[0], full, score_on, tmp / f"all-{layout}", args.epochs, ["tagger", "ner"])
                row["ents_p"] = row["ents_r"] = row["ents_f"] = None
                rows.append(row)
                show([row])
        if args.tagger_full:
            print("\n(b) tagger alone on full EWT train, scored on EWT dev")
            row = run("shared", args.seeds[0], need(DATA / "ud-ewt" / "en_ewt-ud-train.conllu"),
                      need(DATA / "ud-ewt" / "en_ewt-ud-dev.conllu"), tmp / "tagger-full", args.tagger_epochs, ["tagger"])
            row["layout"] = "tagger-only"
            rows.append(row)
            show([row])
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
