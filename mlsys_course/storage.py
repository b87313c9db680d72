"""Data models and storage engines: relational or document, row store or column store, ETL or ELT.

Three decisions of chapter 3, each on real components of this machine (stdlib ``sqlite3``, a row
store built for transactions, and DuckDB, an embedded column store built for analytics):

1. **Data models.** :func:`make_orders` builds a small shop (customers, products, orders, order
   items); :func:`load_orders` stores it in SQLite twice: as normalized tables with primary and
   foreign keys, and as one JSON document per order (customer embedded, items nested).
   :func:`fetch_order` (one document read versus a four-table join) and :func:`revenue_by_product`
   (a join and GROUP BY versus parsing and unnesting every document) answer each query from either
   model, with identical answers.
2. **Storage engines.** :func:`load_table` bulk-loads a frame into SQLite or DuckDB;
   :func:`point_lookup` (read one row by key), :func:`insert_rows` (write rows, by column name, in one
   transaction) and :func:`aggregate` (scan and group) are the transactional and analytical patterns.
   :func:`connect` opens either engine's file the way they all do.
3. **ETL or ELT.** :func:`etl` transforms raw records in Python and loads only the clean rows;
   :func:`elt` loads the raw JSON records as they are, then transforms them with SQL
   (:func:`transform_sql`) over the whole raw history. :func:`make_raw_events` and
   :func:`change_schema` make raw events and replay an upstream schema change.

Safety rules every function here follows: table and column names are checked against the database's
schema before they are quoted into SQL (a typo is an error naming what exists, never an empty or a
constant result); writes go by column name, all or nothing; DuckDB never loads or downloads an
extension by itself (no network at run time); the engines' own exceptions come back as ``ValueError``
naming the argument, what was asked and what exists.

Book: Chapter 3, "Data Models" (Relational Model, NoSQL: Document Model) and "Data Storage Engines
and Processing" (Transactional and Analytical Processing; ETL: Extract, Transform, and Load).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ._validation import RandomState, check_choice, check_frame, check_int, check_probability, check_random_state, show, json_default, check_directory
from .datasets import CATEGORIES, COUNTRIES

__all__ = [
    "ENGINES", "connect",
    "ORDER_SQL", "REVENUE_SQL", "make_orders", "orders_as_documents", "load_orders", "fetch_order",
    "revenue_by_product",
    "load_table", "point_lookup", "insert_rows", "aggregate",
    "FIELDS", "SCHEMA_CHANGES", "make_raw_events", "change_schema", "transform_sql", "etl", "elt",
]

PathLike = str | os.PathLike

#: The engines: SQLite (a row store, for transactions) and DuckDB (a column store, for analytics).
ENGINES = ("sqlite", "duckdb")

# DuckDB never reaches the network: it must not download (autoinstall) or load (autoload) an extension
# by itself, e.g. the sqlite extension when it is pointed at a SQLite file.
_DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
_ENGINE_NAMES = {"sqlite": "SQLite", "duckdb": "DuckDB"}


# --- paths ---------------------------------------------------------------------------------------------
def _check_new_file(name: str, value: Any) -> str:
    """A path to a file that does not exist yet, in an existing directory."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike); got {show(value)}")
    path = os.fspath(value)
    if os.path.exists(path):
        raise ValueError(f"{name} must be a new file; got {path!r}, which already exists")
    check_directory(f"the directory of {name}", os.path.dirname(os.path.abspath(path)))
    return path


def _check_file(name: str, value: Any) -> str:
    """A path to an existing file."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike); got {show(value)}")
    path = os.fspath(value)
    if not os.path.isfile(path):
        raise ValueError(f"{name} must be an existing database file; got {path!r}, which does not exist")
    return path


def _check_db_path(name: str, value: Any) -> str:
    """A path to a database file, existing or not, in an existing directory."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike); got {show(value)}")
    path = os.fspath(value)
    if os.path.isdir(path):
        raise ValueError(f"{name} must be a database file; got {path!r}, which is a directory")
    check_directory(f"the directory of {name}", os.path.dirname(os.path.abspath(path)))
    return path


# --- connections, schemas and identifiers ----------------------------------------------------------------
def _q(name: str) -> str:
    """A quoted SQL identifier (only ever applied to names checked against the schema or the frame)."""
    return '"' + name.replace('"', '""') + '"'


def _file_engine(path: str) -> str | None:
    """The engine whose file format ``path`` has, from its header, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head == b"SQLite format 3\x00":
        return "sqlite"
    return "duckdb" if head[8:12] == b"DUCK" else None


def _open(path: str, engine: str, name: str = "path") -> Any:
    """A connection to ``path`` (SQLite in autocommit mode: transactions are explicit), or a clear ValueError."""
    try:
        if engine == "sqlite":
            con = sqlite3.connect(path, isolation_level=None)
            try:
                con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # reads the header: is it SQLite?
            except sqlite3.Error:
                con.close()
                raise
            return con
        return duckdb.connect(path, config=_DUCKDB_CONFIG)
    except (sqlite3.Error, duckdb.Error) as error:
        actual = _file_engine(path)
        why = (f"it is a {_ENGINE_NAMES[actual]} file (use engine={actual!r})" if actual not in (None, engine)
               else f"{_ENGINE_NAMES[engine]} cannot open it: {str(error).splitlines()[0]}")
        raise ValueError(
            f"{name} must be a {_ENGINE_NAMES[engine]} database file (engine={engine!r}); got {str(path)!r}; {why}"
        ) from None


@contextlib.contextmanager
def connect(path: PathLike, *, engine: str) -> Iterator[Any]:
    """Open a SQLite or DuckDB database file for the duration of a ``with`` block, then close it.

    SQLite opens in autocommit mode (each statement commits unless inside ``BEGIN ... COMMIT``), like
    DuckDB. DuckDB opens with extension auto-install and auto-load off, so it never reaches the network:
    a file it cannot read (a SQLite file, say) is an error at once, not a download.

    Parameters
    ----------
    path : str or os.PathLike
        The database file, in an existing directory; created if missing.
    engine : {"sqlite", "duckdb"}

    Yields
    ------
    sqlite3.Connection or duckdb.DuckDBPyConnection
        Closed when the block ends (a plain ``sqlite3.Connection`` used in ``with`` would only commit).

    Raises
    ------
    ValueError
        If ``path`` is not a database file of ``engine``.

    Book: Chapter 3, "Data Storage Engines and Processing".

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with connect(os.path.join(tmp, "a.duckdb"), engine="duckdb") as con:
    ...         con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchall()
    [(False,)]
    """
    with _closing(_check_db_path, path, engine) as con:
        yield con


@contextlib.contextmanager
def _existing(path: Any, engine: str) -> Iterator[Any]:
    """A connection to an existing database file."""
    with _closing(_check_file, path, engine) as con:
        yield con


@contextlib.contextmanager
def _closing(check_path: Any, path: Any, engine: str) -> Iterator[Any]:
    """Check ``engine`` and ``path`` (with ``check_path``), open, and close when the block ends."""
    check_choice("engine", engine, ENGINES)
    con = _open(check_path("path", path), engine)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def _transaction(con: Any) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK if anything inside raises: all or nothing."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _tables(con: Any, engine: str) -> list[str]:
    if engine == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name"
    else:
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
    return [r[0] for r in con.execute(sql).fetchall()]


def _schema(con: Any, engine: str, table: Any) -> dict[str, str]:
    """Column name -> declared type of ``table``; a ValueError listing the tables if there is no such table."""
    if not isinstance(table, str) or not table:
        raise TypeError(f"table must be a non-empty str; got {show(table)}")
    if engine == "sqlite":
        rows = con.execute("SELECT name, type FROM pragma_table_info(?)", (table,)).fetchall()
    else:
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [table]
        ).fetchall()
    if not rows:
        raise ValueError(f"table must be a table of the database; got {table!r}; it has {_tables(con, engine)}")
    return {name: str(kind).upper() for name, kind in rows}


def _check_column(name: str, value: Any, schema: Mapping[str, str], table: str) -> str:
    """A column name of ``table`` (checked against its schema before it is quoted into SQL)."""
    if not isinstance(value, str) or value not in schema:
        raise ValueError(f"{name} must be a column of table {table!r}; got {show(value)}; it has {list(schema)}")
    return value


_NUMERIC_TYPES = ("INT", "REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL", "BOOL")


def _check_numeric(name: str, column: str, schema: Mapping[str, str], table: str) -> None:
    if not any(part in schema[column] for part in _NUMERIC_TYPES):
        raise TypeError(
            f"{name} must name a numeric column of table {table!r}; got {column!r} of type {schema[column]}"
        )


def _check_names(name: str, df: pd.DataFrame) -> None:
    """Column names of a frame that becomes a table: strings, unique (checked by check_frame)."""
    bad = [c for c in df.columns if not isinstance(c, str) or not c]
    if bad:
        raise ValueError(f"{name} must have non-empty string column names; got {show(bad)}")


def _database_error(what: str, error: Exception) -> ValueError:
    return ValueError(f"{what}; the database refused it: {str(error).splitlines()[0]}")


# =====================================================================================================
# 1. Data models: the same orders, relational and as documents
# =====================================================================================================
_MAX_ROWS = 10_000_000  # make_orders' sizes: beyond, the tables no longer fit a laptop's memory

_ORDERS_DDL = """
CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL);
CREATE TABLE products (product_id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
                       price REAL NOT NULL);
