"""Data formats: text or binary, row-major or column-major, measured on the same frame.

- :func:`format_benchmark`: size on disk, write time, and time to read everything or only a few
  columns back, for JSON lines, CSV, Parquet and Feather; and whether the dtypes survive the trip.
- :func:`text_vs_binary`: bytes needed to store numbers as text digits or as binary values.
- :func:`access_benchmark`: row-by-row versus column access in pandas, and C (row-major) versus
  F (column-major) order in numpy.

JSON lines and CSV are text and row-major: every reader must parse every byte, even to get one
column. Parquet is binary and column-major (compressed column chunks with a schema), so a reader
can fetch only the columns it needs and gets the dtypes back. Feather (Arrow IPC) is binary and
columnar too (lz4-compressed by pyarrow's default), made for fast exchange between processes.

Book: Chapter 3, "Data Formats" (JSON; Row-Major Versus Column-Major Format; Text Versus Binary Format).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import _show, check_array, check_choice, check_int

__all__ = ["FORMATS", "format_benchmark", "text_vs_binary", "access_benchmark"]

#: Formats :func:`format_benchmark` knows, with the file extension it writes.
FORMATS = ("jsonl", "csv", "parquet", "feather")


def _best_time(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time (``time.perf_counter``) of ``repeat`` calls of ``func``, and its last result."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def _check_directory(name: str, value: Any) -> str:
    """An existing directory, given as a str or os.PathLike."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path to an existing directory (str or os.PathLike); got {_show(value)}")
    path = os.fspath(value)
    if not os.path.isdir(path):
        raise ValueError(f"{name} must be an existing directory; got {path!r}, which is not a directory")
    return path


def _check_frame(name: str, value: Any, *, min_rows: int = 1) -> pd.DataFrame:
    """A pandas DataFrame with at least ``min_rows`` rows and unique string column names."""
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(value).__name__}")
    if len(value) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s); got {len(value)}")
    if not all(isinstance(c, str) for c in value.columns) or value.columns.has_duplicates:
        raise ValueError(f"{name} must have unique string column names; got {_show(list(value.columns))}")
    return value


