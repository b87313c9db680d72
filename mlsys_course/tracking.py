"""Experiment tracking: log every training run (parameters, metrics, data, model) so it can be compared and reproduced.

A run you did not record is a run you cannot compare, reproduce or roll back to. These recipes use
MLflow's public client (``mlflow.MlflowClient``) to track runs in a throw-away local store (an SQLite
file in a temporary directory) or, if ``MLFLOW_TRACKING_URI`` is set, in a shared tracking server, and
tie each run to a fingerprint of the exact data it was trained on (data versioning in miniature).

They change no process-wide state: not MLflow's global tracking URI or active run, not environment
variables, not logging levels. Two MLflow settings are yours to choose, before MLflow is first imported
(the course notebook's setup cell does both): ``MLFLOW_DISABLE_TELEMETRY=true`` (MLflow sends usage
data otherwise) and ``MLFLOW_LOGGING_LEVEL=WARNING`` (MLflow logs two INFO lines when it creates a new
store's tables; logging a run prints nothing either way).

MLflow is an optional dependency (``pip install mlsys-course[tracking]``); it is imported only when a
tracking function is called, so importing this module stays cheap.

Book: Chapter 6, "Experiment Tracking and Versioning".
"""

from __future__ import annotations

import datetime as _dt
import decimal
import hashlib
import numbers
import os
import posixpath
import re
import struct
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._validation import check_bool, check_estimator, check_real, show

__all__ = ["FINGERPRINT_KEY", "best_run", "data_fingerprint", "load_model", "log_run", "runs", "tracking_store"]

#: Name of the tag and parameter holding the training data's fingerprint.
FINGERPRINT_KEY = "data_fingerprint"

#: The stores opened by :func:`tracking_store` and not yet closed, innermost last: (tracking URI,
#: artifact root or None). This module's own state; MLflow's global settings are never touched.
_OPEN_STORES: list[tuple[str, str | None]] = []

#: MLflow's rules for parameter and metric names (``mlflow.utils.validation``), checked here first so the
#: error names the key; MLflow's own check still runs.
_NAME = re.compile(r"^[/\w.\- :]*$")
_MAX_NAME_LENGTH = 250
_MAX_PARAM_VALUE_LENGTH = 6000
# the longest experiment and run names MLflow's database schema holds (its ``experiments.name`` and ``runs.name``
# columns; SQLite does not enforce them, a shared server's database does)
_MAX_EXPERIMENT_LENGTH = 256
_MAX_RUN_NAME_LENGTH = 250


@contextmanager
def _quiet_warnings() -> Iterator[None]:
    """Silence the warnings MLflow triggers in normal use (they would clutter notebook outputs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Any type hint is inferred as AnyType")
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column")
        # Deprecations raised by MLflow's own calls into SQLAlchemy and pandas: not the user's code.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(mlflow|sqlalchemy)(\.|$)")
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"mlflow(\.|$)")
        yield


# --------------------------------------------------------------------------------------------- data

_NUMERIC_KINDS = "biufcmM"  # numpy bool, int, uint, float, complex, timedelta, datetime: hashed as raw bytes


def _element(value: Any, label: str) -> bytes:
    """The canonical bytes of one value of an object column, a name or a label: a type tag and the value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return b"n"
    if isinstance(value, (bool, np.bool_)):
        return b"?1" if value else b"?0"
    if isinstance(value, numbers.Integral):
        return b"i" + str(int(value)).encode()
    if isinstance(value, numbers.Real):
        value = float(value)
        return b"n" if value != value else b"f" + value.hex().encode()
    if isinstance(value, numbers.Complex):
        return b"c" + complex(value).real.hex().encode() + b"," + complex(value).imag.hex().encode()
    if isinstance(value, str):
        return b"s" + value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, np.datetime64):
        return b"n" if np.isnat(value) else b"T" + str(value).encode()
    if isinstance(value, np.timedelta64):
        return b"n" if np.isnat(value) else b"D" + str(pd.Timedelta(value).value).encode()
    if isinstance(value, _dt.datetime):  # pandas Timestamps included
        return b"t" + value.isoformat().encode()
    if isinstance(value, _dt.date):
        return b"d" + value.isoformat().encode()
    if isinstance(value, _dt.timedelta):  # pandas Timedeltas included
        return b"D" + str(pd.Timedelta(value).value).encode()
    if isinstance(value, decimal.Decimal):
        return b"m" + str(value).encode()
    if isinstance(value, tuple):
        return b"(" + b"".join(_field(_element(v, label)) for v in value)
    raise TypeError(
        f"{label} holds a value of type {type(value).__name__} ({show(value)}) that has no stable byte form; "
        "convert it to a number, a string or a date first"
    )


