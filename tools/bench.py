"""Measure what the course promises: each notebook's execution time and peak memory, and the generator's speed.

    python tools/bench.py            # every notebook + generator; prints a table and writes build/bench.md

Each notebook runs in a fresh process with the test kernels' environment; its kernel's peak resident
memory is read from getrusage(RUSAGE_CHILDREN) once the kernel has exited. Budgets (CONVENTIONS §4):
20 s and 1 GiB per notebook on 2 cores.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.notebooks import apply_kernel_env, execute, notebook_paths  # noqa: E402


def one(path: str) -> None:
    apply_kernel_env()
    _, seconds = execute(Path(path))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib}))


def generator_seconds(n: int = 1_000_000, repeat: int = 3) -> float:
    from mlsys_course.datasets import make_transactions

    best = float("inf")
    for seed in range(repeat):
        start = time.perf_counter()
        make_transactions(n, random_state=seed)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        return one(sys.argv[2])
    rows = []
    for path in notebook_paths():
        out = subprocess.run([sys.executable, __file__, "--one", str(path)], check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append((path.name, result["seconds"], result["peak_mib"]))
        print(f"{path.name:45s} {result['seconds']:6.1f} s {result['peak_mib']:7.0f} MiB", flush=True)
    gen = generator_seconds()
    lines = ["| notebook | execution (s) | kernel peak memory (MiB) |", "|---|---:|---:|"]
    lines += [f"| {name} | {s:.1f} | {m:.0f} |" for name, s, m in rows]
    lines += ["", f"make_transactions(1_000_000): {gen:.2f} s (best of 3 seeds)"]
    print(lines[-1])
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "bench.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