CREATE TABLE orders (order_id INTEGER PRIMARY KEY,
                     customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
                     ordered_at TEXT NOT NULL);
CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders (order_id), line INTEGER NOT NULL,
                          product_id INTEGER NOT NULL REFERENCES products (product_id),
                          quantity INTEGER NOT NULL, unit_price REAL NOT NULL,
                          PRIMARY KEY (order_id, line));
CREATE TABLE order_documents (order_id INTEGER PRIMARY KEY, document TEXT NOT NULL);
"""
_ORDER_COLUMNS = {
    "customers": ["customer_id", "name", "country"],
    "products": ["product_id", "name", "category", "price"],
    "orders": ["order_id", "customer_id", "ordered_at"],
    "order_items": ["order_id", "line", "product_id", "quantity", "unit_price"],
}

#: Relational model, one whole order: a join of four tables.
ORDER_SQL = """
SELECT o.order_id, o.ordered_at, c.customer_id, c.name, c.country,
       i.line, i.product_id, p.name, p.category, i.quantity, i.unit_price
FROM orders AS o
JOIN customers AS c ON c.customer_id = o.customer_id
JOIN order_items AS i ON i.order_id = o.order_id
JOIN products AS p ON p.product_id = i.product_id
WHERE o.order_id = ?
ORDER BY i.line"""

#: Relational model, revenue per product over all orders: one join and a GROUP BY.
REVENUE_SQL = """
SELECT p.product_id, p.name, SUM(i.quantity) AS quantity, SUM(i.quantity * i.unit_price) AS revenue
FROM order_items AS i
JOIN products AS p ON p.product_id = i.product_id
GROUP BY p.product_id, p.name
ORDER BY p.product_id"""


def make_orders(
    n_orders: int = 1_000,
    *,
    n_customers: int | None = None,
    n_products: int = 50,
    random_state: RandomState = None,
) -> dict[str, pd.DataFrame]:
    """A small shop's orders as normalized tables: customers, products, orders, order items.

    Customers live in a country drawn uniformly from ``COUNTRIES``; products have a category from
    ``CATEGORIES`` and a price ``LogNormal(log 20, 0.8)`` rounded to cents (at least 0.50); each
    order, placed by a uniformly drawn customer at a uniform second of January 2024 (orders are
    numbered in time order), has ``1 + Poisson(1.5)`` lines, each a uniformly drawn product with
    quantity ``1 + Poisson(0.5)`` at the product's price.

    Parameters
    ----------
    n_orders : int, default 1_000
        Number of orders, in [1, 10_000_000].
    n_customers : int or None
        Number of customers, in [1, 10_000_000]; None for ``max(1, n_orders // 4)``.
    n_products : int, default 50
        Number of products, in [1, 10_000_000].
    random_state : int, numpy.random.Generator or None, default None
        Seed (an int gives the same shop every time).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``customers`` (customer_id, name, country), ``products`` (product_id, name, category,
        price), ``orders`` (order_id, customer_id, ordered_at: datetime64[s]) and ``order_items``
        (order_id, line: 1, 2, ... within the order, product_id, quantity, unit_price: the price paid).
        Each fact is stored once: a customer's country lives only in ``customers``.

    Book: Chapter 3, "Relational Model" (normalization).

    Example
    -------
    >>> tables = make_orders(100, random_state=0)
    >>> {name: t.shape for name, t in tables.items()}
    {'customers': (25, 3), 'products': (50, 4), 'orders': (100, 3), 'order_items': (269, 5)}
    """
    n_orders = check_int("n_orders", n_orders, minimum=1, maximum=_MAX_ROWS)
    n_customers = (max(1, n_orders // 4) if n_customers is None
                   else check_int("n_customers", n_customers, minimum=1, maximum=_MAX_ROWS))
    n_products = check_int("n_products", n_products, minimum=1, maximum=_MAX_ROWS)
    rng = check_random_state("random_state", random_state)

    customers = pd.DataFrame({
        "customer_id": np.arange(n_customers),
        "name": [f"customer {i}" for i in range(n_customers)],
        "country": np.asarray(COUNTRIES)[rng.integers(len(COUNTRIES), size=n_customers)],
    })
    category = np.asarray(CATEGORIES)[rng.integers(len(CATEGORIES), size=n_products)]
    products = pd.DataFrame({
        "product_id": np.arange(n_products),
        "name": [f"{c} #{i}" for i, c in enumerate(category)],
        "category": category,
        "price": np.maximum(np.round(rng.lognormal(np.log(20), 0.8, n_products), 2), 0.5),
    })
    seconds = np.sort(rng.integers(0, 31 * 24 * 3600, size=n_orders))
    orders = pd.DataFrame({
        "order_id": np.arange(n_orders),
        "customer_id": rng.integers(n_customers, size=n_orders),
        "ordered_at": (np.datetime64("2024-01-01T00:00:00", "s") + seconds.astype("timedelta64[s]")),
    })
    n_lines = 1 + rng.poisson(1.5, n_orders)
    order_id = np.repeat(np.arange(n_orders), n_lines)
    product_id = rng.integers(n_products, size=len(order_id))
    items = pd.DataFrame({
        "order_id": order_id,
        "line": np.arange(len(order_id)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1,
        "product_id": product_id,
        "quantity": 1 + rng.poisson(0.5, len(order_id)),
        "unit_price": products["price"].to_numpy()[product_id],
    })
    return {"customers": customers, "products": products, "orders": orders, "order_items": items}


def _check_orders(tables: Any) -> dict[str, pd.DataFrame]:
    if not isinstance(tables, Mapping):
        raise TypeError(f"tables must be a dict of DataFrames as returned by make_orders; got {type(tables).__name__}")
    for name, columns in _ORDER_COLUMNS.items():
        table = tables.get(name)
        if not isinstance(table, pd.DataFrame) or not set(columns) <= set(table.columns):
            raise ValueError(f"tables[{name!r}] must be a DataFrame with columns {columns}; got {show(table)}")
    t = {name: tables[name][columns] for name, columns in _ORDER_COLUMNS.items()}
    for name, key in (("customers", ["customer_id"]), ("products", ["product_id"]), ("orders", ["order_id"]),
                      ("order_items", ["order_id", "line"])):
        if t[name].duplicated(key).any():
            raise ValueError(f"tables[{name!r}] must have unique {', '.join(key)}; got repeated keys")
    for name, column, parent in (("orders", "customer_id", "customers"), ("order_items", "order_id", "orders"),
                                 ("order_items", "product_id", "products")):
        unknown = sorted(set(t[name][column]) - set(t[parent][column]))
        if unknown:
            raise ValueError(
                f"tables[{name!r}] must refer to known {parent}; got {column} {show(unknown)} not in tables[{parent!r}]"
            )
    return t


def _iso(times: pd.Series) -> list[str]:
    return pd.to_datetime(times).dt.strftime("%Y-%m-%dT%H:%M:%S").tolist()


def orders_as_documents(tables: Mapping[str, pd.DataFrame]) -> list[dict]:
    """The same orders as JSON documents: one per order, customer embedded, items nested.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        As returned by :func:`make_orders`.

    Returns
    -------
    list of dict
        One document per order, in ``order_id`` order, made of plain Python values (``json.dumps``
        works): ``{"order_id", "ordered_at" (ISO text), "customer": {"customer_id", "name",
        "country"}, "items": [{"line", "product_id", "name", "category", "quantity",
        "unit_price"}, ...]}``. Customer and product names are copied into every order that uses
        them (denormalized): fast to read together, but a rename must touch every copy.

    Book: Chapter 3, "Document Model".

    Example
    -------
    >>> docs = orders_as_documents(make_orders(100, random_state=0))
    >>> docs[0]["customer"], len(docs[0]["items"]), sorted(docs[0]["items"][0])
    ({'customer_id': 9, 'name': 'customer 9', 'country': 'NG'}, 1,
     ['category', 'line', 'name', 'product_id', 'quantity', 'unit_price'])
    """
    t = _check_orders(tables)
    customers = {c[0]: {"customer_id": c[0], "name": c[1], "country": c[2]}
                 for c in zip(*(t["customers"][k].tolist() for k in _ORDER_COLUMNS["customers"]))}
    products = {p[0]: p for p in zip(*(t["products"][k].tolist() for k in _ORDER_COLUMNS["products"]))}
    items: dict[int, list[dict]] = {}
    columns = (t["order_items"][k].tolist() for k in _ORDER_COLUMNS["order_items"])
    for order_id, line, product_id, quantity, unit_price in sorted(zip(*columns)):
        _, name, category, _ = products[product_id]
        items.setdefault(order_id, []).append({"line": line, "product_id": product_id, "name": name,
                                               "category": category, "quantity": quantity, "unit_price": unit_price})
    orders = t["orders"].sort_values("order_id")
    return [
        {"order_id": order_id, "ordered_at": at, "customer": customers[customer_id], "items": items.get(order_id, [])}
        for order_id, customer_id, at in zip(orders["order_id"].tolist(), orders["customer_id"].tolist(),
                                             _iso(orders["ordered_at"]))
    ]


def load_orders(tables: Mapping[str, pd.DataFrame], path: PathLike) -> str:
    """Store the orders in a new SQLite file, both as normalized tables and as JSON documents.

    Relational: ``customers``, ``products``, ``orders`` and ``order_items`` with primary keys and
    foreign keys (enforced while loading, ``PRAGMA foreign_keys = ON``). Document:
    ``order_documents(order_id INTEGER PRIMARY KEY, document TEXT)`` holding
    :func:`orders_as_documents` as JSON text: a key-value document store in one table. SQLite has no
    date type: ``ordered_at`` is ISO text.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        As returned by :func:`make_orders`.
    path : str or os.PathLike
        A file that does not exist yet, in an existing directory.

    Returns
    -------
    str
        ``path``, for :func:`fetch_order` and :func:`revenue_by_product`.

    Book: Chapter 3, "Relational Model" and "Document Model".

    Example
    -------
    >>> import tempfile, sqlite3
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = load_orders(make_orders(100, random_state=0), os.path.join(tmp, "shop.sqlite"))
    ...     with contextlib.closing(sqlite3.connect(db)) as con:
    ...         con.execute("SELECT COUNT(*) FROM order_documents").fetchone()
    (100,)
    """
    t = _check_orders(tables)
    documents = orders_as_documents(t)
    path = _check_new_file("path", path)
    t["orders"] = t["orders"].assign(ordered_at=_iso(t["orders"]["ordered_at"]))
    try:
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute("PRAGMA foreign_keys = ON")
            con.executescript(_ORDERS_DDL)
            for name, columns in _ORDER_COLUMNS.items():
                rows = zip(*(t[name][k].tolist() for k in columns))
                con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})", rows)
            con.executemany("INSERT INTO order_documents VALUES (?, ?)",
                            ((d["order_id"], json.dumps(d, default=json_default)) for d in documents))
            con.commit()
    except (sqlite3.Error, TypeError) as error:  # nothing half-written stays behind
        os.remove(path)
        raise ValueError(f"tables must be consistent orders (unique keys, known customers and products): {error}") from None
    return path


@contextlib.contextmanager
def _sqlite(db: Any) -> Iterator[Any]:
    """An open sqlite3 connection: ``db`` itself, or a connection to the file ``db``, closed after.

    A database error inside the block becomes a ValueError saying ``db`` is not what :func:`load_orders` wrote.
    """
    if isinstance(db, sqlite3.Connection):
        con, close = db, False
    else:
        con, close = _open(_check_file("db", db), "sqlite", name="db"), True
    try:
        yield con
    except sqlite3.Error as error:
        raise ValueError(
            f"db must be a database written by load_orders (or a connection to one); the query failed: {error}"
        ) from None
    finally:
        if close:
            con.close()


_MODELS = ("relational", "document")


def fetch_order(db: PathLike | Any, order_id: int, *, model: str) -> dict:
    """One whole order, with its customer and items, from either data model.

    Parameters
    ----------
    db : str, os.PathLike or sqlite3.Connection
        The file written by :func:`load_orders`, or an open connection to it.
    order_id : int
        The order to fetch.
    model : {"relational", "document"}
        "relational": ``ORDER_SQL``, a join of orders, customers, order_items and products, then the
        rows assembled into one nested dict. "document": one read by primary key in
        ``order_documents`` and ``json.loads``.

    Returns
    -------
    dict
        The order as in :func:`orders_as_documents`; both models return equal dicts.

    Book: Chapter 3, "Document Model" (locality: everything about an order in one place).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = load_orders(make_orders(100, random_state=0), os.path.join(tmp, "shop.sqlite"))
    ...     doc = fetch_order(db, 7, model="document")
    ...     doc == fetch_order(db, 7, model="relational"), doc["customer"]["country"]
    (True, 'US')
    """
    order_id = check_int("order_id", order_id)
    check_choice("model", model, _MODELS)
    with _sqlite(db) as con:
        if model == "document":
            row = con.execute("SELECT document FROM order_documents WHERE order_id = ?", (order_id,)).fetchone()
            if row is None:
                raise ValueError(f"order_id must be an order in db; got {order_id}, which is not there")
            return json.loads(row[0])
        rows = con.execute(ORDER_SQL, (order_id,)).fetchall()
    if not rows:
        raise ValueError(f"order_id must be an order in db; got {order_id}, which is not there")
    oid, at, customer_id, name, country = rows[0][:5]
    keys = ("line", "product_id", "name", "category", "quantity", "unit_price")
    return {"order_id": oid, "ordered_at": at,
            "customer": {"customer_id": customer_id, "name": name, "country": country},
            "items": [dict(zip(keys, r[5:])) for r in rows]}


def revenue_by_product(db: PathLike | Any, *, model: str) -> pd.DataFrame:
    """Quantity sold and revenue per product over all orders, from either data model.

    Parameters
    ----------
    db : str, os.PathLike or sqlite3.Connection
        The file written by :func:`load_orders`, or an open connection to it.
    model : {"relational", "document"}
        "relational": ``REVENUE_SQL``, a join and a GROUP BY run by the database. "document": read
        every document, parse it, and add up its nested items in Python (a document store has no
        join; every query across orders scans and unnests all of them).

    Returns
    -------
    pandas.DataFrame
        Columns ``product_id``, ``name``, ``quantity``, ``revenue`` (sum of quantity x unit price),
        one row per product sold, sorted by ``product_id``. Both models agree (revenue up to float
        rounding from the order of additions).

    Book: Chapter 3, "Relational Model" (joins and aggregates across entities).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = load_orders(make_orders(100, random_state=0), os.path.join(tmp, "shop.sqlite"))
    ...     rel = revenue_by_product(db, model="relational")
    ...     doc = revenue_by_product(db, model="document")
    >>> rel.head(3).round(2)
       product_id              name  quantity  revenue
    0           0  digital_goods #0         5   187.25
    1           1         travel #1         2   132.10
    2           2        grocery #2        15   109.50
    >>> same = rel[["product_id", "quantity"]].equals(doc[["product_id", "quantity"]])
    >>> same, bool(np.allclose(rel["revenue"], doc["revenue"]))
    (True, True)
    """
    check_choice("model", model, _MODELS)
    columns = ["product_id", "name", "quantity", "revenue"]
    with _sqlite(db) as con:
        if model == "relational":
            return pd.DataFrame(con.execute(REVENUE_SQL).fetchall(), columns=columns)
        documents = con.execute("SELECT document FROM order_documents").fetchall()
    totals: dict[int, list] = {}
    for (text,) in documents:
        for item in json.loads(text)["items"]:
            total = totals.setdefault(item["product_id"], [item["name"], 0, 0.0])
            total[1] += item["quantity"]
            total[2] += item["quantity"] * item["unit_price"]
    return pd.DataFrame([(p, *totals[p]) for p in sorted(totals)], columns=columns)


# =====================================================================================================
# 2. Storage engines: a row store (SQLite) and a column store (DuckDB)
# =====================================================================================================
def _for_engine(df: pd.DataFrame, engine: str) -> pd.DataFrame:
    """Categoricals become text in both engines; SQLite has no date type, so dates become ISO text."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
        elif engine == "sqlite" and pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].astype(str).where(out[c].notna(), None)
    return out


