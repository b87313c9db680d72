"""Chapter 5: feature engineering and leakage: the lab code of the chapter's notebook (experiment drivers and exercise checks).

The notebook writes each decision's arms itself (a dict of pipelines, or a leaky and an honest set-up
per leak); these helpers only fit and score them and lay the numbers out:

- :func:`missing_value_report`: blank a column by each mechanism (:func:`mlsys_course.features.make_missing`)
  and fit each way of handling the gap; the bias it leaves in the column and the model's test scores.
- :func:`cv_table`: cross-validated score of each arm (models, or feature matrices, or both).
- :func:`unseen_table`: each model fitted on a training period, scored on a later one, split by rows
  whose category was never seen in training (new merchants).
- :func:`score_split` and :func:`leak_table`: a model's test PR-AUC and ROC-AUC on one split, and the
  zoo's table of each leak's inflated score beside the honest one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course._validation import (
    check_binary_labels,
    check_choice,
    check_column,
    check_columns,
    check_estimator,
    check_frame,
    check_probability,
    check_random_state,
    check_scoring,
    show,
)
from mlsys_course.exercises import exercise, is_number
from mlsys_course.features import MECHANISMS, make_missing

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
    rate: float = 0.3,
    strength: float = 3.0,
    test_size: float = 0.5,
    random_state: Any = 0,
) -> pd.DataFrame:
    """Blank ``column`` by each mechanism, handle the gap by each arm, and score one model on held-out rows.

    The rows are split once at random into train and test. For each mechanism,
    :func:`~mlsys_course.features.make_missing` blanks ``column`` in both parts (at serving time the value
    is missing just as often). An arm is ``(rows, step)``: ``rows`` is ``"all rows"`` or ``"complete rows"``
    (train only on the rows where the value is present: deletion), and ``step`` the transformer that
    handles the gap (an imputer, or a ``ColumnTransformer`` that drops the column). Each arm fits
    ``make_pipeline(step, StandardScaler(), estimator)`` on its training rows and predicts every test row.
    The first row (mechanism ``"none"``, approach ``"complete"``) is ``StandardScaler -> estimator`` on the
    data before blanking.

    Returns one row per mechanism x arm: ``missing_share`` (realised share of blanked values),
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
    test_size = check_probability("test_size", test_size)
    rng = check_random_state("random_state", random_state)

    n = len(data)
    order = rng.permutation(n)
    n_test = min(max(int(round(test_size * n)), 1), n - 1)
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    truth = X_full[column].to_numpy()[train]

    def score(model: Any, X_train: pd.DataFrame, X_test: pd.DataFrame, y_train: np.ndarray) -> tuple[float, float]:
        p = model.fit(X_train, y_train).predict_proba(X_test)[:, 1]
        return float(average_precision_score(y[test], p)), float(log_loss(y[test], p, labels=[0, 1]))

    complete = make_pipeline(StandardScaler(), clone(estimator))
    rows = [("none", "complete", 0.0, 1.0, 0.0, 1.0, *score(complete, X_full.iloc[train], X_full.iloc[test], y[train]))]
    for mechanism in mechanisms:
        blanked = make_missing(X_full, column, mechanism=mechanism, rate=rate, strength=strength,
                               depends_on=depends_on if mechanism == "MAR" else None, random_state=rng)
        X_train, X_test = blanked.iloc[train], blanked.iloc[test]
        missing_share = float(blanked[column].isna().mean())
        for name, (which, step) in arms.items():
            fit_rows = X_train[column].notna().to_numpy() if which == "complete rows" else np.ones(len(train), bool)
            model = make_pipeline(clone(step), StandardScaler(), clone(estimator))
            pr_auc, loss = score(model, X_train[fit_rows], X_test, y[train][fit_rows])
            names = list(model[0].get_feature_names_out())
            bias = spread = np.nan
            if column in names:  # the column as the step leaves it, on the rows the model was fit on
                estimate = np.asarray(model[0].transform(X_train[fit_rows]))[:, names.index(column)]
                bias, spread = float(estimate.mean() - truth.mean()), float(estimate.std() / truth.std())
            rows.append((mechanism, name, missing_share, fit_rows.mean(), bias, spread, pr_auc, loss))
    return pd.DataFrame(rows, columns=["mechanism", "approach", "missing_share", "rows_used", "mean_bias",
                                       "std_ratio", "pr_auc", "log_loss"])


