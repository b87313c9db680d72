"""Chapter 5: feature engineering (05a) and data leakage (05b): the lab code of the chapter's notebooks.

The notebooks write each decision's arms themselves (a dict of pipelines, or a leaky and an honest set-up
per leak); these helpers only fit and score them, repeat them and lay the numbers out:

- :func:`missing_value_report`: blank a column by each mechanism (:func:`mlsys_course.features.make_missing`)
  and fit each way of handling the gap, on each of several train/test splits; the bias it leaves in the
  column and the model's test scores, one row per split.
- :func:`unseen_table`: each model fitted on a training period, scored on a later one, split by rows
  whose category was never seen in training (new merchants).
- :func:`two_peak_counts`: payments per hour with a lunch and an evening peak (a cycle that one cosine
  cannot fit), the signal of the periodic-features decision.
- :func:`score_split` and :func:`leak_summary`: a model's test PR-AUC and ROC-AUC on one split, and the
  zoo's table of each leak's inflated score beside the honest one over several worlds, with the paired
  interval of the gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.metrics import average_precision_score, log_loss, r2_score, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course._validation import (
    check_binary_labels,
    check_choice,
    check_column,
    check_columns,
    check_estimator,
    check_frame,
    check_int,
    check_random_state,
    show,
)
from mlsys_course.comparison import paired_difference
from mlsys_course.exercises import exercise, is_number
from mlsys_course.datasets import make_transactions
from mlsys_course.features import MECHANISMS, make_missing, transaction_features
from mlsys_course.leakage import chargeback_log, time_split
from mlsys_course.plotting import COLORS

ROWS = ("all rows", "complete rows")


# --- Decision 1: missing values ------------------------------------------------------------------------
def missing_value_report(
    data: pd.DataFrame,
    column: Any,
    target: Any,
    arms: Mapping[str, tuple[str, Any]],
    *,
    estimator: Any,
    mechanisms: Sequence[str] = MECHANISMS,
    depends_on: Any = None,
    splits: Sequence[tuple[Any, Any]],
    rate: float = 0.3,
    strength: float = 3.0,
    random_state: Any = 0,
) -> pd.DataFrame:
    """Blank ``column`` by each mechanism, handle the gap by each arm, and score one model on held-out rows.

    ``splits`` is a list of (train, test) row positions (e.g. :func:`mlsys_course.comparison.folds`); every
    arm sees the same splits. For each mechanism, :func:`~mlsys_course.features.make_missing` blanks
    ``column`` once, in training and test rows alike (at serving time the value is missing just as often). An arm is ``(rows, step)``: ``rows`` is ``"all rows"`` or ``"complete rows"``
    (train only on the rows where the value is present: deletion), and ``step`` the transformer that
    handles the gap (an imputer, or a ``ColumnTransformer`` that drops the column). Each arm fits
    ``make_pipeline(step, StandardScaler(), estimator)`` on its training rows and predicts every test row.
    The first row (mechanism ``"none"``, approach ``"complete"``) is ``StandardScaler -> estimator`` on the
    data before blanking.

    Returns one row per split x mechanism x arm: ``repeat`` (the split's number), ``missing_share`` (realised share of blanked values),
    ``rows_used`` (share of training rows the model is fit on), ``mean_bias`` (mean of ``column`` as the
    step leaves it on those rows, minus the true mean; NaN when the step drops the column),
    ``std_ratio`` (its standard deviation over the true one), ``pr_auc`` and ``log_loss`` on the test rows.
    """
    data = check_frame("data", data, min_rows=10)
    check_column("column", data, column, frame="data")
    check_column("target", data, target, frame="data")
    y = check_binary_labels(f"data[{target!r}]", data[target].to_numpy())
    features = [c for c in data.columns if c != target]
    X_full = data[features].astype(np.float64)
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty dict of name -> (rows, step); got {show(arms)}")
    for name, arm in arms.items():
        if not (isinstance(arm, tuple) and len(arm) == 2):
            raise TypeError(f"arms[{name!r}] must be a pair (rows, step); got {show(arm)}")
        check_choice(f"arms[{name!r}][0]", arm[0], ROWS)
        check_estimator(f"arms[{name!r}][1]", arm[1], methods=("fit", "transform"))
    check_estimator("estimator", estimator, methods=("fit", "predict_proba"))
    mechanisms = [check_choice("mechanisms", m, MECHANISMS) for m in mechanisms]
    if "MAR" in mechanisms:
        check_column("depends_on", data, depends_on, frame="data")
    rng = check_random_state("random_state", random_state)
    if isinstance(splits, (str, bytes)) or not isinstance(splits, Sequence) or not splits:
        raise TypeError(f"splits must be a non-empty list of (train, test) row positions; got {show(splits)}")
    splits = [(np.asarray(train), np.asarray(test)) for train, test in splits]
    blanked = {m: make_missing(X_full, column, mechanism=m, rate=rate, strength=strength,
                               depends_on=depends_on if m == "MAR" else None, random_state=rng) for m in mechanisms}
    rows = []
    for repeat, (train, test) in enumerate(splits):
        truth = X_full[column].to_numpy()[train]

        def score(model: Any, X_train: pd.DataFrame, X_test: pd.DataFrame, y_train: np.ndarray) -> tuple[float, float]:
            p = model.fit(X_train, y_train).predict_proba(X_test)[:, 1]
            return float(average_precision_score(y[test], p)), float(log_loss(y[test], p, labels=[0, 1]))

        complete = make_pipeline(StandardScaler(), clone(estimator))
        rows.append((repeat, "none", "complete", 0.0, 1.0, 0.0, 1.0,
                     *score(complete, X_full.iloc[train], X_full.iloc[test], y[train])))
        for mechanism in mechanisms:
            X_train, X_test = blanked[mechanism].iloc[train], blanked[mechanism].iloc[test]
            missing_share = float(blanked[mechanism][column].isna().mean())
            for name, (which, step) in arms.items():
                fit_rows = X_train[column].notna().to_numpy() if which == "complete rows" else np.ones(len(train), bool)
                model = make_pipeline(clone(step), StandardScaler(), clone(estimator))
                pr_auc, loss = score(model, X_train[fit_rows], X_test, y[train][fit_rows])
                names = list(model[0].get_feature_names_out())
                bias = spread = np.nan
                if column in names:  # the column as the step leaves it, on the rows the model was fit on
                    estimate = np.asarray(model[0].transform(X_train[fit_rows]))[:, names.index(column)]
                    bias, spread = float(estimate.mean() - truth.mean()), float(estimate.std() / truth.std())
                rows.append((repeat, mechanism, name, missing_share, fit_rows.mean(), bias, spread, pr_auc, loss))
    return pd.DataFrame(rows, columns=["repeat", "mechanism", "approach", "missing_share", "rows_used", "mean_bias",
                                       "std_ratio", "pr_auc", "log_loss"])


# --- Decision 3: values unseen in training ---------------------------------------------------------------
def unseen_table(
    models: Mapping[Any, Any],
    X_train: pd.DataFrame,
    y_train: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    *,
    columns: Sequence,
    index_name: str = "model",
) -> pd.DataFrame:
    """Each model fitted on the training rows, scored on the test rows, with the rows of unseen values apart.

    A test row is *unseen* when any of its ``columns`` holds a value absent from ``X_train`` (a merchant
    that opened after the training period). Columns: ``n_features`` (what the model's last step sees),
    ``unseen_share``, ``log_loss`` (every test row), ``log_loss_seen``, ``log_loss_unseen`` and ``pr_auc``.
    """
    X_train, X_test = check_frame("X_train", X_train), check_frame("X_test", X_test)
    columns = check_columns("columns", X_train, columns, frame="X_train")
    check_columns("columns", X_test, columns, frame="X_test")
    y_train = check_binary_labels("y_train", np.asarray(y_train))
    y_test = check_binary_labels("y_test", np.asarray(y_test))
    if not isinstance(models, Mapping) or not models:
        raise TypeError(f"models must be a non-empty dict of name -> classifier; got {show(models)}")
    unseen = np.zeros(len(X_test), dtype=bool)
    for c in columns:
        unseen |= ~X_test[c].isin(pd.unique(X_train[c])).to_numpy()

    def loss(p: np.ndarray, rows: np.ndarray) -> float:
        return float(log_loss(y_test[rows], p[rows], labels=[0, 1])) if rows.any() else np.nan

    rows = []
    for name, model in models.items():
        check_estimator(f"models[{name!r}]", model, methods=("fit", "predict_proba"))
        fitted = clone(model).fit(X_train, y_train)
        p = fitted.predict_proba(X_test)[:, 1]
        width = fitted[:-1].transform(X_train.iloc[:1]).shape[1] if isinstance(fitted, Pipeline) else X_train.shape[1]
        rows.append({index_name: name, "n_features": int(width), "unseen_share": float(unseen.mean()),
                     "log_loss": loss(p, np.ones(len(p), bool)), "log_loss_seen": loss(p, ~unseen),
                     "log_loss_unseen": loss(p, unseen), "pr_auc": float(average_precision_score(y_test, p))})
    return pd.DataFrame(rows).set_index(index_name)


# --- Decision 6: the leakage zoo ---------------------------------------------------------------------------
def score_split(model: Any, X: Any, y: Any, split: tuple[Any, Any]) -> dict[str, float]:
    """Fit a clone of ``model`` on the rows ``split[0]`` (positions) and score the rows ``split[1]``.

    Returns ``{"pr_auc": average precision, "roc_auc": ROC-AUC}`` of the predicted probabilities.
    """
    check_estimator("model", model, methods=("fit", "predict_proba"))
    y = check_binary_labels("y", np.asarray(y))
    train, test = (np.asarray(part) for part in split)
    rows = X.iloc if isinstance(X, pd.DataFrame) else X
    p = clone(model).fit(rows[train], y[train]).predict_proba(rows[test])[:, 1]
    return {"pr_auc": float(average_precision_score(y[test], p)), "roc_auc": float(roc_auc_score(y[test], p))}


def leak_summary(runs: Sequence[Mapping[str, tuple[Mapping[str, float], Mapping[str, float]]]], *,
                 metric: str = "pr_auc", confidence: float = 0.95) -> pd.DataFrame:
    """The zoo's table over repetitions: each case's inflated and honest score, and the paired gap.

    ``runs`` is one dict per repetition (a world, or a split), each mapping a case to ``(leaky scores,
    honest scores)`` (:func:`score_split` results), with the same cases in every run. Columns: ``inflated``
    and ``honest`` (means over runs), ``inflated_std`` and ``honest_std``, ``gap`` (mean of inflated minus
    honest, paired by run) with its Student-t interval ``gap_low``/``gap_high``
    (:func:`mlsys_course.comparison.paired_difference`), ``measurable`` (the interval excludes 0) and ``n``.
    """
    if isinstance(runs, (str, bytes, Mapping)) or not isinstance(runs, Sequence) or len(runs) < 2:
        raise TypeError(f"runs must be a list of at least 2 dicts case -> (leaky, honest); got {show(runs)}")
    cases = list(runs[0])
    for r, run in enumerate(runs):
        if not isinstance(run, Mapping) or list(run) != cases:
            raise ValueError(f"runs[{r}] must have the cases of runs[0] {show(cases)}; got {show(run)}")
    metric = check_choice("metric", metric, ("pr_auc", "roc_auc"))
    rows = []
    for case in cases:
        leaky = np.array([run[case][0][metric] for run in runs])
        honest = np.array([run[case][1][metric] for run in runs])
        gap, low, high = paired_difference(leaky, honest, confidence=confidence)
        rows.append({"case": case, "inflated": leaky.mean(), "inflated_std": leaky.std(ddof=1), "honest": honest.mean(),
                     "honest_std": honest.std(ddof=1), "gap": gap, "gap_low": low, "gap_high": high,
                     "measurable": bool(low > 0 or high < 0), "n": len(runs)})
    return pd.DataFrame(rows).set_index("case")


def plot_leaks(runs: Sequence[Mapping[str, Any]], *, metric: str = "pr_auc", ax: Any = None) -> Any:
    """Each case's leaky (red) and honest (green) score in every run, as dots joined per run."""
    summary = leak_summary(runs, metric=metric)
    ax = ax if ax is not None else plt.subplots(figsize=(6.4, 0.6 + 0.42 * len(summary)))[1]
    ypos = np.arange(len(summary))[::-1]
    for y0, case in zip(ypos, summary.index):
        for run in runs:
            leaky, honest = run[case][0][metric], run[case][1][metric]
            ax.plot([honest, leaky], [y0, y0], color="0.75", lw=1, zorder=1)
            ax.scatter([leaky], [y0], color=COLORS["bad"], s=18, zorder=2)
            ax.scatter([honest], [y0], color=COLORS["good"], s=18, zorder=2)
    ax.scatter([], [], color=COLORS["bad"], label="leaky set-up")
    ax.scatter([], [], color=COLORS["good"], label="honest set-up")
    ax.set_yticks(ypos, list(summary.index))
    ax.set(xlabel=f"{metric} (dots: one world each)")
    ax.legend(loc="best", fontsize="small")
    return ax


# --- Decision 5 (05a): a daily cycle with two peaks ---------------------------------------------------------
def two_peak_counts(n_days: int = 120, *, peaks: tuple[float, float] = (12.5, 19.5), base: float = 40.0,
                    random_state: Any = 0) -> pd.DataFrame:
    """Payments per hour over ``n_days`` days: a lunch peak and a larger evening peak above a night floor.

    The hourly rate is ``base * (0.15 + bump(peaks[0], 1.2 h) + 0.8 * bump(peaks[1], 1.8 h))``, each bump a
    Gaussian in the circular distance to its peak hour; the counts are Poisson. One cosine (one harmonic)
    cannot follow two peaks; several harmonics can. Columns: ``timestamp`` (the hour), ``hour`` (0..23),
    ``payments``.
    """
    n_days = check_int("n_days", n_days, minimum=2)
    rng = check_random_state("random_state", random_state)
    timestamp = pd.date_range("2024-01-01", periods=24 * n_days, freq="h")
    hour = timestamp.hour.to_numpy()

    def bump(peak: float, width: float) -> np.ndarray:
        distance = np.abs((hour - peak + 12) % 24 - 12)
        return np.exp(-0.5 * (distance / width) ** 2)

    rate = base * (0.15 + bump(peaks[0], 1.2) + 0.8 * bump(peaks[1], 1.8))
    return pd.DataFrame({"timestamp": timestamp, "hour": hour, "payments": rng.poisson(rate)})


# --- Exercise checks ----------------------------------------------------------------------------------
@exercise("5.1")
def _birthday_collisions(answer: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a share; got {type(answer).__name__}."
    share = 1 - (1 - 1 / 1_024) ** 499  # a merchant collides unless all 499 others miss its bucket
    if abs(answer - share) < 1e-6:
        return True, f"about {share:.0%} of merchants share a bucket: 1,024 buckets are too few for 500 values."
    return False, f"{answer:.3f} is not it: a merchant is alone only if each of the 499 others misses its bucket."


#: The day exercise 5.2 judges an hour encoding on: other peak hours and a new seed, so an encoding must fit a
#: two-peak cycle in general, not the one of the notebook.
EXERCISE_5_2_DAY = {"n_days": 120, "peaks": (8.5, 17.0), "random_state": 52}


@exercise("5.2")
def _hour_encoding(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function of the hour Series; got {type(answer).__name__}."
    day = two_peak_counts(**EXERCISE_5_2_DAY)
    cut = int(0.75 * len(day))  # the first 75% of the hours train, the last 25% test
    try:
        columns = pd.DataFrame(answer(day["hour"].copy()))
    except Exception as error:  # the student's function failed: a verdict, not a crash
        return False, f"encode_hour raised {type(error).__name__}: {error}"
    if len(columns) != len(day) or columns.shape[1] == 0:
        return False, f"encode_hour must return one row per hour ({len(day)}); got shape {columns.shape}."
    if columns.shape[1] > 12:
        return False, f"at most 12 columns; got {columns.shape[1]} (one-hot hours already take 24)."
    values = columns.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        return False, "encode_hour returned missing or infinite values."
    one_hot = np.eye(24)[day["hour"].to_numpy()]
    target = day["payments"].to_numpy()

    def r2(features: np.ndarray) -> float:
        fitted = LinearRegression().fit(features[:cut], target[:cut])
        return float(r2_score(target[cut:], fitted.predict(features[cut:])))

    mine, reference = r2(values), r2(one_hot)
    summary = f"R² {mine:.3f} with {columns.shape[1]} columns against one-hot's {reference:.3f} with 24, on a new two-peak day"
    if mine >= reference - 0.02:
        return True, summary + "."
    return False, summary + " (needs at most 0.02 below one-hot)."


#: The world exercise 5.3 judges a point-in-time feature on: a new seed, so the function must be right in general.
EXERCISE_5_3_WORLD = {"n": 8_000, "fraud_rate": 0.03, "random_state": 53}


@exercise("5.3")
def _chargebacks_before(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function (payments, chargebacks) -> counts; got {type(answer).__name__}."
    world = make_transactions(**EXERCISE_5_3_WORLD)
    payments = world[["user_id", "timestamp"]].sample(frac=1.0, random_state=0)  # not in time order
    chargebacks = chargeback_log(world)
    try:
        counts = np.asarray(answer(payments.copy(), chargebacks.copy()), dtype=float)
    except Exception as error:  # the student's function failed: a verdict, not a crash
        return False, f"your function raised {type(error).__name__}: {error}"
    if counts.shape != (len(payments),):
        return False, f"return one count per payment ({len(payments)}); got shape {counts.shape}."
    # The truth by brute force: each payment counts its user's chargebacks known at or before its time.
    known = chargebacks.groupby("user_id")["feature_time"].apply(lambda t: np.sort(t.to_numpy()))
    truth = np.array([np.searchsorted(known[u], t, side="right") if u in known.index else 0
                      for u, t in zip(payments["user_id"].to_numpy(), payments["timestamp"].to_numpy())], dtype=float)
    if np.isnan(counts).any():
        return False, f"{np.isnan(counts).mean():.1%} of the counts are missing: a user with no chargeback yet has 0."
    wrong = counts != truth
    if not wrong.any():
        return True, f"all {len(truth):,} counts match what was known at each payment, on a new world."
    later = (counts > truth).mean()
    return False, (f"{wrong.mean():.1%} of the counts differ from what was known at the payment "
                   f"({later:.1%} count chargebacks that arrived after it).")


#: The world exercise 5.4 hides two leaks in: a new seed, anonymous column names in a shuffled order.
EXERCISE_5_4_WORLD = {"n": 20_000, "fraud_rate": 0.03, "random_state": 54}


def exercise_5_4_data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, list[str]]:
    """The data of exercise 5.4: ``X_train, y_train, X_test`` (a time split, 20% test) and the planted columns.

    The features are :func:`~mlsys_course.features.transaction_features` plus two leaks: a fraud analyst's
    note (set after review on 90% of frauds and 1% of other payments) and the days until the label was
    known (plus noise); the columns are renamed ``f00``, ``f01``, ... in a shuffled order.
    """
    world = make_transactions(**EXERCISE_5_4_WORLD)
    y = world["is_fraud"].to_numpy()
    rng = np.random.default_rng(EXERCISE_5_4_WORLD["random_state"])
    days = (world["label_known_at"] - world["timestamp"]).dt.total_seconds().to_numpy() / 86_400
    X = transaction_features(world).assign(
        analyst_note=np.where(y == 1, rng.random(len(y)) < 0.9, rng.random(len(y)) < 0.01).astype(float),
        days_to_label=days + rng.normal(0, 10, len(y)))
    order = rng.permutation(X.shape[1])
    names = {X.columns[j]: f"f{i:02d}" for i, j in enumerate(order)}
    X = X.iloc[:, order].rename(columns=names)
    train, test = time_split(world, test_size=0.2)
    return X.iloc[train], y[train], X.iloc[test], [names["analyst_note"], names["days_to_label"]]


@exercise("5.4")
def _suspects(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function (X_train, y_train, X_test) -> column names; got {type(answer).__name__}."
    X_train, y_train, X_test, planted = exercise_5_4_data()
    try:
        named = answer(X_train.copy(), y_train.copy(), X_test.copy())
    except Exception as error:  # the student's function failed: a verdict, not a crash
        return False, f"your function raised {type(error).__name__}: {error}"
    if isinstance(named, (str, bytes)) or not hasattr(named, "__iter__"):
        return False, f"return a list of column names; got {type(named).__name__}."
    named = {str(c) for c in named}
    missed, false_alarms = sorted(set(planted) - named), sorted(named - set(planted))
    if not missed and not false_alarms:
        return True, f"you found both planted leaks ({', '.join(sorted(planted))}) and accused no honest column."
    parts = ([f"missed {len(missed)} planted leak(s)"] if missed else []) + (
        [f"accused {len(false_alarms)} honest column(s): {', '.join(false_alarms)}"] if false_alarms else [])
    return False, "; ".join(parts) + "."
