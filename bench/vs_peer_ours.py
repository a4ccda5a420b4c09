"""Our side of bench_vs_peer.py: run ONE task with the workbench in a fresh process.

    python bench/vs_peer_ours.py TASK DATA.json MODEL_DIR

Tasks: tokenizer, cnn_infer, cnn_train, trf_infer, trf_train (the workloads of
`vs_peer_spacy.py`), and
- trf_profile: trf_train with every stage timed (printed as `breakdown`);
- trf_raw: the same fine-tuning batches as a raw torch step (HF forward over the same
  padded windows, mean-pooled token rows, softmax head, cross-entropy, backward, fused AdamW);
- trf_train_thinc_step: trf_train with the transformer's weights stepped by thinc's
  per-parameter numpy optimizer path, as before workbench.training.torch_update (the
  baseline of bench/bench_torch_step.py);
(bench/native_profile.py samples cnn_infer and cnn_train with py-spy for the BLAS share).
Prints one JSON line.
"""
import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy  # noqa: E402

import workbench  # noqa: E402
from workbench import Doc, Example  # noqa: E402
from workbench.config import parse_config  # noqa: E402

CNN = """
[components.tok2vec]
factory = "tok2vec"

[components.tagger]
factory = "tagger"
attr = "pos"

[components.tagger.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"

[components.ner]
factory = "ner"

[components.ner.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
"""

