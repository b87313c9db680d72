"""Continual learning: keep a model up to date by training it on new data, and decide when to do so.

Two ways to update a model (the book's "stateless retraining" and "stateful training"):

- **Stateless retraining**: fit a fresh model from scratch on a window of data (all data so far, or the last
  N days) every time. Plain ``clone(model).fit(X_window, y_window)``; every update pays for the whole window.
- **Stateful training** (fine-tuning, incremental learning): continue training the model you already have on
  the *new* rows only (:func:`update`). Each update costs only the new rows; the old rows live on in the
  model's state.

When to update (the book's "triggers"): one small interface for three kinds of rule, so a training loop can
ask any of them the same question::

    trigger.reset(now, **evidence)          # after every (re)training, including the first one
    if trigger.check(now, **evidence):     # every time new evidence arrives
        ...retrain, then trigger.reset(now, **evidence)

- :class:`ScheduleTrigger`: time-based (every day, every week);
- :class:`DriftTrigger`: a chapter-8 drift detector on the inputs (or on a stream of scores or losses);
- :class:`PerformanceTrigger`: the model's metric on the labels known so far has dropped.

**Evidence** is passed by keyword; the names are fixed (``EVIDENCE``) so that a loop can pass one dict to
every trigger. A trigger ignores the evidence it does not use and refuses a name it does not know (a typo
would otherwise be ignored silently):

- ``inputs``: a window of model inputs (a DataFrame or 2-D array). At ``reset``: the training window (the
  reference of a batch drift detector); at ``check``: the recent window to compare with it.
- ``values``: 1-d numbers that arrived since the last ``check``, in time order (a model's scores, or the
  loss of each newly labelled row), for a streaming detector such as ``monitoring.PageHinkley``.
- ``y_true``, ``y_score``: 0/1 labels and the current model's scores of the rows whose labels are known by
  ``now``. Only labels known at ``now`` may be passed: with delayed labels (``label_known_at`` in the case
  study) that is the caller's filter, ``df[df["label_known_at"] <= now]``.

Times (``now``) are timezone-naive timestamps (a string such as ``"2024-03-01"``, a datetime or a pandas
Timestamp); they may not go back in time.

Book: Chapter 9, "Continual Learning" (stateless retraining versus stateful training; how often to update
your model; triggers).
"""

from __future__ import annotations

import copy
import inspect
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.ensemble import BaseEnsemble, HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from mlsys_course._validation import (
    check_array,
    check_binary_labels,
    check_duration,
    check_estimator,
    check_int,
    check_labels,
    check_real,
    check_same_length,
    check_timestamp,
    show,
)

__all__ = ["EVIDENCE", "METRICS", "DriftTrigger", "PerformanceTrigger", "ScheduleTrigger", "update"]

#: The evidence a trigger's ``check`` and ``reset`` accept by keyword (see the module docstring).
EVIDENCE = ("inputs", "values", "y_true", "y_score")

#: Metric names :class:`PerformanceTrigger` accepts (higher is better), with their scikit-learn functions.
METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "average_precision": average_precision_score,
    "roc_auc": roc_auc_score,
}



# ----------------------------------------------------------------------------------------------- stateful training


def _check_rows(X: Any, y: Any) -> tuple[Any, np.ndarray]:
    if isinstance(X, (str, bytes)) or np.isscalar(X) or X is None:
        raise TypeError(f"X must be a 2-D array or a DataFrame of new rows; got {show(X)}")
    if not isinstance(X, pd.DataFrame):
        X = check_array("X", X, ndim=2)
    elif len(X) == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column; got shape {X.shape}")
    y = check_labels("y", y)
    check_same_length(X=X, y=y)
    return X, y