def _field(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


def _values(h: Any, values: np.ndarray, label: str) -> None:
    """Feed a 1-d or n-d array: its kind, then its values in C order (raw little-endian or tagged elements)."""
    if values.dtype.kind in _NUMERIC_KINDS:
        dtype = np.dtype(values.dtype.str.replace(">", "<"))  # little-endian on every machine
        arr = np.ascontiguousarray(values, dtype=dtype)
        if arr.dtype.kind in "fc":
            arr = np.where(np.isnan(arr), np.nan, arr).astype(dtype)  # one byte pattern for every NaN
        h.update(_field(dtype.str.encode()))
        h.update(arr.tobytes())
        return
    h.update(_field(b"objects"))
    h.update(b"".join(_field(_element(v, label)) for v in values.ravel(order="C").tolist()))


def _column_values(column: pd.Series) -> np.ndarray:
    """A column as numpy: numpy numeric and datetime columns as they are, everything else as Python objects."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in _NUMERIC_KINDS:
        return column.to_numpy()
    return column.to_numpy(dtype=object)


def _hash_part(h: Any, label: str, value: Any, name: str) -> int | None:
    """Feed one labelled dataset part (``label`` X or y; the caller's argument is ``name``) into the hash.

    Returns its number of rows (None for None)."""
    h.update(_field(label.encode()))
    if value is None:
        h.update(_field(b"none"))
        return None
    if isinstance(value, pd.DataFrame):
        h.update(_field(b"frame") + struct.pack("<QQ", *value.shape))
        for j, column in enumerate(value.columns):
            h.update(_field(_element(column, f"{name} column names")))
            _values(h, _column_values(value.iloc[:, j]), f"{name}[{column!r}]")
        return len(value)
    if isinstance(value, pd.Series):
        h.update(_field(b"series") + struct.pack("<Q", len(value)))
        h.update(_field(_element(value.name, f"{name}.name")))
        _values(h, _column_values(value), name)
        return len(value)
    if isinstance(value, (str, bytes, dict)) or np.isscalar(value):
        raise TypeError(f"{name} must be an array-like or a pandas DataFrame/Series; got {show(value)}")
    if hasattr(value, "toarray") and not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be dense; got a sparse {type(value).__name__} (fingerprint value.toarray())")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and other non-arrays
        raise TypeError(f"{name} must be an array-like or a pandas DataFrame/Series; got {show(value)}") from exc
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least 1 dimension; got a 0-d array {show(value)}")
    h.update(_field(b"array") + struct.pack("<Q", arr.ndim) + struct.pack(f"<{arr.ndim}Q", *arr.shape))
    _values(h, arr, name)
    return len(arr)


def data_fingerprint(X: Any, y: Any = None) -> str:
    """A short, stable hash of a dataset: same data gives the same string, any changed value a new one.

    The SHA-256 digest of a canonical byte form of the data, defined here and not by a library's
    internals, so it is the same across processes, machines and pandas or numpy versions. It covers the
    values, the shape, the column names (and Series name) and the kind of each column, not the row index:

    - numpy numeric, boolean and datetime columns (and arrays): their dtype (``'<f8'``) and raw
      little-endian bytes, in C order (every NaN as one bit pattern);
    - any other column (text, categories, nullable integers, mixed objects): each value as a type tag
      and its bytes (a string's UTF-8, an integer's digits, a float's exact hex, a date's ISO form), with
      None, NaN, ``pd.NA`` and ``NaT`` all read as missing. So text has the same fingerprint whether
      pandas stores it as ``object`` or as its string dtype, and a category column as its values.

    Parameters
    ----------
    X : pandas.DataFrame, pandas.Series or array-like
        Features.
    y : pandas.Series or array-like, optional
        Labels, one per row of ``X``, hashed after ``X`` (``None`` if absent).

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 digest.

    Raises
    ------
    TypeError
        If ``X`` or ``y`` is a scalar, a string or sparse, or holds objects with no stable byte form.
    ValueError
        If ``y`` does not have one label per row of ``X``.

    Book: Chapter 6, "Experiment Tracking and Versioning" (data versioning: know which data a model saw).

    Example
    -------
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> data_fingerprint(X)
    'e196588ee6915eb8'
    >>> X2 = X.copy(); X2[1, 1] = 4.5
    >>> data_fingerprint(X) == data_fingerprint(X2)
    False
    >>> data_fingerprint(pd.DataFrame({"a": ["x", None]}, dtype=object)) == data_fingerprint(pd.DataFrame({"a": ["x", None]}, dtype="string"))
    True
    """
    return _fingerprint(X, y)


def _fingerprint(X: Any, y: Any, x_name: str = "X", y_name: str = "y", *, min_rows: int = 0) -> str:
    """:func:`data_fingerprint`, with errors naming the caller's arguments."""
    if X is None:
        raise TypeError(f"{x_name} must be an array-like or a pandas DataFrame/Series; got None")
    h = hashlib.sha256(_field(b"mlsys-course data fingerprint 1"))
    n_x = _hash_part(h, "X", X, x_name)
    if n_x < min_rows:
        raise ValueError(f"{x_name} must have at least {min_rows} row(s); got {n_x}")
    n_y = _hash_part(h, "y", y, y_name)
    if n_y is not None and n_y != n_x:
        raise ValueError(f"{y_name} must have one label per row of {x_name}; got {n_y} labels for {n_x} rows")
    return h.hexdigest()[:16]


# -------------------------------------------------------------------------------------------- store


def _store() -> tuple[Any, str | None]:
    """An MLflow client for the innermost open store (or ``MLFLOW_TRACKING_URI``), and its artifact root."""
    from mlflow import MlflowClient

    if _OPEN_STORES:
        uri, root = _OPEN_STORES[-1]
    elif os.environ.get("MLFLOW_TRACKING_URI"):
        uri, root = os.environ["MLFLOW_TRACKING_URI"], None
    else:
        raise RuntimeError(
            "no tracking store is open: wrap the calls in `with tracking_store():` "
            "(or set MLFLOW_TRACKING_URI to a tracking server)"
        )
    return MlflowClient(tracking_uri=uri), root


@contextmanager
def tracking_store(directory: str | os.PathLike | None = None) -> Iterator[str]:
    """Open a tracking store for the runs logged inside a ``with`` block.

    If the environment variable ``MLFLOW_TRACKING_URI`` is set (a shared tracking server), it is used
    unchanged. Otherwise runs go to an SQLite file ``<directory>/mlflow.db`` and artifacts (models) to
    ``<directory>/artifacts``; with ``directory=None`` that is a temporary directory, deleted on exit.
    Nothing is written to the working directory either way.

    :func:`log_run`, :func:`runs`, :func:`best_run` and :func:`load_model` use the innermost open store.
    The block changes no process-wide state (MLflow's global tracking URI, environment variables,
    logging levels); see the module docstring for MLflow's telemetry and logging settings.

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
        If ``directory`` is empty or exists and is not a directory, or the store cannot be opened (a
        ``MLFLOW_TRACKING_URI`` MLflow does not support, a database it cannot create).

    Book: Chapter 6, "Experiment Tracking and Versioning" (a place where every run is recorded).

    Example
    -------
    Opening a store imports MLflow and creates its database tables (a few seconds), so the example is
    not run as a doctest:

    >>> with tracking_store() as uri:  # doctest: +SKIP
    ...     print(uri.startswith("sqlite:///"))
    True
    """
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a path (str or os.PathLike) or None; got {show(directory)}")
    if directory is not None and not str(directory).strip():
        raise ValueError(f"directory must be a non-empty path or None; got {show(directory)}")
    if directory is not None and Path(directory).exists() and not Path(directory).is_dir():
        raise ValueError(f"directory must be a directory; got {show(str(directory))}, which is a file")
    with _quiet_warnings():
        from mlflow import MlflowClient

    shared_uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    tmp = None
    if shared_uri:
        uri, root = shared_uri, None
    else:
        if directory is None:
            tmp = tempfile.TemporaryDirectory(prefix="mlsys-tracking-", ignore_cleanup_errors=True)
            path = Path(tmp.name)
        else:
            path = Path(directory).absolute()
            path.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{path / 'mlflow.db'}"
        root = (path / "artifacts").as_uri()
    try:
        try:
            with _quiet_warnings():
                MlflowClient(tracking_uri=uri).search_experiments(max_results=1)  # reach the store; create its tables
        except Exception as exc:
            what = f"the environment variable MLFLOW_TRACKING_URI={uri!r}" if shared_uri else f"directory {str(path)!r}"
            raise ValueError(
                f"{what} must hold a tracking store MLflow can open; opening it failed "
                f"({type(exc).__name__}: {str(exc)[:300]})"
            ) from exc
        _OPEN_STORES.append((uri, root))
        try:
            yield uri
        finally:
            _OPEN_STORES.pop()
    finally:
        if tmp is not None:
            tmp.cleanup()


def _experiment(client: Any, name: str, root: str | None, *, create: bool) -> str | None:
    """The id of the active experiment ``name`` (created under the store's artifact root if asked and missing)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage != "active":
            raise ValueError(
                f"experiment {name!r} was deleted in this store; restore it "
                "(mlflow.MlflowClient.restore_experiment) or choose another name"
            )
        return found.experiment_id
    if not create:
        return None
    location = f"{root}/{quote(name, safe='')}" if root else None
    return client.create_experiment(name, artifact_location=location)


def _check_name(name: str, value: Any, max_length: int | None = None) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string; got {show(value)} of type {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{name} must be at most {max_length} characters; got {len(value)}")
    return value


def _check_key(name: str, key: Any) -> str:
    """A parameter or metric name MLflow accepts."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"{name} keys must be non-empty strings; got {show(key)}")
    if len(key) > _MAX_NAME_LENGTH or not _NAME.match(key) or posixpath.normpath(key) != key:
        raise ValueError(
            f"{name} keys must be names MLflow accepts: at most {_MAX_NAME_LENGTH} letters, digits, '_', '-', "
            f"'.', ' ', ':' or '/', and not a path that normalises to another name; got {show(key)}"
        )
    return key


def _check_params(params: Any) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of name -> value; got {show(params)} of type {type(params).__name__}")
    out = {}
    for key, value in params.items():
        _check_key("params", key)
        if key == FINGERPRINT_KEY:
            raise ValueError(f"params must not contain {FINGERPRINT_KEY!r}: log_run computes it from X_train")
        if not (value is None or isinstance(value, (str, bool, numbers.Number, np.generic))):
            raise TypeError(f"params[{key!r}] must be a str, number, bool or None; got {show(value)}")
        text = str(value.item() if isinstance(value, np.generic) else value)
        if len(text) > _MAX_PARAM_VALUE_LENGTH:
            raise ValueError(f"params[{key!r}] must be at most {_MAX_PARAM_VALUE_LENGTH} characters as text; got {len(text)}")
        out[key] = text
    return out


def _check_metrics(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"metrics must be a dict of name -> number; got {show(metrics)} of type {type(metrics).__name__}"
        )
    return {_check_key("metrics", key): check_real(f"metrics[{key!r}]", value) for key, value in metrics.items()}


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
    A run is recorded whole or not at all: if MLflow refuses a value or the model cannot be saved,
    the run is deleted and the error raised. Prints nothing.

    Parameters
    ----------
    model : scikit-learn estimator or None
        The fitted model (saved with ``mlflow.sklearn.save_model`` if ``log_model``); None only with
        ``log_model=False``.
    params : dict of str -> str, number, bool or None
        Hyperparameters and other settings (stored by MLflow as strings, at most 6000 characters).
    metrics : dict of str -> float
        Finite evaluation results.
    X_train : pandas.DataFrame or array-like
        Training features, at least one row: fingerprinted, and its first 5 rows stored as the model's
        input example.
    y_train : array-like, optional
        Training labels, one per row of ``X_train``, included in the fingerprint.
    experiment : str, default "course"
        Experiment to log into (created if missing), at most 256 characters.
    run_name : str, optional
        Human-readable name, at most 250 characters; MLflow picks a random one if None.
    log_model : bool, default True
        Store the model as an artifact (about 0.1–1 s); False logs only parameters and metrics.

    Returns
    -------
    str
        The run id, for :func:`load_model`.

    Raises
    ------
    TypeError
        If ``params``/``metrics`` are not dicts, a metric is not a number, a name is not a string,
        ``model`` is not a scikit-learn estimator (or None without ``log_model``), or ``X_train``/``y_train``
        are not array-likes.
    ValueError
        If a metric is not finite, a name is not one MLflow accepts or is too long, ``params`` contains
        ``"data_fingerprint"``, ``X_train`` is empty or ``y_train`` has another length, the model is not
        fitted, the experiment was deleted, or the model cannot be saved. All but the last two are checked
        before the store is touched.
    RuntimeError
        If no tracking store is open.

    Book: Chapter 6, "Experiment Tracking and Versioning" (track everything needed to reproduce a run).

    Example
    -------
    Needs an open store (a few seconds to create), so it is not run as a doctest:

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
    experiment = _check_name("experiment", experiment, _MAX_EXPERIMENT_LENGTH)
    if run_name is not None:
        run_name = _check_name("run_name", run_name, _MAX_RUN_NAME_LENGTH)
    log_model = check_bool("log_model", log_model)
    if log_model or model is not None:
        check_estimator("model", model, methods=("fit", "predict"))
    if log_model:
        try:
            check_is_fitted(model)
        except NotFittedError:
            raise ValueError(f"model must be fitted before it is logged; got an unfitted {type(model).__name__}") from None
    fingerprint = _fingerprint(X_train, y_train, "X_train", "y_train", min_rows=1)
    client, root = _store()  # after every check: bad input never opens the store

    import mlflow.sklearn
    from mlflow.entities import Metric, Param
    from mlflow.exceptions import MlflowException

    with _quiet_warnings():
        experiment_id = _experiment(client, experiment, root, create=True)
        run_id = client.create_run(experiment_id, run_name=run_name, tags={FINGERPRINT_KEY: fingerprint}).info.run_id
        try:
            now = int(time.time() * 1000)
            all_params = [Param(k, v) for k, v in {**params, FINGERPRINT_KEY: fingerprint}.items()]
            all_metrics = [Metric(k, v, now, 0) for k, v in metrics.items()]
            for start in range(0, max(len(all_params), len(all_metrics)), 100):  # MLflow's batch limit
                client.log_batch(run_id, metrics=all_metrics[start:start + 100], params=all_params[start:start + 100])
            if log_model:
                with tempfile.TemporaryDirectory(prefix="mlsys-model-") as tmp:
                    try:
                        mlflow.sklearn.save_model(
                            model, f"{tmp}/model", pip_requirements=["scikit-learn"], input_example=_head(X_train),
                            skops_trusted_types=_own_types(model),
                        )
                    except Exception as exc:
                        raise ValueError(
                            f"model could not be saved by mlflow.sklearn ({type(exc).__name__}: {exc}); is it a "
                            "fitted scikit-learn model without lambdas? log_model=False logs the run without it"
                        ) from exc
                    client.log_artifacts(run_id, f"{tmp}/model", artifact_path="model")
        except MlflowException as exc:
            client.delete_run(run_id)
            raise ValueError(f"MLflow refused the run's params or metrics: {exc.message}") from exc
        except BaseException:
            client.delete_run(run_id)
            raise
        client.set_terminated(run_id)
    return run_id


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
        ``metrics.<name>`` (floats; NaN for a run that did not log it) and ``data_fingerprint``. Empty
        (with the first two columns and the last) if the experiment has no runs yet.

    Raises
    ------
    ValueError
        If no experiment has that name, or it was deleted.
    RuntimeError
        If no tracking store is open.

    Book: Chapter 6, "Experiment Tracking and Versioning" (compare runs side by side).

    Example
    -------
    See :func:`log_run`; the table looks like::

        run_id  run_name  params.C  metrics.accuracy  data_fingerprint
    """
    experiment = _check_name("experiment", experiment, _MAX_EXPERIMENT_LENGTH)
    client, _ = _store()
    with _quiet_warnings():
        experiment_id = _experiment(client, experiment, None, create=False)
        if experiment_id is None:
            names = sorted(e.name for e in client.search_experiments())
            raise ValueError(f"experiment must name an existing experiment; got {experiment!r} (known: {names})")
        found, token = [], None
        while True:
            page = client.search_runs([experiment_id], order_by=["attributes.start_time ASC"], page_token=token)
            found.extend(page)
            token = page.token
            if not token:
                break
    found.sort(key=lambda run: run.info.start_time)  # stable: MLflow's order breaks ties
    params = sorted({k for run in found for k in run.data.params} - {FINGERPRINT_KEY})
    metrics = sorted({k for run in found for k in run.data.metrics})
    table = pd.DataFrame(
        {
            "run_id": [run.info.run_id for run in found],
            "run_name": [run.info.run_name for run in found],
            **{f"params.{k}": [run.data.params.get(k) for run in found] for k in params},
            **{f"metrics.{k}": np.array([run.data.metrics.get(k, np.nan) for run in found], dtype=float) for k in metrics},
            FINGERPRINT_KEY: [run.data.tags.get(FINGERPRINT_KEY) for run in found],
        },
        columns=["run_id", "run_name", *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics), FINGERPRINT_KEY],
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
    maximize = check_bool("maximize", maximize)
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
        A run id returned by :func:`log_run` (or the ``run_id`` of :func:`best_run`), in the open store.

    Returns
    -------
    scikit-learn estimator
        The model, ready to ``predict``.

    Raises
    ------
    ValueError
        If the store has no such run, or the run logged no model.
    RuntimeError
        If no tracking store is open.

    Book: Chapter 6, "Experiment Tracking and Versioning" (any tracked model can be brought back).

    Example
    -------
    See :func:`log_run`: ``load_model(run_id).predict(X)``.
    """
    run_id = _check_name("run_id", run_id)
    client, _ = _store()
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    with _quiet_warnings():
        try:
            client.get_run(run_id)
        except MlflowException as exc:
            raise ValueError(f"run_id must be a run of the open tracking store; got {run_id!r} ({exc.message})") from exc
        if "model" not in {a.path for a in client.list_artifacts(run_id)}:
            raise ValueError(f"run_id must be a run that logged a model; run {run_id!r} has none (log_model=False?)")
        with tempfile.TemporaryDirectory(prefix="mlsys-model-") as tmp:
            return mlflow.sklearn.load_model(client.download_artifacts(run_id, "model", tmp))
