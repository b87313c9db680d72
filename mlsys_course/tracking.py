"""Experiment tracking: log every training run (parameters, metrics, data, model) so it can be compared and reproduced.

A run you did not record is a run you cannot compare, reproduce or roll back to. These helpers wrap
MLflow so a notebook can track runs in a throw-away local store (an SQLite file in a temporary
directory) or, if ``MLFLOW_TRACKING_URI`` is set, in a shared tracking server, and tie each run to
a fingerprint of the exact data it was trained on (data versioning in miniature).

MLflow is an optional dependency (``pip install mlsys-course[tracking]``); it is imported only when a
tracking function is called, so importing this module stays cheap.

Book: Chapter 6, "Experiment Tracking and Versioning".
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from ._validation import _show, check_real

#: Name of the tag and parameter holding the training data's fingerprint.
FINGERPRINT_KEY = "data_fingerprint"

#: Environment variables set while a :func:`tracking_store` is open (restored on exit).
_QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
#: Loggers turned down to WARNING while a :func:`tracking_store` is open (restored on exit).
_QUIET_LOGGERS = ("mlflow", "mlflow.store.db.utils", "alembic")
#: Artifact roots of the open local stores, innermost last (empty for a shared server).
_ARTIFACT_ROOTS: list[str | None] = []


@contextmanager
def _quiet_warnings() -> Iterator[None]:
    """Silence the warnings MLflow triggers in normal use (they would clutter notebook outputs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Any type hint is inferred as AnyType")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column")
        # Deprecations raised by MLflow's own calls into SQLAlchemy and pandas: not the user's code.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"mlflow(\.|$)")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow(\.|$)")
        yield


# --------------------------------------------------------------------------------------------- data


