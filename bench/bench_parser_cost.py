"""The parser's inference cost per word against the NER's, on the same docs.

One shared tok2vec feeds both (a tagger-free tok2vec,parser,ner pipeline trained
briefly on the EWT dev split with UNER entities); the tok2vec runs once, and then
`parser.pipe` and `ner.pipe` run alternately over the same docs (~10 sentences each,
batch 256), which read the stored tok2vec output. Prints microseconds per word for
each (best of --repeats), the tok2vec's own cost for scale, and the ratio.
Goal: parser within 2x of the NER. Then, for information, the training cost of each
head per word (nlp.update with gradients only, one head learning at a time, minus the
update with neither head).

    python bench/bench_parser_cost.py [--steps 60] [--repeats 5] [--set hidden_width 128 --set maxout_pieces 3]

--set changes the parser's model settings (the default, default_configs/parser.cfg: hidden_width 64,
maxout_pieces 2). At width 64 the lower layer's projection of every token for each of the 8 slots
(96 x 8 * 64 * 2 multiply-adds per token, one GEMM per chunk of docs) is most of the parser's cost:
~2.5 us/word on one core in float32, ~1.3 in bfloat16. The decode kernel adds ~1.2. With the thread
plan's 2 threads, two workers each take whole chunks (product and decode), so both cores work on
both; the NER's product uses both BLAS threads. The last lines repeat the timing under a one-thread
plan (what a busy machine gets), where the parser's product runs on one core.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ewt import DATA, need  # noqa: E402  (bench/ewt.py)

import workbench  # noqa: E402
from workbench import threads  # noqa: E402
from workbench.commands import build_init_config  # noqa: E402
from workbench.corpora.convert import convert  # noqa: E402
from workbench.corpora.corpus import Corpus  # noqa: E402
from workbench.models.low_precision import bf16_native  # noqa: E402


def timed(fn, docs, n_words: int, repeats: int) -> float:
    """Best microseconds per word of fn(docs) over `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(docs)
        best = min(best, time.perf_counter() - start)
    return 1e6 * best / n_words


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=60, help="training updates before timing (batch 32 docs)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="a parser model setting, e.g. --set hidden_width 64")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        merged = Path(tmp) / "dev.jsonl"
        convert([need(DATA / "ud-ewt" / "en_ewt-ud-dev.conllu"), need(DATA / "uner-ewt" / "en_ewt-ud-dev.iob2")],
                merged, merge=True, n_sents=10)
        config = build_init_config(["parser", "ner"], shared=True)
        for key, value in args.set:
            config["components"]["parser"]["model"][key] = int(value)
        nlp = workbench.Pipeline.from_config(config)
        examples = list(Corpus(merged)(nlp))
    nlp.initialize(lambda: iter(examples))
    from thinc.api import Adam

    sgd = Adam(0.001)
    for k in range(args.steps):
        batch = [examples[(k * 32 + j) % len(examples)] for j in range(32)]
        nlp.update(batch, sgd=sgd)
    docs = [workbench.Doc(nlp.vocab, words=eg.reference.words, spaces=eg.reference.spaces) for eg in examples]
    n_words = sum(len(d) for d in docs)
    tok2vec, parser, ner = (nlp.get_pipe(n) for n in ("tok2vec", "parser", "ner"))
    run = lambda comp: (lambda ds: list(comp.pipe(ds, batch_size=256)))  # noqa: E731
    list(tok2vec.pipe(docs, batch_size=256))  # stores the output the listeners read
    run(parser)(docs[:20]), run(ner)(docs[:20])  # warm up
    # the same trained heads with float32 and, where the CPU has native bfloat16, mixed precision
    modes = [False] + ([True] if bf16_native() else [])
    costs = {(name, mixed): [] for name in ("parser", "ner") for mixed in modes}
    costs[("tok2vec", False)] = []
    parses = {}
    for _ in range(2):  # interleaved, so load changes hit all
        for (name, mixed) in costs:
            comp = nlp.get_pipe(name)
            comp.model.attrs["mixed_precision"] = mixed
            costs[(name, mixed)].append(timed(run(comp), docs, n_words, args.repeats))
            if name == "parser":
                parses[mixed] = [(t.head.i, t.dep_) for d in run(comp)(docs) for t in d]
    best = {k: min(v) for k, v in costs.items()}
    ratio = best[("parser", False)] / best[("ner", False)]
    print(f"{len(docs)} docs, {n_words} words (EWT dev, ~10 sentences per doc), batch 256; "
          f"{len(parser.labels)} dependency labels, {len(ner.labels)} entity labels; load {os.getloadavg()}; "
          f"thread plan {threads.pool_sizes()}")
    model = config["components"]["parser"]["model"]
    print(f"parser: hidden_width {model['hidden_width']}, maxout_pieces {model['maxout_pieces']}; "
          f"ner: hidden_width {config['components']['ner']['model']['hidden_width']}, "
          f"maxout_pieces {config['components']['ner']['model']['maxout_pieces']}")
    print(f"{'component':<10} {'precision':<10} {'us/word':>8} {'words/s':>10}")
    for (name, mixed), cost in best.items():
        print(f"{name:<10} {'mixed' if mixed else 'float32':<10} {cost:>8.1f} {1e6 / cost:>10,.0f}")
    print(f"parser / ner cost per word: {ratio:.2f}x (goal: <= 2x) -> {'MET' if ratio <= 2 else 'NOT MET'}")
    if True in modes:
        same = sum(a == b for a, b in zip(parses[False], parses[True])) / n_words
        print(f"with mixed_precision = true on both: parser / ner {best[('parser', True)] / best[('ner', True)]:.2f}x; "
              f"parser {best[('parser', False)] / best[('parser', True)]:.2f}x faster than float32, ner "
              f"{best[('ner', False)] / best[('ner', True)]:.2f}x; same head and label as float32 for {100 * same:.2f}% of words")
    else:
        print("mixed precision not measured: this CPU has no native bfloat16 products")
    parser.model.attrs["mixed_precision"] = ner.model.attrs["mixed_precision"] = False
    plan = threads.pool_sizes()
    threads.apply_thread_policy(1, uses_torch=False)  # as on a busy machine
    one = {name: min(timed(run(nlp.get_pipe(name)), docs, n_words, args.repeats) for _ in range(2))
           for name in ("parser", "ner")}
    print(f"one-thread plan (float32): parser {one['parser']:.1f}, ner {one['ner']:.1f} us/word, "
          f"parser / ner {one['parser'] / one['ner']:.2f}x")
    threads.apply_thread_policy(max(plan["blas"], plan["torch"]), uses_torch=False)
    # Training (no goal): nlp.update (gradients only, sgd=None) with one head learning at a time,
    # and with neither (the shared tok2vec's own share); a head's cost is its update minus that.
    train_docs = examples[:len(examples) // 2]
    n_train = sum(len(eg.reference) for eg in train_docs)
    batches = [train_docs[i:i + 32] for i in range(0, len(train_docs), 32)]
    update = lambda exclude: (lambda _: [nlp.update(b, exclude=exclude) for b in batches])  # noqa: E731
    layouts = {"tok2vec": ["parser", "ner"], "parser": ["ner"], "ner": ["parser"]}
    update(["ner"])(None), update(["parser"])(None)  # warm up
    train_costs = {k: [] for k in layouts}
    for _ in range(2):
        for name, exclude in layouts.items():
            train_costs[name].append(timed(update(exclude), None, n_train, max(1, args.repeats // 2)))
    tb = {k: min(v) for k, v in train_costs.items()}
    heads = {k: max(tb[k] - tb["tok2vec"], 1e-9) for k in ("parser", "ner")}
    print(f"training, {n_train} words in batches of 32 docs (nlp.update, gradients only):")
    print(f"{'learning':<16} {'us/word':>8} {'head us/word':>13}")
    print(f"{'tok2vec only':<16} {tb['tok2vec']:>8.1f} {'':>13}")
    for name in ("parser", "ner"):
        print(f"{'tok2vec + ' + name:<16} {tb[name]:>8.1f} {heads[name]:>13.1f}")
    print(f"parser / ner head training cost per word: {heads['parser'] / heads['ner']:.2f}x (no goal)")


if __name__ == "__main__":
    main()
