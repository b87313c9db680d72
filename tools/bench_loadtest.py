"""Measure the prediction service under load: throughput and p50/p99 with and without micro-batching.

    .venv/bin/python tools/bench_loadtest.py                      # 2,000 requests per run, 3 repeats
    .venv/bin/python tools/bench_loadtest.py --requests 5000 --repeat 5
    .venv/bin/python tools/bench_loadtest.py --models rf --settings 1:0 16:2 32:2

The case study's model (``make_transactions`` world 0, ``transaction_features``, trained on the past 70% in
time order): a random forest (100 trees, leaves of at least 5) and a scaled logistic regression as the
contrast. Each is served with :func:`mlsys_course.serving.serve_model` once per micro-batching setting
(``micro_batch:max_wait_ms``; ``1:0`` is off) and load-tested in a closed loop
(:func:`mlsys_course.loadtest.load_test`) at 1, 4 and 16 concurrent clients with ``--requests`` requests
each, one row per request, cycling through 500 rows of the future 30%. Every answer is checked against the
local ``predict_proba``. The load generator runs in this process, on the same cores as the service: on a
2-core machine the client takes a share of the CPU the service would have alone in production.

Reported per run: ok answers per second, p50 and p99 latency (ms), and counts of 5xx and mismatched
answers; then the median over ``--repeat`` runs and the ratio of throughputs at 16 clients (batched over
unbatched). Nothing here is asserted: speed is measured, not tested (CONVENTIONS section 4). Wall-clock
numbers depend on the machine and whatever else runs on it; the header prints the load average.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def models() -> tuple[dict, pd.DataFrame]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlsys_course.datasets import make_transactions
    from mlsys_course.features import transaction_features
    from mlsys_course.leakage import time_split

    world = make_transactions(n=20_000, random_state=0)
    X, y = transaction_features(world), world["is_fraud"].to_numpy()
    train, test = time_split(world, test_size=0.3)
    fitted = {
        "rf": RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=0).fit(X.iloc[train], y[train]),
        "lr": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(X.iloc[train], y[train]),
    }
    return fitted, X.iloc[test[:500]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2_000, help="requests per run (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting and concurrency (default 3)")
    parser.add_argument("--models", nargs="+", default=["rf", "lr"], choices=["rf", "lr"])
    parser.add_argument("--settings", nargs="+", default=["1:0", "16:2"], help="micro_batch:max_wait_ms")
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 4, 16])
    args = parser.parse_args()

    import sklearn

    from mlsys_course.latency import measure
    from mlsys_course.loadtest import load_test
    from mlsys_course.serving import serve_model

    fitted, rows = models()
    print(f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}), load average {os.getloadavg()[0]:.1f} at the start")
    print(f"closed loop, {args.requests} requests per run, 1 row per request, median of {args.repeat} runs\n")
    results = []
    for name in args.models:
        model = fitted[name]
        expected = model.predict_proba(rows)[:, 1]
        one, sixteen = (np.median(measure(model.predict_proba, rows.iloc[:k], repeat=50)) for k in (1, 16))
        print(f"{name}: in-process predict_proba, median of 50 calls: 1 row {one:.2f} ms, 16 rows {sixteen:.2f} ms")
        for setting in args.settings:
            micro_batch, max_wait_ms = int(setting.split(":")[0]), float(setting.split(":")[1])
            with serve_model(model, micro_batch=micro_batch, max_wait_ms=max_wait_ms) as service:
                load_test(service.url, rows, expected=expected, concurrency=16, n_requests=200)  # warm up
                for concurrency in args.concurrency:
                    for k in range(args.repeat):
                        s = load_test(service.url, rows, expected=expected, concurrency=concurrency,
                                      n_requests=args.requests, max_seconds=120.0).summary()
                        results.append({"model": name, "micro_batch": micro_batch, "max_wait_ms": max_wait_ms,
                                        "clients": concurrency, "run": k, **s[["n_ok", "n_5xx", "n_failed", "n_mismatched",
                                        "throughput_rps", "p50_ms", "p99_ms"]]})  # fmt: skip
                        print(f"  micro_batch={micro_batch:<3} max_wait={max_wait_ms:g} ms  {concurrency:>2} clients  "
                              f"{s['throughput_rps']:7.0f} req/s  p50 {s['p50_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms  "
                              f"5xx {s['n_5xx']}  mismatched {s['n_mismatched']}  failed {s['n_failed']}")
    table = pd.DataFrame(results)
    summary = table.groupby(["model", "micro_batch", "max_wait_ms", "clients"])[
        ["throughput_rps", "p50_ms", "p99_ms"]].median().round(1)
    print("\nMedian over runs:\n" + summary.to_string())
    print(f"\nEvery run: {int(table['n_ok'].sum())} ok answers, {int(table['n_5xx'].sum())} 5xx, "
          f"{int(table['n_failed'].sum())} failed, {int(table['n_mismatched'].sum())} mismatched")
    unbatched = table[table["micro_batch"] == 1]
    for name in args.models:
        base = unbatched[(unbatched["model"] == name) & (unbatched["clients"] == 16)]
        for micro_batch in sorted(set(table["micro_batch"]) - {1}):
            arm = table[(table["model"] == name) & (table["micro_batch"] == micro_batch) & (table["clients"] == 16)]
            if len(base) and len(arm):
                ratio = arm["throughput_rps"].median() / base["throughput_rps"].median()
                print(f"{name}: throughput at 16 clients, micro_batch={micro_batch} over unbatched: {ratio:.2f}x "
                      f"(p99 {arm['p99_ms'].median():.1f} ms against {base['p99_ms'].median():.1f} ms)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
