"""Measure the optimized runtime: scikit-learn vs onnxruntime, in process, one row and a batch.

    .venv/bin/python tools/bench_runtimes.py                      # 300 single-row calls, 20 batches of 10,000 rows
    .venv/bin/python tools/bench_runtimes.py --single 1000 --batch-rows 10000 --batches 30

Models: a ``RandomForestClassifier`` (100 trees, scikit-learn's defaults: fully grown, one thread) and a
``LogisticRegression`` (behind a ``StandardScaler``), fitted on the first 70% (in time) of the case study's
transactions (``make_transactions(100_000, random_state=0)``, ``transaction_features``), and timed on the
rows after. Each model is exported with ``mlsys_course.runtimes.to_onnx`` and run with ``OnnxModel``: with
onnxruntime's default threads and with ``intra_op_threads=1`` (one thread, as scikit-learn's forest uses
here). Both sides are timed on the same float64 numpy rows through ``predict_proba`` (the ONNX side's time
includes its input check and float32 cast).

Latency is :func:`mlsys_course.latency.measure` (wall clock per call, after warm-up calls), summarised by
:func:`mlsys_course.latency.percentiles` as p50 and p99. Runs single-threaded BLAS, as the notebook kernels
do. The issue's anchor on this machine: a random forest predicts one row in 4.6 ms with scikit-learn and
in 17.5 us with onnxruntime. Nothing is asserted: speed is measured, not tested (CONVENTIONS section 4).
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
import onnxruntime  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from mlsys_course.datasets import make_transactions  # noqa: E402
from mlsys_course.features import transaction_features  # noqa: E402
from mlsys_course.latency import measure, percentiles  # noqa: E402
from mlsys_course.runtimes import ONNX_ATOL, ONNX_RTOL, OnnxModel, to_onnx  # noqa: E402


def case_study(n: int = 100_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, int]:
    df = make_transactions(n, random_state=seed).sort_values("timestamp", kind="stable")
    return transaction_features(df), df["is_fraud"].to_numpy(), int(0.7 * n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=300, help="timed single-row calls per arm")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="rows per batch call")
    parser.add_argument("--batches", type=int, default=20, help="timed batch calls per arm")
    args = parser.parse_args()

    X, y, cut = case_study()
    X_train, y_train, X_test = X.iloc[:cut], y[:cut], X.iloc[cut:]
    rows = X_test.to_numpy()
    batch = rows[: args.batch_rows]
    models = {
        "random forest (100 trees)": RandomForestClassifier(n_estimators=100, random_state=0),
        "logistic regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)),
    }
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; scikit-learn "
          f"{sklearn.__version__}, onnxruntime {onnxruntime.__version__}; {len(X_train):,} training rows, "
          f"{X.shape[1]} features")
    table = []
    for name, model in models.items():
        model.fit(X_train.to_numpy(), y_train)
        onnx_bytes = to_onnx(model, rows[:1])
        arms = {"scikit-learn": model, "onnxruntime": OnnxModel(onnx_bytes),
                "onnxruntime 1 thread": OnnxModel(onnx_bytes, intra_op_threads=1)}
        agree = np.allclose(arms["onnxruntime"].predict_proba(batch), model.predict_proba(batch),
                            rtol=ONNX_RTOL, atol=ONNX_ATOL)
        print(f"{name}: ONNX file {len(onnx_bytes) / 1e3:,.1f} kB; probabilities equal within "
              f"rtol={ONNX_RTOL:.1e}, atol={ONNX_ATOL:.1e}: {agree}")
        for arm, runner in arms.items():
            one = [rows[i : i + 1] for i in range(args.single)]
            it = iter(one * 2)
            single = measure(lambda: runner.predict_proba(next(it)), repeat=args.single, warmup=min(20, args.single))
            many = measure(runner.predict_proba, batch, repeat=args.batches, warmup=2)
            s, b = percentiles(single, (50, 99)), percentiles(many, (50, 99))
            table.append({"model": name, "runtime": arm, "1 row p50 (ms)": s["p50"], "1 row p99 (ms)": s["p99"],
                          f"{len(batch):,} rows p50 (ms)": b["p50"], f"{len(batch):,} rows p99 (ms)": b["p99"],
                          "rows/s (batch p50)": len(batch) / (b["p50"] / 1e3)})
    result = pd.DataFrame(table).set_index(["model", "runtime"])
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(result)
    print("\nratios, scikit-learn / onnxruntime (p50; > 1 means onnxruntime is faster):")
    for name in models:
        sk, ort, ort1 = (result.loc[(name, arm)] for arm in ("scikit-learn", "onnxruntime", "onnxruntime 1 thread"))
        col = f"{len(batch):,} rows p50 (ms)"
        print(f"  {name}: one row {sk['1 row p50 (ms)'] / ort['1 row p50 (ms)']:.0f}x "
              f"(1 thread {sk['1 row p50 (ms)'] / ort1['1 row p50 (ms)']:.0f}x); batch of {len(batch):,} "
              f"{sk[col] / ort[col]:.1f}x (1 thread {sk[col] / ort1[col]:.1f}x)")
    print("anchor (issue 11, this machine): random forest one row 4.6 ms with scikit-learn, 17.5 us with onnxruntime "
          f"({4.6e-3 / 17.5e-6:.0f}x)")


if __name__ == "__main__":
    main()