def _rows(df: pd.DataFrame, engine: str) -> list[tuple]:
    """Rows as tuples of plain Python values (None for missing), ready for ``execute``."""
    frame = _for_engine(df, engine)
    columns = [s.tolist() if s.dtype.kind in "iub" and not s.hasnans
               else s.astype(object).where(s.notna(), None).tolist() for _, s in frame.items()]
    return list(zip(*columns))


def _check_key(df: pd.DataFrame, key: Any) -> None:
    if not isinstance(key, str) or key not in df.columns:
        raise ValueError(f"key must be a column of df; got {show(key)}; df has {show(list(df.columns))}")
    if not pd.api.types.is_integer_dtype(df[key]) or pd.api.types.is_bool_dtype(df[key]) or df[key].duplicated().any():
        raise ValueError(f"key must name an integer column with unique values; got {key!r} of dtype {df[key].dtype}")


def load_table(
    df: pd.DataFrame,
    path: PathLike,
    *,
    engine: str,
    table: str = "transactions",
    key: str | None = "transaction_id",
) -> str:
    """Bulk-load ``df`` into a table of a SQLite or DuckDB file, with ``key`` as primary key.

    The table is replaced if it exists, in one transaction (a failed load leaves the old table); the file
    is created if needed. SQLite (a row store): the table is created by ``pandas.io.sql.get_schema`` (an
    ``INTEGER`` primary key, i.e. the rowid: the rows are stored in key order in a B-tree) and filled by
    ``executemany``; dates are stored as ISO text. DuckDB (a column store): ``CREATE TABLE ... AS
    SELECT * FROM`` the frame, read directly from pandas, then ``ALTER TABLE ... ADD PRIMARY KEY``.
    Categorical columns become text in both.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows (at least one), with unique string column names; its index is not stored.
    path : str or os.PathLike
        The database file, in an existing directory.
    engine : {"sqlite", "duckdb"}
    table : str, default "transactions"
        Table name.
    key : str or None, default "transaction_id"
        An integer column with unique values, made the primary key; None for no key.

    Returns
    -------
    str
        ``path``.

    Book: Chapter 3, "Transactional and Analytical Processing".

    Example
    -------
    >>> import tempfile
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(1_000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for engine in ENGINES:
    ...         db = load_table(df, os.path.join(tmp, f"tx.{engine}"), engine=engine)
    ...         print(engine, point_lookup(db, [3], engine=engine)["amount"].tolist())
    sqlite [34.21]
    duckdb [34.21]
    """
    df = check_frame("df", df)
    _check_names("df", df)
    check_choice("engine", engine, ENGINES)
    if not isinstance(table, str) or not table:
        raise TypeError(f"table must be a non-empty str; got {show(table)}")
    if key is not None:
        _check_key(df, key)
    path = _check_db_path("path", path)
    frame = df.reset_index(drop=True)
    with connect(path, engine=engine) as con:
        try:
            with _transaction(con):
                con.execute(f"DROP TABLE IF EXISTS {_q(table)}")
                if engine == "sqlite":
                    con.execute(pd.io.sql.get_schema(frame, table, keys=key, con=con))
                    marks = ", ".join("?" * frame.shape[1])
                    con.executemany(f"INSERT INTO {_q(table)} VALUES ({marks})", _rows(frame, engine))
                else:
                    con.register("frame_to_load", _for_engine(frame, engine))
                    con.execute(f"CREATE TABLE {_q(table)} AS SELECT * FROM frame_to_load")
                    con.unregister("frame_to_load")
                    if key is not None:
                        con.execute(f"ALTER TABLE {_q(table)} ADD PRIMARY KEY ({_q(key)})")
        except (sqlite3.Error, duckdb.Error) as error:
            raise _database_error(f"df must load into table {table!r} of {path!r}", error) from None
    return path


