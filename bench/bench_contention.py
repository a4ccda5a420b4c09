"""The busy neighbour for bench_vs_peer.py: a fixed numpy matmul loop that keeps cores busy.

    python bench/bench_contention.py [--threads 1] [--size 384]

Runs until terminated (SIGTERM / SIGINT), then prints the matmuls per second it did,
so a run shows how much the neighbour got done while the benchmark ran beside it.
"""
import argparse
import json
import signal
import time

import numpy
from threadpoolctl import threadpool_limits


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1, help="BLAS threads of the busy loop")
    p.add_argument("--size", type=int, default=384)
    args = p.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    a = numpy.random.default_rng(0).random((args.size, args.size), dtype=numpy.float32)
    b = a.copy()
    n, start = 0, time.perf_counter()
    print("busy", flush=True)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        while not stop:
            b = a @ b
            b /= numpy.abs(b).max()  # keeps the values finite
            n += 1
    print(json.dumps({"matmuls_per_s": n / (time.perf_counter() - start), "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
