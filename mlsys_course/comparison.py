"""Is a gain real? Compare arms over repeated, production-like splits, with spread and paired intervals.

One harness for every comparison in the course (book ch. 6, "Evaluating ML models" and "Model
development"): a set of *arms* (estimators, pipelines, or functions that fit one) is scored on the same
folds of a named *split policy*, several times, and each arm's score is reported with its mean and spread
and its *paired* difference from a baseline arm with a confidence interval. Pairing matters: every arm
sees the same training and test rows and the same seed in a repetition, so split-to-split noise cancels
in the difference and a small real gain becomes measurable.

Split policies
--------------
``"time"``  rolling origin: train on everything before a test block, test on the block (production-like
            when the world drifts); the last ``n_repeats`` blocks of ``test_size`` of the rows are tested.
``"group"`` rows of one group (a user, a merchant) are all in train or all in test, ``n_repeats`` seeded
            draws (production-like when entities repeat and drift is not the point).
``"random"`` stratified shuffle splits; only with a stated ``reason`` (a random split leaks on drifting
            data with repeat users, book ch. 5 "Data leakage").
A scikit-learn splitter (anything with ``split``) is used as given.

Example
-------
>>> from sklearn.datasets import load_breast_cancer
>>> from sklearn.dummy import DummyClassifier
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from mlsys_course.comparison import compare
>>> X, y = load_breast_cancer(return_X_y=True)
>>> arms = {"prior": DummyClassifier(), "logistic": make_pipeline(StandardScaler(), LogisticRegression())}
>>> result = compare(arms, X, y, split="random", reason="a bundled i.i.d. sample: no time, no repeat patients",
...                  n_repeats=5, scoring="roc_auc", random_state=0)
>>> list(result.summary.columns)
['mean', 'std', 'n', 'diff', 'diff_low', 'diff_high', 'measurable']
>>> bool(result.summary.loc["logistic", "measurable"])
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils.multiclass import type_of_target

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_column,
    check_int,
    check_probability,
    check_random_state,
    check_same_length,
    check_seed,
    check_estimator,
    check_frame,
    check_scoring,
    show,
)

__all__ = ["SPLITS", "Comparison", "compare", "folds", "paired_difference", "with_seed"]

_SUMMARY = ("mean", "std", "n", "diff", "diff_low", "diff_high", "measurable")

#: The named split policies of :func:`folds` and :func:`compare`.
SPLITS = ("time", "group", "random")
_MAX_REPEATS = 1_000

Fold = tuple[np.ndarray, np.ndarray]


def paired_difference(scores: Any, baseline: Any, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean paired difference ``scores - baseline`` and its Student-t confidence interval.

    The repetitions (seeds or folds) are the pairs; the interval is ``mean +- t * sd / sqrt(n)`` with
    ``n - 1`` degrees of freedom, the interval of a paired t-test (scipy's ``ttest_rel``).

    Parameters
    ----------
    scores, baseline : array-like of shape (n,), n >= 2
        One score per repetition for the arm and for the baseline, in the same order.
    confidence : float in (0, 1)
        Coverage of the interval.

    Returns
    -------
    (mean, low, high) : tuple of float
        "A beats B" is measurable when ``low > 0``; when the interval covers 0, it was not.

    Book: ch. 6, "Model development" (is a gain real?).

    Example
    -------
    >>> mean, low, high = paired_difference([0.82, 0.85, 0.84], [0.80, 0.81, 0.81])
    >>> round(mean, 3), low > 0
    (0.03, True)
    """
    a = check_array("scores", scores, min_len=2)
    b = check_array("baseline", baseline, min_len=2)
    check_same_length(scores=a, baseline=b)
    confidence = check_probability("confidence", confidence)
    d = a.astype(float) - b.astype(float)
    mean = float(d.mean())
    half = float(stats.t.ppf((1 + confidence) / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return mean, mean - half, mean + half


def _values(name: str, value: Any, X: Any, n: int) -> np.ndarray:
    """A column of X named by ``value``, or an array-like of length n."""
    if isinstance(value, str):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"{name} may name a column only when X is a DataFrame; got {value!r} with X of type {type(X).__name__}")
        return X[check_column(name, X, value, frame="X")].to_numpy()
    if value is None or np.isscalar(value):
        raise TypeError(f"{name} must be a column name of X or an array-like of length {n}; got {show(value)}")
    values = np.asarray(value)
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"{name} must have one value per row of X ({n}); got shape {values.shape}")
    if pd.isna(values).any():
        raise ValueError(f"{name} must have no missing values; got {int(pd.isna(values).sum())}")
    return values


