"""Reservoir sampling of k items from a long stream: Algorithm R (one draw per item) vs Algorithm L (skips).

    .venv/bin/python tools/bench_sampling.py                  # k = 1,000 from 10,000,000 items
    .venv/bin/python tools/bench_sampling.py --n 1000000 --repeat 5

Both algorithms are pure Python and read the stream once; the stream is either ``range(n)`` (items
produced in C) or a Python generator (what a real stream of parsed records costs per item: on it,
L's time is mostly the generator's own). ``reservoir_sample_chunks`` runs Algorithm L on a stream
of numpy batches (arange chunks; making them is included in the time). The last row is not a
stream sampler: ``numpy.random.Generator.choice`` on positions, for data already in memory. Each time is the best of ``--repeat`` runs (R: one run, it is
the slow one). Wall-clock times vary from machine to machine; the speed-ups are the result.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from mlsys_course.lab.timing import best_time  # noqa: E402
from mlsys_course.sampling import reservoir_sample_chunks, reservoir_sample_l, reservoir_sample_r  # noqa: E402


def best_of(repeat: int, run) -> float:
    """The fastest of ``repeat`` runs, each with its own seed."""
    seeds = iter(range(repeat))
    return best_time(lambda: run(next(seeds)), repeat=repeat)[0]


def generator(n: int):
    return (i for i in range(n))


def chunks(n: int, size: int):
    return (np.arange(start, min(start + size, n)) for start in range(0, n, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="stream length")
    parser.add_argument("--k", type=int, default=1_000, help="reservoir size")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast variants (best taken)")
    args = parser.parse_args()
    n, k = args.n, args.k

    rows = []
    for source, make in [("range(n)", range), ("generator", generator)]:
        r = best_of(1, lambda seed: reservoir_sample_r(make(n), k, random_state=seed))
        l_ = best_of(args.repeat, lambda seed: reservoir_sample_l(make(n), k, random_state=seed))
        rows += [("Algorithm R (pure Python)", source, r, r), ("Algorithm L (pure Python)", source, l_, r)]
    for size in (1_000, 100_000):
        chunked = best_of(args.repeat, lambda seed: reservoir_sample_chunks(chunks(n, size), k, random_state=seed))
        rows.append(("Algorithm L over chunks", f"arrays of {size:,} rows", chunked, rows[0][2]))
    rng = np.random.default_rng(0)
    choice = best_of(args.repeat, lambda seed: rng.choice(n, size=k, replace=False))
    rows.append(("numpy Generator.choice", "array (not a stream)", choice, rows[0][2]))

    print(f"Reservoir sampling, k = {k:,} from n = {n:,} items (Python {sys.version.split()[0]}, numpy {np.__version__})")
    print(f"Random draws: R makes n - k = {n - k:,}; L about 3 k (1 + ln(n/k)) = {3 * k * (1 + math.log(n / k)):,.0f}")
    print()
    print(f"{'method':28s} {'input':24s} {'seconds':>9s} {'speed-up vs R':>14s}")
    for method, source, seconds, baseline in rows:
        print(f"{method:28s} {source:24s} {seconds:9.4f} {baseline / seconds:13.1f}x")
    print("(speed-up vs R on the same input; for the chunks and numpy, vs R on range(n))")
    stream_cost = best_of(args.repeat, lambda seed: deque(generator(n), maxlen=0))
    print(f"Reading the generator once, without sampling, takes {stream_cost:.3f} s: a floor for any stream sampler.")


if __name__ == "__main__":
    main()