def _check_keys(keys: Any) -> list[int]:
    if isinstance(keys, (str, bytes, Mapping, pd.DataFrame)) or not isinstance(keys, Iterable) or np.ndim(keys) != 1:
        raise TypeError(f"keys must be a sequence of integer keys (list, range, 1-d array); got {show(keys)}")
    return [check_int(f"keys[{i}]", k, minimum=-(2**63), maximum=2**63 - 1) for i, k in enumerate(keys)]


def point_lookup(
    path: PathLike, keys: Iterable[int], *, engine: str, table: str = "transactions", key: str = "transaction_id"
) -> pd.DataFrame:
    """Fetch rows by primary key, one query per key: the OLTP read pattern.

    Parameters
    ----------
    path : str or os.PathLike
        A database file written by :func:`load_table`.
    keys : iterable of int
        Keys to look up (a list, a range, a numpy array ...), one ``SELECT * ... WHERE key = ?`` each.
    engine : {"sqlite", "duckdb"}
    table : str, default "transactions"
        A table of the database.
    key : str, default "transaction_id"
        A column of ``table``: its (integer) key.

    Returns
    -------
    pandas.DataFrame
        The rows found, in the order of ``keys`` (keys not found give no row), with the types the
        engine returns (SQLite: dates as text, booleans as 0/1).

    Raises
    ------
    ValueError
        If ``path`` is not a database of ``engine``, or ``table`` or ``key`` is not in it (the message
        lists what is).

    Book: Chapter 3, "Transactional and Analytical Processing".

    Example
    -------
    See :func:`load_table`.
    """
    check_choice("engine", engine, ENGINES)
    keys = _check_keys(keys)
    with _existing(path, engine) as con:
        schema = _schema(con, engine, table)
        key = _check_column("key", key, schema, table)
        sql = f"SELECT * FROM {_q(table)} WHERE {_q(key)} = ?"
        rows = [row for k in keys for row in con.execute(sql, [k]).fetchall()]
        description = con.execute(f"SELECT * FROM {_q(table)} LIMIT 0").description
    return pd.DataFrame(rows, columns=[d[0] for d in description])