def _hash_part(h: Any, label: str, value: Any) -> None:
    """Feed one labelled array/frame into the hash: content, shape/columns and dtypes."""
    h.update(f"<{label}>".encode())
    if value is None:
        h.update(b"None")
        return
    if isinstance(value, pd.DataFrame):
        h.update(repr([str(c) for c in value.columns]).encode())
        h.update(repr([str(t) for t in value.dtypes]).encode())
        h.update(repr(value.shape).encode())
        h.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
        return
    if isinstance(value, pd.Series):
        h.update(repr((str(value.name), str(value.dtype), value.shape)).encode())
        h.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
        return
    if isinstance(value, (str, bytes)) or np.isscalar(value):
        raise TypeError(f"{label} must be an array-like or a pandas DataFrame/Series; got {_show(value)}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and other non-arrays
        raise TypeError(f"{label} must be an array-like or a pandas DataFrame/Series; got {_show(value)}") from exc
    if arr.ndim == 0:
        raise ValueError(f"{label} must have at least 1 dimension; got a 0-d array {_show(value)}")
    h.update(repr((arr.shape, arr.dtype.str)).encode())
    if arr.dtype.hasobject:
        # Object arrays hold pointers: hash the values through pandas instead.
        h.update(pd.util.hash_pandas_object(pd.Series(arr.ravel(), dtype=object), index=False).to_numpy().tobytes())
    else:
        h.update(np.ascontiguousarray(arr).tobytes())


def data_fingerprint(X: Any, y: Any = None) -> str:
    """A short, stable hash of a dataset: same data gives the same string, any changed value a new one.

    The hash covers the values, the column names and the dtypes (and the shape), not the row index.
    It is the same across processes and machines (no Python ``hash()`` randomisation), so it can be
    logged with a run and compared later to check that two runs saw the same data.

    Parameters
    ----------
    X : pandas.DataFrame, pandas.Series or array-like
        Features.
    y : pandas.Series or array-like, optional
        Labels, hashed after ``X`` (``None`` if absent).

    Returns
    -------
    str
        The first 16 hex digits of a SHA-256 digest.

    Raises
    ------
    TypeError
        If ``X`` or ``y`` is a scalar or a string rather than an array-like.

    Book: Chapter 6, "Experiment Tracking and Versioning" (data versioning: know which data a model saw).

    Example
    -------
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> data_fingerprint(X) == data_fingerprint(X.copy())
    True
    >>> X2 = X.copy(); X2[1, 1] = 4.5
    >>> data_fingerprint(X) == data_fingerprint(X2)
    False
    >>> len(data_fingerprint(pd.DataFrame(X, columns=["a", "b"]), [0, 1]))
    16
    """
    if X is None:
        raise TypeError("X must be an array-like or a pandas DataFrame/Series; got None")
    h = hashlib.sha256()
    _hash_part(h, "X", X)
    _hash_part(h, "y", y)
    return h.hexdigest()[:16]


# -------------------------------------------------------------------------------------------- store


def _require_store() -> None:
    """Refuse to let MLflow fall back to its default ``./mlflow.db`` in the working directory."""
    import mlflow

    if not (_ARTIFACT_ROOTS or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.is_tracking_uri_set()):
        raise RuntimeError(
            "no tracking store is open: wrap the calls in `with tracking_store():` "
            "(or set MLFLOW_TRACKING_URI to a tracking server)"
        )


@contextmanager
def tracking_store(directory: str | os.PathLike | None = None) -> Iterator[str]:
    """Point MLflow at a tracking store for the duration of a ``with`` block, quietly.

    If the environment variable ``MLFLOW_TRACKING_URI`` is set (a shared tracking server), it is
    used unchanged. Otherwise runs go to an SQLite file ``<directory>/mlflow.db`` and artifacts
    (models) to ``<directory>/artifacts``; with ``directory=None`` that is a temporary directory,
    deleted on exit. Nothing is written to the working directory either way.

    While the block is open MLflow's informational logging is turned down to warnings and its
    telemetry is disabled; the previous tracking URI, environment variables and log levels are
    restored on exit.

    Parameters
    ----------
    directory : str or path-like, optional
        Where to keep the store (created if missing, kept after the block). ``None`` (default): a
        temporary directory removed on exit.

    Yields
    ------
    str
        The tracking URI in use (``sqlite:///...`` or the value of ``MLFLOW_TRACKING_URI``).

    Raises
    ------
    TypeError
        If ``directory`` is not a string, a path or None.
    ValueError
        If ``directory`` exists and is not a directory.

    Book: Chapter 6, "Experiment Tracking and Versioning" (a place where every run is recorded).

    Example
    -------
    Opening a store imports MLflow and creates its database tables (about 2.5 s), so the example is
    not run as a doctest:

    >>> with tracking_store() as uri:  # doctest: +SKIP
    ...     print(uri.startswith("sqlite:///"))
    True
    """
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path (str or os.PathLike) or None; got {_show(directory)}")
    if directory is not None and Path(directory).exists() and not Path(directory).is_dir():
        raise ValueError(f"directory must be a directory; got {_show(str(directory))}, which is a file")

    saved_env = {k: os.environ.get(k) for k in (*_QUIET_ENV, "MLFLOW_TRACKING_URI")}
    shared_uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    os.environ.update(_QUIET_ENV)
    with _quiet_warnings():
        import mlflow  # importing mlflow configures its loggers, so turn them down only afterwards
        from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_levels = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

    saved_uri = tracking_utils._tracking_uri
    tmp = None
    try:
        if shared_uri:
            uri = shared_uri
            root = None
        else:
            if directory is None:
                tmp = tempfile.TemporaryDirectory(prefix="mlsys-tracking-")
                path = Path(tmp.name)
            else:
                path = Path(directory).absolute()
                path.mkdir(parents=True, exist_ok=True)
            uri = f"sqlite:///{path / 'mlflow.db'}"
            root = (path / "artifacts").as_uri()
        mlflow.set_tracking_uri(uri)
        _ARTIFACT_ROOTS.append(root)
        try:
            with _quiet_warnings():
                mlflow.search_experiments(max_results=1)  # create the tables now, quietly
            yield uri
        finally:
            _ARTIFACT_ROOTS.pop()
    finally:
        if mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(saved_uri)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        if tmp is not None:
            _dispose_sqlite_engines(uri)
            tmp.cleanup()


def _dispose_sqlite_engines(uri: str) -> None:
    """Close MLflow's cached database connections to ``uri`` so its file can be deleted."""
    try:
        from mlflow.tracking._tracking_service import utils as tracking_utils

        store = tracking_utils._get_store(uri)
        engine = getattr(store, "engine", None)
        if engine is not None:
            engine.dispose()
    except Exception:  # best effort: the directory is removed anyway on POSIX
        pass


def _experiment_id(name: str, *, create: bool) -> str | None:
    """The id of experiment ``name`` (created under the store's artifact root if asked and missing)."""
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    if not create:
        return None
    root = _ARTIFACT_ROOTS[-1] if _ARTIFACT_ROOTS else None
    location = f"{root}/{quote(name, safe='')}" if root else None
    return mlflow.create_experiment(name, artifact_location=location)


def _check_name(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string; got {_show(value)} of type {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")
    return value


def _check_params(params: Any) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of name -> value; got {_show(params)} of type {type(params).__name__}")
    out = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"params keys must be non-empty strings; got {_show(key)}")
        if key == FINGERPRINT_KEY:
            raise ValueError(f"params must not contain {FINGERPRINT_KEY!r}: log_run computes it from X_train")
        if not (value is None or isinstance(value, (str, bool, int, float, np.generic))):
            raise TypeError(f"params[{key!r}] must be a str, number, bool or None; got {_show(value)}")
        out[key] = value.item() if isinstance(value, np.generic) else value
    return out


def _check_metrics(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"metrics must be a dict of name -> number; got {_show(metrics)} of type {type(metrics).__name__}"
        )
    out = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"metrics keys must be non-empty strings; got {_show(key)}")
        out[key] = check_real(f"metrics[{key!r}]", value)
    return out


def _head(X: Any, n: int = 5) -> Any:
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[:n]
    return np.asarray(X)[:n]


# --------------------------------------------------------------------------------------------- runs


def log_run(
    model: Any,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    X_train: Any,
    y_train: Any = None,
    experiment: str = "course",
    run_name: str | None = None,
    log_model: bool = True,
) -> str:
    """Record one training run: its parameters, metrics, training-data fingerprint and model.

    Must be called inside :func:`tracking_store` (or with ``MLFLOW_TRACKING_URI`` set). The
    fingerprint of ``(X_train, y_train)`` (:func:`data_fingerprint`) is logged both as a tag and as
    the parameter ``data_fingerprint``, so runs trained on different data are easy to tell apart.

    Parameters
    ----------
    model : scikit-learn estimator
        The fitted model (logged with ``mlflow.sklearn`` if ``log_model``).
    params : dict of str -> str, number, bool or None
        Hyperparameters and other settings (stored by MLflow as strings).
    metrics : dict of str -> float
        Finite evaluation results.
    X_train : pandas.DataFrame or array-like
        Training features: fingerprinted, and its first 5 rows stored as the model's input example.
    y_train : array-like, optional
        Training labels, included in the fingerprint.
    experiment : str, default "course"
        Experiment to log into (created if missing).
    run_name : str, optional
        Human-readable name; MLflow picks a random one if None.
    log_model : bool, default True
        Store the model as an artifact (about 0.1–1 s); False logs only parameters and metrics.

    Returns
    -------
    str
        The run id, for :func:`load_model`.

    Raises
    ------
    TypeError
        If ``params``/``metrics`` are not dicts, a metric is not a number, or a name is not a string.
    ValueError
        If a metric is not finite, or ``params`` contains ``"data_fingerprint"``.
    RuntimeError
        If no tracking store is open.

    Book: Chapter 6, "Experiment Tracking and Versioning" (track everything needed to reproduce a run).

    Example
    -------
    Needs an open store (about 2.5 s to create), so it is not run as a doctest:

    >>> from sklearn.linear_model import LogisticRegression  # doctest: +SKIP
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])  # doctest: +SKIP
    >>> with tracking_store():  # doctest: +SKIP
    ...     model = LogisticRegression().fit(X, y)
    ...     run_id = log_run(model, params={"C": 1.0}, metrics={"accuracy": 1.0}, X_train=X, y_train=y)
    ...     print(best_run(metric="accuracy")["metrics.accuracy"])
    1.0
    """
    params = _check_params(params)
    metrics = _check_metrics(metrics)
    experiment = _check_name("experiment", experiment)
    if run_name is not None:
        run_name = _check_name("run_name", run_name)
    if not isinstance(log_model, bool):
        raise TypeError(f"log_model must be a bool; got {_show(log_model)}")
    fingerprint = data_fingerprint(X_train, y_train)
    _require_store()

    import mlflow

    with _quiet_warnings():
        experiment_id = _experiment_id(experiment, create=True)
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            mlflow.set_tag(FINGERPRINT_KEY, fingerprint)
            mlflow.log_params({**params, FINGERPRINT_KEY: fingerprint})
            mlflow.log_metrics(metrics)
            if log_model:
                import mlflow.sklearn

                mlflow.sklearn.log_model(
                    model, name="model", pip_requirements=["scikit-learn"], input_example=_head(X_train),
                    skops_trusted_types=_own_types(model),
                )
    return run.info.run_id


def _own_types(model: Any) -> list[str]:
    """The types skops would refuse to load from this model (e.g. HistGradientBoosting's tree predictors).

    MLflow 3 saves scikit-learn models with skops, which loads only types known to be safe. A model we
    have just trained in this process is trusted by construction, so its own types are declared
    trusted; a model file from elsewhere still gets skops' check.
    """
    import skops.io

    return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def runs(experiment: str = "course") -> pd.DataFrame:
    """All runs of an experiment as a tidy table, oldest first.

    Parameters
    ----------
    experiment : str, default "course"
        The experiment's name.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``run_id``, ``run_name``, ``params.<name>`` (strings, as MLflow stores them),
        ``metrics.<name>`` (floats) and ``data_fingerprint``. Empty (with the first three columns) if
        the experiment has no runs yet.

    Raises
    ------
    ValueError
        If no experiment has that name.
    RuntimeError
        If no tracking store is open.

    Book: Chapter 6, "Experiment Tracking and Versioning" (compare runs side by side).

    Example
    -------
    See :func:`log_run`; the table looks like::

        run_id  run_name  params.C  metrics.accuracy  data_fingerprint
    """
    experiment = _check_name("experiment", experiment)
    _require_store()
    import mlflow

    with _quiet_warnings():
        experiment_id = _experiment_id(experiment, create=False)
    if experiment_id is None:
        names = sorted(e.name for e in mlflow.search_experiments())
        raise ValueError(f"experiment must name an existing experiment; got {experiment!r} (known: {names})")
    with _quiet_warnings():
        found = mlflow.search_runs(experiment_ids=[experiment_id], order_by=["attributes.start_time ASC"])
    columns = ["run_id", "run_name", FINGERPRINT_KEY]
    if found.empty:
        return pd.DataFrame(columns=columns)
    found = found.sort_values("start_time", kind="stable").reset_index(drop=True)
    params = sorted(c for c in found.columns if c.startswith("params.") and c != f"params.{FINGERPRINT_KEY}")
    metrics = sorted(c for c in found.columns if c.startswith("metrics."))
    table = pd.DataFrame(
        {
            "run_id": found["run_id"],
            "run_name": found.get("tags.mlflow.runName"),
            **{c: found[c] for c in params},
            **{c: found[c].astype(float) for c in metrics},
            FINGERPRINT_KEY: found.get(f"tags.{FINGERPRINT_KEY}"),
        }
    )
    return table


def best_run(experiment: str = "course", *, metric: str, maximize: bool = True) -> pd.Series:
    """The run with the best value of a metric (first logged wins ties; runs without it are ignored).

    Parameters
    ----------
    experiment : str, default "course"
        The experiment's name.
    metric : str
        Metric name, without the ``metrics.`` prefix.
    maximize : bool, default True
        True if larger is better (accuracy), False if smaller is (loss).

    Returns
    -------
    pandas.Series
        The run's row of :func:`runs`.

    Raises
    ------
    ValueError
        If the experiment does not exist, or no run logged ``metric``.

    Book: Chapter 6, "Experiment Tracking and Versioning" (pick the model to ship from the records).

    Example
    -------
    See :func:`log_run`.
    """
    metric = _check_name("metric", metric)
    if not isinstance(maximize, bool):
        raise TypeError(f"maximize must be a bool; got {_show(maximize)}")
    table = runs(experiment)
    column = f"metrics.{metric}"
    if column not in table.columns or table[column].isna().all():
        known = [c.removeprefix("metrics.") for c in table.columns if c.startswith("metrics.")]
        raise ValueError(f"metric must be a metric logged in experiment {experiment!r} (known: {known}); got {metric!r}")
    values = table[column]
    index = values.idxmax() if maximize else values.idxmin()
    return table.loc[index]


def load_model(run_id: str) -> Any:
    """The model logged by :func:`log_run` in run ``run_id``, as the original scikit-learn object.

    Parameters
    ----------
    run_id : str
        A run id returned by :func:`log_run` (or the ``run_id`` of :func:`best_run`).

    Returns
    -------
    scikit-learn estimator
        The model, ready to ``predict``.

    Raises
    ------
    ValueError
        If the run does not exist or logged no model.

    Book: Chapter 6, "Experiment Tracking and Versioning" (any tracked model can be brought back).

    Example
    -------
    See :func:`log_run`: ``load_model(run_id).predict(X)``.
    """
    run_id = _check_name("run_id", run_id)
    _require_store()
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    try:
        with _quiet_warnings():
            return mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    except MlflowException as exc:
        raise ValueError(f"run_id must be a run that logged a model; got {run_id!r} ({exc.message})") from exc
