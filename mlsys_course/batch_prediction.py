"""Batch prediction over Parquet: in chunks on one machine, or the same scoring on a Dask cluster.

Batch prediction scores a whole table offline and stores the predictions for later lookup. It has to keep
working as the table grows, so the recipes here never hold the whole table in memory:

- :func:`predict_parquet` reads a Parquet dataset (one file, a directory of files, or a hive-partitioned
  tree such as ``day=2024-01-01/part-0.parquet``) file by file in record batches of at most ``batch_rows``
  rows, scores each batch and appends the predictions (plus the ``keep`` columns, e.g. an id) to one output
  Parquet file as they are produced. Peak memory is one batch and the row group it comes from, whatever
  the number of rows or files. (It reads with ``ParquetFile.iter_batches``: ``pyarrow.dataset``'s
  ``to_batches`` pre-buffers whole files and reads ahead, so its peak grows with the file size.)
- :func:`dask_client` yields a :class:`distributed.Client`: to the scheduler named by Dask's own
  ``scheduler-address`` setting (the ``DASK_SCHEDULER_ADDRESS`` environment variable, or
  ``dask.config.set({"scheduler-address": ...})``) when there is one, else to a ``LocalCluster`` on this
  machine, which it always shuts down.
- :func:`predict_parquet_dask` is the same scoring as ``dask.dataframe.read_parquet(...).map_partitions(...)``
  then ``to_parquet``, with the model sent to every worker once; its predictions equal
  :func:`predict_parquet`'s row for row.

Both paths call one function on a pandas frame (select the model's columns, score, keep the ids), so the
single-process and the distributed job cannot drift apart: write the pandas function once, run it per
batch or per partition.

A note on processes: with ``processes=True`` the local workers are separate Python processes, started with
multiprocessing's ``spawn`` method. That works from a notebook and from pytest; a plain script must
create the cluster under ``if __name__ == "__main__":`` (each worker re-imports the script's main module).

Book: Chapter 7, "Batch Prediction Versus Online Prediction" and "Unifying Batch Pipeline and Streaming
Pipeline".
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from distributed import Client, LocalCluster
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from mlsys_course._validation import check_bool, check_estimator, check_int, check_real, show

__all__ = ["MAX_BATCH_ROWS", "dask_client", "predict_parquet", "predict_parquet_dask"]

#: Largest ``batch_rows`` accepted: a batch is meant to fit in memory many times over.
MAX_BATCH_ROWS = 10_000_000

PathLike = str | os.PathLike


# --- shared pieces: arguments, the model's output, the per-frame scoring ---------------------------------
def _check_path(name: str, value: Any, *, exists: bool, url_ok: bool = False) -> str:
    """A local path that exists (``exists=True``) or is new in an existing directory; a URL if ``url_ok``."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike); got {show(value)} of type {type(value).__name__}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"{name} must be a non-empty path; got {show(value)}")
    if url_ok and "://" in path:
        return path  # read and written by the workers' file system (fsspec): s3://..., file://...
    if exists and not os.path.exists(path):
        raise ValueError(f"{name} must be an existing Parquet file or directory; got {path!r}, which does not exist")
    if not exists:
        if os.path.exists(path):
            raise ValueError(f"{name} must be a new path (nothing is overwritten); got {path!r}, which already exists")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise ValueError(f"{name} must be in an existing directory; got {path!r}, whose directory does not exist")
    return path


def _open_dataset(source: str) -> ds.Dataset:
    try:
        return ds.dataset(source, format="parquet", partitioning="hive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as error:
        raise ValueError(f"source must be a Parquet file or a directory of Parquet files; got {source!r}: "
                         f"{str(error).splitlines()[0]}") from None


def _check_model(model: Any) -> Any:
    check_estimator("model", model, methods=("predict",))
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ValueError(f"model must be a fitted estimator; got an unfitted {type(model).__name__}") from None
    return model


def _is_binary_classifier(model: Any) -> bool:
    classes = getattr(model, "classes_", None)
    return classes is not None and len(classes) == 2 and callable(getattr(model, "predict_proba", None))


def _output_dtype(model: Any) -> np.dtype:
    """float64 for a binary classifier's probability or a regressor; the labels' dtype for other classifiers."""
    if _is_binary_classifier(model) or getattr(model, "classes_", None) is None:
        return np.dtype(np.float64)
    labels = np.asarray(model.classes_)
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"model must predict numbers (a binary classifier's probability, a regressor, or numeric "
                        f"class labels); got class labels of dtype {labels.dtype}")
    return labels.dtype


