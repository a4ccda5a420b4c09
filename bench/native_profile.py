"""Where the CNN paths spend their time: BLAS against everything else, from native stack samples.

    python bench/native_profile.py DATA.json MODEL_DIR [--rate 250] [--tasks cnn_infer,cnn_train]

Runs `bench/vs_peer_ours.py TASK` under py-spy (`record --native`), keeps the samples taken
inside the timed loop (`timed_pipe` / `timed_updates`), and sorts each one by its innermost
frames: BLAS (an OpenBLAS / MKL / gemm frame anywhere below the Python code), the cyclic
garbage collector, other numpy and thinc kernels (elementwise ops, copies, reductions in a
compiled library), or Python (bytecode, or the interpreter's own C functions). A matrix product written as `a @ b` or
`xp.matmul` is invisible to a Python-level timer; a native sample sees it. The Python and
kernel shares are split by the innermost Python function, so the largest non-BLAS costs
are named. Used by bench_vs_peer.py; needs py-spy (the dev extra) and ptrace rights.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
OURS = ROOT / "bench" / "vs_peer_ours.py"
TIMED = {"cnn_infer": "timed_pipe (", "cnn_train": "timed_updates ("}
BLAS = re.compile(r"openblas|libblas|mkl_|libmkl|gemm|gemv|cblas|exec_blas|blas_thread", re.I)
GC = re.compile(r"gc_collect|collect_generations|gc_collect_main|_PyGC_", re.I)
PYTHON_LIB = re.compile(r"\(libpython|\(python3?[\d.]*\)|\(libc\.so|\(ld-linux")
PY_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:()]+\.py):\d+\)$")


def py_spy() -> Optional[str]:
    return shutil.which("py-spy") or (str(Path(sys.executable).parent / "py-spy")
                                      if (Path(sys.executable).parent / "py-spy").exists() else None)


def classify(stack: List[str]) -> Tuple[str, str]:
    """(kind, innermost Python function) of one sample: kind is "BLAS", "GC" (the cyclic
    garbage collector), "kernels" (numpy / thinc / other compiled code) or "Python"
    (the interpreter: bytecode, or its own C functions)."""
    last_py, last_py_at = "?", -1
    for i, frame in enumerate(stack):
        m = PY_FRAME.match(frame)
        if m:
            last_py, last_py_at = f"{m['func']} ({Path(m['file']).name})", i
    below = stack[last_py_at + 1:]
    if any(BLAS.search(f) for f in below):
        return "BLAS", last_py
    if any(GC.search(f) for f in below):
        return "GC", last_py
    if any(not PYTHON_LIB.search(f) for f in below):
        return "kernels", last_py
    return "Python", last_py


def shares(raw: str, marker: str) -> Dict[str, object]:
    """Sample counts of py-spy's raw (collapsed) output inside the frames under `marker`."""
    kinds: Dict[str, int] = collections.Counter()
    where: Dict[Tuple[str, str], int] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or marker not in stack_text or not count.isdigit():
            continue
        stack = stack_text.split(";")
        kind, func = classify(stack)
        n = int(count)
        kinds[kind] += n
        where[(kind, func)] += n
        total += n
    return {"samples": total, "kinds": dict(kinds), "where": where}


def profile_task(task: str, data: str, model: str, rate: int) -> Optional[Dict[str, object]]:
    exe = py_spy()
    if exe is None:
        print("   py-spy is not installed (pip install py-spy, or the dev extra): BLAS share skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw.txt"
        env = dict(os.environ, PYTHONWARNINGS="ignore", TOKENIZERS_PARALLELISM="false")
        proc = subprocess.run([exe, "record", "--native", "-r", str(rate), "-f", "raw", "-o", str(out), "--",
                               sys.executable, str(OURS), task, data, model], capture_output=True, text=True, env=env)
        if proc.returncode != 0 or not out.exists():
            print(f"   py-spy could not sample {task} (needs ptrace rights): {proc.stderr.strip()[-300:]}")
            return None
        return shares(out.read_text(encoding="utf8"), TIMED[task])


def report(task: str, result: Dict[str, object], top: int = 6) -> None:
    total = max(1, result["samples"])
    kinds = result["kinds"]
    print(f"   {task:<10} {result['samples']:>6} samples   " + "   ".join(
        f"{k} {100 * kinds.get(k, 0) / total:5.1f}%" for k in ("BLAS", "kernels", "GC", "Python")))
    rest = [(kf, n) for kf, n in result["where"].most_common() if kf[0] != "BLAS"][:top]
    for (kind, func), n in rest:
        print(f"      {100 * n / total:5.1f}%  {kind:<7} in {func}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data")
    p.add_argument("model")
    p.add_argument("--rate", type=int, default=250, help="samples per second")
    p.add_argument("--tasks", default="cnn_infer,cnn_train")
    args = p.parse_args()
    for task in args.tasks.split(","):
        result = profile_task(task, args.data, args.model, args.rate)
        if result:
            report(task, result)


if __name__ == "__main__":
    main()
