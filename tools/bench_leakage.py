"""Measure the leakage recipes: the point-in-time join at scale beside pandas and DuckDB, and the other recipes.

    python tools/bench_leakage.py            # both parts (about a minute; ~3 GiB at the join's peak)
    python tools/bench_leakage.py join       # only the 1M x 10M point-in-time join
    python tools/bench_leakage.py recipes    # only the splits, the small join and the scan on the fraud world

The join part times, on the same data, for labels sorted by time and for unsorted labels:

- ``point_in_time_join`` with each engine (checks, the as-of match, the labels' own order, every
  feature column gathered);
- plain ``pandas.merge_asof``, including the label sort it needs (``labels.sort_values(...)``);
- plain DuckDB ``ASOF LEFT JOIN`` of the two frames, fetched as a DataFrame;

and checks that the three give the same feature values per label row. Then the same for a shuffled
feature log (the join sorts it; ``merge_asof`` needs it sorted too).

Runs single-threaded BLAS, as the notebook kernels do; DuckDB uses its own thread pool (all cores).
Times are the best of 3: wall clock (other processes on the machine only add time), and for the join
also the process's CPU time, which other processes disturb less on a shared machine (DuckDB's CPU
time adds up its threads). Nothing here is asserted: speed is measured, not tested (CONVENTIONS
section 4).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mlsys_course.datasets import make_transactions  # noqa: E402
from mlsys_course.features import transaction_features  # noqa: E402
from mlsys_course.lab.timing import best_time  # noqa: E402
from mlsys_course.leakage import (  # noqa: E402
    chargeback_log,
    group_kfold,
    group_split,
    label_available_split,
    leakage_scan,
    naive_latest_join,
    point_in_time_join,
    time_series_cv,
    time_split,
)

pd.set_option("display.width", 160)
REPEAT = 3


def best_times(func, repeat: int = REPEAT) -> tuple[float, float, object]:
    """The best wall-clock and the best CPU seconds of ``repeat`` calls, and the last result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = func()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu, result


