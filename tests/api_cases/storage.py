"""Cases of mlsys_course.storage: the two data models, the two engines, ETL and ELT (files in a temporary folder)."""

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from api_cases import Case, scratch_dir
from mlsys_course.datasets import make_transactions
from mlsys_course.storage import FIELDS, connect, load_orders, load_table, make_orders, make_raw_events

_DIR = scratch_dir("storage")
_TX = make_transactions(60, random_state=0)
_SQLITE = load_table(_TX, _DIR / "tx.sqlite", engine="sqlite")
_DUCK = load_table(_TX, _DIR / "tx.duckdb", engine="duckdb")
_ORDERS = make_orders(20, random_state=0)
_SHOP = load_orders(_ORDERS, _DIR / "shop.sqlite")
_EVENTS = make_raw_events(_TX, random_state=0)
_NAMES = itertools.count()
_KEYS = itertools.count(10_000)
(_DIR / "notes.txt").write_text("not a database")


def _fresh(suffix):
    """A new file path in the temporary folder (writers get one per call)."""
    return str(_DIR / f"new{next(_NAMES)}{suffix}")


def _new_rows(n=2):
    return _TX.head(n).assign(transaction_id=[next(_KEYS) for _ in range(n)])


def _open(path, engine):
    """Enter and leave the context (connect checks its arguments when entered)."""
    with connect(path, engine=engine) as con:
        return con.execute("SELECT 1").fetchall()