# --- Decisions 2, 4, 5: cross-validated arms --------------------------------------------------------------
def _width(model: Any, X: Any, y: Any) -> int:
    """Number of columns the model's estimator sees: after the preprocessing steps of a Pipeline."""
    if isinstance(model, Pipeline) and len(model) > 1:
        first = X.iloc[:1] if isinstance(X, pd.DataFrame) else X[:1]
        return int(clone(model)[:-1].fit(X, y).transform(first).shape[1])
    return int(np.shape(X)[1])


def cv_table(models: Any, X: Any, y: Any, *, cv: Any, scoring: Any, index_name: str = "arm") -> pd.DataFrame:
    """Cross-validated score of each arm: ``n_features`` (what the estimator sees), ``score_mean``, ``score_std``.

    ``models`` is one estimator or a dict name -> estimator; ``X`` one feature matrix or a dict name ->
    matrix (the same keys); at least one of them is a dict. Each arm is
    ``cross_val_score(model, X, y, cv=cv, scoring=scoring)``, with the same ``cv`` for every arm.
    """
    names = list(models) if isinstance(models, Mapping) else list(X) if isinstance(X, Mapping) else None
    if not names:
        raise TypeError("models or X must be a non-empty dict of arms (name -> estimator, or name -> matrix)")
    if isinstance(models, Mapping) and isinstance(X, Mapping) and list(models) != list(X):
        raise ValueError(f"models and X must have the same arms; got {list(models)} and {list(X)}")
    scoring = check_scoring("scoring", scoring)
    rows = []
    for name in names:
        model = models[name] if isinstance(models, Mapping) else models
        data = X[name] if isinstance(X, Mapping) else X
        check_estimator(f"models[{name!r}]", model)
        scores = cross_val_score(clone(model), data, y, cv=cv, scoring=scoring)
        rows.append((name, _width(model, data, y), float(np.mean(scores)), float(np.std(scores))))
    return pd.DataFrame(rows, columns=[index_name, "n_features", "score_mean", "score_std"]).set_index(index_name)


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


def leak_table(cases: Mapping[str, tuple[Mapping[str, float], Mapping[str, float]]]) -> pd.DataFrame:
    """The zoo's table: one row per case, each metric's ``inflated`` (leaky set-up) and ``honest`` test score.

    ``cases`` maps a case to ``(leaky scores, honest scores)``, each a :func:`score_split` result. Columns are
    ``(metric, setup)`` pairs: ``("pr_auc", "inflated")``, ``("pr_auc", "honest")``, ``("roc_auc", ...)``.
    """
    if not isinstance(cases, Mapping) or not cases:
        raise TypeError(f"cases must be a non-empty dict of case -> (leaky scores, honest scores); got {show(cases)}")
    columns = pd.MultiIndex.from_product([["pr_auc", "roc_auc"], ["inflated", "honest"]], names=["metric", "setup"])
    values = [[(leaky if setup == "inflated" else honest)[metric] for metric, setup in columns]
              for leaky, honest in cases.values()]
    return pd.DataFrame(values, index=pd.Index(list(cases), name="case"), columns=columns)


# --- Exercise checks ----------------------------------------------------------------------------------
@exercise("5.1")
def _birthday_collisions(answer: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a share; got {type(answer).__name__}."
    share = 1 - (1 - 1 / 1_024) ** 499  # a merchant collides unless all 499 others miss its bucket
    if abs(answer - share) < 1e-6:
        return True, f"about {share:.0%} of merchants share a bucket: 1,024 buckets are too few for 500 values."
    return False, f"{answer:.3f} is not it: a merchant is alone only if each of the 499 others misses its bucket."


@exercise("5.2")
def _largest_inflation_factor(answer: Any, *, zoo: Any) -> tuple[bool, str]:
    pr = zoo["pr_auc"]
    factor = pr["inflated"] / pr["honest"]
    best = factor.idxmax()
    if answer == best:
        return True, (f"{best}: PR-AUC {pr.loc[best, 'inflated']:.3f} instead of {pr.loc[best, 'honest']:.3f}, "
                      f"{factor[best]:.0f} times the honest value.")
    if answer in factor.index:
        return False, f"{answer} inflated PR-AUC {factor[answer]:.1f} times; another case did more."
    return False, f"the answer must be one of the zoo's cases: {', '.join(factor.index)}."