def folds(
    X: Any,
    y: Any,
    *,
    split: Any = "time",
    time: Any = None,
    groups: Any = None,
    n_repeats: int = 3,
    test_size: float = 0.2,
    reason: str | None = None,
    random_state: RandomState = None,
) -> list[Fold]:
    """Train and test row positions of each repetition under a named split policy.

    Parameters
    ----------
    X, y : the rows (array-like or DataFrame) and their targets.
    split : {"time", "group", "random"} or a scikit-learn splitter
        The policy (see the module docstring); a splitter's ``split(X, y, groups)`` is used as given.
    time : column name of X or array-like, required by ``"time"``
        When each row happened; rows are ordered by it (ties keep their order).
    groups : column name of X or array-like, required by ``"group"``
    n_repeats : int >= 1 (``"time"``: the number of rolling test blocks; at least 3 for a spread)
    test_size : float in (0, 1)
        Share of the rows in each test set (``"time"``: each block; ``n_repeats * test_size < 1``).
    reason : str, required by ``"random"``
        Why a random split is honest here (e.g. "i.i.d. bundled data set, no time, no repeat entities").
    random_state : int, Generator or None
        Seeds the group and random draws.

    Returns
    -------
    list of (train, test) integer position arrays

    Example
    -------
    >>> import numpy as np
    >>> t = np.arange(10)
    >>> [(int(tr.max()), te.tolist()) for tr, te in folds(t.reshape(-1, 1), t % 2, time=t, n_repeats=2, test_size=0.2)]
    [(5, [6, 7]), (7, [8, 9])]
    """
    n = len(X) if hasattr(X, "__len__") else -1
    if n < 2:
        raise ValueError(f"X must have at least 2 rows; got {n if n >= 0 else show(X)}")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y must be 1-d with one value per row of X ({n}); got shape {y.shape}")
    n_repeats = check_int("n_repeats", n_repeats, minimum=1, maximum=_MAX_REPEATS)
    test_size = check_probability("test_size", test_size)
    rng = check_random_state("random_state", random_state)
    if hasattr(split, "split") and not isinstance(split, str):
        group_values = None if groups is None else _values("groups", groups, X, n)
        return [(np.asarray(tr), np.asarray(te)) for tr, te in split.split(np.zeros((n, 1)), y, group_values)]
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))} or a scikit-learn splitter; got {show(split)}")
    seed = int(rng.integers(2**31 - 1))
    if split == "time":
        if n_repeats * test_size >= 1:
            raise ValueError(
                f"n_repeats * test_size must be < 1 so the first block has training rows; got {n_repeats} * {test_size}"
            )
        order = np.argsort(_values("time", time, X, n), kind="stable")
        block = max(1, int(round(test_size * n)))
        starts = [n - (n_repeats - k) * block for k in range(n_repeats)]
        return [(np.sort(order[:s]), np.sort(order[s:s + block])) for s in starts]
    if split == "group":
        group_values = _values("groups", groups, X, n)
        splitter = GroupShuffleSplit(n_splits=n_repeats, test_size=test_size, random_state=seed)
        return list(splitter.split(np.zeros((n, 1)), y, group_values))
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(
            "reason must say why a random split is honest here (split='random' leaks on drifting data with "
            f"repeat users; prefer 'time' or 'group'); got {show(reason)}"
        )
    stratified = type_of_target(y) in ("binary", "multiclass")
    kind = StratifiedShuffleSplit if stratified else ShuffleSplit
    return list(kind(n_splits=n_repeats, test_size=test_size, random_state=seed).split(np.zeros((n, 1)), y))