def _check_columns(model: Any, names: Sequence[str], columns: Any, keep: Any, output: Any) -> tuple[list, list, str]:
    """The model's input columns, the columns to keep and the output column's name, checked against ``names``."""
    if columns is None:
        fitted = getattr(model, "feature_names_in_", None)
        if fitted is None:
            raise ValueError("columns must be given: model has no feature_names_in_ (it was not fitted on a DataFrame)")
        columns = list(fitted)
    lists = {}
    for arg, value in (("columns", columns), ("keep", keep)):
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, pd.Index)):
            raise TypeError(f"{arg} must be a list of column names; got {show(value)} of type {type(value).__name__}")
        value = list(value)
        unknown = [c for c in value if not isinstance(c, str) or c not in names]
        if unknown:
            raise ValueError(f"{arg} must be columns of source; got unknown {show(unknown)}; source has {show(list(names))}")
        if len(set(value)) != len(value):
            raise ValueError(f"{arg} must not repeat a column; got {show(value)}")
        lists[arg] = value
    if not lists["columns"]:
        raise ValueError("columns must name at least one column of source; got []")
    if not isinstance(output, str):
        raise TypeError(f"output must be a column name (str); got {show(output)} of type {type(output).__name__}")
    if not output:
        raise ValueError("output must be a non-empty column name; got ''")
    if output in lists["keep"]:
        raise ValueError(f"output must differ from the kept columns; got {output!r}, which is in keep")
    return lists["columns"], lists["keep"], output


def _predict_frame(frame: pd.DataFrame, model: Any, columns: list, keep: list, output: str) -> pd.DataFrame:
    """Score one batch or partition: the kept columns and the prediction (the code both paths share)."""
    X = frame[columns]
    if getattr(model, "feature_names_in_", None) is None:  # fitted on an array: give it one, in the given order
        X = X.to_numpy()
    if len(X) == 0:  # an empty partition (a filter, or more partitions than rows): nothing to score
        prediction = np.empty(0)
    elif _is_binary_classifier(model):
        prediction = model.predict_proba(X)[:, 1]
    else:
        prediction = model.predict(X)
    scored = frame[keep].copy()
    scored[output] = np.asarray(prediction).astype(_output_dtype(model), copy=False)
    return scored


