"""The peer side of bench_textcat_vs_peer.py: spaCy 3.8's textcat on the same data.

Executed by the peer's interpreter (a scratch venv outside the repository, not by the
workbench):

    PEER_PYTHON bench/textcat_peer_spacy.py TRAIN.jsonl HELDOUT.jsonl WORK_DIR SEED EPOCHS

The JSONL files are the benchmark's own (one doc per line: words, spaces, cats). Builds
DocBins with the gold words, writes `spacy init config -p textcat -o efficiency`, trains
it for EPOCHS epochs (model-last), predicts the held-out docs from their gold words and
prints one JSON line: the predicted cats per held-out doc, training seconds (wall and
CPU), words trained on, the config's model architecture and the versions.
"""
import json
import resource
import sys
import time
from pathlib import Path

import spacy
from spacy.cli.init_config import init_config
from spacy.cli.train import train
from spacy.tokens import Doc, DocBin


def read(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf8").splitlines() if line.strip()]


def to_docbin(nlp, records, path):
    db = DocBin(store_user_data=False)
    for r in records:
        doc = Doc(nlp.vocab, words=r["words"], spaces=r.get("spaces"))
        doc.cats = dict(r["cats"])
        db.add(doc)
    db.to_disk(path)


def main():
    train_path, held_path, work, seed, epochs = sys.argv[1:6]
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    nlp = spacy.blank("en")
    train_recs, held_recs = read(train_path), read(held_path)
    to_docbin(nlp, train_recs, work / "train.spacy")
    to_docbin(nlp, held_recs, work / "heldout.spacy")
    config = init_config(lang="en", pipeline=["textcat"], optimize="efficiency")
    config_path = work / "config.cfg"
    config.to_disk(config_path)
    overrides = {"paths.train": str(work / "train.spacy"), "paths.dev": str(work / "heldout.spacy"),
                 "training.max_epochs": int(epochs), "training.max_steps": 0, "system.seed": int(seed),
                 "training.eval_frequency": 10 ** 8, "training.patience": 0}
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    train(config_path, work / "model", overrides=overrides)
    seconds = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    trained = spacy.load(work / "model" / "model-last")
    docs = [Doc(trained.vocab, words=r["words"], spaces=r.get("spaces")) for r in held_recs]
    cats = [dict(d.cats) for d in trained.pipe(docs)]
    print(json.dumps({
        "cats": cats, "train_seconds": seconds,
        "train_cpu_seconds": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        "train_words": sum(len(r["words"]) for r in train_recs) * int(epochs),
        "architecture": config["components"]["textcat"]["model"]["@architectures"],
        "versions": {"spacy": spacy.__version__},
    }))


if __name__ == "__main__":
    main()
