"""Words/second of the NER head alone: greedy decoding and a training step.

    .venv/bin/python bench/bench_ner_model.py [--docs 256] [--words 180] [--width 96] [--repeats 7]

The tok2vec is replaced by a layer that returns fixed random (n_tokens, width)
arrays, so the figures are the cost of the NER model on top of any embedding.
Docs have ~`--words` tokens (uniform +-30), gold entities cover ~20% of tokens.
Two settings: the spec's (hidden 128, 3 pieces, no upper layer) and the defaults.
With --ewt it also times the engine's default Tok2Vec alone and Tok2Vec + NER
(spec settings) on the UD EWT dev texts, to show the NER's share.
"""
import argparse
import time
from typing import Callable, List

import numpy
from thinc.api import Adam, Model, fix_random_seed

from workbench.models.parser import (
    TransitionBasedParser,
    get_ner_moves,
    initialize_ner,
    update_ner,
)

LABELS = ["PER", "ORG", "LOC", "MISC"]
SETTINGS = {
    "spec (h128 p3 no-upper)": dict(hidden_width=128, maxout_pieces=3, use_upper=False),
    "defaults (h64 p2 upper)": dict(),
}


def ArrayTok2Vec(width: int) -> Model:
    """'Docs' are already (n_tokens, width) arrays; gradients are dropped."""
    return Model("array_tok2vec", lambda m, Xs, is_train: (list(Xs), lambda d: []), dims={"nO": width})


def random_golds(rng, moves, docs) -> List[numpy.ndarray]:
    golds = []
    for x in docs:
        n, spans, i = len(x), [], 0
        while i < n:
            if rng.random() < 0.1:
                size = int(rng.integers(1, 4))
                if i + size <= n:
                    spans.append((i, i + size, LABELS[int(rng.integers(len(LABELS)))]))
                i += size + 1
            else:
                i += 1
        golds.append(moves.spans_to_actions(n, spans))
    return golds


def best_and_median(func: Callable[[], object], repeats: int):
    func()  # warm-up: first-touch memory, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times), float(numpy.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=256)
    parser.add_argument("--words", type=int, default=180)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--ewt", type=int, default=0, help="also bench with a real Tok2Vec on this many EWT words")
    args = parser.parse_args()
    rng = numpy.random.default_rng(0)
    lengths = rng.integers(args.words - 30, args.words + 31, size=args.docs)
    docs = [rng.standard_normal((int(n), args.width)).astype("float32") for n in lengths]
    n_words = int(lengths.sum())
    print(f"batch: {args.docs} docs, {n_words} words, width {args.width}, {len(LABELS)} labels")
    for name, kwargs in SETTINGS.items():
        fix_random_seed(0)
        model = TransitionBasedParser(ArrayTok2Vec(args.width), **kwargs)
        initialize_ner(model, LABELS)
        golds = random_golds(rng, get_ner_moves(model), docs)
        optimizer = Adam(0.001)
        for _ in range(3):  # a few steps so the upper layer is no longer all zeros
            update_ner(model, docs, golds)
            model.finish_update(optimizer)
        p_best, p_med = best_and_median(lambda: model.predict(docs), args.repeats)
        t_best, t_med = best_and_median(lambda: update_ner(model, docs, golds), args.repeats)
        n_ents = sum(len(e) for e in model.predict(docs))
        print(
            f"{name:26s} predict {n_words / p_best:>10,.0f} words/s (median {n_words / p_med:,.0f})"
            f" | train fwd+bwd {n_words / t_best:>10,.0f} words/s (median {n_words / t_med:,.0f})"
            f" | {n_ents} entities predicted"
        )
    if args.ewt:
        bench_with_tok2vec(args.ewt, args.repeats)


def bench_with_tok2vec(n_words: int, repeats: int) -> None:
    """Default Tok2Vec alone vs Tok2Vec + NER on real docs (NER owns its tok2vec)."""
    from bench_tok2vec_layers import load_docs  # same folder

    from workbench.models import MaxoutWindowEncoder, MultiHashEmbed, Tok2Vec
    from workbench.text import Vocab

    fix_random_seed(0)
    docs = load_docs(Vocab(), n_words)
    n_words = sum(len(doc) for doc in docs)
    tok2vec = Tok2Vec(MultiHashEmbed(), MaxoutWindowEncoder())
    model = TransitionBasedParser(tok2vec, **SETTINGS["spec (h128 p3 no-upper)"])
    initialize_ner(model, LABELS, X=docs[:10])
    rng = numpy.random.default_rng(0)
    golds = random_golds(rng, get_ner_moves(model), [numpy.zeros((len(d), 1)) for d in docs])
    print(f"EWT dev: {len(docs)} docs, {n_words} words")
    for name, func in [
        ("tok2vec predict", lambda: tok2vec.predict(docs)),
        ("tok2vec + ner predict", lambda: model.predict(docs)),
        ("tok2vec fwd+bwd", lambda: _tok2vec_step(tok2vec, docs)),
        ("tok2vec + ner fwd+bwd", lambda: update_ner(model, docs, golds)),
    ]:
        best, med = best_and_median(func, repeats)
        print(f"{name:26s} {n_words / best:>10,.0f} words/s (median {n_words / med:,.0f})")


def _tok2vec_step(tok2vec: Model, docs) -> None:
    Ys, backprop = tok2vec.begin_update(docs)
    backprop([y * 0.001 for y in Ys])


if __name__ == "__main__":
    main()