# --- 1. chunked, one process --------------------------------------------------------------------------------
def _file_batches(dataset: ds.Dataset, needed: list, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Record batches of ``needed`` columns, file by file in path order, with hive partition values as columns.

    Each file is read with ``ParquetFile.iter_batches``: synchronously, without pre-buffering, so only the
    current batch (and the row group it comes from) is in memory. (``Dataset.to_batches`` pre-buffers and
    reads ahead: its peak grows with the file size, apache/arrow#39808.)"""
    schema = dataset.schema
    for fragment in sorted(dataset.get_fragments(), key=lambda f: f.path):
        keys = ds.get_partition_keys(fragment.partition_expression)
        in_file = [c for c in needed if c not in keys]
        with dataset.filesystem.open_input_file(fragment.path) as handle:
            reader = pq.ParquetFile(handle, pre_buffer=False)
            missing = [c for c in in_file if c not in reader.schema_arrow.names]
            if missing:
                raise ValueError(f"source file {fragment.path!r} lacks the column(s) {show(missing)}")
            for batch in reader.iter_batches(batch_size=batch_rows, columns=in_file, use_threads=False):
                arrays = [batch.column(c) if c not in keys else pa.repeat(pa.scalar(keys[c], schema.field(c).type), batch.num_rows)
                          for c in needed]
                yield pa.RecordBatch.from_arrays(arrays, names=needed)


def predict_parquet(
    model: Any,
    source: PathLike,
    destination: PathLike,
    *,
    columns: Sequence[str] | None = None,
    keep: Sequence[str] = (),
    batch_rows: int = 65_536,
    output: str = "prediction",
) -> dict[str, int]:
    """Score a Parquet dataset batch by batch and write the predictions to a Parquet file as they come.

    The files of ``source`` (one file, a directory of files, or a hive-partitioned tree whose directory
    names such as ``day=2024-01-01`` become columns) are read one after the other in record batches of at
    most ``batch_rows`` rows. Each batch becomes a pandas frame of the model's columns, is scored, and its
    predictions are appended, with the ``keep`` columns, as one row group of ``destination``. Only one batch
    (and the row group it comes from) is in memory at a time, so peak memory is bounded by ``batch_rows``
    and the input's row-group size, not by the number of rows or files.

    Parameters
    ----------
    model : fitted scikit-learn estimator
        A binary classifier is scored with the probability of ``classes_[1]``; any other model with
        ``predict`` (numeric labels or a regression).
    source : str or os.PathLike
        A Parquet file, a directory of Parquet files, or a hive-partitioned directory tree.
    destination : str or os.PathLike
        The output Parquet file; it must not exist yet (nothing is overwritten).
    columns : list of str, optional
        The model's input columns, in the order it was fitted on; default ``model.feature_names_in_``.
    keep : list of str, default ()
        Source columns copied next to the prediction (an id, a partition column), with their types.
    batch_rows : int, default 65_536
        Most rows per batch (1 to ``MAX_BATCH_ROWS``).
    output : str, default "prediction"
        Name of the prediction column.

    Returns
    -------
    dict
        ``{"rows": rows scored, "batches": batches scored, "files": files read}``.

    Book: Chapter 7, "Batch Prediction Versus Online Prediction".

    Example
    -------
    >>> import tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> data = pd.DataFrame({"id": range(6), "x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> model = LogisticRegression().fit(data[["x"]], [0, 0, 0, 1, 1, 1])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     data.to_parquet(os.path.join(tmp, "in.parquet"))
    ...     summary = predict_parquet(model, os.path.join(tmp, "in.parquet"), os.path.join(tmp, "out.parquet"),
    ...                               keep=["id"], batch_rows=4)
    ...     scored = pd.read_parquet(os.path.join(tmp, "out.parquet"))
    >>> summary
    {'rows': 6, 'batches': 2, 'files': 1}
    >>> bool(np.allclose(scored["prediction"], model.predict_proba(data[["x"]])[:, 1]))
    True
    """
    model = _check_model(model)
    source = _check_path("source", source, exists=True)
    destination = _check_path("destination", destination, exists=False)
    batch_rows = check_int("batch_rows", batch_rows, minimum=1, maximum=MAX_BATCH_ROWS)
    dataset = _open_dataset(source)
    columns, keep, output = _check_columns(model, dataset.schema.names, columns, keep, output)
    dtype = _output_dtype(model)
    schema = pa.schema([*(dataset.schema.field(c) for c in keep), pa.field(output, pa.from_numpy_dtype(dtype))])
    needed = list(dict.fromkeys([*keep, *columns]))
    rows = batches = 0
    with pq.ParquetWriter(destination, schema) as writer:
        for batch in _file_batches(dataset, needed, batch_rows):
            if batch.num_rows == 0:
                continue
            scored = _predict_frame(batch.to_pandas(), model, columns, keep, output)
            kept = [batch.column(c) for c in keep]
            kept = [a if a.type == f.type else a.cast(f.type) for a, f in zip(kept, schema)]  # files may differ
            arrays = [*kept, pa.array(scored[output].to_numpy(), type=schema.field(output).type)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            rows += batch.num_rows
            batches += 1
    return {"rows": rows, "batches": batches, "files": len(dataset.files)}


# --- 2. a Dask client: a real cluster if one is configured, else a local one ----------------------------------
@contextlib.contextmanager
def dask_client(
    address: str | None = None,
    *,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
    timeout: float = 30.0,
) -> Iterator[Client]:
    """A Dask ``distributed.Client`` for a ``with`` block: a configured cluster, else a LocalCluster here.

    Which scheduler, in order: ``address`` if given; else Dask's ``scheduler-address`` setting
    (``dask.config.get("scheduler-address")``, which the ``DASK_SCHEDULER_ADDRESS`` environment variable
    or ``dask.config.set({"scheduler-address": "tcp://host:8786"})`` sets); else a new ``LocalCluster`` on
    127.0.0.1 with ``n_workers`` workers, no dashboard and its logs below ERROR kept quiet, which is shut
    down (workers and scheduler) when the block ends, also on an error. The cluster arguments apply to
    the local cluster only: a real cluster's size is its own.

    The client is not made Dask's default scheduler (no process-wide change): pass it on, as
    :func:`predict_parquet_dask` does, or call ``client.compute(...)``.

    With ``processes=True`` the workers are separate processes started with multiprocessing's ``spawn``:
    fine from a notebook or pytest; a plain script must enter this block under
    ``if __name__ == "__main__":``.

    Parameters
    ----------
    address : str, optional
        A scheduler address such as ``"tcp://10.0.0.5:8786"``; default: Dask's setting, else a local cluster.
    n_workers : int, default 2
        Local workers (1 to 64).
    threads_per_worker : int, default 1
        Threads per local worker (1 to 64).
    processes : bool, default True
        Local workers as processes (True: no GIL shared, data pickled between them) or threads.
    timeout : float, default 30.0
        Seconds to wait to connect to a scheduler (or for the local one to start).

    Yields
    ------
    distributed.Client

    Book: Chapter 7, "Batch Prediction Versus Online Prediction".

    Example
    -------
    >>> with dask_client(n_workers=1, processes=False) as client:
    ...     client.submit(sum, [1, 2, 3]).result()
    6
    """
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise TypeError(f"address must be a scheduler address such as 'tcp://10.0.0.5:8786' or None; got {show(address)}")
    n_workers = check_int("n_workers", n_workers, minimum=1, maximum=64)
    threads_per_worker = check_int("threads_per_worker", threads_per_worker, minimum=1, maximum=64)
    processes = check_bool("processes", processes)
    timeout = check_real("timeout", timeout, low=0.0, low_open=True, high=3600.0)
    if address is None:
        address = dask.config.get("scheduler-address", None)
    if address is not None:
        with Client(address, timeout=timeout, set_as_default=False) as client:
            yield client
        return
    # Everything listens on loopback only: TCP on 127.0.0.1 (also for thread workers, whose in-memory transport
    # would leave their HTTP endpoints on every interface), and the scheduler's HTTP endpoint on a free port.
    with LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                      protocol="tcp", host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                      scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"}) as cluster, \
            Client(cluster, timeout=timeout, set_as_default=False) as client:
        yield client


# --- 3. the same scoring on Dask --------------------------------------------------------------------------------
def predict_parquet_dask(
    model: Any,
    source: PathLike,
    destination: PathLike,
    *,
    client: Client,
    columns: Sequence[str] | None = None,
    keep: Sequence[str] = (),
    partitions: int | None = None,
    output: str = "prediction",
) -> dict[str, int]:
    """Score a Parquet dataset on a Dask cluster: ``read_parquet().map_partitions(score).to_parquet()``.

    The model is scattered to every worker once (not shipped with each task); each partition is scored
    by the same per-frame function as :func:`predict_parquet`, so the predictions are equal row for row.
    The output is a directory of Parquet files (one per partition, ``part.<i>.parquet``) holding the
    ``keep`` columns and the prediction. (Hive partition columns come back as categoricals from Dask and
    as strings or integers from :func:`predict_parquet`: compare their values, not their dtypes.)

    Parameters
    ----------
    model : fitted scikit-learn estimator
        As in :func:`predict_parquet`; it must pickle (its classes importable on the workers).
    source : str or os.PathLike
        A Parquet file or directory (hive partitions become columns), or a URL every worker can read
        (``s3://...``): on a real cluster a local path must be on a file system all workers share.
    destination : str or os.PathLike
        The output directory (or a URL), which must not exist yet.
    client : distributed.Client
        Where to run, e.g. from :func:`dask_client`.
    columns, keep, output
        As in :func:`predict_parquet`.
    partitions : int, optional
        Repartition to this many partitions before scoring (1 to 100_000): one task each. Default: Dask's
        own split (one partition per file, small files read together).

    Returns
    -------
    dict
        ``{"rows": rows written, "partitions": partitions scored}``.

    Book: Chapter 7, "Batch Prediction Versus Online Prediction".

    Example
    -------
    >>> import tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> data = pd.DataFrame({"id": range(6), "x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> model = LogisticRegression().fit(data[["x"]], [0, 0, 0, 1, 1, 1])
    >>> with tempfile.TemporaryDirectory() as tmp, dask_client(n_workers=1, processes=False) as client:
    ...     data.to_parquet(os.path.join(tmp, "in.parquet"))
    ...     summary = predict_parquet_dask(model, os.path.join(tmp, "in.parquet"), os.path.join(tmp, "out"),
    ...                                    client=client, keep=["id"], partitions=2)
    ...     scored = pd.read_parquet(os.path.join(tmp, "out")).sort_values("id")
    >>> summary
    {'rows': 6, 'partitions': 2}
    >>> bool(np.allclose(scored["prediction"], model.predict_proba(data[["x"]])[:, 1]))
    True
    """
    model = _check_model(model)
    if not isinstance(client, Client):
        raise TypeError(f"client must be a distributed.Client (see dask_client); got {show(client)}")
    source = _check_path("source", source, exists=True, url_ok=True)
    destination = _check_path("destination", destination, exists=False, url_ok=True)
    if partitions is not None:
        partitions = check_int("partitions", partitions, minimum=1, maximum=100_000)
    try:
        frame = dd.read_parquet(source)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise ValueError(f"source must be a Parquet file or a directory of Parquet files; got {source!r}: "
                         f"{str(error).splitlines()[0]}") from None
    columns, keep, output = _check_columns(model, list(frame.columns), columns, keep, output)
    dtype = _output_dtype(model)
    frame = frame[list(dict.fromkeys([*keep, *columns]))]
    if partitions is not None:
        frame = frame.repartition(npartitions=partitions)
    meta = pd.DataFrame({**{c: pd.Series(dtype=frame.dtypes[c]) for c in keep}, output: pd.Series(dtype=dtype)})
    [remote_model] = client.scatter([model], broadcast=True, hash=False)
    scored = frame.map_partitions(_predict_frame, remote_model, columns, keep, output, meta=meta).optimize()
    write = scored.to_parquet(destination, write_index=False, compute=False)
    _, rows = client.compute([write, scored.map_partitions(len).sum()], sync=True)  # one pass: each partition scored once
    return {"rows": int(rows), "partitions": scored.npartitions}
