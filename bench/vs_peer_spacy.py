"""The peer side of bench_vs_peer.py: run ONE task with spaCy 3.8 / spacy-transformers 1.4.

Executed by the peer's interpreter (a scratch venv outside the repository, not by the
workbench): `PEER_PYTHON bench/vs_peer_spacy.py TASK DATA.json MODEL_DIR`. Prints one JSON
line: words, seconds, words/s, peak RSS, load averages, versions. The workload (docs,
batches, windows, optimizer) is the one `vs_peer_ours.py` runs.
"""
import json
import os
import resource
import sys
import time

import numpy
import spacy
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam


def docs_from(nlp, records, gold=True):
    out = []
    for r in records:
        doc = Doc(nlp.vocab, words=r["words"], spaces=r["spaces"], sent_starts=r.get("sent_starts"))
        if gold:
            doc = Doc(nlp.vocab, words=r["words"], spaces=r["spaces"], tags=r["pos"],
                      ents=r["iob"], sent_starts=r.get("sent_starts"))
        out.append(doc)
    return out


def cnn_pipeline():
    from spacy.cli.init_config import init_config

    config = init_config(lang="en", pipeline=["tagger", "ner"], optimize="efficiency")
    return spacy.util.load_model_from_config(config, auto_fill=True)


def trf_pipeline(model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("transformer", config={
        "max_batch_items": 4096,
        "model": {"@architectures": "spacy-transformers.TransformerModel.v3", "name": model_dir,
                  "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
                  "tokenizer_config": {"use_fast": True}, "mixed_precision": False},
        "set_extra_annotations": {"@annotation_setters": "spacy-transformers.null_annotation_setter.v1"},
    })
    nlp.add_pipe("tagger", config={"model": {"@architectures": "spacy.Tagger.v2", "tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0,
        "pooling": {"@layers": "reduce_mean.v1"}}}})
    return nlp


def examples(nlp, records):
    return [Example(Doc(nlp.vocab, words=r["words"], spaces=r["spaces"]), g) for r, g in zip(records, docs_from(nlp, records))]


def train(nlp, data, key, lr):
    train_recs = data["train"]
    egs = examples(nlp, train_recs)
    nlp.initialize(lambda: iter(egs))
    sgd = Adam(learn_rate=lr, L2=0.01, grad_clip=1.0, use_averages=False)
    batches = [[egs[i] for i in b] for b in data[key]]
    nlp.update(batches[0], sgd=sgd, drop=0.1)  # warm up
    steps = batches[1:]
    start = time.perf_counter()
    for batch in steps:
        nlp.update(batch, sgd=sgd, drop=0.1)
    seconds = time.perf_counter() - start
    return sum(len(eg.reference) for b in steps for eg in b), seconds


def infer(nlp, data, key, batch_size):
    recs = data[key]
    egs = examples(nlp, data["train"][:200])
    nlp.initialize(lambda: iter(egs))
    list(nlp.pipe(docs_from(nlp, recs[:16], gold=False), batch_size=batch_size))  # warm up
    docs = docs_from(nlp, recs, gold=False)
    start = time.perf_counter()
    for _ in nlp.pipe(docs, batch_size=batch_size):
        pass
    return sum(len(d) for d in docs), time.perf_counter() - start


def main():
    task, data_path, model_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    data = json.load(open(data_path, encoding="utf8"))
    if task == "tokenizer":
        nlp = spacy.blank("en")
        texts = data["texts"]
        list(nlp.tokenizer.pipe(texts[:50]))
        start = time.perf_counter()
        words = sum(len(nlp.tokenizer(t)) for t in texts)
        words, seconds = words, time.perf_counter() - start
    elif task == "cnn_infer":
        words, seconds = infer(cnn_pipeline(), data, "docs", 256)
    elif task == "cnn_train":
        words, seconds = train(cnn_pipeline(), data, "cnn_batches", 0.001)
    elif task == "trf_infer":
        words, seconds = infer(trf_pipeline(model_dir), data, "trf_docs", 64)
    elif task == "trf_train":
        words, seconds = train(trf_pipeline(model_dir), data, "trf_batches", 0.00005)
    else:
        raise SystemExit(f"unknown task {task!r}")
    from importlib.metadata import version

    import torch

    print(json.dumps({
        "task": task, "words": words, "seconds": seconds, "wps": words / seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "load": os.getloadavg(),
        "torch_threads": torch.get_num_threads(),
        "versions": {"spacy": spacy.__version__, "spacy-transformers": version("spacy-transformers"),
                     "thinc": __import__("thinc").__version__, "torch": torch.__version__,
                     "transformers": __import__("transformers").__version__, "numpy": numpy.__version__},
    }))


if __name__ == "__main__":
    main()