CASES = {
    "connect": Case(
        call=lambda: {"path": _SQLITE, "engine": "sqlite"},
        fn=_open,
        bad={"path": [_DIR / "missing" / "x.db", _DIR, 3, _DUCK, _DIR / "notes.txt"], "engine": ["postgres", None, 1]},
        valid={"path": [Path(_SQLITE), _fresh(".duckdb")]},
        skip={"path"},  # a generic string is a valid relative path: it would create files in the working directory
    ),
    "make_orders": Case(
        call=lambda: {"n_orders": 10, "n_customers": 3, "n_products": 4, "random_state": 0},
        bad={"n_orders": [0, 2.5, None, 10**12, "10"], "n_customers": [0, -1, 1.5], "n_products": [0, 10**12],
             "random_state": ["seed", -1, 2.5]},
        valid={"n_orders": [np.int64(5), np.uint8(3)], "n_customers": [None], "random_state": [np.random.default_rng(0), None]},
    ),
    "orders_as_documents": Case(
        call=lambda: {"tables": _ORDERS},
        bad={"tables": [[], {}, {**_ORDERS, "products": _ORDERS["products"].iloc[:0]},
                        {**_ORDERS, "customers": pd.concat([_ORDERS["customers"]] * 2)},
                        {**_ORDERS, "orders": _ORDERS["orders"].drop(columns="customer_id")}]},
        valid={"tables": [{k: v.set_index(v.index + 100) for k, v in _ORDERS.items()}]},
    ),
    "load_orders": Case(
        call=lambda: {"tables": _ORDERS, "path": _fresh(".sqlite")},
        bad={"path": [_SHOP, _DIR / "missing" / "x.sqlite", 3], "tables": [{}, [1]]},
        skip={"path"},  # a generic string is a valid relative path
    ),
    "fetch_order": Case(
        call=lambda: {"db": _SHOP, "order_id": 3, "model": "document"},
        bad={"db": [_SQLITE, _DIR / "notes.txt", _DIR / "none.sqlite", 3], "order_id": [10**6, "3", 2.5, -1],
             "model": ["graph", None]},
        valid={"order_id": [np.int64(3), np.uint16(3)], "model": ["relational"]},
    ),
    "revenue_by_product": Case(
        call=lambda: {"db": _SHOP, "model": "relational"},
        bad={"db": [_SQLITE, _DIR / "notes.txt", 3], "model": ["graph"]},
        valid={"model": ["document"], "db": [Path(_SHOP)]},
    ),
    "load_table": Case(
        call=lambda: {"df": _TX, "path": _fresh(".duckdb"), "engine": "duckdb"},
        bad={"df": [_TX.iloc[:0], _TX.to_numpy(), pd.concat([_TX, _TX[["amount"]]], axis=1)],
             "key": ["user_id", "nope", "amount", 3], "table": ["", 3], "engine": ["postgres"],
             "path": [_DIR / "missing" / "x.db", _DIR, _SQLITE]},
        valid={"key": [None], "table": ["payments", "select"], "df": [_TX.set_index(_TX.index + 7)]},
        skip={"path"},  # a generic string is a valid relative path
    ),
    "point_lookup": Case(
        call=lambda: {"path": _SQLITE, "keys": [1, 2], "engine": "sqlite"},
        bad={"keys": [[1.5], "1", 7, [2**70], pd.DataFrame({"k": [1]}), np.array([[1, 2]])],
             "key": ["transaction_idd", "", 3], "table": ["transaction", 'transactions" --'],
             "path": [_DUCK, _DIR / "notes.txt", _DIR / "none.db"], "engine": ["postgres"]},
        valid={"keys": [range(3), np.arange(3), pd.Series([1, 2], index=[5, 6]), [], (np.int32(1), np.uint8(2))],
               "engine": ["sqlite"], "key": ["user_id"]},
    ),
    "insert_rows": Case(
        call=lambda: {"path": _SQLITE, "rows": _new_rows(), "engine": "sqlite"},
        bad={"rows": [_TX.head(2), _new_rows().rename(columns={"user_id": "user"}), [{"transaction_id": 1}]],
             "table": ["nope"], "path": [_DUCK, _DIR / "none.db"]},
        valid={"rows": [_new_rows()[_TX.columns[::-1]], _new_rows().iloc[:0], _new_rows()[["transaction_id", "amount"]]]},
    ),
    "aggregate": Case(
        call=lambda: {"path": _DUCK, "engine": "duckdb", "by": "device", "value": "amount"},
        bad={"by": ["typo", 3, None], "value": ["country", "typo"], "table": ["nope"], "path": [_SQLITE]},
        valid={"value": ["is_fraud", "user_age"], "by": ["country"]},
    ),
    "make_raw_events": Case(
        call=lambda: {"df": _TX, "bad_share": 0.1, "random_state": 0},
        bad={"df": [_TX.drop(columns="amount"), _TX.to_numpy()], "bad_share": [1.0, -0.1, np.nan, "0.1"],
             "random_state": ["seed"]},
        valid={"df": [_TX.iloc[:0], _TX.set_index(_TX.index + 5)], "bad_share": [0, np.float32(0.5)]},
    ),
    "change_schema": Case(
        call=lambda: {"records": _EVENTS[:3], "change": "rename"},
        bad={"records": [{"id": 1}, "events", [1, 2]], "change": ["drop", None]},
        valid={"records": [[], tuple(_EVENTS[:2])], "change": ["add"]},
    ),
    "transform_sql": Case(
        call=lambda: {"fields": FIELDS, "source": "raw_events"},
        bad={"fields": [{}, {"amount": ("amount", "DOUBLE")}, {**FIELDS, "amount": ("amount", "MONEY")}],
             "source": ["", 3]},
    ),
    "etl": Case(
        call=lambda: {"records": _EVENTS[:20], "path": _fresh(".duckdb")},
        bad={"records": [{"id": 1}, [1], [{"id": 1, "amount": float("nan")}]], "path": [_SQLITE, _DIR / "missing" / "x"],
             "fields": [{}, {"amount": ("amount", "DOUBLE")}]},
        valid={"records": [[], _EVENTS[:5] + [{"id": np.int64(7), "ts": "2024-01-01", "amount": np.float32(2.5)}]]},
        skip={"path"},  # a generic string is a valid relative path
    ),
    "elt": Case(
        call=lambda: {"records": _EVENTS[:20], "path": _fresh(".duckdb")},
        bad={"records": [{"id": 1}, [1], [{"id": 1, "amount": float("inf")}]], "path": [_SQLITE, _DIR / "missing" / "x"],
             "fields": [{}, {"amount": ("amount", "DOUBLE")}]},
        valid={"records": [[], _EVENTS[:5] + [{"id": np.int64(7), "ts": "2024-01-01", "amount": np.float32(2.5)}]]},
        skip={"path"},  # a generic string is a valid relative path
    ),
}