def _check_columns(name: str, value: Any, df: pd.DataFrame) -> list[str]:
    """A non-empty list of distinct column names of ``df``."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of column names; got {_show(value)}")
    cols = list(value)
    if not cols or len(set(cols)) != len(cols):
        raise ValueError(f"{name} must be a non-empty list of distinct column names; got {_show(cols)}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{name} must name columns of df ({_show(list(df.columns))}); got unknown {_show(missing)}")
    return cols


# --- Writers and readers: pandas' own, one line each ---------------------------------------------------
def _write(df: pd.DataFrame, path: str, fmt: str) -> None:
    if fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, date_format="iso")
    elif fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_feather(path)


def _read(path: str, fmt: str, columns: list[str] | None = None) -> pd.DataFrame:
    if fmt == "jsonl":  # no projection in a row-major text format: parse every record, then select
        df = pd.read_json(path, lines=True, engine="pyarrow")
        return df if columns is None else df[columns]
    if fmt == "csv":  # usecols skips converting other columns, but every line is still tokenized
        return pd.read_csv(path, usecols=columns)[columns] if columns else pd.read_csv(path)
    if fmt == "parquet":  # column projection: only the requested column chunks are read
        return pd.read_parquet(path, columns=columns)
    return pd.read_feather(path, columns=columns)


def format_benchmark(
    df: pd.DataFrame,
    directory: str | os.PathLike,
    *,
    formats: Sequence[str] = ("jsonl", "csv", "parquet"),
    columns: Sequence[str] | None = None,
    repeat: int = 3,
) -> pd.DataFrame:
    """Write ``df`` in each format, then time reading it all back and reading only a few columns.

    Each format is written once to ``directory/data.<format>`` (overwriting a previous run) with
    pandas' writer, then read back with pandas' reader, ``repeat`` times, keeping the best time:

    - ``jsonl``: ``to_json(orient="records", lines=True, date_format="iso")``, read with
      ``read_json(lines=True, engine="pyarrow")`` (pandas' default JSON parser is ~5 times slower).
      There is no projection: to get two columns the reader parses every record, then selects.
      Floats are written with pandas' default 10 significant digits.
    - ``csv``: ``to_csv(index=False)``, read with ``read_csv``; ``usecols`` saves converting the other
      columns but every line is still scanned and split.
    - ``parquet`` (pyarrow, snappy-compressed column chunks): ``read_parquet(columns=...)`` reads only
      the requested columns (column projection).
    - ``feather`` (Arrow IPC, columnar, lz4): ``read_feather(columns=...)``.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame to store, non-empty, with unique string column names. Its index is not stored.
    directory : str or os.PathLike
        An existing directory; the only place files are written.
    formats : sequence of str, default ("jsonl", "csv", "parquet")
        Distinct names from ``FORMATS``: "jsonl", "csv", "parquet", "feather".
    columns : sequence of str, optional
        Columns of ``df`` for the partial read; default: the first two columns.
    repeat : int, default 3
        Reads are timed ``repeat`` times (>= 1) and the best time is kept; writes are timed once.

    Returns
    -------
    pandas.DataFrame
        One row per format, in the order given, with columns ``format``, ``bytes`` (file size),
        ``write_s``, ``read_all_s``, ``read_columns_s`` (seconds, ``time.perf_counter``),
        ``dtypes_kept`` (True if every column comes back with its original dtype, e.g. categorical
        and datetime64) and ``values_kept`` (True if, after casting the columns back to the
        original dtypes with ``astype``, the frame read back equals ``df`` with a fresh index).

    Book: Chapter 3, "Data Formats": "Row-Major Versus Column-Major Format", "Text Versus Binary Format".

    Example
    -------
    >>> import tempfile
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(2_000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = format_benchmark(df, tmp, columns=["amount", "is_fraud"], repeat=1)
    >>> res[["format", "dtypes_kept", "values_kept"]]
        format  dtypes_kept  values_kept
    0    jsonl        False         True
    1      csv        False         True
    2  parquet         True         True
    >>> bool(res["bytes"].is_monotonic_decreasing)  # JSON lines > CSV > Parquet
    True
    """
    df = _check_frame("df", df)
    directory = _check_directory("directory", directory)
    if isinstance(formats, str) or not isinstance(formats, Sequence) or not formats:
        raise TypeError(f"formats must be a non-empty sequence of names from {FORMATS}; got {_show(formats)}")
    for fmt in formats:
        check_choice("formats", fmt, FORMATS)
    if len(set(formats)) != len(formats):
        raise ValueError(f"formats must be distinct; got {_show(list(formats))}")
    columns = list(df.columns[:2]) if columns is None else _check_columns("columns", columns, df)
    repeat = check_int("repeat", repeat, minimum=1)

    original = df.reset_index(drop=True)
    rows = []
    for fmt in formats:
        path = os.path.join(directory, f"data.{fmt}")
        write_s, _ = _best_time(lambda: _write(original, path, fmt), 1)
        read_all_s, back = _best_time(lambda: _read(path, fmt), repeat)
        read_columns_s, _ = _best_time(lambda: _read(path, fmt, columns), repeat)
        rows.append({
            "format": fmt,
            "bytes": os.path.getsize(path),
            "write_s": write_s,
            "read_all_s": read_all_s,
            "read_columns_s": read_columns_s,
            "dtypes_kept": bool(back.dtypes.equals(original.dtypes)),
            "values_kept": _values_kept(back, original),
        })
    return pd.DataFrame(rows)


def _values_kept(back: pd.DataFrame, original: pd.DataFrame) -> bool:
    """True if ``back``, cast to the original dtypes, equals ``original``."""
    if list(back.columns) != list(original.columns):
        return False
    try:
        return bool(back.astype(original.dtypes.to_dict()).equals(original))
    except (ValueError, TypeError):
        return False


def text_vs_binary(values: Any) -> pd.DataFrame:
    """Bytes to store numbers as text (CSV digits) versus binary (fixed-width and Parquet).

    Text costs one byte per character plus a separator (the CSV newline) per value, so 1000000
    takes 8 bytes (7 digits, as in the book, plus the separator); binary costs a fixed width per value
    (4 bytes for int32 and float32, 8 for int64 and float64). Parquet stores the values as their
    numpy dtype, encoded and snappy-compressed, plus a footer of metadata (a few hundred bytes, which
    dominates for a handful of values).

    Parameters
    ----------
    values : array-like of shape (n,)
        Finite numbers, at least one.

    Returns
    -------
    pandas.DataFrame
        One row per encoding: "text (CSV)", "int32", "int64", "float32", "float64", "parquet", with
        columns ``encoding``, ``bytes``, ``bytes_per_value`` and ``exact`` (True if decoding gives back
        exactly the input values: e.g. False for int32 when a value is not an integer or out of
        range, for float32 when a value needs more than 24 bits of mantissa).

    Book: Chapter 3, "Text Versus Binary Format" (1000000 as text is 7 characters, as int32 4 bytes).

    Example
    -------
    >>> res = text_vs_binary([1_000_000])
    >>> res.set_index("encoding").loc[["text (CSV)", "int32", "int64", "float32"]]
                bytes  bytes_per_value  exact
    encoding
    text (CSV)      8              8.0   True
    int32           4              4.0   True
    int64           8              8.0   True
    float32         4              4.0   True
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    arr = check_array("values", values)
    n = len(arr)
    text = pd.Series(arr).to_csv(index=False, header=False).encode()
    text_exact = bool(np.array_equal(pd.read_csv(io.BytesIO(text), header=None)[0].to_numpy(), arr))
    rows = [("text (CSV)", len(text), text_exact)]
    for dtype in (np.int32, np.int64, np.float32, np.float64):
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            exact = bool(np.all(arr == np.round(arr)) and arr.min() >= info.min and arr.max() <= info.max)
        else:
            exact = bool(np.array_equal(arr.astype(dtype).astype(arr.dtype), arr))
        rows.append((np.dtype(dtype).name, n * np.dtype(dtype).itemsize, exact))
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"value": arr}), sink)
    rows.append(("parquet", sink.getvalue().size, True))
    out = pd.DataFrame(rows, columns=["encoding", "bytes", "exact"])
    out.insert(2, "bytes_per_value", out["bytes"] / n)
    return out


