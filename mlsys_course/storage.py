"""Data models and storage engines: relational or document, row store or column store, ETL or ELT.

Three decisions of chapter 3, each on real components of this machine (stdlib ``sqlite3``, a row
store built for transactions, and DuckDB, an embedded column store built for analytics):

1. **Data models.** :func:`make_orders` builds a small shop (customers, products, orders, order
   items); :func:`load_orders` stores it in SQLite twice: as normalized tables with primary and
   foreign keys, and as one JSON document per order (customer embedded, items nested).
   :func:`fetch_order` (one document read versus a four-table join) and :func:`revenue_by_product`
   (a join and GROUP BY versus parsing and unnesting every document) answer each query from either
   model, with identical answers; :func:`model_benchmark` times them.
2. **Storage engines.** :func:`engine_benchmark` times point lookups, single-row inserts (one
   commit each) and a scan-and-aggregate on the same table in SQLite and in DuckDB;
   :func:`scan_scaling` times the aggregate against table size, to find where the column store
   starts to win. :func:`load_table`, :func:`point_lookup`, :func:`insert_rows` and
   :func:`aggregate` are the building blocks.
3. **ETL or ELT.** :func:`etl` transforms raw records in Python and loads only the clean rows;
   :func:`elt` loads the raw JSON records as they are, then transforms them with SQL
   (:func:`transform_sql`) over the whole raw history. :func:`schema_change` replays an upstream
   schema change (a renamed or an added field) through both.

Book: Chapter 3, "Data Models" (Relational Model, NoSQL: Document Model) and "Data Storage Engines
and Processing" (Transactional and Analytical Processing; ETL: Extract, Transform, and Load).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import RandomState, _show, check_choice, check_int, check_probability, check_random_state
from .datasets import CATEGORIES, COUNTRIES
from .formats import _best_time, _check_directory, _check_frame

__all__ = [
    "ORDER_SQL", "REVENUE_SQL", "make_orders", "orders_as_documents", "load_orders", "fetch_order",
    "revenue_by_product", "model_benchmark",
    "ENGINES", "load_table", "point_lookup", "insert_rows", "aggregate", "engine_benchmark", "scan_scaling",
    "FIELDS", "SCHEMA_CHANGES", "make_raw_events", "change_schema", "transform_sql", "etl", "elt", "schema_change",
]

PathLike = str | os.PathLike


def _check_new_file(name: str, value: Any) -> str:
    """A path to a file that does not exist yet, in an existing directory."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike); got {_show(value)}")
    path = os.fspath(value)
    if os.path.exists(path):
        raise ValueError(f"{name} must be a new file; got {path!r}, which already exists")
    _check_directory(f"the directory of {name}", os.path.dirname(os.path.abspath(path)))
    return path