def insert_rows(path: PathLike, rows: pd.DataFrame, *, engine: str, table: str = "transactions") -> int:
    """Insert rows by column name, all in one transaction: every row is stored, or none is.

    Each column of ``rows`` goes to the table's column of the same name, whatever the order of the
    frame's columns; table columns the frame lacks get NULL (or their default). If any row breaks a
    constraint (a key already in the table, a NOT NULL column left empty) or does not fit a column's
    type, the transaction is rolled back and nothing of the batch is stored.

    Parameters
    ----------
    path : str or os.PathLike
        A database file written by :func:`load_table`.
    rows : pandas.DataFrame
        Rows whose columns are columns of ``table`` (e.g. rows of the loaded frame with new keys); may
        be empty.
    engine : {"sqlite", "duckdb"}
    table : str, default "transactions"
        A table of the database.

    Returns
    -------
    int
        The number of rows in the table afterwards.

    Raises
    ------
    ValueError
        If a column of ``rows`` is not a column of ``table``, or the database refuses a row (the
        message says why; nothing was stored).

    Book: Chapter 3, "Transactional and Analytical Processing" (transactions: all or nothing).

    Example
    -------
    >>> import tempfile
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(1_000, random_state=0)
    >>> new = df.head(5).assign(transaction_id=np.arange(1_000, 1_005))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = load_table(df, os.path.join(tmp, "tx.duckdb"), engine="duckdb")
    ...     insert_rows(db, new[new.columns[::-1]], engine="duckdb")  # by name: any column order
    ...     clash = pd.concat([new.assign(transaction_id=np.arange(2_000, 2_005)), new])  # 5 new keys, 5 taken
    ...     try:
    ...         insert_rows(db, clash, engine="duckdb")
    ...     except ValueError as error:
    ...         print(error)  # doctest: +ELLIPSIS
    ...     insert_rows(db, clash.head(0), engine="duckdb")  # nothing of the failed batch was stored
    1005
    rows must be new rows that fit table 'transactions'; nothing of the 10 rows was stored; ...
    1005
    """
    check_choice("engine", engine, ENGINES)
    rows = check_frame("rows", rows, min_rows=0)
    with _existing(path, engine) as con:
        schema = _schema(con, engine, table)
        unknown = [c for c in rows.columns if not isinstance(c, str) or c not in schema]
        if unknown:
            raise ValueError(
                f"rows must have only columns of table {table!r}; got unknown {show(unknown)}; it has {list(schema)}"
            )
        if len(rows) and len(rows.columns):
            names = ", ".join(_q(c) for c in rows.columns)
            sql = f"INSERT INTO {_q(table)} ({names}) VALUES ({', '.join('?' * rows.shape[1])})"
            try:
                with _transaction(con):
                    con.executemany(sql, _rows(rows, engine))
            except (sqlite3.Error, duckdb.Error) as error:
                raise _database_error(
                    f"rows must be new rows that fit table {table!r}; nothing of the {len(rows)} rows was stored", error
                ) from None
        return con.execute(f"SELECT COUNT(*) FROM {_q(table)}").fetchone()[0]


