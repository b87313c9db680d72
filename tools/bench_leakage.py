"""Measure the leakage and importance modules: the point-in-time join at scale, and chapter 5's experiments.

    python tools/bench_leakage.py            # everything (about a minute and a half; ~2 GiB at the join's peak)
    python tools/bench_leakage.py join       # only the 1M x 10M point-in-time join
    python tools/bench_leakage.py zoo        # only the notebook-sized experiments
    python tools/bench_leakage.py seeds      # the zoo's gaps over 6 worlds (how much they vary)

Runs single-threaded BLAS, as the notebook kernels do (tools/notebooks.py KERNEL_ENV); DuckDB uses
its own thread pool (all cores). Times are the best and the median of several repeats (wall clock;
other processes on the machine inflate them). Nothing here is asserted: speed is measured, not
tested (CONVENTIONS section 4).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

pd.set_option("display.width", 160)


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best and median wall-clock seconds of ``repeat`` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return min(seconds), float(np.median(seconds)), result


def join_at_scale(n_labels: int = 1_000_000, n_features: int = 10_000_000, n_keys: int = 100_000, repeat: int = 3) -> list[str]:
    """1M label rows against a 10M-row feature log (100k keys, 180 days, one float feature)."""
    import duckdb

    from mlsys_course.leakage import naive_latest_join, point_in_time_join

    rng = np.random.default_rng(0)
    t0 = np.datetime64("2024-01-01", "ns").astype(np.int64)
    span = 180 * 86_400 * 10**9
    features = pd.DataFrame({
        "user_id": rng.integers(0, n_keys, n_features),
        "feature_time": np.sort(t0 + rng.integers(0, span, n_features)).view("datetime64[ns]"),
        "value": rng.random(n_features),
    })
    labels = pd.DataFrame({
        "user_id": rng.integers(0, n_keys, n_labels),
        "timestamp": np.sort(t0 + rng.integers(0, span, n_labels)).view("datetime64[ns]"),
    })
    shuffled = features.sample(frac=1.0, random_state=0)
    threads = duckdb.sql("SELECT current_setting('threads')").fetchall()[0][0]
    out = [f"Point-in-time join: {n_labels:_} labels x {n_features:_} feature rows, {n_keys:_} keys "
           f"(duckdb {duckdb.__version__}, {threads} threads):"]
    results = {}
    for engine in ("pandas", "duckdb"):
        best, med, results[engine] = timed(lambda e=engine: point_in_time_join(labels, features, engine=e), repeat)
        out.append(f"  {engine:<7} time-sorted log   best {best:.3f} s, median {med:.3f} s")
        best, med, unsorted = timed(lambda e=engine: point_in_time_join(labels, shuffled, engine=e), repeat)
        out.append(f"  {engine:<7} shuffled log      best {best:.3f} s, median {med:.3f} s")
        assert unsorted["value"].equals(results[engine]["value"])
    same = results["pandas"].equals(results["duckdb"])
    matched = results["pandas"]["feature_time"].notna()
    late = int((results["pandas"]["feature_time"][matched] > labels["timestamp"][matched]).sum())
    out.append(f"  engines identical: {same}; labels matched {matched.mean():.3f}; feature rows after their label: {late}")

    # The raw engines on the same sorted int64 data, for reference (no checks, no gather of feature columns).
    left = pd.DataFrame({"k": labels["user_id"].to_numpy(), "t": labels["timestamp"].to_numpy().view(np.int64)})
    right = pd.DataFrame({"k": features["user_id"].to_numpy(), "t": features["feature_time"].to_numpy().view(np.int64),
                          "value": features["value"].to_numpy()})
    best, _, _ = timed(lambda: pd.merge_asof(left, right, on="t", by="k"), repeat)
    out.append(f"  raw pandas.merge_asof on sorted int64     best {best:.3f} s")
    with duckdb.connect() as con:
        con.register("l", left)
        con.register("f", right)
        query = "SELECT l.k, f.value FROM l ASOF LEFT JOIN f ON l.k = f.k AND l.t >= f.t"
        best, _, _ = timed(lambda: con.sql(query).fetchnumpy(), repeat)
    out.append(f"  raw DuckDB ASOF LEFT JOIN (fetchnumpy)    best {best:.3f} s")
    best, med, _ = timed(lambda: naive_latest_join(labels, features), repeat)
    out.append(f"  naive_latest_join (the leak)              best {best:.3f} s, median {med:.3f} s")
    return out


def notebook_experiments(n_zoo: int = 30_000) -> list[str]:
    """What chapter 5's leakage and importance sections would run, at the recommended sizes, with timings."""
    from sklearn.ensemble import RandomForestClassifier

    from mlsys_course.datasets import make_transactions
    from mlsys_course.features import transaction_features
    from mlsys_course.importance import distribution_shift, feature_coverage, importance_comparison
    from mlsys_course.leakage import (
        ZOO_CASES,
        chargeback_log,
        group_kfold,
        group_split,
        label_available_split,
        leakage_scan,
        leakage_zoo,
        point_in_time_join,
        time_series_cv,
        time_split,
    )

    out = [""]
    start = time.perf_counter()
    leakage_zoo(make_transactions(2_000, random_state=0), cases=["label_proxy"])  # imports and first-call overhead
    out.append(f"First call (imports scikit-learn, features): {time.perf_counter() - start:.2f} s")
    for n in (n_zoo, 50_000):
        df = make_transactions(n, random_state=0)
        rows, seconds = [], {}
        for case in ZOO_CASES:
            best, _, table = timed(lambda c=case: leakage_zoo(df, cases=[c], random_state=0), 1)
            seconds[case] = best
            rows.append(table)
        zoo = pd.concat(rows, ignore_index=True)
        out += ["", f"Leakage zoo on make_transactions({n:_}, random_state=0), random_state=0: {sum(seconds.values()):.2f} s",
                "  per case: " + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())]
        wide = zoo.pivot(index="case", columns="metric", values=["inflated", "honest"]).reindex(zoo["case"].unique())
        out.append(wide.round(3).to_string())

    df = make_transactions(n_zoo, random_state=0)
    X = transaction_features(df)
    y = df["is_fraud"].to_numpy()
    train, test = time_split(df)
    out += ["", f"Helpers on make_transactions({n_zoo:_}) (best of 3):"]
    for label, fn in [
        ("time_split", lambda: time_split(df)),
        ("time_series_cv(n_splits=5)", lambda: time_series_cv(df)),
        ("group_split", lambda: group_split(df)),
        ("group_kfold(stratify)", lambda: group_kfold(df, stratify="is_fraud")),
        ("label_available_split", lambda: label_available_split(df, cutoff="2024-05-01")),
        ("chargeback_log + point_in_time_join", lambda: point_in_time_join(df[["user_id", "timestamp"]], chargeback_log(df))),
    ]:
        best, _, _ = timed(fn, 3)
        out.append(f"  {label:<38} {best * 1000:8.1f} ms")

    leaky = X.assign(days_to_label=((df["label_known_at"] - df["timestamp"]).dt.total_seconds() / 86400).to_numpy())
    best, _, scan = timed(lambda: leakage_scan(leaky.iloc[train], y[train], leaky.iloc[test]), 3)
    out += ["", f"leakage_scan on {len(train):_} training rows x {leaky.shape[1]} features (+ duplicate check): {best:.2f} s",
            scan.head(4).round(3).to_string()]

    imp = make_transactions(4_000, fraud_rate=0.05, random_state=0)
    Xi = transaction_features(imp).assign(random_id=np.random.default_rng(0).permutation(len(imp)).astype(float))
    yi = imp["is_fraud"].to_numpy()
    tr, te = group_split(imp, test_size=0.5, random_state=0)

    def importance():
        rf = RandomForestClassifier(50, random_state=0).fit(Xi.iloc[tr], yi[tr])
        return importance_comparison(rf, Xi.iloc[te], yi[te], scoring="average_precision", n_repeats=3, random_state=0)

    best, _, table = timed(importance, 3)
    out += ["", "Importance: RandomForest(50) on make_transactions(4_000, fraud_rate=0.05) + random_id, half the users "
                f"held out: fit + permutation (3 repeats) {best:.2f} s", table.round(3).to_string()]

    cols = ["merchant_id", "merchant_category", "amount", "device", "country", "user_age", "account_age_days"]
    best_c, _, cov = timed(lambda: feature_coverage(df.iloc[train][cols], df.iloc[test][cols], categorical="merchant_id"), 3)
    best_s, _, shift = timed(lambda: distribution_shift(df.iloc[train][cols], df.iloc[test][cols], categorical="merchant_id"), 3)
    out += ["", f"Coverage ({best_c * 1000:.0f} ms) and shift ({best_s * 1000:.0f} ms), "
                f"time split of make_transactions({n_zoo:_}):",
            cov.round(3).to_string(), shift.round(3).to_string()]
    return out


def zoo_over_seeds(n: int = 30_000, seeds: int = 6) -> list[str]:
    """How much each gap varies from one world to the next (same code, world seeds 0..seeds-1)."""
    from mlsys_course.datasets import make_transactions
    from mlsys_course.leakage import leakage_zoo

    rows = [leakage_zoo(make_transactions(n, random_state=s), random_state=0).assign(world=s) for s in range(seeds)]
    z = pd.concat(rows)
    summary = z.groupby(["case", "metric"], sort=False).agg(
        inflated=("inflated", "mean"), honest=("honest", "mean"), gap_mean=("gap", "mean"), gap_sd=("gap", "std"),
        gap_min=("gap", "min"))
    title = f"Leakage zoo over {seeds} worlds of {n:_} rows (make_transactions seeds 0..{seeds - 1}):"
    return ["", title, summary.round(3).to_string()]


if __name__ == "__main__":
    parts = sys.argv[1:] or ["join", "zoo", "seeds"]
    lines: list[str] = []
    if "join" in parts:
        lines += join_at_scale()
    if "zoo" in parts:
        lines += notebook_experiments()
    if "seeds" in parts:
        lines += zoo_over_seeds()
    print("\n".join(lines))
