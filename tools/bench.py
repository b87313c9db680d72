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


def data_engineering(n: int = 200_000) -> list[str]:
    """Chapter 3's measurements on n case-study rows: formats, engines, the scan crossover, dataflow modes."""
    import tempfile

    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    from mlsys_course.datasets import make_transactions
    from mlsys_course.features import transaction_features
    from mlsys_course.lab.ch03 import (FORMATS, database_roundtrip, engine_benchmark, format_benchmark, machine,
                                       ratio_bucket, run_pubsub, run_queue, scan_scaling)
    from mlsys_course.serving import request_latencies, serve_model

    world = make_transactions(n, random_state=0)
    out = [f"", f"Chapter 3 on make_transactions({n:_}, random_state=0), measured on {machine()}:", ""]
    with tempfile.TemporaryDirectory() as folder:
        formats = format_benchmark(world, folder, FORMATS, columns=["amount", "is_fraud"], repeat=3)
        engines = engine_benchmark(world, folder)
        scaling = scan_scaling(world, folder)
        _, handoff_ms = database_roundtrip(world[["transaction_id", "user_id", "amount", "is_fraud"]].head(10_000), folder)
    out += [formats.round(4).to_string(index=False), ""]
    read = formats.set_index("format")["read_columns_s"]
    out += ["read two columns, fastest first: " + " < ".join(read.sort_values().index)
            + f"; Parquet vs CSV: {ratio_bucket(read['csv'] / read['parquet'])} faster", ""]
    per_op = engines.pivot(index="workload", columns="engine", values="per_op_ms")
    out += [per_op.round(4).to_string(), ""]
    out += [f"point lookup: SQLite {ratio_bucket(per_op.loc['point lookup', 'duckdb'] / per_op.loc['point lookup', 'sqlite'])} faster; "
            f"scan + GROUP BY: DuckDB {ratio_bucket(per_op.loc['scan + group by', 'sqlite'] / per_op.loc['scan + group by', 'duckdb'])} faster", ""]
    wide = scaling.pivot(index="rows", columns="engine", values="seconds")
    wins = wide.index[wide["duckdb"] < wide["sqlite"]]
    out += [(wide * 1000).round(3).to_string(), "", f"DuckDB's scan is faster from {wins.min():,} rows on" if len(wins) else "", ""]
    out += ["database hand-off of 10,000 rows (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in handoff_ms.items())]
    X = transaction_features(world)
    model = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X[:20_000], world["is_fraud"][:20_000])
    with serve_model(model) as service:
        ms = request_latencies(service.url, X.iloc[20_000:20_500], n_requests=500)
    out += [f"service, 500 one-row requests: p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms"]
    for name, delivery in [("pub-sub, 2 subscribers", run_pubsub(20_000, 2)), ("queue, 2 workers", run_queue(20_000, 2))]:
        out += [f"{name}: {delivery.messages_per_second:,.0f} messages/s (20,000 messages)"]
    return out


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
    chapter3 = data_engineering()
    print("\n".join(chapter3))
    lines += chapter3
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "bench.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