def _check_file(name: str, value: Any) -> str:
    """A path to an existing file."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (str or os.PathLike); got {_show(value)}")
    path = os.fspath(value)
    if not os.path.isfile(path):
        raise ValueError(f"{name} must be an existing database file; got {path!r}, which does not exist")
    return path


def _check_db_path(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or os.PathLike); got {_show(path)}")
    path = os.fspath(path)
    _check_directory("the directory of path", os.path.dirname(os.path.abspath(path)))
    return path


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


# =====================================================================================================
# 1. Data models: the same orders, relational and as documents
# =====================================================================================================
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
    random_state: RandomState = 0,
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
        Number of orders (>= 1).
    n_customers : int or None
        Number of customers (>= 1); None for ``max(1, n_orders // 4)``.
    n_products : int, default 50
        Number of products (>= 1).
    random_state : int, numpy.random.Generator or None, default 0
        Seed.

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
    n_orders = check_int("n_orders", n_orders, minimum=1)
    n_customers = max(1, n_orders // 4) if n_customers is None else check_int("n_customers", n_customers, minimum=1)
    n_products = check_int("n_products", n_products, minimum=1)
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
            raise ValueError(f"tables[{name!r}] must be a DataFrame with columns {columns}; got {_show(table)}")
    return {name: tables[name][columns] for name, columns in _ORDER_COLUMNS.items()}


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
        ``path``, for :func:`fetch_order`, :func:`revenue_by_product` and :func:`model_benchmark`.

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
    import sqlite3

    t = _check_orders(tables)
    documents = orders_as_documents(t)
    path = _check_new_file("path", path)
    t["orders"] = t["orders"].assign(ordered_at=_iso(t["orders"]["ordered_at"]))
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("PRAGMA foreign_keys = ON")
        con.executescript(_ORDERS_DDL)
        for name, columns in _ORDER_COLUMNS.items():
            rows = zip(*(t[name][k].tolist() for k in columns))
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(columns))})", rows)
        con.executemany("INSERT INTO order_documents VALUES (?, ?)",
                        ((d["order_id"], json.dumps(d)) for d in documents))
        con.commit()
    return path


@contextlib.contextmanager
def _sqlite(db: Any) -> Iterator[Any]:
    """An open sqlite3 connection: ``db`` itself, or a connection to the file ``db``, closed after."""
    import sqlite3

    if isinstance(db, sqlite3.Connection):
        yield db
        return
    with contextlib.closing(sqlite3.connect(_check_file("db", db))) as con:
        yield con


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


def model_benchmark(
    db: PathLike, *, n_fetches: int = 200, repeat: int = 3, random_state: RandomState = 0
) -> pd.DataFrame:
    """Time both queries in both data models on the file written by :func:`load_orders`.

    Parameters
    ----------
    db : str or os.PathLike
        The SQLite file written by :func:`load_orders` (one connection is opened for all queries).
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

    Book: Chapter 3, "Data Models".

    Example
    -------
    >>> import tempfile
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
    import sqlite3

    path = _check_file("db", db)
    n_fetches = check_int("n_fetches", n_fetches, minimum=1)
    repeat = check_int("repeat", repeat, minimum=1)
    rng = check_random_state("random_state", random_state)
    rows = []
    with contextlib.closing(sqlite3.connect(path)) as con:
        order_ids = [r[0] for r in con.execute("SELECT order_id FROM orders ORDER BY order_id")]
        picked = rng.choice(order_ids, size=n_fetches).tolist()
        for model in _MODELS:
            seconds = _best_time(lambda: [fetch_order(con, i, model=model) for i in picked], repeat)[0]
            rows.append(("fetch one order", model, n_fetches, seconds))
        for model in _MODELS:
            seconds = _best_time(lambda: revenue_by_product(con, model=model), repeat)[0]
            rows.append(("revenue per product", model, 1, seconds))
    out = pd.DataFrame(rows, columns=["query", "model", "operations", "seconds"])
    out["per_op_ms"] = 1000 * out["seconds"] / out["operations"]
    return out


# =====================================================================================================
# 2. Storage engines: a row store (SQLite) and a column store (DuckDB)
# =====================================================================================================
#: Engines, with the file extension used by :func:`engine_benchmark` and :func:`scan_scaling`.
ENGINES = ("sqlite", "duckdb")


@contextlib.contextmanager
def _connect(path: str, engine: str) -> Iterator[Any]:
    """A connection to ``path`` in ``engine``, always closed afterwards."""
    if engine == "sqlite":
        import sqlite3

        con = sqlite3.connect(path)
    else:
        import duckdb

        con = duckdb.connect(path)
    try:
        yield con
    finally:
        con.close()


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


def _check_name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty string; got {_show(value)}")
    return value


