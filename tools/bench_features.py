"""Measure the features module: the hashing trick at scale against scikit-learn's FeatureHasher, and the
chapter-5 experiments end to end at the sizes the notebook uses.

    .venv/bin/python tools/bench_features.py                 # 1,000,000 rows x 5 columns, then the notebook numbers
    .venv/bin/python tools/bench_features.py --rows 200000 --repeat 5
    .venv/bin/python tools/bench_features.py --skip-notebook  # the hashing benchmark only

Hashing: a frame of ``--rows`` rows and 5 string columns (pandas' default string dtype) with 10,
100, 1,000, 10,000 and 100,000 distinct values, hashed into 2**20 columns. Both hash with MurmurHash3
(seed 0) and give the same matrix (checked): ``HashingEncoder`` hashes each column's distinct values once.
``HashingEncoder.transform`` takes the frame as it is. ``FeatureHasher`` takes an iterable of
samples: per-row lists of ``"column=value"`` strings (``input_type="string"``) or per-row dicts
``{column: value}`` (``input_type="dict"``, which hashes ``"column=value"`` too). Building those
Python objects from the frame is timed separately and *not* included in FeatureHasher's time, which
favours it. Both produce a CSR matrix with one entry per (row, column) (fewer where two columns of a
row collide). The same frame with object and categorical dtypes shows what the input format costs.

Runs single-threaded BLAS, as the notebook kernels do (tools/notebooks.py KERNEL_ENV). Times are the
best and the median of ``--repeat`` runs (wall clock; other processes inflate them). Nothing here is
asserted: speed is measured, not tested (CONVENTIONS section 4).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

N_FEATURES = 2**20


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best and median wall-clock seconds of ``repeat`` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return min(seconds), float(np.median(seconds)), result


def string_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"c{j}": pd.Series(rng.integers(0, 10 ** (j + 1), rows)).astype(str) for j in range(5)})


def hashing_benchmark(rows: int, repeat: int) -> list[str]:
    from sklearn.feature_extraction import FeatureHasher

    from mlsys_course.features import HashingEncoder

    df = string_frame(rows)
    encoder = HashingEncoder(N_FEATURES).fit(df.head(10))
    lines = [f"Hashing {rows:_} rows x {df.shape[1]} string columns ({', '.join(str(df[c].nunique()) for c in df)} "
             f"distinct values) into 2**20 columns (Python {sys.version.split()[0]}, pandas {pd.__version__}):"]
    results, bests = {}, {}
    frames = [("str dtype", df), ("object dtype", df.astype(object)), ("categorical dtype", df.astype("category"))]
    for label, frame in frames:
        best, median, X = timed(lambda frame=frame: encoder.transform(frame), repeat)
        results[label], bests[label] = X, best
        lines.append(f"  HashingEncoder.transform, {label:18s} best {best:6.3f} s, median {median:6.3f} s"
                     f"   (nnz {X.nnz:_})")
    assert all((X != results["str dtype"]).nnz == 0 for X in results.values()), "dtypes must not change the buckets"
    hashing_best = bests["str dtype"]

    columns = list(df.columns)
    build_lists, _, lists = timed(lambda: [[f"{c}={v}" for c, v in zip(columns, row)]
                                           for row in zip(*(df[c].tolist() for c in columns))], 1)
    build_dicts, _, dicts = timed(lambda: df.to_dict(orient="records"), 1)
    fh_repeat = max(1, min(repeat, 3))
    fh_string = FeatureHasher(N_FEATURES, input_type="string")
    s_best, s_median, Xs = timed(lambda: fh_string.transform(lists), fh_repeat)
    assert (Xs != results["str dtype"]).nnz == 0, "HashingEncoder must equal FeatureHasher on 'column=value' tokens"
    fh_dict = FeatureHasher(N_FEATURES, input_type="dict")
    d_best, d_median, Xd = timed(lambda: fh_dict.transform(dicts), fh_repeat)
    lines += [
        f"  FeatureHasher, input_type='string'        best {s_best:6.3f} s, median {s_median:6.3f} s"
        f"   (nnz {Xs.nnz:_}; "
        f"building the per-row lists took {build_lists:.2f} s more)",
        f"  FeatureHasher, input_type='dict'          best {d_best:6.3f} s, median {d_median:6.3f} s"
        f"   (nnz {Xd.nnz:_}; "
        f"building the per-row dicts took {build_dicts:.2f} s more)",
        f"  speed-up of HashingEncoder (str dtype, best) over FeatureHasher (best, input ready): "
        f"{s_best / hashing_best:.1f}x vs 'string', {d_best / hashing_best:.1f}x vs 'dict'",
    ]
    del lists, dicts
    return lines


# --- The chapter-5 experiments at the notebook's sizes -------------------------------------------------
def notebook_experiments(repeat: int) -> list[str]:
    """Each decision's arms as the notebook writes them: first call (cold: modules imported) and best of warm runs."""
    from sklearn.compose import ColumnTransformer
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, OneHotEncoder, StandardScaler

    from mlsys_course.datasets import make_transactions
    from mlsys_course.features import (
        HashingEncoder,
        collision_rate,
        cross_features,
        fourier_features,
        transaction_features,
    )
    from mlsys_course.lab.ch05 import cv_table, missing_value_report, unseen_table

    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    lines: list[str] = []

    def run(title: str, fn) -> object:
        start = time.perf_counter()
        result = fn()
        cold = time.perf_counter() - start
        warm, _, _ = timed(fn, repeat)
        lines.append(f"\n{title}   [first call {cold:.2f} s, best warm {warm:.2f} s]")
        lines.append(result.round(3).to_string() if isinstance(result, pd.DataFrame) else str(result))
        return result

    start = time.perf_counter()
    world = make_transactions(120_000, n_merchants=1_000, new_merchant_share=0.5, fraud_rate=0.05, random_state=0)
    jan = world[world["timestamp"] < "2024-02-01"]  # the first month: the early fraud pattern dominates
    X = transaction_features(jan)
    y = jan["is_fraud"].to_numpy()
    lines.append(f"world: make_transactions(120_000, n_merchants=1_000, new_merchant_share=0.5, fraud_rate=0.05, "
                 f"random_state=0) + features of January: {time.perf_counter() - start:.2f} s; "
                 f"January: {len(jan):_} rows, fraud rate {y.mean():.3f}")

    # 1. Missing values: log_amount blanked; MAR driven by the observed big-ticket category flag.
    data = pd.DataFrame({
        "log_amount": X["log_amount"], "is_night": X["is_night"], "is_foreign": X["is_foreign"],
        "log_account_age_days": X["log_account_age_days"],
        "big_ticket": X["category_electronics"] + X["category_travel"], "is_fraud": y,
    })
    arms = {
        "drop_rows": ("complete rows", SimpleImputer(strategy="mean")),
        "drop_column": ("all rows", ColumnTransformer([("drop", "drop", ["log_amount"])], remainder="passthrough")),
        "mean": ("all rows", SimpleImputer(strategy="mean")),
        "median": ("all rows", SimpleImputer(strategy="median")),
        "iterative": ("all rows", IterativeImputer(random_state=0)),
        "mean+indicator": ("all rows", SimpleImputer(strategy="mean", add_indicator=True)),
    }
    run("1. missing_value_report(data, 'log_amount', 'is_fraud', arms, depends_on='big_ticket', rate=0.3)",
        lambda: missing_value_report(data, "log_amount", "is_fraud", arms, estimator=LogisticRegression(max_iter=1_000),
                                     depends_on="big_ticket", rate=0.3, random_state=0))

    # 2. Scaling and discretization of the amount, inside each training fold.
    amounts = pd.DataFrame({"amount": jan["amount"], "is_night": X["is_night"], "is_foreign": X["is_foreign"],
                            "new_account": (jan["account_age_days"] < 30).astype(float),
                            "big_ticket": X["category_electronics"] + X["category_travel"]})

    def with_amount(transform, model):
        return make_pipeline(ColumnTransformer([("amount", transform, ["amount"])], remainder="passthrough"), model)

    log, knn, linear = FunctionTransformer(np.log1p), KNeighborsClassifier(n_neighbors=50), LogisticRegression(max_iter=1_000)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    knn_arms = {"raw": with_amount("passthrough", knn), "standardize": with_amount(StandardScaler(), knn),
                "log_standardize": with_amount(make_pipeline(log, StandardScaler()), knn)}
    linear_arms = {"raw": with_amount("passthrough", linear), "log": with_amount(log, linear),
                   **{f"bins_{k}": with_amount(KBinsDiscretizer(n_bins=k, encode="onehot-dense",
                                                                quantile_method="averaged_inverted_cdf"), linear)
                      for k in (2, 5, 10, 20)}}
    run("2a. cv_table(k-NN arms), PR-AUC", lambda: cv_table(knn_arms, amounts, y, cv=cv, scoring="average_precision"))
    run("2b. cv_table(logistic regression arms), PR-AUC",
        lambda: cv_table(linear_arms, amounts, y, cv=cv, scoring="average_precision"))

    # 3. New merchants: train on Jan 1-21, test on Jan 22-31.
    train = (jan["timestamp"] < "2024-01-22").to_numpy()
    merchants = jan[["merchant_id"]]
    split = merchants[train], y[train], merchants[~train], y[~train]
    logistic = LogisticRegression(max_iter=1_000)
    encoders = {
        "one_hot (ignore)": make_pipeline(OneHotEncoder(handle_unknown="ignore"), logistic),
        "one_hot (infrequent, min 5)": make_pipeline(
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5), logistic),
        "hashing 2**12": make_pipeline(HashingEncoder(n_features=2**12), logistic),
    }
    run("3a. unseen_table(encoders, columns=['merchant_id'])", lambda: unseen_table(encoders, *split, columns=["merchant_id"]))
    sizes = [16, 64, 256, 1_024, 4_096, 16_384]
    run("3b. unseen_table(hashing into n buckets)", lambda: unseen_table(
        {m: make_pipeline(HashingEncoder(n_features=m), logistic) for m in sizes}, *split, columns=["merchant_id"]))
    seen = merchants[train]["merchant_id"].unique()
    run(f"3c. collision_rate of the {len(seen)} training merchants vs the birthday formula", lambda: pd.DataFrame(
        {"measured": [collision_rate(seen, m, column="merchant_id") for m in sizes],
         "expected": [1 - (1 - 1 / m) ** (len(seen) - 1) for m in sizes]},
        index=pd.Index(sizes, name="n_buckets")))

    # 4. Crossing: category x amount band (within the category), over the whole half year.
    sample = world.sample(20_000, random_state=0).sort_index()
    band = sample.groupby("merchant_category", observed=True)["amount"].transform(
        lambda a: pd.qcut(a, 4, labels=False)).astype(int)
    crossing = pd.DataFrame({"merchant_category": sample["merchant_category"],
                             "amount_band": pd.Categorical.from_codes(band, ["q1", "q2", "q3", "q4"])})
    crossed = crossing.assign(category_x_band=cross_features(crossing, "merchant_category", "amount_band"))
    one_hot_logistic = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=1_000))
    for scoring in ("average_precision", "roc_auc"):
        run(f"4. cv_table(without / with the cross), {scoring}", lambda scoring=scoring: cv_table(
            one_hot_logistic, {"without cross": crossing, "with cross": crossed}, sample["is_fraud"].to_numpy(),
            cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring=scoring))

    # 5. Periodic: transactions per hour over the half year, against the hour of day.
    counts = world.set_index("timestamp").resample("h").size()
    hour = counts.index.hour.to_numpy()
    encodings = {"raw": hour[:, None], "one_hot": np.eye(24)[hour],
                 "fourier_1": fourier_features(hour, period=24, n_harmonics=1),
                 "fourier_3": fourier_features(hour, period=24, n_harmonics=3)}
    run("5. cv_table(hour of day -> transactions per hour), R^2", lambda: cv_table(
        LinearRegression(), encodings, counts.to_numpy(), cv=KFold(5, shuffle=True, random_state=0), scoring="r2"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the hashing benchmark")
    parser.add_argument("--repeat", type=int, default=3, help="repeats (best and median reported)")
    parser.add_argument("--skip-notebook", action="store_true", help="only the hashing benchmark")
    args = parser.parse_args()
    print("\n".join(hashing_benchmark(args.rows, args.repeat)))
    if not args.skip_notebook:
        print()
        print("\n".join(notebook_experiments(args.repeat)))


if __name__ == "__main__":
    main()