def aggregate(
    path: PathLike, *, engine: str, by: str = "merchant_category", value: str = "amount", table: str = "transactions"
) -> pd.DataFrame:
    """Scan the whole table and aggregate: count, sum and mean of ``value`` per ``by``. The OLAP pattern.

    Parameters
    ----------
    path : str or os.PathLike
        A database file written by :func:`load_table`.
    engine : {"sqlite", "duckdb"}
    by : str, default "merchant_category"
        Grouping column of ``table``; missing values form one group, sorted last.
    value : str, default "amount"
        Numeric column of ``table`` (integer, real or boolean); ``total`` and ``mean`` skip its
        missing values, ``n`` counts rows.
    table : str, default "transactions"
        A table of the database.

    Returns
    -------
    pandas.DataFrame
        Columns ``by``, ``n``, ``total``, ``mean``, sorted by ``by``.

    Raises
    ------
    ValueError
        If ``table``, ``by`` or ``value`` is not in the database (the message lists what is).
    TypeError
        If ``value`` is not a numeric column.

    Book: Chapter 3, "Transactional and Analytical Processing".

    Example
    -------
    >>> import tempfile
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(1_000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = load_table(df, os.path.join(tmp, "tx.duckdb"), engine="duckdb")
    ...     aggregate(db, engine="duckdb", by="device").round(2)
        device    n     total   mean
    0  desktop  299  12031.70  40.24
    1   mobile  561  20684.43  36.87
    2   tablet   84   3233.81  38.50
    3      NaN   56   2333.99  41.68
    """
    check_choice("engine", engine, ENGINES)
    with _existing(path, engine) as con:
        schema = _schema(con, engine, table)
        by = _check_column("by", by, schema, table)
        value = _check_column("value", value, schema, table)
        _check_numeric("value", value, schema, table)
        cursor = con.execute(
            f"SELECT {_q(by)}, COUNT(*) AS n, SUM({_q(value)}) AS total, AVG({_q(value)}) AS mean "
            f"FROM {_q(table)} GROUP BY {_q(by)} ORDER BY {_q(by)} NULLS LAST"
        )
        return pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])


# =====================================================================================================
# 3. ETL or ELT
# =====================================================================================================
#: The clean table: column -> (raw field, or fields coalesced in order; type). Raw events have
#: fields ``id``, ``ts``, ``user``, ``amount``, ``fraud`` (see :func:`make_raw_events`).
FIELDS: dict[str, tuple[str | tuple[str, ...], str]] = {
    "transaction_id": ("id", "BIGINT"),
    "timestamp": ("ts", "TIMESTAMP"),
    "user_id": ("user", "BIGINT"),
    "amount": ("amount", "DOUBLE"),
    "is_fraud": ("fraud", "BIGINT"),
}
_TYPES = ("BIGINT", "DOUBLE", "TIMESTAMP", "VARCHAR")
_VALID_SQL = "transaction_id IS NOT NULL AND timestamp IS NOT NULL AND amount > 0"

#: Upstream schema changes for :func:`change_schema`, and the fixed ``fields`` for each.
SCHEMA_CHANGES: dict[str, dict[str, tuple[str | tuple[str, ...], str]]] = {
    "rename": {**FIELDS, "amount": (("amount", "amount_usd"), "DOUBLE")},  # upstream: amount -> amount_usd
    "add": {**FIELDS, "currency": ("currency", "VARCHAR")},  # upstream: a new field, currency
}


def make_raw_events(df: pd.DataFrame, *, bad_share: float = 0.02, random_state: RandomState = None) -> list[dict]:
    """Transactions as the raw JSON events an upstream service would emit, some of them broken.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with columns ``transaction_id``, ``timestamp``, ``user_id``, ``amount``,
        ``is_fraud`` (as from ``make_transactions``).
    bad_share : float, default 0.02
        Share of events, drawn at random, that are broken in one of four ways (equally likely):
        amount null, amount negative, timestamp unparsable ("not a time"), or ``id`` missing. In [0, 1).
    random_state : int, numpy.random.Generator or None, default None
        Seed (an int gives the same events every time).

    Returns
    -------
    list of dict
        One event per row: ``{"id", "ts" (ISO text), "user", "amount", "fraud"}``, plain Python values
        (a missing value is None: JSON's null).

    Book: Chapter 3, "ETL: Extract, Transform, and Load" (extract: validate and reject malformed data).

    Example
    -------
    >>> from mlsys_course.datasets import make_transactions
    >>> make_raw_events(make_transactions(10, random_state=0), random_state=0)[0]
    {'id': 0, 'ts': '2024-01-16T12:45:37', 'user': 26, 'amount': 30.21, 'fraud': 0}
    """
    df = check_frame("df", df, min_rows=0)
    needed = ["transaction_id", "timestamp", "user_id", "amount", "is_fraud"]
    if not set(needed) <= set(df.columns):
        raise ValueError(f"df must have columns {needed}; got {show(list(df.columns))}")
    bad_share = check_probability("bad_share", bad_share, open_interval=False)
    if bad_share == 1:
        raise ValueError(f"bad_share must be in [0, 1); got {bad_share}")
    rng = check_random_state("random_state", random_state)
    columns = [df["transaction_id"], df["timestamp"], df["user_id"], df["amount"], df["is_fraud"].astype("Int64")]
    values = [_iso(c) if i == 1 else c.astype(object).where(c.notna(), None).tolist() for i, c in enumerate(columns)]
    values[1] = [t if isinstance(t, str) else None for t in values[1]]  # a missing time is null, as JSON has it
    events = [dict(zip(("id", "ts", "user", "amount", "fraud"), v)) for v in zip(*values)]
    broken = np.flatnonzero(rng.random(len(events)) < bad_share)
    for i, how in zip(broken.tolist(), rng.integers(4, size=len(broken)).tolist()):
        e = events[i]
        if how == 0:
            e["amount"] = None
        elif how == 1:
            e["amount"] = -e["amount"]
        elif how == 2:
            e["ts"] = "not a time"
        else:
            del e["id"]
    return events


def change_schema(records: Sequence[Mapping], change: str) -> list[dict]:
    """The same events after an upstream schema change (new dicts; the input is not modified).

    Parameters
    ----------
    records : sequence of dict
        Raw events, as from :func:`make_raw_events`.
    change : {"rename", "add"}
        "rename": the field ``amount`` is renamed ``amount_usd``. "add": a new field
        ``currency`` ("USD") is added to every event.

    Returns
    -------
    list of dict

    Book: Chapter 3, "ETL: Extract, Transform, and Load" (schemas change upstream).

    Example
    -------
    >>> change_schema([{"id": 1, "amount": 9.5}], "rename"), change_schema([{"id": 1}], "add")
    ([{'id': 1, 'amount_usd': 9.5}], [{'id': 1, 'currency': 'USD'}])
    """
    check_choice("change", change, tuple(SCHEMA_CHANGES))
    records = _check_records(records)
    if change == "rename":
        return [{("amount_usd" if k == "amount" else k): v for k, v in r.items()} for r in records]
    return [{**r, "currency": "USD"} for r in records]