def _check_key(df: pd.DataFrame, key: Any) -> None:
    if key not in df.columns:
        raise ValueError(f"key must be a column of df ({_show(list(df.columns))}); got {_show(key)}")
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

    The table is replaced if it exists; the file is created if needed. SQLite (a row store): the
    table is created by ``pandas.io.sql.get_schema`` (an ``INTEGER`` primary key, i.e. the rowid:
    the rows are stored in key order in a B-tree) and filled by ``executemany``; dates are stored as
    ISO text. DuckDB (a column store): ``CREATE TABLE ... AS SELECT * FROM`` the frame, read directly
    from pandas, then ``ALTER TABLE ... ADD PRIMARY KEY``. Categorical columns become text in both.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows; its index is not stored.
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
    df = _check_frame("df", df)
    check_choice("engine", engine, ENGINES)
    table = _check_name("table", table)
    if key is not None:
        _check_key(df, key)
    path = _check_db_path(path)
    frame = df.reset_index(drop=True)
    with _connect(path, engine) as con:
        con.execute(f"DROP TABLE IF EXISTS {_q(table)}")
        if engine == "sqlite":
            con.execute(pd.io.sql.get_schema(frame, table, keys=key, con=con))
            con.executemany(f"INSERT INTO {_q(table)} VALUES ({', '.join('?' * frame.shape[1])})", _rows(frame, engine))
            con.commit()
        else:
            con.register("frame_to_load", _for_engine(frame, engine))
            con.execute(f"CREATE TABLE {_q(table)} AS SELECT * FROM frame_to_load")
            con.unregister("frame_to_load")
            if key is not None:
                con.execute(f"ALTER TABLE {_q(table)} ADD PRIMARY KEY ({_q(key)})")
    return path


def _frame(cursor_description: Any, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[d[0] for d in cursor_description])


def point_lookup(
    path: PathLike, keys: Sequence[int], *, engine: str, table: str = "transactions", key: str = "transaction_id"
) -> pd.DataFrame:
    """Fetch rows by primary key, one query per key: the OLTP read pattern.

    Parameters
    ----------
    path : str or os.PathLike
        A database file written by :func:`load_table`.
    keys : sequence of int
        Keys to look up, one ``SELECT * ... WHERE key = ?`` each.
    engine : {"sqlite", "duckdb"}
    table, key : str
        Table and key column names.

    Returns
    -------
    pandas.DataFrame
        The rows found, in the order of ``keys`` (keys not found give no row), with the types the
        engine returns (SQLite: dates as text, booleans as 0/1).

    Book: Chapter 3, "Transactional and Analytical Processing".

    Example
    -------
    See :func:`load_table`.
    """
    path = _check_file("path", path)
    check_choice("engine", engine, ENGINES)
    keys = [check_int("keys", k) for k in keys]
    table, key = _check_name("table", table), _check_name("key", key)
    sql = f"SELECT * FROM {_q(table)} WHERE {_q(key)} = ?"
    with _connect(path, engine) as con:
        rows = [row for k in keys for row in con.execute(sql, (k,)).fetchall()]
        return _frame(con.execute(sql, (None,)).description, rows)  # (no row has a NULL key)


def insert_rows(path: PathLike, rows: pd.DataFrame, *, engine: str, table: str = "transactions") -> int:
    """Insert rows one at a time, each in its own transaction (commit after each): the OLTP write pattern.

    Parameters
    ----------
    path : str or os.PathLike
        A database file written by :func:`load_table`.
    rows : pandas.DataFrame
        Rows with the table's columns, in the table's order (e.g. rows of the loaded frame with new keys).
    engine : {"sqlite", "duckdb"}
    table : str, default "transactions"

    Returns
    -------
    int
        The number of rows in the table afterwards.

    Book: Chapter 3, "Transactional and Analytical Processing".

    Example
    -------
    >>> import tempfile
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(1_000, random_state=0)
    >>> new = df.head(5).assign(transaction_id=np.arange(1_000, 1_005))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = load_table(df, os.path.join(tmp, "tx.duckdb"), engine="duckdb")
    ...     insert_rows(db, new, engine="duckdb")
    1005
    """
    path = _check_file("path", path)
    check_choice("engine", engine, ENGINES)
    rows = _check_frame("rows", rows, min_rows=0)
    table = _check_name("table", table)
    with _connect(path, engine) as con:
        _insert_each(con, table, _rows(rows, engine), engine)
        return con.execute(f"SELECT COUNT(*) FROM {_q(table)}").fetchone()[0]