def _members(model: Any) -> tuple[str, int] | None:
    """For an ensemble that a warm start grows: the parameter holding its size, and the members it has now."""
    if "warm_start" not in model.get_params():
        return None
    if isinstance(model, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        return "max_iter", int(model.n_iter_)  # early stopping may have fitted fewer than max_iter
    if isinstance(model, BaseEnsemble) and "n_estimators" in model.get_params():
        return "n_estimators", len(model.estimators_)
    return None


def update(model: Any, X: Any, y: Any, *, classes: Any = None, n_new: int | None = None) -> Any:
    """Stateful training: continue training a fitted model on new rows only (in place; returns it).

    How the model is updated:

    - **partial_fit** when the estimator has it (``SGDClassifier``, ``SGDRegressor``, ``MLPClassifier``,
      ``MultinomialNB``, ``Perceptron``, ...): ``n_new`` passes (default 1) of ``model.partial_fit(X, y)``
      over the new rows, exactly as calling it yourself. The learning rate schedule continues where it was.
    - **warm start** for ensembles that scikit-learn lets grow (``HistGradientBoosting*``, ``GradientBoosting*``,
      ``RandomForest*``, ``ExtraTrees*``, ``Bagging*``): ``warm_start`` is set to True and ``n_new``
      members (boosting iterations or trees) are added, fitted on the new rows only; the old members are
      kept unchanged. Boosting continues from the old ensemble's predictions on the new rows.
      ``HistGradientBoosting`` keeps the bin edges it learnt at the first fit (new rows are binned with them)
      and, with early stopping on, may add fewer than ``n_new``. ``n_new`` is required here: how many members
      to add depends on how many new rows there are.
    - a **Pipeline**: its transformers are kept as fitted (refitting a scaler would change the meaning of the
      features the old weights were learnt on); the new rows go through them and the final estimator is
      updated as above.
    - anything else (``LogisticRegression``, ``SVC``, ...): a TypeError. A warm start of a convex model only
      changes where the solver starts, and the fit converges to the new rows' optimum, forgetting the old
      rows: that is retraining on the new rows, not stateful training.

    Parameters
    ----------
    model : estimator
        A fitted scikit-learn estimator or Pipeline (fit it the first time with ``fit``). Changed in place:
        ``copy.deepcopy`` it first to keep the old version.
    X : array-like of shape (n_rows, n_features) or DataFrame
        The new rows only, with the features the model was fitted on.
    y : array-like of shape (n_rows,)
        Their labels (targets). For a classifier, every label must be one of ``model.classes_``.
    classes : array-like, optional
        For partial_fit classifiers: the classes, passed on to ``partial_fit`` (which checks them against
        the first call's). Not accepted by other models.
    n_new : int, optional
        partial_fit: passes over the new rows (default 1). Warm start: members to add (required).

    Returns
    -------
    estimator
        ``model``, updated.

    Book: Chapter 9, "Continual Learning" (stateless retraining versus stateful training).

    Example
    -------
    >>> from sklearn.linear_model import SGDClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); y = (X[:, 0] > 0).astype(int)
    >>> model = SGDClassifier(loss="log_loss", random_state=0).fit(X[:200], y[:200])
    >>> model = update(model, X[200:], y[200:])       # 200 new rows processed, not 400
    >>> float(model.score(X, y)) > 0.9
    True
    """
    check_estimator("model", model)
    if isinstance(model, Pipeline):
        _check_fitted(model)
        X, y = _check_rows(X, y)
        update(model.steps[-1][1], model[:-1].transform(X), y, classes=classes, n_new=n_new)
        return model
    _check_fitted(model)
    X, y = _check_rows(X, y)
    if n_new is not None:
        n_new = check_int("n_new", n_new, minimum=1, maximum=10_000)
    known = getattr(model, "classes_", None)
    if is_classifier(model) and known is not None:
        unknown = np.setdiff1d(np.unique(y), np.asarray(known))
        if len(unknown):
            raise ValueError(f"y must hold only the model's classes {show(np.asarray(known).tolist())}; "
                             f"got also {show(unknown[:5].tolist())}")
    if callable(getattr(model, "partial_fit", None)):
        kwargs = {}
        if classes is not None:
            if "classes" not in inspect.signature(model.partial_fit).parameters:
                raise TypeError(f"classes must be None for {type(model).__name__}, whose partial_fit takes no "
                                f"classes; got {show(classes)}")
            kwargs["classes"] = check_labels("classes", classes)
        for _ in range(1 if n_new is None else n_new):
            model.partial_fit(X, y, **kwargs)
        return model
    if classes is not None:
        raise TypeError(f"classes must be None for {type(model).__name__}, which has no partial_fit; got {show(classes)}")
    members = _members(model)
    if members is None:
        raise TypeError(
            f"model must support stateful training: partial_fit (SGDClassifier, MLPClassifier, ...) or a warm start "
            f"that adds members (HistGradientBoosting*, GradientBoosting*, RandomForest*, ...); got "
            f"{type(model).__name__}, which has neither: retrain it from scratch on a window instead")
    if n_new is None:
        raise TypeError(f"n_new must be an int for a warm start of {type(model).__name__} (members to add, e.g. 20); "
                        "got None")
    parameter, n_members = members
    model.set_params(warm_start=True, **{parameter: n_members + n_new})
    model.fit(X, y)
    return model


def _check_fitted(model: Any) -> None:
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ValueError(f"model must be fitted already (fit it on the first window, then update it); "
                         f"got an unfitted {type(model).__name__}") from None


# ----------------------------------------------------------------------------------------------- triggers


class _Trigger:
    """Shared plumbing: the clock, the evidence names, a readable repr."""

    _params: tuple[str, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._params)
        return f"{type(self).__name__}({args})"

    def _evidence(self, evidence: dict) -> dict:
        unknown = [k for k in evidence if k not in EVIDENCE]
        if unknown:
            raise TypeError(f"evidence must be given as {', '.join(EVIDENCE)}; got unknown {show(unknown)}")
        return evidence

    def _now(self, now: Any, *, started: bool = True) -> pd.Timestamp:
        now = check_timestamp("now", now)
        last = getattr(self, "last_retrain_", None)
        if started and last is None:
            raise ValueError(f"this {type(self).__name__} has not started: call reset(now, ...) after the first "
                             f"training, then check(now, ...); got check({str(now)!r}) first")
        if last is not None and now < last:
            raise ValueError(f"now must not go back in time; got {now}, before the last retrain at {last}")
        return now


class ScheduleTrigger(_Trigger):
    """Retrain on a schedule: fire once ``every`` has passed since the last retrain.

    Parameters
    ----------
    every : str or Timedelta, default "7D"
        The retraining period (a pandas duration: "1D", "12h", "7D").

    Attributes
    ----------
    last_retrain_ : pandas.Timestamp
        The ``now`` of the last :meth:`reset`.

    Book: Chapter 9, "Continual Learning" (how often to update your model; time-based triggers).

    Example
    -------
    >>> trigger = ScheduleTrigger(every="7D").reset("2024-01-01")
    >>> trigger.check("2024-01-07"), trigger.check("2024-01-08")
    (False, True)
    """

    _params = ("every",)

    def __init__(self, every: str | pd.Timedelta = "7D") -> None:
        self.every = check_duration("every", every)
        self.last_retrain_: pd.Timestamp | None = None

    def reset(self, now: Any, **evidence: Any) -> ScheduleTrigger:
        """Record a retrain at ``now`` (other evidence is ignored); returns self."""
        self._evidence(evidence)
        self.last_retrain_ = self._now(now, started=False)
        return self

    def check(self, now: Any, **evidence: Any) -> bool:
        """True when at least ``every`` has passed since the last retrain."""
        self._evidence(evidence)
        return bool(self._now(now) - self.last_retrain_ >= self.every)


class DriftTrigger(_Trigger):
    """Retrain when a chapter-8 drift detector flags a change since the last retrain.

    Two kinds of detector:

    - a **batch** detector with ``fit(reference)`` and ``test(current)`` (``mlsys_course.drift.KSDetector``,
      ``PSIDetector``, ...): ``reset(now, inputs=training_window)`` fits a fresh copy on the training window;
      ``check(now, inputs=recent_window)`` fires when ``test(recent_window).drifted``.
    - a **streaming** detector with ``update(x) -> bool`` and a ``drift_detected_`` attribute
      (``mlsys_course.monitoring.PageHinkley``, ``ADWIN``):
      ``reset(now)`` starts a fresh copy; ``check(now, values=new_values)`` feeds the values that arrived
      since the last check, in order, and fires when any of them is a detection.

    ``detector`` is a template: each reset works on a deep copy, so pass an unused one.

    Parameters
    ----------
    detector : object
        A batch or streaming detector as above.

    Attributes
    ----------
    detector_ : object
        The copy in use since the last reset.
    last_result_ : DriftResult or None
        A batch detector's last test result.
    last_retrain_ : pandas.Timestamp
        The ``now`` of the last :meth:`reset`.

    Book: Chapter 9, "Continual Learning" (triggers: drift-based); Chapter 8, "Detecting Data Distribution
    Shifts".

    Example
    -------
    >>> from mlsys_course.drift import KSDetector
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"amount": rng.lognormal(3, 1, 2000)})
    >>> trigger = DriftTrigger(KSDetector(alpha=0.01)).reset("2024-01-01", inputs=train)
    >>> trigger.check("2024-01-02", inputs=train.sample(500, random_state=0))
    False
    >>> trigger.check("2024-01-03", inputs=train.sample(500, random_state=0) * 1.3)
    True
    """

    _params = ("detector",)

    def __init__(self, detector: Any) -> None:
        if isinstance(detector, type):
            raise TypeError(f"detector must be a detector instance; got the class {detector.__name__}")
        batch = callable(getattr(detector, "fit", None)) and callable(getattr(detector, "test", None))
        streaming = callable(getattr(detector, "update", None)) and hasattr(detector, "drift_detected_")
        if not batch and not streaming:
            raise TypeError("detector must be a batch drift detector (fit and test, e.g. drift.KSDetector) or a "
                            f"streaming one (update, e.g. monitoring.PageHinkley); got {show(detector)}")
        self.detector = detector
        self.batch_ = batch
        self.last_retrain_: pd.Timestamp | None = None
        self.last_result_ = None

    def reset(self, now: Any, **evidence: Any) -> DriftTrigger:
        """Start a fresh detector at a retrain: a batch one is fitted on ``inputs`` (the training window)."""
        evidence = self._evidence(evidence)
        now = self._now(now, started=False)
        detector = copy.deepcopy(self.detector)
        if self.batch_:
            if evidence.get("inputs") is None:
                raise TypeError("inputs must be given to reset a batch detector (the training window); got None")
            detector.fit(evidence["inputs"])
        self.detector_ = detector
        self.last_retrain_ = now
        self.last_result_ = None
        return self

    def check(self, now: Any, **evidence: Any) -> bool:
        """True when the detector flags drift: in ``inputs`` (batch) or among the new ``values`` (streaming)."""
        evidence = self._evidence(evidence)
        self._now(now)
        if self.batch_:
            if evidence.get("inputs") is None:
                raise TypeError("inputs must be given to check a batch detector (the recent window); got None")
            self.last_result_ = self.detector_.test(evidence["inputs"])
            return bool(self.last_result_.drifted)
        values = evidence.get("values")
        if values is None:
            raise TypeError("values must be given to check a streaming detector (1-d numbers since the last check); "
                            "got None")
        values = check_array("values", values, min_len=0)
        return any([bool(self.detector_.update(float(x))) for x in values.tolist()])


class PerformanceTrigger(_Trigger):
    """Retrain when the model's metric on the labels known so far drops by ``drop`` from its value at the last retrain.

    The baseline is the metric at the last retrain: the ``y_true``/``y_score`` given to :meth:`reset` (e.g.
    the new model on a validation window), or, when none are given, the first :meth:`check` with enough
    labels (that check only sets the baseline and returns False). A check fires when
    ``baseline - metric >= drop`` (an absolute drop; higher is better).

    "Enough labels": at least ``min_labels`` rows, with both classes present (the metrics are undefined
    otherwise); with fewer, ``check`` returns False: a performance trigger has to wait for labels, which is
    its cost when labels are late.

    Parameters
    ----------
    metric : {"average_precision", "roc_auc"} or callable
        A name in ``METRICS`` or ``metric(y_true, y_score) -> float`` (higher is better).
    drop : float
        The absolute drop that fires, > 0 (0.05: five points of average precision).
    min_labels : int
        Known labels needed before the metric is trusted (>= 1).

    Attributes
    ----------
    baseline_ : float or None
        The metric at the last retrain (None until known).
    last_value_ : float or None
        The metric at the last check with enough labels.
    last_retrain_ : pandas.Timestamp
        The ``now`` of the last :meth:`reset`.

    Book: Chapter 9, "Continual Learning" (triggers: performance-based); Chapter 4, "Natural Labels" (feedback
    loop length).

    Example
    -------
    >>> y = np.array([0, 0, 1, 1] * 25)
    >>> trigger = PerformanceTrigger(metric="roc_auc", drop=0.1, min_labels=50)
    >>> trigger = trigger.reset("2024-01-01", y_true=y, y_score=y + 0.0)     # baseline AUC 1.0
    >>> trigger.check("2024-01-05", y_true=y[:40], y_score=np.zeros(40))   # too few labels yet
    False
    >>> trigger.check("2024-01-09", y_true=y, y_score=np.where(np.arange(100) < 60, y, 1 - y) + 0.0)
    True
    """

    _params = ("metric", "drop", "min_labels")

    def __init__(self, *, metric: str | Callable[[np.ndarray, np.ndarray], float], drop: float,
                 min_labels: int) -> None:
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(f"metric must be one of {', '.join(map(repr, METRICS))} or a callable; got {metric!r}")
        elif not callable(metric) or isinstance(metric, type):
            raise TypeError(f"metric must be a metric name or a callable metric(y_true, y_score); got {show(metric)}")
        self.metric = metric
        self.drop = check_real("drop", drop, low=0.0, low_open=True)
        self.min_labels = check_int("min_labels", min_labels, minimum=1)
        self.last_retrain_: pd.Timestamp | None = None
        self.baseline_: float | None = None
        self.last_value_: float | None = None

    def _score(self, evidence: dict) -> float | None:
        """The metric on the evidence's labels, or None when there are not enough of them."""
        y_true, y_score = evidence.get("y_true"), evidence.get("y_score")
        if y_true is None or y_score is None:
            raise TypeError("y_true and y_score must both be given (the labels known by now and the model's scores); "
                            f"got y_true={show(y_true)}, y_score={show(y_score)}")
        if isinstance(y_true, (list, tuple, np.ndarray, pd.Series)) and len(y_true) == 0:
            y_true = np.zeros(0, dtype=np.int8)
        else:
            y_true = check_binary_labels("y_true", y_true)
        y_score = check_array("y_score", y_score, min_len=0)
        check_same_length(y_true=y_true, y_score=y_score)
        if len(y_true) < self.min_labels or len(np.unique(y_true)) < 2:
            return None
        fn = METRICS[self.metric] if isinstance(self.metric, str) else self.metric
        value = fn(y_true, y_score)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"metric must return a finite number; got {show(value)}")
        return float(value)

    def reset(self, now: Any, **evidence: Any) -> PerformanceTrigger:
        """Record a retrain; the baseline is the metric on ``y_true``/``y_score`` when given, else set later."""
        evidence = self._evidence(evidence)
        now = self._now(now, started=False)
        given = evidence.get("y_true") is not None or evidence.get("y_score") is not None
        self.baseline_ = self._score(evidence) if given else None
        self.last_value_ = None
        self.last_retrain_ = now
        return self

    def check(self, now: Any, **evidence: Any) -> bool:
        """True when the metric on the known labels is at least ``drop`` below the baseline."""
        evidence = self._evidence(evidence)
        self._now(now)
        value = self._score(evidence)
        if value is None:
            return False
        self.last_value_ = value
        if self.baseline_ is None:
            self.baseline_ = value
            return False
        return bool(self.baseline_ - value >= self.drop)