def access_benchmark(
    df: pd.DataFrame,
    *,
    column: str = "amount",
    n_rows: int = 5_000,
    array_size: int = 3_000,
    repeat: int = 3,
) -> pd.DataFrame:
    """Row-by-row versus column access: pandas iteration versus column sums, numpy C versus F order.

    pandas keeps each column in its own array (column-major), so summing one column by iterating
    rows (``iterrows`` builds a Series per row, ``itertuples`` a tuple per row) is orders of magnitude
    slower than ``df[column].sum()``. numpy stores an array in C order (row-major: a row is
    contiguous) or F order (column-major: a column is contiguous); summing it slice by slice along the
    contiguous direction reads memory sequentially and is faster than the strided direction.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame; only its first ``n_rows`` rows are used.
    column : str, default "amount"
        A numeric column of ``df`` to sum.
    n_rows : int, default 5_000
        Rows to iterate (>= 1); fewer if ``df`` is shorter.
    array_size : int, default 3_000
        The numpy arrays are ``array_size x array_size`` float64 (>= 1; 3000 is 72 MB each,
        large enough not to fit in the CPU caches).
    repeat : int, default 3
        Each operation is timed ``repeat`` times (>= 1); the best time is kept.

    Returns
    -------
    pandas.DataFrame
        Seven rows with columns ``library`` ("pandas" or "numpy"), ``layout``, ``access``,
        ``values`` (number of values summed), ``seconds`` (best of ``repeat``) and ``slowdown``
        (seconds divided by the fastest access of the same library).

    Book: Chapter 3, "Row-Major Versus Column-Major Format" (pandas DataFrame is column-major;
    NumPy's default is row-major).

    Example
    -------
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(1_000, random_state=0)
    >>> res = access_benchmark(df, n_rows=200, array_size=100, repeat=1)
    >>> res[["library", "layout", "access", "values"]]
      library                   layout                   access  values
    0  pandas  column-major (DataFrame)    iterrows (row by row)     200
    1  pandas  column-major (DataFrame)  itertuples (row by row)     200
    2  pandas  column-major (DataFrame)     column: Series.sum()     200
    3   numpy      C order (row-major)               row by row   10000
    4   numpy      C order (row-major)         column by column   10000
    5   numpy   F order (column-major)               row by row   10000
    6   numpy   F order (column-major)         column by column   10000
    """
    df = _check_frame("df", df)
    if column not in df.columns:
        raise ValueError(f"column must be a column of df ({_show(list(df.columns))}); got {_show(column)}")
    if not pd.api.types.is_numeric_dtype(df[column]) or pd.api.types.is_bool_dtype(df[column]):
        raise TypeError(f"column must name a numeric column; got {column!r} of dtype {df[column].dtype}")
    n_rows = check_int("n_rows", n_rows, minimum=1)
    size = check_int("array_size", array_size, minimum=1)
    repeat = check_int("repeat", repeat, minimum=1)

    sub = df.head(n_rows)
    position = list(sub.columns).index(column)
    pandas_ops = {
        "iterrows (row by row)": lambda: sum(row[column] for _, row in sub.iterrows()),
        "itertuples (row by row)": lambda: sum(row[position] for row in sub.itertuples(index=False, name=None)),
        "column: Series.sum()": lambda: sub[column].sum(),
    }
    rows = [("pandas", "column-major (DataFrame)", access, len(sub), _best_time(op, repeat)[0])
            for access, op in pandas_ops.items()]

    c_order = np.arange(size * size, dtype=np.float64).reshape(size, size)
    arrays = {"C order (row-major)": c_order, "F order (column-major)": np.asfortranarray(c_order)}
    for layout, a in arrays.items():
        by_row = _best_time(lambda: [a[i, :].sum() for i in range(size)], repeat)[0]
        by_column = _best_time(lambda: [a[:, j].sum() for j in range(size)], repeat)[0]
        rows += [("numpy", layout, "row by row", a.size, by_row),
                 ("numpy", layout, "column by column", a.size, by_column)]

    out = pd.DataFrame(rows, columns=["library", "layout", "access", "values", "seconds"])
    out["slowdown"] = out["seconds"] / out.groupby("library")["seconds"].transform("min")
    return out