def _insert_each(con: Any, table: str, rows: list[tuple], engine: str) -> None:
    if not rows:
        return
    sql = f"INSERT INTO {_q(table)} VALUES ({', '.join('?' * len(rows[0]))})"
    for row in rows:
        con.execute(sql, row)
        if engine == "sqlite":
            con.commit()  # DuckDB auto-commits every statement outside an explicit transaction


def _aggregate_sql(table: str, by: str, value: str) -> str:
    return (f"SELECT {_q(by)}, COUNT(*) AS n, SUM({_q(value)}) AS total, AVG({_q(value)}) AS mean "
            f"FROM {_q(table)} GROUP BY {_q(by)} ORDER BY {_q(by)} NULLS LAST")


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
        Grouping column; missing values form one group, sorted last.
    value : str, default "amount"
        Numeric column; ``total`` and ``mean`` skip its missing values, ``n`` counts rows.
    table : str, default "transactions"

    Returns
    -------
    pandas.DataFrame
        Columns ``by``, ``n``, ``total``, ``mean``, sorted by ``by``.

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
    path = _check_file("path", path)
    check_choice("engine", engine, ENGINES)
    sql = _aggregate_sql(_check_name("table", table), _check_name("by", by), _check_name("value", value))
    with _connect(path, engine) as con:
        cursor = con.execute(sql)
        return _frame(cursor.description, cursor.fetchall())


def _check_by_value(df: pd.DataFrame, by: Any, value: Any) -> None:
    if by not in df.columns:
        raise ValueError(f"by must be a column of df ({_show(list(df.columns))}); got {_show(by)}")
    if value not in df.columns:
        raise ValueError(f"value must be a column of df ({_show(list(df.columns))}); got {_show(value)}")
    if not pd.api.types.is_numeric_dtype(df[value]) or pd.api.types.is_bool_dtype(df[value]):
        raise TypeError(f"value must name a numeric column; got {value!r} of dtype {df[value].dtype}")