TRF = """
[components.transformer]
factory = "transformer"
max_batch_items = 4096

[components.transformer.model]
name = "{model}"

[components.transformer.model.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96

[components.transformer.annotation_setter]
@annotation_setters = "workbench.null_annotation_setter.v1"

[components.tagger]
factory = "tagger"
attr = "pos"

[components.tagger.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0

[components.tagger.model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""


def make_docs(nlp, records, gold=True):
    if gold:
        return [Doc(nlp.vocab, words=r["words"], spaces=r["spaces"], pos=r["pos"], tags=r["pos"],
                    ents=[tuple(e) for e in r["ents"]], sent_starts=r.get("sent_starts")) for r in records]
    return [Doc(nlp.vocab, words=r["words"], spaces=r["spaces"], sent_starts=r.get("sent_starts")) for r in records]


def examples(nlp, records):
    return [Example.from_gold(nlp.vocab, d) for d in make_docs(nlp, records)]


def optimizer(lr, averages=False):
    from thinc.api import Adam

    return Adam(learn_rate=lr, L2=0.01, grad_clip=1.0, use_averages=averages)


def train(nlp, data, key, lr, averages=False, on_step=None):
    egs = examples(nlp, data["train"])
    nlp.initialize(lambda: iter(egs))
    sgd = optimizer(lr, averages)
    batches = [[egs[i] for i in b] for b in data[key]]
    nlp.update(batches[0], sgd=sgd, drop=0.1)  # warm up
    steps = batches[1:]
    if on_step:
        on_step("start")
    return sum(len(eg.reference) for b in steps for eg in b), timed_updates(nlp, steps, sgd)


def timed_updates(nlp, batches, sgd) -> float:
    """The timed part of `train` (named, so that native_profile.py can find it in a stack);
    the garbage collector set as the training loop sets it."""
    from workbench.training.loop import long_lived_frozen

    with long_lived_frozen():
        start = time.perf_counter()
        for batch in batches:
            nlp.update(batch, sgd=sgd, drop=0.1)
        return time.perf_counter() - start


def infer(nlp, data, key, batch_size):
    egs = examples(nlp, data["train"][:200])
    nlp.initialize(lambda: iter(egs))
    list(nlp.pipe(make_docs(nlp, data[key][:16], gold=False), batch_size=batch_size))  # warm up
    docs = make_docs(nlp, data[key], gold=False)
    return sum(len(d) for d in docs), timed_pipe(nlp, docs, batch_size)


def timed_pipe(nlp, docs, batch_size) -> float:
    """The timed part of `infer` (named, so that native_profile.py can find it in a stack)."""
    start = time.perf_counter()
    for _ in nlp.pipe(docs, batch_size=batch_size):
        pass
    return time.perf_counter() - start


def system_block():
    """[system] n_threads from $WB_N_THREADS (bench_vs_peer.py --ours-threads), else the default."""
    n = os.environ.get("WB_N_THREADS")
    return f"[system]\nn_threads = {n}\n" if n else ""


def cnn():
    return workbench.Pipeline.from_config(parse_config(system_block() + CNN))


def trf(model_dir):
    return workbench.Pipeline.from_config(parse_config(system_block() + TRF.format(model=model_dir)))


# ------------------------------------------------------------------ profiling


class Clock:
    """Seconds per stage; nested stages are subtracted from the one around them."""

    def __init__(self):
        self.total = defaultdict(float)
        self.stack = []

    def wrap(self, name, func):
        def timed(*args, **kwargs):
            self.stack.append(0.0)
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent = time.perf_counter() - start
                inner = self.stack.pop()
                self.total[name] += spent - inner
                if self.stack:
                    self.stack[-1] += spent
        return timed

    def wrap_with_backprop(self, name, back_name, func):
        """A thinc forward: time it, and the backprop callback it returns."""
        timed = self.wrap(name, func)

        def forward(*args, **kwargs):
            Y, backprop = timed(*args, **kwargs)
            return Y, self.wrap(back_name, backprop)
        return forward


def trf_profile(model_dir, data, averages):
    import torch
    from thinc import optimizers as thinc_optimizers
    from thinc.api import NumpyOps

    import workbench.models.transformer.model as trf_model

    clock = Clock()
    trf_model.plan_windows = clock.wrap("tokenizing + windowing", trf_model.plan_windows)
    trf_model._convert_inputs = clock.wrap("PyTorchWrapper conversions", trf_model._convert_inputs)
    convert_outputs = trf_model._convert_outputs

    def outputs(*args, **kwargs):
        out, backprop = convert_outputs(*args, **kwargs)
        return out, clock.wrap("PyTorchWrapper conversions", backprop)
    trf_model._convert_outputs = clock.wrap("PyTorchWrapper conversions", outputs)
    torch.autograd.backward = clock.wrap("torch backward", torch.autograd.backward)
    import workbench.training.torch_update as torch_update
    from workbench.models.torch_shim import TorchUpdateShim

    call = thinc_optimizers.Optimizer.__call__
    thinc_optimizers.Optimizer.__call__ = clock.wrap("optimizer step", call)  # thinc weights (the tagger's)
    NumpyOps.update_averages = clock.wrap("moving averages", NumpyOps.update_averages)  # thinc's optimizer: get_array_ops
    TorchUpdateShim.finish_update = clock.wrap("optimizer step", TorchUpdateShim.finish_update)  # torch weights
    torch_update._average = clock.wrap("moving averages", torch_update._average)
    torch_update._zero_grads = clock.wrap("gradient zeroing", torch_update._zero_grads)
    nlp = trf(model_dir)
    module = trf_model.hf_model(nlp.get_pipe("transformer").model)
    module.forward = clock.wrap("torch forward", module.forward)
    for node in nlp.get_pipe("tagger").model.walk():
        if node.name == "transformer-listener":
            node._func = clock.wrap_with_backprop("pooling (listener) + its backward", "pooling (listener) + its backward", node._func)
        elif node.name == "softmax" or node.name.startswith("softmax"):
            node._func = clock.wrap_with_backprop("tagger softmax + its backward", "tagger softmax + its backward", node._func)
    tagger = nlp.get_pipe("tagger")
    tagger.get_loss = clock.wrap("tagger loss", tagger.get_loss)
    words, seconds = train(nlp, data, "trf_batches", 0.00005, averages, on_step=lambda _: clock.total.clear())
    parts = dict(clock.total)
    parts["Python overhead (the rest)"] = seconds - sum(parts.values())
    return words, seconds, {k: v / seconds for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}


def trf_raw(model_dir, data):
    """The limit: one raw torch training step over the same padded sub-batches as ours."""
    import torch

    from workbench.allocator import keep_freed_memory
    from workbench.models.transformer.model import hf_model
    from workbench.models.transformer.windows import pack_windows, plan_windows

    keep_freed_memory()  # as our training forward does
    nlp = trf(model_dir)
    egs = examples(nlp, data["train"])
    nlp.initialize(lambda: iter(egs))
    model = nlp.get_pipe("transformer").model
    module = hf_model(model)
    module.train()
    tags = sorted({t for r in data["train"] for t in r["pos"]})
    tag_id = {t: i for i, t in enumerate(tags)}
    head = torch.nn.Linear(module.config.hidden_size, len(tags))
    params = list(module.parameters()) + list(head.parameters())
    adam = torch.optim.AdamW(params, lr=0.00005, weight_decay=0.01, fused=True)  # torch's fastest Adam
    drop = torch.nn.Dropout(0.1)

    def prepare(batch):
        docs = [egs[i].predicted for i in batch]
        spans = model.attrs["get_spans"](docs)
        windows, _ = plan_windows(docs, spans, model.attrs["tokenizer"], model.attrs["max_length"])
        lengths = numpy.asarray([len(w.ids) for w in windows])
        subs = []
        for g in pack_windows(lengths, model.attrs["max_batch_items"], model.attrs["max_padding"]):
            L = int(lengths[g].max())
            ids = numpy.zeros((len(g), L), dtype="int64")
            mask = numpy.zeros((len(g), L), dtype="int64")
            rows, row_tok, gold = [], [], []
            for r, k in enumerate(g):
                w = windows[k]
                ids[r, :lengths[k]] = w.ids
                mask[r, :lengths[k]] = 1
                rows.append(r * L + w.positions)  # flat rows of (n, L) of each aligned piece
                toks, local = numpy.unique(w.tokens, return_inverse=True)
                row_tok.append(local + len(gold))  # the token (of this sub-batch) each piece pools into
                ref = egs[batch[w.doc]].reference
                gold.extend(tag_id[ref.pos[t]] for t in toks)
            subs.append((torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(numpy.concatenate(rows)),
                         torch.from_numpy(numpy.concatenate(row_tok)), torch.tensor(gold)))
        return subs

    def step(subs):
        for ids, mask, rows, row_tok, gold in subs:
            hidden = module(input_ids=ids, attention_mask=mask).last_hidden_state  # (n, L, width)
            flat = hidden.reshape(-1, hidden.shape[-1])[rows]  # (n_aligned, width)
            n_tok = len(gold)
            summed = torch.zeros(n_tok, flat.shape[1]).index_add_(0, row_tok, flat)
            counts = torch.bincount(row_tok, minlength=n_tok).clamp(min=1).unsqueeze(1)
            loss = torch.nn.functional.cross_entropy(head(drop(summed / counts)), gold, reduction="sum")
            loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        adam.step()
        adam.zero_grad(set_to_none=True)

    batches = data["trf_batches"]
    step(prepare(batches[0]))  # warm up
    prepared = [prepare(b) for b in batches[1:]]  # windows made outside the timed loop
    start = time.perf_counter()
    for subs in prepared:
        step(subs)
    seconds = time.perf_counter() - start
    words = sum(len(egs[i].reference) for b in batches[1:] for i in b)
    return words, seconds


def main():
    task, data_path, model_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    data = json.load(open(data_path, encoding="utf8"))
    extra = {}
    if task == "tokenizer":
        nlp = workbench.blank("en")
        texts = data["texts"]
        for t in texts[:50]:
            nlp.make_doc(t)
        start = time.perf_counter()
        words = sum(len(nlp.make_doc(t)) for t in texts)
        seconds = time.perf_counter() - start
    elif task == "cnn_infer":
        words, seconds = infer(cnn(), data, "docs", 256)
    elif task == "cnn_train":
        words, seconds = train(cnn(), data, "cnn_batches", 0.001)
    elif task == "trf_infer":
        words, seconds = infer(trf(model_dir), data, "trf_docs", 64)
    elif task == "trf_train":
        words, seconds = train(trf(model_dir), data, "trf_batches", 0.00005)
    elif task == "trf_train_thinc_step":
        from thinc.api import PyTorchShim

        from workbench.models.torch_shim import TorchUpdateShim

        TorchUpdateShim.finish_update = PyTorchShim.finish_update
        words, seconds = train(trf(model_dir), data, "trf_batches", 0.00005)
    elif task in ("trf_profile", "trf_profile_avg"):
        words, seconds, extra["breakdown"] = trf_profile(model_dir, data, averages=task.endswith("_avg"))
    elif task == "trf_raw":
        words, seconds = trf_raw(model_dir, data)
    else:
        raise SystemExit(f"unknown task {task!r}")
    import torch

    from workbench.threads import pool_sizes

    print(json.dumps({
        "task": task, "words": words, "seconds": seconds, "wps": words / seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "load": os.getloadavg(),
        "pools": pool_sizes(), "versions": {"torch": torch.__version__}, **extra,
    }))


if __name__ == "__main__":
    main()