def _check_records(records: Any) -> list[Mapping]:
    """A list of dicts; any other sequence of dicts (a tuple, a 1-d array of dicts) is accepted too."""
    if isinstance(records, (str, bytes, Mapping, pd.DataFrame)) or not isinstance(records, Iterable) or np.ndim(records) > 1:
        raise TypeError(f"records must be a list of dicts (raw JSON events); got {type(records).__name__}")
    records = list(records)
    for r in records:
        if not isinstance(r, Mapping):
            raise TypeError(f"records must be a list of dicts (raw JSON events); got an element {show(r)}")
    return records


def _as_json(records: list[Mapping]) -> list[str]:
    """Each record as JSON text (numpy numbers as numbers); a record that is not JSON is refused, naming it."""
    out = []
    for i, r in enumerate(records):
        try:
            out.append(json.dumps(r, allow_nan=False, default=json_default))
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"records must be JSON events (str keys; strings, finite numbers, booleans, null, lists, dicts); "
                f"records[{i}] is not: {error}"
            ) from None
    return out


def _check_fields(fields: Any) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{column: (source or sources, type)}`` with sources as a tuple."""
    if not isinstance(fields, Mapping) or not fields:
        raise TypeError(
            f"fields must be a dict {{column: (raw field or fields, type)}} like FIELDS; got {show(fields)}"
        )
    out = {}
    for column, spec in fields.items():
        if not isinstance(column, str) or not isinstance(spec, tuple) or len(spec) != 2:
            raise TypeError(
                f"fields must map a column name to (raw field or fields, type); got {column!r}: {show(spec)}"
            )
        source, kind = spec
        sources = (source,) if isinstance(source, str) else tuple(source)
        if not sources or not all(isinstance(s, str) and s for s in sources):
            raise TypeError(f"fields[{column!r}] must name one raw field or a tuple of them; got {show(source)}")
        check_choice(f"the type of fields[{column!r}]", kind, _TYPES)
        out[column] = (sources, kind)
    missing = {"transaction_id", "timestamp", "amount"} - set(out)
    if missing:
        raise ValueError(
            f"fields must define the columns transaction_id, timestamp and amount; missing {sorted(missing)}"
        )
    return out


def transform_sql(fields: Mapping = FIELDS, *, source: str = "raw_events") -> str:
    """The ELT transform: DuckDB SQL that extracts, casts and validates the clean rows from raw JSON.

    Each column is ``TRY_CAST(COALESCE(record->>'field', ...) AS type)``: a missing field or a value
    that does not parse becomes NULL. Rows without ``transaction_id`` or ``timestamp``, or with
    ``amount`` NULL or not positive, are rejected (filtered out).

    Parameters
    ----------
    fields : dict, default FIELDS
        ``{column: (raw field or tuple of raw fields coalesced in order, type)}``, type one of
        "BIGINT", "DOUBLE", "TIMESTAMP", "VARCHAR"; must define transaction_id, timestamp, amount.
    source : str, default "raw_events"
        The raw table, with one JSON column ``record``.

    Returns
    -------
    str
        A SELECT statement.

    Book: Chapter 3, "ETL: Extract, Transform, and Load" (ELT: transform in the warehouse).

    Example
    -------
    >>> print(transform_sql({"transaction_id": ("id", "BIGINT"), "timestamp": ("ts", "TIMESTAMP"),
    ...                      "amount": (("amount", "amount_usd"), "DOUBLE")}))
    SELECT * FROM (
      SELECT TRY_CAST(COALESCE(record->>'id') AS BIGINT) AS "transaction_id",
             TRY_CAST(COALESCE(record->>'ts') AS TIMESTAMP) AS "timestamp",
             TRY_CAST(COALESCE(record->>'amount', record->>'amount_usd') AS DOUBLE) AS "amount"
      FROM "raw_events"
    ) WHERE transaction_id IS NOT NULL AND timestamp IS NOT NULL AND amount > 0
    """
    spec = _check_fields(fields)
    source = _check_name("source", source)
    exprs = [
        f"TRY_CAST(COALESCE({', '.join(_json_text(s) for s in sources)}) AS {kind}) AS {_q(column)}"
        for column, (sources, kind) in spec.items()
    ]
    return ("SELECT * FROM (\n  SELECT " + ",\n         ".join(exprs) + f"\n  FROM {_q(source)}\n) WHERE {_VALID_SQL}")


def _check_name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty str; got {show(value)}")
    return value


def _json_text(field: str) -> str:
    return "record->>'" + field.replace("'", "''") + "'"


_REPORT = ["pipeline", "records_in", "raw_rows", "clean_rows", "complete_rows", "rejected", "unused_fields", "error"]


def _clean_counts(con: Any) -> tuple[int, int]:
    """Rows of transactions_clean, and rows with no NULL in any column."""
    columns = [r[0] for r in con.execute("DESCRIBE transactions_clean").fetchall()]
    complete = " AND ".join(f"{_q(c)} IS NOT NULL" for c in columns)
    return con.execute(f"SELECT COUNT(*), COUNT(*) FILTER (WHERE {complete}) FROM transactions_clean").fetchone()


def _coalesce(raw: pd.DataFrame, sources: tuple[str, ...]) -> pd.Series:
    """The first non-missing value among the ``sources`` columns present in ``raw``."""
    present = [raw[s] for s in sources if s in raw.columns]
    out = present[0]
    for other in present[1:]:
        out = out.combine_first(other)
    return out


def _cast(values: pd.Series, kind: str) -> pd.Series:
    if kind == "TIMESTAMP":
        return pd.to_datetime(values, errors="coerce", format="ISO8601")
    if kind == "VARCHAR":
        return values.astype("string")
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.round().astype("Int64") if kind == "BIGINT" else numbers.astype("float64")


def etl(records: Sequence[Mapping], path: PathLike, *, fields: Mapping = FIELDS) -> pd.DataFrame:
    """Extract, transform in Python, load only the clean rows (appended to ``transactions_clean``).

    Transform: check the schema first (every column needs one of its raw fields in the batch:
    otherwise the whole batch is refused, loudly, and nothing is loaded), rename the fields to the
    column names, cast them (pandas ``to_numeric`` / ``to_datetime`` with ``errors="coerce"``), and
    reject the rows DuckDB's ELT rejects (:func:`transform_sql`). Raw fields not in ``fields`` are
    dropped. The raw records are not kept anywhere: a batch refused or a field dropped is lost
    unless upstream sends it again.

    Parameters
    ----------
    records : sequence of dict
        A batch of raw events (may be empty).
    path : str or os.PathLike
        The DuckDB file of the warehouse (created if needed, in an existing directory).
    fields : dict, default FIELDS
        The transform, as in :func:`transform_sql`; new columns are added to the table.

    Returns
    -------
    pandas.DataFrame
        One row with columns ``pipeline`` ("ETL"), ``records_in`` (this batch), ``raw_rows`` (raw
        records stored: always 0), ``clean_rows`` (rows in the clean table after the run),
        ``complete_rows`` (clean rows without NULL), ``rejected`` (rows of this batch rejected),
        ``unused_fields`` (raw fields of this batch not in ``fields``: dropped) and ``error`` ("" or
        why the batch was refused).

    Book: Chapter 3, "ETL: Extract, Transform, and Load".

    Example
    -------
    >>> import tempfile
    >>> events = [{"id": 1, "ts": "2024-01-01T00:00:00", "user": 5, "amount": 9.5, "fraud": 0},
    ...           {"id": 2, "ts": "2024-01-01T00:01:00", "user": 6, "amount": -1.0, "fraud": 0}]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = os.path.join(tmp, "etl.duckdb")
    ...     first = etl(events, db)
    ...     renamed = etl(change_schema(events, "rename"), db)
    >>> pd.concat([first, renamed])[["records_in", "clean_rows", "rejected"]]
       records_in  clean_rows  rejected
    0           2           1         1
    0           2           1         0
    >>> print(renamed["error"].iloc[0])
    schema changed: no field amount for column amount (fields in the batch: amount_usd, fraud, id, ts, user)
    """
    records = _check_records(records)
    _as_json(records)  # the same events ELT would accept
    spec = _check_fields(fields)
    path = _check_db_path("path", path)
    present = set().union(*(r.keys() for r in records)) if records else set()
    unused = ", ".join(sorted(present - {s for sources, _ in spec.values() for s in sources}))
    error, rejected, batch = "", 0, None
    if records:
        missing = [(c, sources) for c, (sources, _) in spec.items() if not present & set(sources)]
        if missing:
            error = "schema changed: " + "; ".join(f"no field {' or '.join(s)} for column {c}" for c, s in missing)
            error += f" (fields in the batch: {', '.join(sorted(present))})"
        else:
            raw = pd.DataFrame.from_records(records)
            batch = pd.DataFrame({c: _cast(_coalesce(raw, sources), kind) for c, (sources, kind) in spec.items()})
            valid = batch["transaction_id"].notna() & batch["timestamp"].notna() & (batch["amount"] > 0)
            rejected, batch = int((~valid).sum()), batch[valid]
    with connect(path, engine="duckdb") as con:
        try:
            with _transaction(con):
                columns = ", ".join(f"{_q(c)} {kind}" for c, (_, kind) in spec.items())
                con.execute(f"CREATE TABLE IF NOT EXISTS transactions_clean ({columns})")
                existing = {r[0] for r in con.execute("DESCRIBE transactions_clean").fetchall()}
                for c, (_, kind) in spec.items():
                    if c not in existing:
                        con.execute(f"ALTER TABLE transactions_clean ADD COLUMN {_q(c)} {kind}")
                if batch is not None:
                    con.register("batch", batch)
                    con.execute("INSERT INTO transactions_clean BY NAME SELECT * FROM batch")
                    con.unregister("batch")
            clean, complete = _clean_counts(con)
        except duckdb.Error as db_error:
            what = f"path must be a warehouse whose transactions_clean fits fields ({path!r})"
            raise _database_error(what, db_error) from None
    return pd.DataFrame([("ETL", len(records), 0, clean, complete, rejected, unused, error)], columns=_REPORT)


def elt(records: Sequence[Mapping], path: PathLike, *, fields: Mapping = FIELDS) -> pd.DataFrame:
    """Extract, load the raw JSON as it is, then transform with SQL over the whole raw history.

    The batch is appended to ``raw_events(record JSON)`` untouched, whatever its schema. Then
    ``transactions_clean`` is rebuilt from all raw records with :func:`transform_sql` ``(fields)``.
    A field the SQL does not know is kept in the raw table; a field it expects but cannot find gives
    NULL and the row is rejected, silently (watch ``rejected``): fixing ``fields`` and re-running
    (``elt([], path, fields=fixed)`` transforms the history without loading anything) recovers every
    row ever received.

    Parameters
    ----------
    records : sequence of dict
        A batch of raw events (may be empty).
    path : str or os.PathLike
        The DuckDB file of the warehouse (created if needed, in an existing directory).
    fields : dict, default FIELDS
        The transform, as in :func:`transform_sql`.

    Returns
    -------
    pandas.DataFrame
        One row with the columns of :func:`etl`: ``pipeline`` ("ELT"), ``records_in``, ``raw_rows``
        (raw records stored in total), ``clean_rows``, ``complete_rows``, ``rejected`` (raw rows, over
        the whole history, not in the clean table), ``unused_fields`` (raw fields in the history
        that the transform does not use: kept) and ``error`` ("").

    Book: Chapter 3, "ETL: Extract, Transform, and Load" (ELT).

    Example
    -------
    >>> import tempfile
    >>> events = [{"id": 1, "ts": "2024-01-01T00:00:00", "user": 5, "amount": 9.5, "fraud": 0},
    ...           {"id": 2, "ts": "2024-01-01T00:01:00", "user": 6, "amount": -1.0, "fraud": 0}]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = os.path.join(tmp, "elt.duckdb")
    ...     reports = [elt(events, db), elt(change_schema(events, "rename"), db),
    ...                elt([], db, fields=SCHEMA_CHANGES["rename"])]
    >>> pd.concat(reports)[["records_in", "raw_rows", "clean_rows", "rejected", "unused_fields"]]
       records_in  raw_rows  clean_rows  rejected unused_fields
    0           2         2           1         1
    0           2         4           1         3    amount_usd
    0           0         4           2         2
    """
    records = _check_records(records)
    texts = _as_json(records)
    sql = transform_sql(fields)
    spec = _check_fields(fields)
    path = _check_db_path("path", path)
    with connect(path, engine="duckdb") as con:
        try:
            with _transaction(con):
                con.execute("CREATE TABLE IF NOT EXISTS raw_events (record JSON)")
                if records:
                    con.register("batch", pd.DataFrame({"record": texts}))
                    con.execute("INSERT INTO raw_events SELECT record::JSON FROM batch")
                    con.unregister("batch")
                con.execute(f"CREATE OR REPLACE TABLE transactions_clean AS {sql}")
            raw_rows = con.execute("SELECT COUNT(*) FROM raw_events").fetchone()[0]
            clean, complete = _clean_counts(con)
            keys = {k for (k,) in con.execute("SELECT DISTINCT unnest(json_keys(record)) FROM raw_events").fetchall()}
        except duckdb.Error as db_error:
            what = f"path must be a warehouse with a raw_events(record JSON) table ({path!r})"
            raise _database_error(what, db_error) from None
    unused = ", ".join(sorted(keys - {s for sources, _ in spec.values() for s in sources}))
    report = ("ELT", len(records), raw_rows, clean, complete, raw_rows - clean, unused, "")
    return pd.DataFrame([report], columns=_REPORT)
