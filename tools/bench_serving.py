"""Measure one-row latency through the prediction service, and in process: scikit-learn vs onnxruntime.

    .venv/bin/python tools/bench_serving.py                 # 500 timed one-row requests per arm
    .venv/bin/python tools/bench_serving.py --requests 2000

Models: a ``RandomForestClassifier`` (100 trees, scikit-learn's defaults: fully grown, one thread) and a
``LogisticRegression`` behind a ``StandardScaler``, fitted on the first 70% (in time) of the case study's
transactions (``make_transactions(100_000, random_state=0)``, ``transaction_features``, as a DataFrame),
and asked about rows after that. Each model runs in four ways:

- in process, scikit-learn: ``predict_proba`` on a one-row DataFrame (what the service does per call);
- in process, onnxruntime: ``OnnxModel(to_onnx(...), intra_op_threads=1).predict_proba`` on one row;
- through the service (:func:`mlsys_course.serving.serve_model`, ``runtime="sklearn"`` / ``"onnx"``, no
  micro-batching), one request at a time on one keep-alive connection (``http.client``): the service's own
  cost (HTTP parsing, checks, JSON) on top of the model;
- the same with :func:`mlsys_course.serving.request_latencies`: a new connection per request (``urllib``),
  as :func:`~mlsys_course.serving.predict` does.

Latencies are wall clock per call in milliseconds, summarised by :func:`mlsys_course.latency.percentiles` as
p50 and p99. Client and service share this machine's cores. Throughput under concurrent load, with and
without micro-batching, is ``tools/bench_loadtest.py``; batch-size effects in process are
``tools/bench_runtimes.py``. Nothing is asserted: speed is measured, not tested (CONVENTIONS section 4).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fastapi  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import uvicorn  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from mlsys_course.datasets import make_transactions  # noqa: E402
from mlsys_course.features import transaction_features  # noqa: E402
from mlsys_course.latency import measure, percentiles  # noqa: E402
from mlsys_course.runtimes import ONNX_ATOL, ONNX_RTOL, OnnxModel, to_onnx  # noqa: E402
from mlsys_course.serving import predict, request_latencies, serve_model  # noqa: E402


def case_study(n: int = 100_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, int]:
    df = make_transactions(n, random_state=seed).sort_values("timestamp", kind="stable")
    return transaction_features(df).reset_index(drop=True), df["is_fraud"].to_numpy(), int(0.7 * n)


def keep_alive_latencies(port: int, records: list[dict], n: int) -> np.ndarray:
    """One-row requests one after another on one keep-alive connection, in ms."""
    bodies = iter([json.dumps({"rows": [records[i % len(records)]]}) for i in range(2 * n + 20)])
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def one() -> None:
        con.request("POST", "/predict", body=next(bodies), headers={"Content-Type": "application/json"})
        response = con.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"the service answered {response.status}")

    try:
        return measure(one, repeat=n, warmup=20)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="timed one-row calls per arm")
    args = parser.parse_args()
    n = args.requests

    X, y, cut = case_study()
    X_train, y_train, X_test = X.iloc[:cut], y[:cut], X.iloc[cut:].reset_index(drop=True)
    records = X_test.iloc[:n].to_dict(orient="records")
    frames = [X_test.iloc[i : i + 1] for i in range(n)]
    floats = X_test.iloc[:n].to_numpy(dtype=np.float32)
    models = {
        "random forest (100 trees)": RandomForestClassifier(n_estimators=100, random_state=0),
        "logistic regression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)),
    }
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}; "
          f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}; {len(X_train):,} training rows, "
          f"{X.shape[1]} features; {n} timed calls per arm")
    table = []
    for name, model in models.items():
        model.fit(X_train, y_train)
        fast = OnnxModel(to_onnx(model, X_train.iloc[:1]), intra_op_threads=1)
        frame_it, float_it = iter(frames * 2), iter(list(floats[:, None, :]) * 2)
        in_process = {
            "sklearn": measure(lambda: model.predict_proba(next(frame_it)), repeat=n, warmup=min(20, n)),
            "onnx": measure(lambda: fast.predict_proba(next(float_it)), repeat=n, warmup=min(20, n)),
        }
        for runtime in ("sklearn", "onnx"):
            with serve_model(model, runtime=runtime, model_version=f"bench-{runtime}") as service:
                remote = predict(service.url, X_test.iloc[:200])
                kept = keep_alive_latencies(service.port, records, n)
                fresh = request_latencies(service.url, records, n_requests=n, warmup=20)
            local = model.predict_proba(X_test.iloc[:200])[:, 1]
            equal = np.allclose(remote, local, rtol=ONNX_RTOL, atol=ONNX_ATOL) if runtime == "onnx" else remote == local.tolist()
            row = {"model": name, "runtime": runtime, "answers equal local": equal}
            for arm, ms in [("in process", in_process[runtime]), ("service, keep-alive", kept),
                            ("service, new connection", fresh)]:
                p = percentiles(ms, (50, 99))
                row[f"{arm} p50"], row[f"{arm} p99"] = p["p50"], p["p99"]
            table.append(row)
    result = pd.DataFrame(table).set_index(["model", "runtime"])
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.float_format", "{:.3g}".format):
        print("\none-row latency (ms):")
        print(result)
    print("\nwhat the service adds to one prediction (keep-alive p50 minus in-process p50, ms), and the runtimes' ratio:")
    for name in models:
        sk, ort = result.loc[(name, "sklearn")], result.loc[(name, "onnx")]
        print(f"  {name}: +{sk['service, keep-alive p50'] - sk['in process p50']:.2f} ms with scikit-learn, "
              f"+{ort['service, keep-alive p50'] - ort['in process p50']:.2f} ms with onnxruntime; through the service "
              f"onnxruntime is {sk['service, keep-alive p50'] / ort['service, keep-alive p50']:.1f}x faster at p50 "
              f"(in process {sk['in process p50'] / ort['in process p50']:.0f}x)")
    print("anchor (issue 11): random forest one row 4.6 ms with scikit-learn, 17.5 us with onnxruntime, in process")


if __name__ == "__main__":
    main()