def join_data(n_labels: int, n_features: int, n_keys: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A time-ordered feature log (100k keys, 180 days, one float feature) and labels in random time order."""
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-01-01", "ns").astype(np.int64)
    span = 180 * 86_400 * 10**9
    features = pd.DataFrame({
        "user_id": rng.integers(0, n_keys, n_features),
        "feature_time": np.sort(t0 + rng.integers(0, span, n_features)).view("datetime64[ns]"),
        "value": rng.random(n_features),
    })
    labels = pd.DataFrame({
        "user_id": rng.integers(0, n_keys, n_labels),
        "timestamp": (t0 + rng.integers(0, span, n_labels)).view("datetime64[ns]"),
    })
    return labels, features


def plain_merge_asof(labels: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """What a user writes with pandas: sort both sides by time (the log only if it is not sorted), merge_asof."""
    if not features["feature_time"].is_monotonic_increasing:
        features = features.sort_values("feature_time", kind="stable")
    return pd.merge_asof(labels.sort_values("timestamp"), features, left_on="timestamp", right_on="feature_time",
                         by="user_id")


DUCKDB_QUERY = ("SELECT l.*, f.feature_time, f.value FROM labels l ASOF LEFT JOIN features f "
                "ON l.user_id = f.user_id AND l.timestamp >= f.feature_time")


def values_by_row(frame: pd.DataFrame) -> np.ndarray:
    """The joined feature value of each label row, in the labels' order (the frames carry a ``row`` column)."""
    return frame.sort_values("row")["value"].to_numpy(np.float64, na_value=np.nan)


def join_at_scale(n_labels: int = 1_000_000, n_features: int = 10_000_000, n_keys: int = 100_000) -> list[str]:
    """1M label rows against a 10M-row feature log: the recipe beside plain merge_asof and plain DuckDB ASOF."""
    labels, features = join_data(n_labels, n_features, n_keys)
    cases = {
        "sorted labels": labels.sort_values("timestamp", ignore_index=True),
        "unsorted labels": labels,
    }
    logs = {"time-ordered log": features, "shuffled log": features.sample(frac=1.0, random_state=0, ignore_index=True)}
    threads = duckdb.sql("SELECT current_setting('threads')").fetchall()[0][0]
    out = [f"Point-in-time join: {n_labels:_} labels x {n_features:_} feature rows, {n_keys:_} keys; best of {REPEAT}, "
           f"seconds ({platform.machine()}, {os.cpu_count()} cores; pandas {pd.__version__}, numpy {np.__version__}, "
           f"duckdb {duckdb.__version__} with {threads} threads)"]
    walls, cpus = [], []
    for log_name, log in logs.items():
        for label_name, lab in cases.items():
            lab = lab.assign(row=np.arange(len(lab)))
            wall, cpu, got = {}, {}, {}
            runs = {
                "point_in_time_join (pandas)": lambda: point_in_time_join(lab, log),
                "point_in_time_join (duckdb)": lambda: point_in_time_join(lab, log, engine="duckdb"),
                "plain merge_asof incl. sorts": lambda: plain_merge_asof(lab, log),
            }
            for name, run in runs.items():
                wall[name], cpu[name], got[name] = best_times(run)
            with duckdb.connect() as con:
                con.register("labels", lab)
                con.register("features", log)
                name = "plain DuckDB ASOF (.df())"
                wall[name], cpu[name], got[name] = best_times(lambda: con.sql(DUCKDB_QUERY).df())
            values = [values_by_row(frame) for frame in got.values()]
            same = all(np.array_equal(values[0], v, equal_nan=True) for v in values)
            walls.append({"log": log_name, "labels": label_name, **wall, "same result": same})
            cpus.append({"log": log_name, "labels": label_name, **cpu})
    out.append("Wall clock:")
    out.append(pd.DataFrame(walls).set_index(["log", "labels"]).round(3).to_string())
    out.append("CPU time of the process (all threads):")
    out.append(pd.DataFrame(cpus).set_index(["log", "labels"]).round(3).to_string())
    wall, cpu, _ = best_times(lambda: naive_latest_join(labels, features))
    out.append(f"naive_latest_join (the leak), unsorted labels, time-ordered log: {wall:.3f} s wall, {cpu:.3f} s CPU")
    return out


def recipes_on_the_world(n: int = 30_000) -> list[str]:
    """Each recipe on the fraud world at the notebook's size."""
    df = make_transactions(n, random_state=0)
    out = ["", f"Recipes on make_transactions({n:_}, random_state=0), best of {REPEAT}:"]
    for label, fn in [
        ("time_split", lambda: time_split(df)),
        ("time_series_cv(n_splits=5)", lambda: time_series_cv(df)),
        ("group_split", lambda: group_split(df, random_state=0)),
        ("group_kfold(stratify)", lambda: group_kfold(df, stratify="is_fraud", random_state=0)),
        ("label_available_split", lambda: label_available_split(df, cutoff="2024-05-01")),
        ("chargeback_log + point_in_time_join", lambda: point_in_time_join(df[["user_id", "timestamp"]], chargeback_log(df))),
    ]:
        best, _ = best_time(fn, REPEAT)
        out.append(f"  {label:<38} {best * 1000:8.1f} ms")

    X = transaction_features(df)
    y = df["is_fraud"].to_numpy()
    train, test = time_split(df)
    leaky = X.assign(days_to_label=((df["label_known_at"] - df["timestamp"]).dt.total_seconds() / 86400).to_numpy())
    best, scan = best_time(lambda: leakage_scan(leaky.iloc[train], y[train], leaky.iloc[test], random_state=0), REPEAT)
    out += ["", f"leakage_scan on {len(train):_} training rows x {leaky.shape[1]} features (+ duplicate check): {best:.2f} s",
            scan.head(4).round(3).to_string()]
    return out


if __name__ == "__main__":
    parts = sys.argv[1:] or ["join", "recipes"]
    unknown = set(parts) - {"join", "recipes"}
    if unknown:
        sys.exit(f"unknown part(s) {sorted(unknown)}; choose from join, recipes")
    lines: list[str] = []
    if "join" in parts:
        lines += join_at_scale()
    if "recipes" in parts:
        lines += recipes_on_the_world()
    print("\n".join(lines))
