"""Measure batch scoring throughput: one process in chunks against Dask on a local cluster.

    .venv/bin/python tools/bench_batch.py                        # 50,000 and 1,000,000 rows, HistGradientBoosting
    .venv/bin/python tools/bench_batch.py --sizes 50000 --repeat 5
    .venv/bin/python tools/bench_batch.py --model forest --workers 2 --threads 1

Data: the case study's payments (``make_transactions``) written as Parquet partitioned by day (16 days; the
1,000,000-row table is 16 files of about 62,500 rows), without labels. Model: the raw columns through
``transaction_features`` into HistGradientBoosting (100 trees, no early stopping) or a random forest (100 trees,
depth 12), fitted on 20,000 earlier payments.

Arms, on the same files, each writing its predictions to a new Parquet output:
- one process: ``predict_parquet`` (batches of 65,536 rows, one after the other);
- Dask: ``predict_parquet_dask`` on a ``LocalCluster`` of ``--workers`` processes with ``--threads`` threads each,
  with Dask's own split (one partition per file: 16) and at 1, 2 and 4 partitions per core (``partitions`` = 1, 2,
  4 x workers x threads).
The cluster's start (processes up and connected) and its first run (each worker imports pandas, scikit-learn and
this package and receives the model) are timed separately: the fixed cost Dask adds before any throughput. Every
Dask output is checked equal to the single-process one (sorted by transaction id).

Runs single-threaded BLAS/OpenMP in every process (set before the workers start, which inherit it), as the notebook
kernels do. Times are the best and the median of ``--repeat`` runs (wall clock; other processes on the machine
inflate them). Nothing here is asserted: speed is measured, not tested (CONVENTIONS section 4).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dask  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import sklearn  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

from mlsys_course.batch_prediction import dask_client, predict_parquet, predict_parquet_dask  # noqa: E402
from mlsys_course.datasets import make_transactions  # noqa: E402
from mlsys_course.features import transaction_features  # noqa: E402

RAW = ["timestamp", "amount", "merchant_category", "device", "is_foreign", "user_age", "account_age_days"]
N_DAYS = 16


def make_model(kind: str):
    train = make_transactions(20_000, end="2024-07-01", random_state=0)
    final = (HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0) if kind == "hgb"
             else RandomForestClassifier(n_estimators=100, max_depth=12, n_jobs=1, random_state=0))
    return make_pipeline(FunctionTransformer(transaction_features), final).fit(train[RAW], train["is_fraud"])


def write_days(rows: int, root: Path) -> Path:
    """``rows`` payments over N_DAYS days, one hive partition (directory) per day, labels left out."""
    world = make_transactions(rows, start="2024-07-01", end=f"2024-07-{1 + N_DAYS:02d}", random_state=1)
    world = world.drop(columns=["is_fraud", "label_known_at"]).assign(day=world["timestamp"].dt.strftime("%Y-%m-%d"))
    pq.write_to_dataset(pa.Table.from_pandas(world, preserve_index=False), root, partition_cols=["day"],
                        basename_template="part-{i}.parquet", row_group_size=65_536)
    return root


def timed(fn, repeat: int) -> tuple[float, float]:
    """Best and median wall-clock seconds of ``repeat`` calls of ``fn(i)``."""
    seconds = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        seconds.append(time.perf_counter() - start)
    return min(seconds), float(np.median(seconds))


def scored(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("transaction_id", ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 1_000_000])
    parser.add_argument("--model", choices=["hgb", "forest"], default="hgb")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    model = make_model(args.model)
    cores = args.workers * args.threads
    print(f"Batch scoring, {args.model} model; {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"scikit-learn {sklearn.__version__}, pandas {pd.__version__}, pyarrow {pa.__version__}, dask {dask.__version__}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        sources = {n: write_days(n, tmp / f"in-{n}") for n in args.sizes}
        small = write_days(1_000, tmp / "in-1000")
        out = iter(range(10**6))

        def single(source):
            return lambda i: predict_parquet(model, source, tmp / f"out-{next(out)}.parquet", keep=["transaction_id"])

        references = {}
        for n, source in sources.items():
            best, median = timed(single(source), args.repeat)
            rows.append({"rows": n, "path": "one process", "partitions": "-", "best_s": best, "median_s": median})
            references[n] = tmp / f"reference-{n}.parquet"
            predict_parquet(model, source, references[n], keep=["transaction_id"])
        best, _ = timed(single(small), args.repeat)
        one_small = best

        start = time.perf_counter()
        with dask_client(n_workers=args.workers, threads_per_worker=args.threads, processes=True) as client:
            started = time.perf_counter() - start
            start = time.perf_counter()
            predict_parquet_dask(model, small, tmp / "dask-first", client=client, keep=["transaction_id"])
            first = time.perf_counter() - start
            dask_small, _ = timed(lambda i: predict_parquet_dask(model, small, tmp / f"dask-{next(out)}", client=client,
                                                                 keep=["transaction_id"]), args.repeat)
            equal = True
            for n, source in sources.items():
                reference = scored(references[n])
                for partitions in (None, *(per_core * cores for per_core in (1, 2, 4))):  # None: Dask's own split
                    check = tmp / f"dask-{n}-{partitions}-check"  # a warm-up run, and the equality check
                    predict_parquet_dask(model, source, check, client=client, keep=["transaction_id"], partitions=partitions)
                    equal &= scored(check).equals(reference)
                    best, median = timed(lambda i, source=source, partitions=partitions: predict_parquet_dask(
                        model, source, tmp / f"dask-{next(out)}", client=client, keep=["transaction_id"],
                        partitions=partitions), args.repeat)
                    rows.append({"rows": n, "path": f"Dask {args.workers}x{args.threads}",
                                 "partitions": "files" if partitions is None else partitions,
                                 "best_s": best, "median_s": median})
        for n in sources:
            shutil.rmtree(tmp / f"in-{n}", ignore_errors=True)

    table = pd.DataFrame(rows)
    table["rows_per_s"] = table["rows"] / table["best_s"]
    single_rate = table[table["path"] == "one process"].set_index("rows")["rows_per_s"]
    table["vs_one_process"] = table["rows_per_s"] / table["rows"].map(single_rate)
    print(table.to_string(index=False, formatters={"best_s": "{:.3f}".format, "median_s": "{:.3f}".format,
                                                   "rows_per_s": "{:,.0f}".format, "vs_one_process": "{:.2f}x".format}))
    print(f"\nDask fixed costs: cluster start {started:.2f} s; first run (workers import, model sent) {first:.2f} s; "
          f"a 1,000-row job afterwards {dask_small:.3f} s against {one_small:.3f} s in one process "
          f"({dask_small / one_small:.1f}x).")
    print(f"Every Dask output equal to the single-process one (sorted by transaction id): {equal}")


if __name__ == "__main__":
    main()