def _rows(X: Any, index: np.ndarray) -> Any:
    return X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]


def with_seed(estimator: Any, seed: RandomState) -> Any:
    """A clone of ``estimator`` with every ``random_state`` parameter, nested ones too, set to ``seed``.

    How :func:`compare` gives every arm of a repetition the same seed; use it to repeat one model over seeds.

    Example
    -------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> model = with_seed(make_pipeline(StandardScaler(), RandomForestClassifier(random_state=0)), 7)
    >>> model.get_params()["randomforestclassifier__random_state"]
    7
    """
    check_estimator("estimator", estimator)
    seed = check_seed("seed", seed)
    model = clone(estimator)
    keys = [k for k in model.get_params(deep=True) if k == "random_state" or k.endswith("__random_state")]
    return model.set_params(**{k: seed for k in keys}) if keys else model


def _fit(arm: Any, name: str, X: Any, y: Any, seed: int) -> Any:
    if hasattr(arm, "fit") and hasattr(arm, "get_params"):
        return with_seed(arm, seed).fit(X, y)
    model = arm(X, y, seed)
    if not hasattr(model, "predict"):
        raise TypeError(f"arms[{name!r}] must return a fitted estimator; got {show(model)}")
    return model


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    scores : DataFrame
        Tidy, one row per arm and repetition: ``arm``, ``repeat``, ``score``.
    summary : DataFrame
        One row per arm (indexed by arm, in the given order): ``mean`` and ``std`` of its scores, ``n``
        repetitions, ``diff`` (mean paired difference from the baseline) with its interval
        ``diff_low``/``diff_high``, and ``measurable`` (the interval excludes 0).
    baseline : str
        The arm the differences are taken from.
    scoring : str
        The metric's name.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    baseline: str
    scoring: str

    def __post_init__(self) -> None:
        check_frame("scores", self.scores, columns=["arm", "repeat", "score"])
        check_frame("summary", self.summary, columns=list(_SUMMARY))
        if not isinstance(self.baseline, str) or self.baseline not in self.summary.index:
            raise ValueError(f"baseline must be an arm of summary {show(list(self.summary.index))}; got {show(self.baseline)}")
        if not isinstance(self.scoring, str):
            raise TypeError(f"scoring must be the metric's name (str); got {show(self.scoring)}")

    def plot(self, ax: Any = None) -> Any:
        """Each arm's mean with an error bar of one standard deviation, and every repetition as a dot."""
        ax = ax if ax is not None else plt.subplots(figsize=(6, 0.5 + 0.45 * len(self.summary)))[1]
        names = list(self.summary.index)
        ypos = np.arange(len(names))[::-1]
        ax.errorbar(self.summary["mean"], ypos, xerr=self.summary["std"], fmt="o", color="black", capsize=4, zorder=3)
        for y0, name in zip(ypos, names):
            values = self.scores.loc[self.scores["arm"] == name, "score"]
            ax.scatter(values, np.full(len(values), y0), s=14, alpha=0.5, zorder=2)
        ax.set_yticks(ypos, names)
        ax.set_xlabel(f"{self.scoring} (mean, 1 sd; dots: repetitions)")
        return ax