def engine_benchmark(
    df: pd.DataFrame,
    directory: PathLike,
    *,
    key: str = "transaction_id",
    by: str = "merchant_category",
    value: str = "amount",
    n_lookups: int = 200,
    n_inserts: int = 100,
    repeat: int = 3,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Time OLTP and OLAP workloads on the same table in SQLite (row store) and DuckDB (column store).

    For each engine, ``df`` is bulk-loaded with :func:`load_table` into ``directory/transactions.<engine>``
    (replacing the table of a previous run), then, on one open connection:

    - point lookup: ``n_lookups`` single-row ``SELECT * ... WHERE key = ?`` on random keys;
    - insert + commit: ``n_inserts`` single-row inserts, each its own transaction (copies of random
      rows with new keys above the largest; each repetition inserts new rows, so the table grows by
      ``repeat * n_inserts`` rows);
    - scan + group by: the :func:`aggregate` query over the whole table.

    Parameters
    ----------
    df : pandas.DataFrame
        The table, e.g. ``make_transactions(...)``.
    directory : str or os.PathLike
        An existing directory; the only place files are written.
    key : str, default "transaction_id"
        Integer column with unique values: the primary key.
    by, value : str, default "merchant_category", "amount"
        Grouping column and numeric column of the aggregate.
    n_lookups, n_inserts : int, default 200, 100
        Operations per timed repetition (>= 1).
    repeat : int, default 3
        Workloads are timed ``repeat`` times (>= 1) and the best time is kept; the load is timed once.
    random_state : int, numpy.random.Generator or None, default 0
        Seed for the keys looked up and the rows copied.

    Returns
    -------
    pandas.DataFrame
        Eight rows (engine x workload) with columns ``engine`` ("sqlite", "duckdb"), ``workload``
        ("bulk load", "point lookup", "insert + commit", "scan + group by"), ``operations`` (rows
        loaded, or queries), ``seconds`` and ``per_op_ms`` (milliseconds per operation).

    Book: Chapter 3, "Transactional and Analytical Processing" (OLTP versus OLAP).

    Example
    -------
    >>> import tempfile
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(1_000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = engine_benchmark(df, tmp, n_lookups=5, n_inserts=5, repeat=1)
    ...     sorted(os.listdir(tmp))
    ['transactions.duckdb', 'transactions.sqlite']
    >>> res[["engine", "workload", "operations"]]
       engine         workload  operations
    0  sqlite        bulk load        1000
    1  sqlite     point lookup           5
    2  sqlite  insert + commit           5
    3  sqlite  scan + group by           1
    4  duckdb        bulk load        1000
    5  duckdb     point lookup           5
    6  duckdb  insert + commit           5
    7  duckdb  scan + group by           1
    """
    df = _check_frame("df", df)
    _check_key(df, key)
    directory = _check_directory("directory", directory)
    _check_by_value(df, by, value)
    n_lookups = check_int("n_lookups", n_lookups, minimum=1)
    n_inserts = check_int("n_inserts", n_inserts, minimum=1)
    repeat = check_int("repeat", repeat, minimum=1)
    rng = check_random_state("random_state", random_state)

    lookups = rng.choice(df[key].to_numpy(), size=n_lookups).tolist()
    new = df.iloc[rng.integers(len(df), size=repeat * n_inserts)].reset_index(drop=True)
    new[key] = int(df[key].max()) + 1 + np.arange(len(new))
    lookup_sql = f"SELECT * FROM {_q('transactions')} WHERE {_q(key)} = ?"
    aggregate_sql = _aggregate_sql("transactions", by, value)

    records = []
    for engine in ENGINES:
        path = os.path.join(directory, f"transactions.{engine}")
        load_s = _best_time(lambda: load_table(df, path, engine=engine, key=key), 1)[0]
        new_rows = _rows(new, engine)
        batches = iter([new_rows[i * n_inserts: (i + 1) * n_inserts] for i in range(repeat)])
        with _connect(path, engine) as con:
            look_s = _best_time(lambda: [con.execute(lookup_sql, (k,)).fetchall() for k in lookups], repeat)[0]
            insert_s = _best_time(lambda: _insert_each(con, "transactions", next(batches), engine), repeat)[0]
            scan_s = _best_time(lambda: con.execute(aggregate_sql).fetchall(), repeat)[0]
        records += [(engine, "bulk load", len(df), load_s), (engine, "point lookup", n_lookups, look_s),
                    (engine, "insert + commit", n_inserts, insert_s), (engine, "scan + group by", 1, scan_s)]
    out = pd.DataFrame(records, columns=["engine", "workload", "operations", "seconds"])
    out["per_op_ms"] = 1000 * out["seconds"] / out["operations"]
    return out


def scan_scaling(
    df: pd.DataFrame,
    directory: PathLike,
    *,
    sizes: Sequence[int] | None = None,
    by: str = "merchant_category",
    value: str = "amount",
    repeat: int = 3,
) -> pd.DataFrame:
    """Time the scan-and-aggregate against table size in both engines, to see where each wins.

    The first ``max(sizes)`` rows of ``df`` are loaded once per engine into
    ``directory/scan.<engine>`` (no key), then each size gets its own table of the first ``n`` rows
    (``CREATE TABLE ... AS SELECT ... LIMIT n``, copied inside the database), and the
    :func:`aggregate` query is timed on each. A row store reads every whole row; a column store
    reads only the two columns, but pays a fixed cost per query, so it wins only beyond some size.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    directory : str or os.PathLike
        An existing directory; the only place files are written.
    sizes : sequence of int, optional
        Increasing table sizes in ``[1, len(df)]``. Default: 100, 300, 1000, 3000, ... below
        ``len(df)``, then ``len(df)``.
    by, value : str, default "merchant_category", "amount"
        Grouping column and numeric column of the aggregate.
    repeat : int, default 3
        Each query is timed ``repeat`` times (>= 1); the best time is kept.

    Returns
    -------
    pandas.DataFrame
        One row per (size, engine) with columns ``rows``, ``engine`` and ``seconds``.

    Book: Chapter 3, "Transactional and Analytical Processing".

    Example
    -------
    >>> import tempfile
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(2_000, random_state=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     res = scan_scaling(df, tmp, sizes=[10, 2_000], repeat=1)
    >>> res[["rows", "engine"]]
       rows  engine
    0    10  sqlite
    1    10  duckdb
    2  2000  sqlite
    3  2000  duckdb
    """
    df = _check_frame("df", df)
    directory = _check_directory("directory", directory)
    _check_by_value(df, by, value)
    repeat = check_int("repeat", repeat, minimum=1)
    if sizes is None:
        grid = [int(m * 10**e) for e in range(2, 10) for m in (1, 3)]
        sizes = [s for s in grid if s < len(df)] + [len(df)]
    if isinstance(sizes, str) or not isinstance(sizes, Sequence) or not sizes:
        raise TypeError(f"sizes must be a non-empty sequence of ints; got {_show(sizes)}")
    sizes = [check_int("sizes", s, minimum=1, maximum=len(df)) for s in sizes]
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"sizes must be strictly increasing; got {_show(sizes)}")

    records = []
    for engine in ENGINES:
        path = os.path.join(directory, f"scan.{engine}")
        load_table(df.head(sizes[-1]), path, engine=engine, table="all_rows", key=None)
        with _connect(path, engine) as con:
            for n in sizes:
                con.execute(f"DROP TABLE IF EXISTS rows_{n}")
                con.execute(f"CREATE TABLE rows_{n} AS SELECT * FROM all_rows LIMIT {n}")
                con.execute("CHECKPOINT") if engine == "duckdb" else con.commit()
                sql = _aggregate_sql(f"rows_{n}", by, value)
                records.append((n, engine, _best_time(lambda: con.execute(sql).fetchall(), repeat)[0]))
    records.sort(key=lambda r: (r[0], ENGINES.index(r[1])))
    return pd.DataFrame(records, columns=["rows", "engine", "seconds"])


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


def make_raw_events(df: pd.DataFrame, *, bad_share: float = 0.02, random_state: RandomState = 0) -> list[dict]:
    """Transactions as the raw JSON events an upstream service would emit, some of them broken.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with columns ``transaction_id``, ``timestamp``, ``user_id``, ``amount``,
        ``is_fraud`` (as from ``make_transactions``).
    bad_share : float, default 0.02
        Share of events, drawn at random, that are broken in one of four ways (equally likely):
        amount null, amount negative, timestamp unparsable ("not a time"), or ``id`` missing. In [0, 1).
    random_state : int, numpy.random.Generator or None, default 0
        Seed.

    Returns
    -------
    list of dict
        One event per row: ``{"id", "ts" (ISO text), "user", "amount", "fraud"}``, plain Python values.

    Book: Chapter 3, "ETL: Extract, Transform, and Load" (extract: validate and reject malformed data).

    Example
    -------
    >>> from mlsys_course.datasets import make_transactions
    >>> make_raw_events(make_transactions(10, random_state=0))[0]
    {'id': 0, 'ts': '2024-01-16T12:45:37', 'user': 26, 'amount': 30.21, 'fraud': 0}
    """
    df = _check_frame("df", df, min_rows=0)
    needed = ["transaction_id", "timestamp", "user_id", "amount", "is_fraud"]
    if not set(needed) <= set(df.columns):
        raise ValueError(f"df must have columns {needed}; got {_show(list(df.columns))}")
    bad_share = check_probability("bad_share", bad_share, open_interval=False)
    if bad_share == 1:
        raise ValueError(f"bad_share must be in [0, 1); got {bad_share}")
    rng = check_random_state("random_state", random_state)
    values = [df["transaction_id"].tolist(), _iso(df["timestamp"]), df["user_id"].tolist(),
              df["amount"].tolist(), df["is_fraud"].astype(int).tolist()]
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
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Sequence):
        raise TypeError(f"records must be a list of dicts (raw JSON events); got {type(records).__name__}")
    for r in records:
        if not isinstance(r, Mapping):
            raise TypeError(f"records must be a list of dicts (raw JSON events); got an element {_show(r)}")
    return list(records)


def _check_fields(fields: Any) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{column: (source or sources, type)}`` with sources as a tuple."""
    if not isinstance(fields, Mapping) or not fields:
        raise TypeError(
            f"fields must be a dict {{column: (raw field or fields, type)}} like FIELDS; got {_show(fields)}"
        )
    out = {}
    for column, spec in fields.items():
        if not isinstance(column, str) or not isinstance(spec, tuple) or len(spec) != 2:
            raise TypeError(
                f"fields must map a column name to (raw field or fields, type); got {column!r}: {_show(spec)}"
            )
        source, kind = spec
        sources = (source,) if isinstance(source, str) else tuple(source)
        if not sources or not all(isinstance(s, str) and s for s in sources):
            raise TypeError(f"fields[{column!r}] must name one raw field or a tuple of them; got {_show(source)}")
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
    spec = _check_fields(fields)
    path = _check_db_path(path)
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
    with _connect(path, "duckdb") as con:
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
    sql = transform_sql(fields)
    spec = _check_fields(fields)
    path = _check_db_path(path)
    with _connect(path, "duckdb") as con:
        con.execute("CREATE TABLE IF NOT EXISTS raw_events (record JSON)")
        if records:
            raw = pd.DataFrame({"record": [json.dumps(r) for r in records]})
            con.register("batch", raw)
            con.execute("INSERT INTO raw_events SELECT record::JSON FROM batch")
            con.unregister("batch")
        con.execute(f"CREATE OR REPLACE TABLE transactions_clean AS {sql}")
        raw_rows = con.execute("SELECT COUNT(*) FROM raw_events").fetchone()[0]
        clean, complete = _clean_counts(con)
        keys = {k for (k,) in con.execute("SELECT DISTINCT unnest(json_keys(record)) FROM raw_events").fetchall()}
    unused = ", ".join(sorted(keys - {s for sources, _ in spec.values() for s in sources}))
    report = ("ELT", len(records), raw_rows, clean, complete, raw_rows - clean, unused, "")
    return pd.DataFrame([report], columns=_REPORT)


def schema_change(
    df: pd.DataFrame,
    directory: PathLike,
    *,
    change: str = "rename",
    bad_share: float = 0.02,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Replay an upstream schema change through ETL and ELT, over three daily batches.

    ``df`` becomes raw events (:func:`make_raw_events`), split into three consecutive batches. Day 1:
    the old schema, both pipelines with ``FIELDS``. Day 2: upstream changes the schema
    (:func:`change_schema`), pipelines unchanged. Day 3: the new schema again, and both pipelines
    fixed with ``SCHEMA_CHANGES[change]``. ETL writes ``directory/etl.duckdb``, ELT
    ``directory/elt.duckdb`` (both replaced if they exist).

    With "rename", ETL refuses day 2 loudly and the batch is lost; ELT stores it raw and rejects its
    rows silently until the fix, whose re-run over the history recovers them. With "add", ETL drops
    the new field on day 2 for good; ELT keeps it raw, and the fix exposes it for days 2 and 3.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions, as for :func:`make_raw_events` (at least 3 rows; 30_000 rows take well under
        a second).
    directory : str or os.PathLike
        An existing directory; the only place files are written.
    change : {"rename", "add"}, default "rename"
    bad_share : float, default 0.02
        Share of broken events, as in :func:`make_raw_events`.
    random_state : int, numpy.random.Generator or None, default 0
        Seed for the broken events.

    Returns
    -------
    pandas.DataFrame
        Six rows (day x pipeline) with columns ``day`` (1, 2, 3), ``schema`` ("old" or "new"),
        ``code`` ("original" or "fixed"), then the report columns of :func:`etl` and :func:`elt`.

    Book: Chapter 3, "ETL: Extract, Transform, and Load".

    Example
    -------
    >>> import tempfile
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
    df = _check_frame("df", df, min_rows=3)
    directory = _check_directory("directory", directory)
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
