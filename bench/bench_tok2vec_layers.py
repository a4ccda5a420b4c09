"""Words/second of the default tok2vec (and a tagger on top), forward and forward+backward.

    .venv/bin/python bench/bench_tok2vec_layers.py [--words 5000] [--repeats 10]

Docs are the `# text =` lines of the UD EWT dev set, split on spaces.
"""
import argparse
import time
from pathlib import Path
from typing import Callable, List

import numpy
from thinc.api import fix_random_seed

from workbench.models import FeatureIds, MaxoutWindowEncoder, MultiHashEmbed, Tagger, Tok2Vec
from workbench.text import Doc, Vocab

EWT_DEV = Path("/work/shared/data/ud-ewt/en_ewt-ud-dev.conllu")


def load_docs(vocab: Vocab, n_words: int, path: Path = EWT_DEV) -> List[Doc]:
    docs, total = [], 0
    with path.open(encoding="utf8") as file_:
        for line in file_:
            if line.startswith("# text ="):
                words = line[len("# text =") :].split()
                if words:
                    docs.append(Doc(vocab, words))
                    total += len(words)
                    if total >= n_words:
                        break
    return docs


def words_per_second(func: Callable[[], object], n_words: int, repeats: int) -> float:
    func()  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return n_words / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    fix_random_seed(0)
    vocab = Vocab()
    docs = load_docs(vocab, args.words)
    n_words = sum(len(doc) for doc in docs)
    print(f"batch: {len(docs)} docs, {n_words} words (EWT dev, split on spaces)")

    tok2vec = Tok2Vec(MultiHashEmbed(), MaxoutWindowEncoder())  # width 96, depth 4
    tok2vec.initialize()
    tagger = Tagger(Tok2Vec(MultiHashEmbed(), MaxoutWindowEncoder()), nO=50)
    tagger.initialize()

    def train_step(model):
        def run():
            Ys, backprop = model.begin_update(docs)
            backprop([numpy.ones_like(y) for y in Ys])

        return run

    featurize = FeatureIds(["NORM", "PREFIX", "SUFFIX", "SHAPE"])
    embed, encode = tok2vec.get_ref("embed"), tok2vec.get_ref("encode")
    embedded = embed.predict(docs)
    rows = [
        ("featurize (doc -> ids, rows cached)", lambda: featurize.predict(docs)),
        ("embed predict", lambda: embed.predict(docs)),
        ("encode predict", lambda: encode.predict(embedded)),
        ("tok2vec predict", lambda: tok2vec.predict(docs)),
        ("tok2vec forward+backward", train_step(tok2vec)),
        ("tok2vec+tagger(50) predict", lambda: tagger.predict(docs)),
        ("tok2vec+tagger(50) forward+backward", train_step(tagger)),
    ]
    for name, func in rows:
        wps = words_per_second(func, n_words, args.repeats)
        print(f"{name:<40} {wps:>12,.0f} words/s")


if __name__ == "__main__":
    main()