def compare(
    arms: Mapping[str, Any],
    X: Any,
    y: Any,
    *,
    split: Any = "time",
    time: Any = None,
    groups: Any = None,
    n_repeats: int = 3,
    test_size: float = 0.2,
    scoring: Any = "average_precision",
    baseline: str | None = None,
    confidence: float = 0.95,
    reason: str | None = None,
    random_state: RandomState = None,
) -> Comparison:
    """Score every arm on the same folds, repeated, and compare each with a baseline arm, paired.

    Parameters
    ----------
    arms : mapping of name -> estimator or callable
        An estimator (or Pipeline) is cloned for each repetition, every ``random_state`` parameter in it
        set to the repetition's seed (all arms share it), then fitted on the training rows. A callable
        ``fn(X_train, y_train, random_state) -> fitted estimator`` can do anything an estimator cannot
        (resample, select rows) as long as the test rows stay untouched.
    X, y : the rows and targets; ``X`` may be a DataFrame (columns are passed through).
    split, time, groups, n_repeats, test_size, reason, random_state
        The split policy and repetitions, as in :func:`folds`.
    scoring : str, callable or None
        scikit-learn's ``scoring``: a scorer name, ``scorer(estimator, X, y)``, or None (``estimator.score``).
    baseline : str, optional
        The arm to compare against; the first arm by default.
    confidence : float in (0, 1)
        Coverage of the paired intervals (Student t over repetitions; needs ``n_repeats >= 2``).

    Returns
    -------
    Comparison
        ``scores`` (tidy), ``summary`` (mean, std, paired diff and interval) and ``plot()``.

    Book: ch. 6, "Model development" and "Model offline evaluation"; ch. 5, "Data leakage" (split policy).

    Example
    -------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3)); y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    >>> result = compare({"dummy": DummyClassifier(), "logistic": LogisticRegression()}, X, y,
    ...                  split="random", reason="i.i.d. simulated rows", scoring="roc_auc", random_state=0)
    >>> round(float(result.summary.loc["logistic", "mean"]), 1), bool(result.summary.loc["logistic", "measurable"])
    (0.8, True)
    """
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty mapping of name -> estimator or callable; got {show(arms)}")
    for name, arm in arms.items():
        if not isinstance(name, str):
            raise TypeError(f"arms must have str names; got {show(name)}")
        if not ((hasattr(arm, "fit") and hasattr(arm, "get_params")) or callable(arm)):
            raise TypeError(f"arms[{name!r}] must be an estimator or a callable fn(X_train, y_train, random_state); got {show(arm)}")
    names = list(arms)
    baseline = names[0] if baseline is None else baseline
    if baseline not in arms:
        raise ValueError(f"baseline must be one of the arms {show(names)}; got {show(baseline)}")
    scorer = check_scoring("scoring", scoring)
    scoring_name = scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "score")
    confidence = check_probability("confidence", confidence)
    rng = check_random_state("random_state", random_state)
    splits = folds(X, y, split=split, time=time, groups=groups, n_repeats=n_repeats, test_size=test_size,
                   reason=reason, random_state=rng)
    if len(splits) < 2:
        raise ValueError(f"n_repeats must be >= 2 for a spread and a paired interval; got {len(splits)} fold(s)")
    seeds = rng.integers(2**31 - 1, size=len(splits))
    y_all = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    rows = []
    for r, ((train, test), seed) in enumerate(zip(splits, seeds)):
        X_train, X_test = _rows(X, train), _rows(X, test)
        for name in names:
            model = _fit(arms[name], name, X_train, y_all[train], int(seed))
            value = scorer(model, X_test, y_all[test]) if scorer is not None else model.score(X_test, y_all[test])
            rows.append((name, r, float(value)))
    scores = pd.DataFrame(rows, columns=["arm", "repeat", "score"])
    wide = scores.pivot(index="repeat", columns="arm", values="score")[names]
    summary = []
    for name in names:
        mean, low, high = paired_difference(wide[name], wide[baseline], confidence=confidence)
        summary.append({"arm": name, "mean": wide[name].mean(), "std": wide[name].std(ddof=1), "n": len(wide),
                        "diff": mean, "diff_low": low, "diff_high": high, "measurable": bool(low > 0 or high < 0)})
    return Comparison(scores, pd.DataFrame(summary).set_index("arm"), baseline, str(scoring_name))
