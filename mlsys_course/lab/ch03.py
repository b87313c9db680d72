"""Chapter 3: data engineering: the lab code of notebooks 03a (formats, data models, engines) and 03b (ETL,
dataflow, streaming): experiment drivers, timing buckets and exercise checks.

The recipes live in the concept modules (:mod:`mlsys_course.storage`, :mod:`mlsys_course.dataflow`,
:mod:`mlsys_course.serving`, :mod:`mlsys_course.transport`, :mod:`mlsys_course.streaming`); this module holds
what only the chapter's experiments need: the benchmarks that time each decision's arms, the ETL/ELT
scenario, the ZeroMQ publish-subscribe and queue runs (``python -m mlsys_course.lab.ch03 consume`` is
their consumer process), the staleness report, and the exercise checks.

Timings are wall-clock (``mlsys_course.lab.timing.best_time``: the best of ``repeat`` runs) and vary by
machine: a notebook stores them as orderings or :func:`ratio_bucket` buckets, labelled by :func:`machine`
where it quotes raw values; every other number is deterministic given the seeds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import sqlite3
import tempfile
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import zmq

from mlsys_course._processes import exit_with_parent, log_tail, spawn, stop
from mlsys_course._validation import (
    duration_label,
    check_directory,
    RandomState,
    check_array,
    check_binary_labels,
    check_choice,
    check_column,
    check_columns,
    check_duration,
    check_frame,
    check_int,
    check_random_state,
    check_real,
    show,
)
from mlsys_course.dataflow import DatabaseWriter, read_database
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise, is_number
from mlsys_course.lab.timing import best_time
from mlsys_course.storage import (
    ENGINES,
    FIELDS,
    SCHEMA_CHANGES,
    change_schema,
    connect,
    elt,
    etl,
    fetch_order,
    load_orders,
    load_table,
    make_orders,
    make_raw_events,
    orders_as_documents,
    revenue_by_product,
)
from mlsys_course.streaming import stale_batch_feature, window_count_batch
from mlsys_course.transport import Consumer, DurableLog


# =====================================================================================================
# Decision 1: JSON, CSV or Parquet?
# =====================================================================================================
#: Each format as (write(df, path), read(path, columns or None)): pandas' own writers and readers.
FORMATS: dict[str, tuple[Callable, Callable]] = {
    # no projection in a row-major text format: parse every record, then select
    "jsonl": (lambda df, path: df.to_json(path, orient="records", lines=True, date_format="iso"),
              lambda path, columns=None: pd.read_json(path, lines=True, engine="pyarrow")[columns or slice(None)]),
    # usecols skips converting the other columns, but every line is still tokenized
    "csv": (lambda df, path: df.to_csv(path, index=False),
            lambda path, columns=None: pd.read_csv(path, usecols=columns)[columns or slice(None)]),
    # column projection: only the requested column chunks are read
    "parquet": (lambda df, path: df.to_parquet(path, index=False),
                lambda path, columns=None: pd.read_parquet(path, columns=columns)),
    "feather": (lambda df, path: df.to_feather(path),
                lambda path, columns=None: pd.read_feather(path, columns=columns)),
}


def _values_kept(back: pd.DataFrame, original: pd.DataFrame) -> bool:
    """True if ``back``, cast to the original dtypes, equals ``original``."""
    if list(back.columns) != list(original.columns):
        return False
    try:
        return bool(back.astype(original.dtypes.to_dict()).equals(original))
    except (ValueError, TypeError):
        return False


def format_benchmark(
    df: pd.DataFrame,
    directory: str | os.PathLike,
    formats: Mapping[str, tuple[Callable, Callable]] | None = None,
    *,
    columns: Sequence[str] | None = None,
    repeat: int = 3,
) -> pd.DataFrame:
    """Write ``df`` with each format's writer, then time reading it all back and reading only a few columns.

    Each format is written once to ``directory/data.<name>`` (overwriting a previous run), then read
    back ``repeat`` times, keeping the best time.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame to store, non-empty, with unique column names. Its index is not stored.
    directory : str or os.PathLike
        An existing directory; the only place files are written.
    formats : dict of str to (write, read), optional
        The arms: ``write(df, path)`` and ``read(path, columns)`` (``columns=None`` reads everything).
        Default: jsonl, csv and parquet from :data:`FORMATS`.
    columns : sequence of str, optional
        Columns of ``df`` for the partial read; default: the first two columns.
    repeat : int, default 3
        Reads are timed ``repeat`` times (>= 1) and the best time is kept; writes are timed once.

    Returns
    -------
    pandas.DataFrame
        One row per format, in the order given, with columns ``format``, ``bytes`` (file size),
        ``write_s``, ``read_all_s``, ``read_columns_s`` (seconds), ``dtypes_kept`` (every column comes
        back with its original dtype, e.g. categorical and datetime64) and ``values_kept`` (after casting
        the columns back to the original dtypes, the frame read back equals ``df`` with a fresh index).

    Example
    -------
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(2_000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = format_benchmark(df, tmp, columns=["amount", "is_fraud"], repeat=1)
    >>> res[["format", "dtypes_kept", "values_kept"]]
        format  dtypes_kept  values_kept
    0    jsonl        False         True
    1      csv        False         True
    2  parquet         True         True
    """
    df = check_frame("df", df)
    directory = check_directory("directory", directory)
    if formats is None:
        formats = {name: FORMATS[name] for name in ("jsonl", "csv", "parquet")}
    if not isinstance(formats, Mapping) or not formats:
        raise TypeError(f"formats must be a non-empty dict of name -> (write, read), like FORMATS; got {show(formats)}")
    for name, arm in formats.items():
        if not isinstance(name, str) or not isinstance(arm, tuple) or len(arm) != 2 or not all(map(callable, arm)):
            raise TypeError(f"formats must map a name to (write(df, path), read(path, columns)); got {name!r}: {show(arm)}")
    columns = list(df.columns[:2]) if columns is None else check_columns("columns", df, columns)
    repeat = check_int("repeat", repeat, minimum=1)

    original = df.reset_index(drop=True)
    rows = []
    for name, (write, read) in formats.items():
        path = os.path.join(directory, f"data.{name}")
        write_s, _ = best_time(lambda: write(original, path), 1)
        read_all_s, back = best_time(lambda: read(path, None), repeat)
        read_columns_s, _ = best_time(lambda: read(path, columns), repeat)
        rows.append({
            "format": name,
            "bytes": os.path.getsize(path),
            "write_s": write_s,
            "read_all_s": read_all_s,
            "read_columns_s": read_columns_s,
            "dtypes_kept": bool(back.dtypes.equals(original.dtypes)),
            "values_kept": _values_kept(back, original),
        })
    return pd.DataFrame(rows)


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
        columns ``encoding``, ``bytes``, ``bytes_per_value`` and ``exact`` (decoding gives back exactly
        the input values: e.g. False for int32 when a value is not an integer or out of range, for
        float32 when a value needs more than 24 bits of mantissa).

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


# =====================================================================================================
# Decision 2: row-major or column-major access? (and any table of timed arms)
# =====================================================================================================
def time_arms(arms: Mapping[str, Callable[[], Any]], *, repeat: int = 3) -> pd.DataFrame:
    """Time each arm (a function of no argument): the best of ``repeat`` runs, and its slowdown.

    Parameters
    ----------
    arms : dict of str to callable
        The arms, each a function of no argument doing the same work a different way.
    repeat : int, default 3
        Runs per arm (>= 1).

    Returns
    -------
    pandas.DataFrame
        Indexed by arm, columns ``seconds`` (best of ``repeat``) and ``slowdown`` (seconds divided by
        the fastest arm's).

    Example
    -------
    >>> res = time_arms({"sum": lambda: sum(range(10_000)), "loop": lambda: [i for i in range(10_000)]}, repeat=1)
    >>> list(res.columns), float(res["slowdown"].min())
    (['seconds', 'slowdown'], 1.0)
    """
    if not isinstance(arms, Mapping) or not arms or not all(callable(a) for a in arms.values()):
        raise TypeError(f"arms must be a non-empty dict of name -> function of no argument; got {show(arms)}")
    repeat = check_int("repeat", repeat, minimum=1)
    seconds = pd.Series({name: best_time(arm, repeat)[0] for name, arm in arms.items()}, name="seconds")
    out = seconds.to_frame()
    out["slowdown"] = seconds / seconds.min()
    return out.rename_axis("arm")


def ratio_bucket(ratio: float) -> str:
    """A timing ratio in a coarse bucket, the stable form in which a notebook stores it.

    Buckets: "under 2x", "2-10x", "10-100x", "100x or more".

    Example
    -------
    >>> ratio_bucket(1.4), ratio_bucket(34.4), ratio_bucket(144)
    ('under 2x', '10-100x', '100x or more')
    """
    ratio = check_real("ratio", ratio, low=0)
    for edge, name in ((2, "under 2x"), (10, "2-10x"), (100, "10-100x")):
        if ratio < edge:
            return name
    return "100x or more"


def machine() -> str:
    """The machine and versions a timing came from: CPU, cores, OS, Python and the engines' versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()}; Python {platform.python_version()}, "
            f"pandas {pd.__version__}, numpy {np.__version__}, pyarrow {pa.__version__}, "
            f"DuckDB {duckdb.__version__}, SQLite {sqlite3.sqlite_version}")


# =====================================================================================================
# Decision 3: relational or document model?
# =====================================================================================================
_MODELS = ("relational", "document")


def model_benchmark(
    db: str | os.PathLike, *, n_fetches: int = 200, repeat: int = 3, random_state: RandomState = 0
) -> pd.DataFrame:
    """Time both queries (``fetch_order``, ``revenue_by_product``) in both data models on a ``load_orders`` file.

    Parameters
    ----------
    db : str or os.PathLike
        The SQLite file written by ``storage.load_orders`` (one connection is opened for all queries).
    n_fetches : int, default 200
        Orders fetched (>= 1), drawn uniformly with replacement.
    repeat : int, default 3
        Each workload is timed ``repeat`` times (>= 1); the best time is kept.
    random_state : int, numpy.random.Generator or None, default 0
        Seed for the order ids.

    Returns
    -------
    pandas.DataFrame
        Four rows with columns ``query`` ("fetch one order", "revenue per product"), ``model``
        ("relational", "document"), ``operations`` (queries run), ``seconds`` (best of ``repeat``,
        all operations) and ``per_op_ms``.

    Example
    -------
    >>> from mlsys_course.storage import load_orders, make_orders
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = load_orders(make_orders(100, random_state=0), os.path.join(tmp, "shop.sqlite"))
    ...     res = model_benchmark(db, n_fetches=10, repeat=1)
    >>> res[["query", "model", "operations"]]
                     query       model  operations
    0      fetch one order  relational          10
    1      fetch one order    document          10
    2  revenue per product  relational           1
    3  revenue per product    document           1
    """
    if not isinstance(db, (str, os.PathLike)) or not os.path.isfile(db):
        raise ValueError(f"db must be the file written by storage.load_orders; got {show(db)}")
    n_fetches = check_int("n_fetches", n_fetches, minimum=1)
    repeat = check_int("repeat", repeat, minimum=1)
    rng = check_random_state("random_state", random_state)
    rows = []
    with connect(db, engine="sqlite") as con:
        order_ids = [r[0] for r in con.execute("SELECT order_id FROM orders ORDER BY order_id")]
        picked = rng.choice(order_ids, size=n_fetches).tolist()
        for model in _MODELS:
            seconds = best_time(lambda: [fetch_order(con, i, model=model) for i in picked], repeat)[0]
            rows.append(("fetch one order", model, n_fetches, seconds))
        for model in _MODELS:
            seconds = best_time(lambda: revenue_by_product(con, model=model), repeat)[0]
            rows.append(("revenue per product", model, 1, seconds))
    out = pd.DataFrame(rows, columns=["query", "model", "operations", "seconds"])
    out["per_op_ms"] = 1000 * out["seconds"] / out["operations"]
    return out


# =====================================================================================================
# Decision 4: a row store or a column store?
# =====================================================================================================
#: The workloads of :func:`engine_benchmark`: the same SQL on both engines.
ENGINE_WORKLOADS = {
    "point lookup": "SELECT * FROM transactions WHERE transaction_id = ?",
    "insert + commit": "BEGIN TRANSACTION; INSERT INTO transactions (...) VALUES (...); COMMIT",
    "scan + group by": "SELECT merchant_category, COUNT(*), SUM(amount), AVG(amount) FROM transactions GROUP BY 1",
}


def _plain_rows(df: pd.DataFrame, engine: str) -> list[tuple]:
    """Rows of plain Python values (None for missing; dates as ISO text for SQLite, which has no date type)."""
    out = df.astype(object).where(df.notna(), None)
    if engine == "sqlite":
        for c in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                out[c] = df[c].astype(str).where(df[c].notna(), None)
    return list(out.itertuples(index=False, name=None))


def _aggregate_sql(table: str, by: str, value: str) -> str:
    return (f'SELECT "{by}", COUNT(*) AS n, SUM("{value}") AS total, AVG("{value}") AS mean '
            f'FROM "{table}" GROUP BY "{by}" ORDER BY "{by}" NULLS LAST')


def _check_by_value(df: pd.DataFrame, by: Any, value: Any) -> None:
    check_column("by", df, by)
    check_column("value", df, value)
    if not pd.api.types.is_numeric_dtype(df[value]) or pd.api.types.is_bool_dtype(df[value]):
        raise TypeError(f"value must name a numeric column; got {value!r} of dtype {df[value].dtype}")


def engine_benchmark(
    df: pd.DataFrame,
    directory: str | os.PathLike,
    *,
    by: str = "merchant_category",
    value: str = "amount",
    n_lookups: int = 200,
    n_inserts: int = 100,
    repeat: int = 3,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Time OLTP and OLAP workloads on the same table in SQLite (row store) and DuckDB (column store).

    For each engine, ``df`` is bulk-loaded with ``storage.load_table`` into
    ``directory/transactions.<engine>`` (key ``transaction_id``; a previous run's table is replaced), then,
    on one connection (``storage.connect``), the :data:`ENGINE_WORKLOADS`:

    - point lookup: ``n_lookups`` single-row ``SELECT * ... WHERE transaction_id = ?`` on random keys;
    - insert + commit: ``n_inserts`` single-row inserts, each its own transaction (copies of random rows
      with new keys; each repetition inserts new rows, so the table grows by ``repeat * n_inserts``);
    - scan + group by: count, sum and mean of ``value`` per ``by`` over the whole table.

    Returns
    -------
    pandas.DataFrame
        Eight rows (engine x workload) with columns ``engine``, ``workload`` ("bulk load", "point
        lookup", "insert + commit", "scan + group by"), ``operations`` (rows loaded, or queries),
        ``seconds`` and ``per_op_ms`` (milliseconds per operation).

    Example
    -------
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(1_000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = engine_benchmark(df, tmp, n_lookups=5, n_inserts=5, repeat=1)
    ...     sorted(os.listdir(tmp))
    ['transactions.duckdb', 'transactions.sqlite']
    >>> res[["engine", "workload", "operations"]].head(4)
       engine         workload  operations
    0  sqlite        bulk load        1000
    1  sqlite     point lookup           5
    2  sqlite  insert + commit           5
    3  sqlite  scan + group by           1
    """
    df = check_frame("df", df, columns=["transaction_id"])
    directory = check_directory("directory", directory)
    _check_by_value(df, by, value)
    n_lookups = check_int("n_lookups", n_lookups, minimum=1)
    n_inserts = check_int("n_inserts", n_inserts, minimum=1)
    repeat = check_int("repeat", repeat, minimum=1)
    rng = check_random_state("random_state", random_state)

    lookups = rng.choice(df["transaction_id"].to_numpy(), size=n_lookups).tolist()
    new = df.iloc[rng.integers(len(df), size=repeat * n_inserts)].reset_index(drop=True)
    new["transaction_id"] = int(df["transaction_id"].max()) + 1 + np.arange(len(new))
    names = ", ".join(f'"{c}"' for c in df.columns)
    insert_sql = f"INSERT INTO transactions ({names}) VALUES ({', '.join('?' * df.shape[1])})"
    lookup_sql = ENGINE_WORKLOADS["point lookup"]
    scan_sql = _aggregate_sql("transactions", by, value)

    def insert_each(con: Any, rows: list[tuple]) -> None:
        for row in rows:
            con.execute("BEGIN TRANSACTION")
            con.execute(insert_sql, row)
            con.execute("COMMIT")

    records = []
    for engine in ENGINES:
        path = os.path.join(directory, f"transactions.{engine}")
        load_s = best_time(lambda: load_table(df, path, engine=engine, key="transaction_id"), 1)[0]
        new_rows = _plain_rows(new, engine)
        batches = iter([new_rows[i * n_inserts: (i + 1) * n_inserts] for i in range(repeat)])
        with connect(path, engine=engine) as con:
            look_s = best_time(lambda: [con.execute(lookup_sql, [k]).fetchall() for k in lookups], repeat)[0]
            insert_s = best_time(lambda: insert_each(con, next(batches)), repeat)[0]
            scan_s = best_time(lambda: con.execute(scan_sql).fetchall(), repeat)[0]
        records += [(engine, "bulk load", len(df), load_s), (engine, "point lookup", n_lookups, look_s),
                    (engine, "insert + commit", n_inserts, insert_s), (engine, "scan + group by", 1, scan_s)]
    out = pd.DataFrame(records, columns=["engine", "workload", "operations", "seconds"])
    out["per_op_ms"] = 1000 * out["seconds"] / out["operations"]
    return out


def scan_scaling(
    df: pd.DataFrame,
    directory: str | os.PathLike,
    *,
    sizes: Sequence[int] | None = None,
    by: str = "merchant_category",
    value: str = "amount",
    repeat: int = 3,
) -> pd.DataFrame:
    """Time the scan-and-aggregate against table size in both engines, to see where each wins.

    The first ``max(sizes)`` rows of ``df`` are loaded once per engine into ``directory/scan.<engine>``
    (no key), then each size gets its own table of the first ``n`` rows (``CREATE TABLE ... AS SELECT
    ... LIMIT n``, copied inside the database), and the aggregate query is timed on each. A row store
    reads every whole row; a column store reads only the two columns, but pays a fixed cost per query,
    so it wins only beyond some size.

    Parameters
    ----------
    sizes : sequence of int, optional
        Increasing table sizes in ``[1, len(df)]``. Default: 100, 300, 1000, 3000, ... below
        ``len(df)``, then ``len(df)``.

    Returns
    -------
    pandas.DataFrame
        One row per (size, engine) with columns ``rows``, ``engine`` and ``seconds``.

    Example
    -------
    >>> from mlsys_course.datasets import make_transactions
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = scan_scaling(make_transactions(2_000, random_state=0), tmp, sizes=[10, 2_000], repeat=1)
    >>> res[["rows", "engine"]]
       rows  engine
    0    10  sqlite
    1    10  duckdb
    2  2000  sqlite
    3  2000  duckdb
    """
    df = check_frame("df", df)
    directory = check_directory("directory", directory)
    _check_by_value(df, by, value)
    repeat = check_int("repeat", repeat, minimum=1)
    if sizes is None:
        grid = [int(m * 10**e) for e in range(2, 10) for m in (1, 3)]
        sizes = [s for s in grid if s < len(df)] + [len(df)]
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a non-empty sequence of ints; got {show(sizes)}")
    sizes = [check_int("sizes", s, minimum=1, maximum=len(df)) for s in sizes]
    if not sizes:
        raise ValueError("sizes must name at least one table size; got none")
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"sizes must be strictly increasing; got {show(sizes)}")

    records = []
    for engine in ENGINES:
        path = os.path.join(directory, f"scan.{engine}")
        load_table(df.head(sizes[-1]), path, engine=engine, table="all_rows", key=None)
        with connect(path, engine=engine) as con:
            for n in sizes:
                con.execute(f"DROP TABLE IF EXISTS rows_{n}")
                con.execute(f"CREATE TABLE rows_{n} AS SELECT * FROM all_rows LIMIT {n}")
                if engine == "duckdb":
                    con.execute("CHECKPOINT")
                sql = _aggregate_sql(f"rows_{n}", by, value)
                records.append((n, engine, best_time(lambda: con.execute(sql).fetchall(), repeat)[0]))
    records.sort(key=lambda r: (r[0], ENGINES.index(r[1])))
    return pd.DataFrame(records, columns=["rows", "engine", "seconds"])


# =====================================================================================================
# Decision 5: ETL or ELT?
# =====================================================================================================
_REPORT = ["pipeline", "records_in", "raw_rows", "clean_rows", "complete_rows", "rejected", "unused_fields", "error"]


def schema_change(
    df: pd.DataFrame,
    directory: str | os.PathLike,
    *,
    change: str = "rename",
    bad_share: float = 0.02,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Replay an upstream schema change through ETL and ELT (``storage.etl``, ``storage.elt``), over three daily batches.

    ``df`` becomes raw events (``storage.make_raw_events``), split into three consecutive batches. Day 1:
    the old schema, both pipelines with ``FIELDS``. Day 2: upstream changes the schema
    (``storage.change_schema``), pipelines unchanged. Day 3: the new schema again, and both pipelines
    fixed with ``SCHEMA_CHANGES[change]``. ETL writes ``directory/etl.duckdb``, ELT
    ``directory/elt.duckdb`` (both replaced if they exist).

    Returns
    -------
    pandas.DataFrame
        Six rows (day x pipeline) with columns ``day`` (1, 2, 3), ``schema`` ("old" or "new"),
        ``code`` ("original" or "fixed"), then the report columns of ``etl`` and ``elt``.

    Example
    -------
    >>> from mlsys_course.datasets import make_transactions
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = schema_change(make_transactions(3_000, random_state=0), tmp, change="rename")
    >>> res[["day", "pipeline", "records_in", "raw_rows", "clean_rows", "rejected"]]
       day pipeline  records_in  raw_rows  clean_rows  rejected
    0    1      ETL        1000         0         976        24
    1    1      ELT        1000      1000         976        24
    2    2      ETL        1000         0         976         0
    3    2      ELT        1000      2000         976      1024
    4    3      ETL        1000         0        1958        18
    5    3      ELT        1000      3000        2930        70
    """
    df = check_frame("df", df, min_rows=3)
    directory = check_directory("directory", directory)
    check_choice("change", change, tuple(SCHEMA_CHANGES))
    events = make_raw_events(df, bad_share=bad_share, random_state=random_state)
    days = [events[i[0]: i[-1] + 1] for i in np.array_split(np.arange(len(events)), 3)]
    paths = {name: os.path.join(directory, f"{name.lower()}.duckdb") for name in ("ETL", "ELT")}
    for p in paths.values():
        for leftover in (p, p + ".wal"):
            if os.path.exists(leftover):
                os.remove(leftover)
    plan = [(1, "old", "original", days[0], FIELDS),
            (2, "new", "original", change_schema(days[1], change), FIELDS),
            (3, "new", "fixed", change_schema(days[2], change), SCHEMA_CHANGES[change])]
    reports = []
    for day, schema, code, batch, fields in plan:
        for name, pipeline in (("ETL", etl), ("ELT", elt)):
            report = pipeline(batch, paths[name], fields=fields)
            reports.append(report.assign(day=day, schema=schema, code=code))
    out = pd.concat(reports, ignore_index=True)
    return out[["day", "schema", "code", *_REPORT]]


# =====================================================================================================
# Decision 6: a database, a service, or a real-time transport?
# =====================================================================================================
def database_roundtrip(
    df: pd.DataFrame, directory: str | os.PathLike, *, table: str = "rows", timeout: float = 10.0
) -> tuple[pd.DataFrame, pd.Series]:
    """Pass a frame from a writer process to this process through a SQLite file, timing each step.

    Returns
    -------
    frame : pandas.DataFrame
        Every row of ``table`` of ``directory/dataflow.sqlite3``, read back in this process.
    timings : pandas.Series
        Milliseconds spent to ``start_writer`` (the process), ``write_and_commit`` and ``read``.

    Example
    -------
    >>> df = pd.DataFrame({"sensor": ["a", "b"], "reading": [0.5, 1.5]})
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     back, ms = database_roundtrip(df, tmp)
    >>> back.equals(df), ms.index.tolist()  # doctest: +SKIP
    (True, ['start_writer', 'write_and_commit', 'read'])
    """
    database = Path(check_directory("directory", directory)) / "dataflow.sqlite3"
    clock = time.perf_counter
    t0 = clock()
    with DatabaseWriter(database, timeout=timeout) as writer:
        t1 = clock()
        writer.insert(table, df)
        writer.commit()
        t2 = clock()
    t3 = clock()
    frame = read_database(database, f'SELECT * FROM "{table}"')
    t4 = clock()
    timings = pd.Series({"start_writer": t1 - t0, "write_and_commit": t2 - t1, "read": t4 - t3}, name="ms") * 1e3
    return frame, timings


@dataclass(frozen=True, repr=False)
class Delivery:
    """What each consumer received in one run of :func:`run_pubsub` or :func:`run_queue` (a plain record).

    Attributes
    ----------
    pattern : str
        ``"pubsub"`` or ``"queue"``.
    n_messages : int
        Messages the producer sent, with ids ``0 .. n_messages - 1``.
    received : dict of int to numpy.ndarray
        Consumer number -> the ids it received, in arrival order.
    pids : dict of int to int
        Consumer number -> its process id (the process has exited).
    startup_s : float
        Seconds to start the consumer processes and wait until all are connected.
    elapsed_s : float
        Seconds from the first message sent until every consumer has reported the end of the stream.
    """

    pattern: str
    n_messages: int
    received: dict[int, np.ndarray]
    pids: dict[int, int]
    startup_s: float
    elapsed_s: float

    def __repr__(self) -> str:
        counts = [len(self.received[c]) for c in sorted(self.received)]
        return f"Delivery(pattern={self.pattern!r}, n_messages={self.n_messages}, received per consumer={counts})"

    @property
    def messages_per_second(self) -> float:
        """Messages sent by the producer per second, until all were consumed."""
        return self.n_messages / self.elapsed_s

    @property
    def deliveries_per_second(self) -> float:
        """Messages received, summed over consumers, per second (k times the above for pub-sub)."""
        return sum(len(ids) for ids in self.received.values()) / self.elapsed_s

    @property
    def counts(self) -> pd.DataFrame:
        """One row per consumer: messages ``received``, ``distinct`` ids, ``share`` of all messages."""
        rows = [
            {"consumer": c, "received": len(ids), "distinct": len(np.unique(ids)), "share": len(ids) / self.n_messages}
            for c, ids in sorted(self.received.items())
        ]
        return pd.DataFrame(rows).set_index("consumer")


def _check_running(procs: list) -> None:
    """Fail fast (rather than at the timeout) if a consumer process crashed."""
    for proc in procs:
        if proc.poll() not in (None, 0):
            raise RuntimeError(f"a consumer process exited with code {proc.returncode}:\n{log_tail(proc)}")


def _wait_for_peers(socket: Any, n: int, is_ready: Callable, what: str, procs: list, deadline: float) -> None:
    """Receive from ``socket`` until ``n`` messages satisfy ``is_ready``, in slices of 50 ms."""
    seen = 0
    while seen < n:
        _check_running(procs)
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {seen} of {n} {what} in time")
        if socket.poll(50):
            seen += bool(is_ready(socket.recv_multipart()))


def _run(
    pattern: str, n_messages: Any, n_consumers: Any, payload_bytes: Any, high_water_mark: Any, timeout: Any
) -> Delivery:
    n_messages = check_int("n_messages", n_messages, minimum=1)
    n_consumers = check_int("n_subscribers" if pattern == "pubsub" else "n_workers", n_consumers, minimum=1, maximum=64)
    payload = bytes(check_int("payload_bytes", payload_bytes, minimum=0, maximum=1_000_000))
    hwm = check_int("high_water_mark", high_water_mark, minimum=0)
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)

    ctx = zmq.Context()
    data = ctx.socket(zmq.XPUB if pattern == "pubsub" else zmq.PUSH)
    results = ctx.socket(zmq.PULL)
    # socket events (only for PUSH), watched from before any worker exists so that no event is missed
    monitor = None if pattern == "pubsub" else data.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    procs = []
    try:
        if pattern == "pubsub":
            data.setsockopt(zmq.XPUB_VERBOSE, 1)  # pass on every subscription, also repeated ones
        data.setsockopt(zmq.SNDHWM, hwm)
        data.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))  # a full PUSH queue blocks; never forever
        data_port = data.bind_to_random_port("tcp://127.0.0.1")
        results_port = results.bind_to_random_port("tcp://127.0.0.1")
        start = time.perf_counter()
        deadline = time.monotonic() + timeout
        for consumer in range(n_consumers):
            procs.append(spawn(
                "mlsys_course.lab.ch03", "consume", "--pattern", pattern, "--consumer", str(consumer),
                "--data", f"tcp://127.0.0.1:{data_port}", "--results", f"tcp://127.0.0.1:{results_port}",
                "--high-water-mark", str(hwm), "--timeout", str(timeout),
            ))  # fmt: skip
        if pattern == "pubsub":  # XPUB receives b"\x01" + topic for a subscription, b"\x00" + topic for its end
            subscribed = lambda m: m[0][:1] == b"\x01"  # noqa: E731
            _wait_for_peers(data, n_consumers, subscribed, "subscribers subscribed", procs, deadline)
        else:  # every monitor event is a completed handshake (the only event asked for)
            _wait_for_peers(monitor, n_consumers, lambda m: True, "workers connected", procs, deadline)
        sent = time.perf_counter()
        try:
            for i in range(n_messages):
                data.send_multipart([b"msg", i.to_bytes(8, "little"), payload])
        except zmq.Again:
            raise TimeoutError(f"the workers' queues stayed full for {timeout} s") from None
        received: dict[int, np.ndarray] = {}
        pids: dict[int, int] = {}
        deadline = time.monotonic() + timeout
        while len(received) < n_consumers:
            _check_running(procs)
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(received)} of {n_consumers} consumers reported in time")
            try:  # repeated: PUSH deals each end marker to one worker only
                data.send_multipart([b"end", b"", b""], flags=zmq.NOBLOCK)
            except zmq.Again:  # every queue is full (high_water_mark): try again later
                pass
            if results.poll(20):
                header, ids = results.recv_multipart()
                report = json.loads(header)
                if report["status"] != "done":
                    raise RuntimeError(f"consumer {report['consumer']} failed: {report['status']}")
                received[report["consumer"]] = np.frombuffer(ids, dtype=np.int64).copy()
                pids[report["consumer"]] = report["pid"]
        elapsed = time.perf_counter() - sent
        for proc in procs:
            proc.wait(timeout=timeout)
        _check_running(procs)
        return Delivery(pattern, n_messages, received, pids, startup_s=sent - start, elapsed_s=elapsed)
    finally:
        for proc in procs:
            stop(proc)
        if monitor is not None:
            data.disable_monitor()
            monitor.close(linger=0)
        data.close(linger=0)
        results.close(linger=0)
        ctx.term()


def run_pubsub(
    n_messages: int = 10_000,
    n_subscribers: int = 2,
    *,
    payload_bytes: int = 100,
    high_water_mark: int = 0,
    timeout: float = 30.0,
) -> Delivery:
    """Publish messages to subscriber processes (XPUB -> SUB sockets): every subscriber should get every message.

    Starts ``n_subscribers`` processes, waits until each has subscribed (the slow-joiner fix: a PUB socket
    sends only to subscriptions it has already received, so the publisher is an XPUB socket, which receives
    them, and waits for one per subscriber), publishes messages ``0 .. n_messages - 1`` on tcp://127.0.0.1,
    and collects what each subscriber received. All processes are stopped before it returns or raises.

    Parameters
    ----------
    n_messages : int, default 10_000
        Messages to publish (>= 1).
    n_subscribers : int, default 2
        Subscriber processes (1 to 64).
    payload_bytes : int, default 100
        Size of each message's payload.
    high_water_mark : int, default 0
        Messages queued per subscriber before ZeroMQ drops the next ones for it; 0 means no limit.
    timeout : float, default 30.0
        Seconds allowed for start-up (each consumer process imports the package: a second or two, more on
        a busy machine), and again for delivery; beyond them, ``TimeoutError``.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport" (pubsub).

    Example
    -------
    >>> run_pubsub(1000, n_subscribers=2).counts  # doctest: +SKIP
              received  distinct  share
    consumer
    0             1000      1000    1.0
    1             1000      1000    1.0
    """
    return _run("pubsub", n_messages, n_subscribers, payload_bytes, high_water_mark, timeout)


def run_queue(
    n_messages: int = 10_000,
    n_workers: int = 2,
    *,
    payload_bytes: int = 100,
    high_water_mark: int = 0,
    timeout: float = 30.0,
) -> Delivery:
    """Push messages to worker processes through a queue (PUSH -> PULL sockets): each message to exactly one worker.

    Starts ``n_workers`` processes, waits until each has completed its handshake (watching the socket's
    events: otherwise the first messages all go to the first worker that connected), pushes messages
    ``0 .. n_messages - 1`` on tcp://127.0.0.1 (ZeroMQ deals them round-robin: a slow worker gets as many
    as a fast one), and collects what each worker received. All processes are stopped before it returns.

    Parameters are those of :func:`run_pubsub`, with ``n_workers`` (1 to 64) for ``n_subscribers``;
    ``high_water_mark`` here makes the producer wait (a queue does not drop).

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport" (message queue).

    Example
    -------
    >>> run_queue(1000, n_workers=2).counts  # doctest: +SKIP
              received  distinct  share
    consumer
    0              500       500    0.5
    1              500       500    0.5
    """
    return _run("queue", n_messages, n_workers, payload_bytes, high_water_mark, timeout)


def _consume_main(
    pattern: str, consumer: int, data_endpoint: str, results_endpoint: str, hwm: int, timeout: float
) -> None:
    """A consumer process: receive until the end marker, then report the ids received."""
    ctx = zmq.Context()
    data = ctx.socket(zmq.SUB if pattern == "pubsub" else zmq.PULL)
    data.setsockopt(zmq.RCVHWM, hwm)
    if pattern == "pubsub":
        data.setsockopt(zmq.SUBSCRIBE, b"")
    data.connect(data_endpoint)
    results = ctx.socket(zmq.PUSH)
    results.connect(results_endpoint)
    ids, status = array("q"), "done"
    while True:
        if not data.poll(int(timeout * 1000)):
            status = f"no message for {timeout} s"
            break
        kind, seq, _ = data.recv_multipart()
        if kind == b"end":
            break
        ids.append(int.from_bytes(seq, "little"))
    header = {"consumer": consumer, "pid": os.getpid(), "status": status}
    results.send_multipart([json.dumps(header).encode(), ids.tobytes()])
    data.close(linger=0)
    results.close(linger=int(timeout * 1000))  # deliver the report before exiting
    ctx.term()


# =====================================================================================================
# Decision 7: batch or streaming features?
# =====================================================================================================
def _jobs(t: np.ndarray, refresh: int, window: int, closed: str) -> tuple[int, int]:
    """Jobs run from the first row to the last, and rows they scan (each reads its window's events)."""
    first, last = t[0] // refresh, t[-1] // refresh
    lo = t // refresh + 1  # jobs strictly after the event ...
    hi = (t + window) // refresh if closed == "both" else -(-(t + window) // refresh) - 1  # ... while it is in their window
    return int(last - first + 1), int(np.clip(np.minimum(hi, last) - lo + 1, 0, None).sum())


def staleness_report(
    df: pd.DataFrame,
    refreshes: Sequence[Any] = ("1min", "10min", "1h", "1D"),
    *,
    key: str = "user_id",
    time: str = "timestamp",
    window: Any = "10min",
    agg: str = "count",
    value: str = "amount",
    closed: str = "right",
    include_current: bool = True,
    label: str | None = "is_fraud",
) -> pd.DataFrame:
    """Error and cost of serving a batch-refreshed window feature, for several refresh intervals.

    The reference is the fresh per-event value (``streaming.window_count_batch``, what a stream processor
    serves); the stale value is ``streaming.stale_batch_feature``. A value is wrong when it differs from
    the fresh one (sums: by more than rounding, ``numpy.isclose`` with ``rtol=1e-9``).

    Parameters
    ----------
    df : pandas.DataFrame
        Events, sorted by ``time`` (non-decreasing), at least one row.
    refreshes : sequence of durations, default ("1min", "10min", "1h", "1D")
        Refresh intervals to compare, one report row each (no duplicates).
    key, time, window, agg, value, closed, include_current
        As in ``streaming.stale_batch_feature``.
    label : str or None, default "is_fraud"
        0/1 column for ``share_fraud_wrong``; None leaves that column out.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``refresh`` (labels such as ``"1h"``), columns ``jobs`` (batch jobs run from the first
        row's refresh to the last row's), ``rows_scanned`` (events read by those jobs, each reading its
        window's events), ``stream_updates`` (``len(df)``), ``mae`` (stale vs fresh), ``share_wrong``,
        its two parts ``share_under`` (the stale value is too low: it misses the key's events since the
        last job) and ``share_over`` (too high: it still counts events that left the window after the
        job), ``share_burst_wrong`` (among rows with another event of their key in the window; NaN if
        none) and ``share_fraud_wrong`` (among rows with ``label == 1``; NaN if none).

    ``share_under`` grows with the refresh interval; ``share_over`` need not: a daily job at midnight
    sees the quiet minutes before it, so it rarely has expired events to over-count, while an hourly
    job in the day does. That is why ``share_wrong`` can fall from "1h" to "1D".

    Book: Chapter 3, "Batch Processing Versus Stream Processing"; Chapter 7, "Batch Prediction
    Versus Online Prediction" (staleness vs cost).

    Example
    -------
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 1, 1, 1],
    ...     "timestamp": pd.to_datetime(["00:55", "00:58", "01:02", "01:09"], format="%H:%M"),
    ...     "is_fraud": [0, 0, 1, 1],
    ... })
    >>> report = staleness_report(events, refreshes=["1min", "1h"])
    >>> report[["jobs", "rows_scanned", "stream_updates", "share_wrong", "share_fraud_wrong"]]
             jobs  rows_scanned  stream_updates  share_wrong  share_fraud_wrong
    refresh
    1min       15            25               4          0.0                0.0
    1h          2             2               4          0.5                0.5
    """
    if isinstance(refreshes, (str, bytes)) or not hasattr(refreshes, "__iter__") or len(refreshes) == 0:
        raise TypeError(f"refreshes must be a non-empty sequence of durations such as ('1min', '1h'); got {show(refreshes)}")
    periods = [check_duration(f"refreshes[{i}]", r) for i, r in enumerate(refreshes)]
    if len(set(periods)) < len(periods):
        raise ValueError(f"refreshes must not repeat an interval; got {show(list(refreshes))}")
    df = check_frame("df", df)
    if label is not None:
        check_column("label", df, label)
        fraud = check_binary_labels(f"df[{label!r}]", df[label].to_numpy()) == 1
    common = dict(key=key, time=time, window=window, closed=closed)
    fresh = window_count_batch(df, agg=agg, value=value, **common)  # checks the other arguments
    burst = (fresh if agg == "count" else window_count_batch(df, **common)).to_numpy() >= 2
    fresh = fresh.to_numpy()
    t = df[time].to_numpy("datetime64[ns]").view(np.int64)
    w = check_duration("window", window).value
    rows = []
    for period in periods:
        stale = stale_batch_feature(
            df, refresh=period, agg=agg, value=value, include_current=include_current, **common
        ).to_numpy()
        wrong = ~np.isclose(stale, fresh, rtol=1e-9, atol=0.0)
        jobs, scanned = _jobs(t, period.value, w, closed)
        under, over = wrong & (stale < fresh), wrong & (stale > fresh)
        row = {
            "refresh": duration_label(period),
            "jobs": jobs,
            "rows_scanned": scanned,
            "stream_updates": len(df),
            "mae": float(np.mean(np.abs(stale - fresh))),
            "share_wrong": float(wrong.mean()),
            "share_under": float(under.mean()),
            "share_over": float(over.mean()),
            "share_burst_wrong": float(wrong[burst].mean()) if burst.any() else np.nan,
        }
        if label is not None:
            row["share_fraud_wrong"] = float(wrong[fraud].mean()) if fraud.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("refresh")


# =====================================================================================================
# Exercise checks
# =====================================================================================================
@exercise("3.1")
def _stream_equals_batch(answer: Any, *, transactions: Any) -> tuple[bool, str]:
    reference = window_count_batch(transactions, window="1h", agg="sum").to_numpy()
    try:
        values = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False, f"the answer must be a list of numbers; got {type(answer).__name__}."
    if values.shape != reference.shape:
        return False, f"expected one value per transaction ({len(reference)}); got {values.size}."
    wrong = ~np.isclose(values, reference, rtol=1e-9, atol=1e-9)
    if wrong.any():
        first = int(np.argmax(wrong))
        return False, (f"{int(wrong.sum())} values differ from the batch computation; the first at row {first}: "
                       f"{values[first]:.2f} vs {reference[first]:.2f}.")
    return True, f"all {len(reference):,} streamed values equal the batch computation."


@exercise("3.2")
def _resume_offset(answer: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be an offset (a whole number); got {type(answer).__name__}."
    with tempfile.TemporaryDirectory() as folder, DurableLog(folder) as log:
        for i in range(10):
            log.append({"event": i})
        consumer = Consumer(log, group="billing")
        consumer.poll(3)
        consumer.commit()
        consumer.poll(2)
        resumed = Consumer(log, group="billing").poll(1)[0].offset
    if answer == resumed:
        return True, f"the restarted consumer resumes at offset {resumed}, the last commit; offsets 3 and 4 are read twice."
    return False, f"offset {answer} is not where the restarted consumer starts (it resumes from its last commit)."


#: World seeds the checkers of 3.3-3.5 build their held-out cases from: never the notebook's SEED.
FRESH_SEEDS = (1_003, 1_004, 1_005)


@exercise("3.3")
def _elt_alarm(answer: Any) -> tuple[bool, str]:
    """Run the student's ``alarm(before, after)`` on ELT reports of a fresh world: normal days, a rename, an added
    field and the fixed re-run. It must fire on the rename only."""
    if not callable(answer):
        return False, f"the answer must be a function alarm(before, after) -> bool; got {type(answer).__name__}."
    world = make_transactions(4_000, random_state=FRESH_SEEDS[0])
    day = [world.iloc[k * 1_000:(k + 1) * 1_000] for k in range(4)]
    cases = []  # (what happened, expected alarm, before report, after report)
    with tempfile.TemporaryDirectory() as folder:
        for i, (second, fields, what, expected) in enumerate([
            (make_raw_events(day[1], bad_share=0.05, random_state=2), FIELDS, "a normal day with 5% malformed records", False),
            (change_schema(make_raw_events(day[1], random_state=2), "rename"), FIELDS, "upstream renamed amount", True),
            (change_schema(make_raw_events(day[1], random_state=2), "add"), FIELDS, "upstream added a field", False),
        ]):
            path = os.path.join(folder, f"case{i}.duckdb")
            before = elt(make_raw_events(day[0], bad_share=0.01, random_state=1), path)
            cases.append((what, expected, before, elt(second, path, fields=fields)))
        path = os.path.join(folder, "fixed.duckdb")
        elt(make_raw_events(day[2], random_state=3), path)
        broken = elt(change_schema(make_raw_events(day[3], random_state=4), "rename"), path)
        cases.append(("the fixed SQL re-ran over the history", False, broken, elt([], path, fields=SCHEMA_CHANGES["rename"])))
    for what, expected, before, after in cases:
        try:
            fired = answer(before.copy(), after.copy())
        except Exception as error:  # noqa: BLE001 - the student's code: report, don't crash
            return False, f"alarm raised {type(error).__name__}: {error} (case: {what})."
        if not isinstance(fired, (bool, np.bool_)):
            return False, f"alarm must return True or False; got {type(fired).__name__} (case: {what})."
        if bool(fired) != expected:
            return False, f"on a fresh world, {what}: the alarm {'fired' if fired else 'stayed silent'}, it should not have." \
                if fired else f"on a fresh world, {what}: the alarm stayed silent; ELT rejected it without an error."
    return True, f"on a fresh world the alarm fired on the rename only, not on malformed records, an added field or the fix ({len(cases)} cases)."


@exercise("3.4")
def _training_storage(answer: Any) -> tuple[bool, str]:
    """Run the student's ``(save, load)`` on a fresh world: types kept, values kept, the asked columns only, small."""
    if not (isinstance(answer, tuple) and len(answer) == 2 and all(map(callable, answer))):
        return False, "the answer must be a pair of functions (save(df, path), load(path, columns))."
    save, load = answer
    df = make_transactions(5_000, random_state=FRESH_SEEDS[1])
    csv_bytes = len(df.to_csv(index=False).encode())
    columns = ["amount", "merchant_category", "timestamp"]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "training_data")
        try:
            save(df, path)
            size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
            every, some = load(path, list(df.columns)), load(path, columns)
        except Exception as error:  # noqa: BLE001 - the student's code: report, don't crash
            return False, f"save/load raised {type(error).__name__}: {error}."
    for got, want in ((every, df), (some, df[columns])):
        if not isinstance(got, pd.DataFrame) or list(got.columns) != list(want.columns):
            return False, f"load(path, columns) must return a DataFrame with exactly those columns; got {show(getattr(got, 'columns', got))}."
        if not got.dtypes.equals(want.dtypes):
            lost = [c for c in want.columns if got[c].dtype != want[c].dtype]
            return False, f"types were lost on a fresh world: {', '.join(f'{c} came back as {got[c].dtype}' for c in lost[:3])}."
        if not got.reset_index(drop=True).equals(want.reset_index(drop=True)):
            return False, "values were changed by the round trip on a fresh world."
    if size > csv_bytes / 2:
        return False, f"the stored data takes {size:,} bytes, more than half the CSV ({csv_bytes:,}): compress or encode it."
    return True, f"on a fresh world every type and value came back, and the file is {size / csv_bytes:.0%} of the CSV's size."


@exercise("3.5")
def _revenue_by_country(answer: Any) -> tuple[bool, str]:
    """Run the student's SQL on the relational tables of a fresh shop; compare with the answer computed from its documents."""
    if not isinstance(answer, str) or not answer.strip():
        return False, f"the answer must be an SQL query (a str); got {type(answer).__name__}."
    shop = make_orders(300, random_state=FRESH_SEEDS[2])
    documents = orders_as_documents(shop)
    expected = (pd.DataFrame([(d["customer"]["country"], i["quantity"] * i["unit_price"]) for d in documents for i in d["items"]],
                             columns=["country", "revenue"]).groupby("country", as_index=False)["revenue"].sum())
    with tempfile.TemporaryDirectory() as folder, contextlib.closing(sqlite3.connect(load_orders(shop, os.path.join(folder, "shop.sqlite")))) as con:
        try:
            got = pd.read_sql(answer, con)
        except Exception as error:  # noqa: BLE001 - the student's SQL
            return False, f"the query failed on a fresh shop: {type(error).__name__}: {str(error).splitlines()[0][:120]}."
    if list(got.columns) != ["country", "revenue"]:
        return False, f"the query must return the columns country, revenue; got {list(got.columns)}."
    if got["country"].tolist() != expected["country"].tolist():
        return False, f"expected one row per country in alphabetical order {expected['country'].tolist()}; got {got['country'].tolist()}."
    if not np.allclose(got["revenue"].to_numpy(dtype=float), expected["revenue"].to_numpy(), rtol=1e-9):
        return False, "the revenue per country differs from the one computed from the documents of a fresh shop."
    return True, f"on a fresh shop your query matches the documents for all {len(expected)} countries."


# =====================================================================================================
# The consumer process of run_pubsub and run_queue
# =====================================================================================================
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlsys_course.lab.ch03", description="A consumer process.")
    parser.add_argument("role", choices=["consume"])
    parser.add_argument("--pattern", choices=["pubsub", "queue"], required=True)
    parser.add_argument("--consumer", type=int, required=True)
    parser.add_argument("--data", required=True, help="endpoint to receive messages from")
    parser.add_argument("--results", required=True, help="endpoint to report to")
    parser.add_argument("--high-water-mark", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    exit_with_parent(args.parent_pid)
    _consume_main(args.pattern, args.consumer, args.data, args.results, args.high_water_mark, args.timeout)


if __name__ == "__main__":
    main()
