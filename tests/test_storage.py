import contextlib
import json
import os
import sqlite3

import duckdb
import numpy as np
import pandas as pd
import pytest

from mlsys_course.datasets import make_transactions
from mlsys_course.storage import (
    ENGINES,
    FIELDS,
    SCHEMA_CHANGES,
    aggregate,
    change_schema,
    connect,
    elt,
    etl,
    fetch_order,
    insert_rows,
    load_orders,
    load_table,
    make_orders,
    make_raw_events,
    orders_as_documents,
    point_lookup,
    revenue_by_product,
    transform_sql,
)

# Nothing here may reach the network: every test runs under the socket guard of conftest.py.
pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def tx():
    return make_transactions(5_000, random_state=0)


def sqlite_rows(path, sql):
    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute(sql).fetchall()


def duckdb_frame(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


# =====================================================================================================
# Data models
# =====================================================================================================


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    tables = make_orders(300, random_state=1)
    db = load_orders(tables, tmp_path_factory.mktemp("shop") / "shop.sqlite")
    return tables, db


def test_make_orders_is_normalized_and_consistent():
    t = make_orders(500, n_customers=40, n_products=30, random_state=3)
    assert [len(t[k]) for k in ("customers", "products", "orders")] == [40, 30, 500]
    for name, key in [("customers", ["customer_id"]), ("products", ["product_id"]), ("orders", ["order_id"]),
                      ("order_items", ["order_id", "line"])]:
        assert not t[name].duplicated(key).any()
    items = t["order_items"]
    assert set(items["order_id"]) == set(t["orders"]["order_id"])  # every order has at least one line
    assert (items.groupby("order_id")["line"].agg(lambda s: list(s) == list(range(1, len(s) + 1)))).all()
    assert items["product_id"].isin(t["products"]["product_id"]).all()
    assert t["orders"]["customer_id"].isin(t["customers"]["customer_id"]).all()
    price = t["products"].set_index("product_id")["price"]
    np.testing.assert_array_equal(items["unit_price"], price.loc[items["product_id"]].to_numpy())
    assert t["orders"]["ordered_at"].is_monotonic_increasing
    again = make_orders(500, n_customers=40, n_products=30, random_state=np.random.default_rng(3))
    for name in t:
        pd.testing.assert_frame_equal(t[name], again[name])
    assert not make_orders(500, n_customers=40, n_products=30, random_state=4)["order_items"].equals(items)


def test_documents_embed_the_same_facts_as_the_tables(shop):
    tables, _ = shop
    docs = orders_as_documents(tables)
    assert [d["order_id"] for d in docs] == tables["orders"]["order_id"].tolist()
    assert json.loads(json.dumps(docs)) == docs  # plain JSON values
    flat = pd.DataFrame([{"order_id": d["order_id"], "customer_id": d["customer"]["customer_id"],
                          "country": d["customer"]["country"], **item} for d in docs for item in d["items"]])
    reference = (tables["order_items"].merge(tables["orders"], on="order_id")
                 .merge(tables["customers"].rename(columns={"name": "customer_name"}), on="customer_id")
                 .merge(tables["products"], on="product_id"))
    cols = ["order_id", "line", "customer_id", "country", "product_id", "name", "category", "quantity", "unit_price"]
    pd.testing.assert_frame_equal(flat[cols], reference[cols].sort_values(["order_id", "line"], ignore_index=True),
                                  check_dtype=False)


def test_sqlite_file_has_keys_and_enforces_foreign_keys(shop):
    tables, db = shop
    for name in ("customers", "products", "orders", "order_items", "order_documents"):
        expected = len(tables.get(name, tables["orders"]))
        assert sqlite_rows(db, f"SELECT COUNT(*) FROM {name}") == [(expected,)]
    pk = {r[1] for r in sqlite_rows(db, "PRAGMA table_info(order_items)") if r[5]}
    assert pk == {"order_id", "line"}
    fk = {(r[2], r[3]) for r in sqlite_rows(db, "PRAGMA foreign_key_list(order_items)")}
    assert fk == {("orders", "order_id"), ("products", "product_id")}
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            con.execute("INSERT INTO order_items VALUES (0, 99, 123456, 1, 1.0)")
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            con.execute("INSERT INTO customers VALUES (0, 'again', 'US')")


def test_both_models_fetch_the_same_order(shop):
    tables, db = shop
    docs = orders_as_documents(tables)
    with contextlib.closing(sqlite3.connect(db)) as con:  # an open connection is accepted too
        for order_id in range(0, 300, 7):
            relational = fetch_order(db, order_id, model="relational")
            assert relational == fetch_order(con, order_id, model="document") == docs[order_id]
    with pytest.raises(ValueError, match="order_id must be an order in db; got 300"):
        fetch_order(db, 300, model="relational")
    with pytest.raises(ValueError, match="order_id must be an order in db; got -1"):
        fetch_order(db, -1, model="document")


def test_both_models_compute_revenue_like_pandas(shop):
    tables, db = shop
    items = tables["order_items"].assign(revenue=lambda d: d["quantity"] * d["unit_price"])
    reference = (items.groupby("product_id", as_index=False)
                 .agg(quantity=("quantity", "sum"), revenue=("revenue", "sum"))
                 .merge(tables["products"][["product_id", "name"]], on="product_id"))
    reference = reference[["product_id", "name", "quantity", "revenue"]]
    for model in ("relational", "document"):
        got = revenue_by_product(db, model=model)
        pd.testing.assert_frame_equal(got, reference, check_dtype=False, rtol=1e-12)


def test_data_model_bad_input(shop, tmp_path):
    tables, db = shop
    with pytest.raises(ValueError, match="n_orders must be >= 1"):
        make_orders(0)
    with pytest.raises(TypeError, match="n_products must be an integer"):
        make_orders(10, n_products=2.5)
    with pytest.raises(TypeError, match="random_state must be"):
        make_orders(10, random_state="seed")
    with pytest.raises(ValueError, match=r"tables\['products'\] must be a DataFrame with columns"):
        orders_as_documents({k: v for k, v in tables.items() if k != "products"})
    with pytest.raises(TypeError, match="tables must be a dict of DataFrames"):
        orders_as_documents([1, 2])
    with pytest.raises(ValueError, match="n_orders must be <= 10000000"):
        make_orders(10**10)
    broken = {**tables, "order_items": tables["order_items"].assign(product_id=999)}
    with pytest.raises(ValueError, match=r"tables\['order_items'\] must refer to known products; got product_id \[999\]"):
        load_orders(broken, tmp_path / "broken.sqlite")
    assert not (tmp_path / "broken.sqlite").exists()
    with pytest.raises(ValueError, match=r"tables\['customers'\] must have unique customer_id"):
        orders_as_documents({**tables, "customers": pd.concat([tables["customers"]] * 2)})
    with pytest.raises(ValueError, match="path must be a new file; got .*already exists"):
        load_orders(tables, db)
    with pytest.raises(ValueError, match="must be an existing directory"):
        load_orders(tables, tmp_path / "missing" / "shop.sqlite")
    with pytest.raises(ValueError, match="model must be one of 'relational', 'document'; got 'graph'"):
        fetch_order(db, 0, model="graph")
    with pytest.raises(ValueError, match="db must be an existing database file"):
        revenue_by_product(tmp_path / "nope.sqlite", model="relational")
    assert not (tmp_path / "nope.sqlite").exists()
    other = load_table(make_transactions(10, random_state=0), tmp_path / "other.sqlite", engine="sqlite")
    with pytest.raises(ValueError, match="db must be a database written by load_orders.*no such table: order_documents"):
        fetch_order(other, 0, model="document")
    with pytest.raises(ValueError, match="db must be a database written by load_orders.*no such table"):
        revenue_by_product(other, model="relational")


# =====================================================================================================
# Storage engines
# =====================================================================================================


@pytest.fixture(scope="module")
def loaded(tx, tmp_path_factory):
    directory = tmp_path_factory.mktemp("engines")
    return {engine: load_table(tx, directory / f"tx.{engine}", engine=engine) for engine in ENGINES}


def test_load_table_declares_the_primary_key(tx, loaded):
    pk = [r[1] for r in sqlite_rows(loaded["sqlite"], "PRAGMA table_info(transactions)") if r[5]]
    assert pk == ["transaction_id"]
    constraints = duckdb_frame(loaded["duckdb"],
                               "SELECT constraint_type, constraint_column_names FROM duckdb_constraints()")
    pk = constraints.loc[constraints["constraint_type"] == "PRIMARY KEY", "constraint_column_names"]
    assert pk.map(list).tolist() == [["transaction_id"]]
    assert sqlite_rows(loaded["sqlite"], "SELECT COUNT(*) FROM transactions") == [(len(tx),)]
    assert duckdb_frame(loaded["duckdb"], "SELECT COUNT(*) AS n FROM transactions")["n"].item() == len(tx)


def test_point_lookups_return_the_same_rows_in_both_engines(tx, loaded):
    keys = [17, 4_999, 0, 17, 123_456, 2_500]  # a duplicate and a missing key
    expected = tx.set_index("transaction_id", drop=False).loc[[17, 4_999, 0, 17, 2_500]].reset_index(drop=True)
    for engine in ENGINES:
        got = point_lookup(loaded[engine], keys, engine=engine)
        assert list(got.columns) == list(tx.columns)
        pd.testing.assert_frame_equal(got.astype(tx.dtypes.to_dict()), expected)


@pytest.mark.parametrize(
    ("by", "value"), [("merchant_category", "amount"), ("device", "user_age"), ("country", "is_fraud")]
)
def test_aggregates_match_pandas_groupby(tx, loaded, by, value):
    reference = (tx.groupby(by, observed=True, dropna=False, sort=False)
                 .agg(n=(value, "size"), total=(value, "sum"), mean=(value, "mean")).reset_index())
    reference[by] = reference[by].astype(object)
    reference = reference.sort_values(by, na_position="last", ignore_index=True,
                                      key=lambda s: s.astype(str).where(s.notna()))
    for engine in ENGINES:
        got = aggregate(loaded[engine], engine=engine, by=by, value=value)
        assert list(got.columns) == [by, "n", "total", "mean"]
        assert got[by].tolist()[:-1] == reference[by].tolist()[:-1]
        assert pd.isna(got[by].iloc[-1]) == pd.isna(reference[by].iloc[-1])
        np.testing.assert_array_equal(got["n"], reference["n"])
        np.testing.assert_allclose(got[["total", "mean"]].to_numpy(float), reference[["total", "mean"]].to_numpy(float),
                                   rtol=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_inserts_land_and_the_key_is_enforced(tx, tmp_path, engine):
    path = load_table(tx.head(100), tmp_path / f"t.{engine}", engine=engine)
    new = tx.tail(7).assign(transaction_id=np.arange(1_000, 1_007))
    assert insert_rows(path, new, engine=engine) == 107
    got = point_lookup(path, new["transaction_id"].tolist(), engine=engine)
    pd.testing.assert_frame_equal(got.astype(tx.dtypes.to_dict()), new.reset_index(drop=True))
    with pytest.raises(ValueError, match="rows must be new rows that fit table 'transactions'; nothing of the 1 rows"):
        insert_rows(path, new.head(1), engine=engine)
    assert insert_rows(path, new.head(0), engine=engine) == 107
    assert load_table(tx.head(10), path, engine=engine) == str(path)  # replaces the table
    assert len(point_lookup(path, range(0, 200), engine=engine)) == 10


@pytest.mark.parametrize("engine", ENGINES)
def test_inserts_go_by_column_name(tx, tmp_path, engine):
    path = load_table(tx.head(50), tmp_path / f"t.{engine}", engine=engine)
    new = tx.iloc[50:55].assign(transaction_id=np.arange(500, 505))
    shuffled = new[["merchant_id", "user_id", *[c for c in new.columns if c not in ("merchant_id", "user_id")]]]
    assert insert_rows(path, shuffled, engine=engine) == 55
    got = point_lookup(path, np.arange(500, 505), engine=engine)  # numpy keys are fine
    np.testing.assert_array_equal(got["user_id"], new["user_id"])  # not swapped with merchant_id
    np.testing.assert_array_equal(got["merchant_id"], new["merchant_id"])
    partial = new[["transaction_id", "amount"]].assign(transaction_id=[600, 601, 602, 603, 604])
    assert insert_rows(path, partial, engine=engine) == 60  # missing columns are NULL
    assert point_lookup(path, [600], engine=engine)["user_id"].isna().all()
    with pytest.raises(ValueError, match=r"rows must have only columns of table 'transactions'; got unknown \['user'\]"):
        insert_rows(path, new.rename(columns={"user_id": "user"}), engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failed_batch_leaves_nothing_behind(tx, tmp_path, engine):
    path = load_table(tx.head(50), tmp_path / f"t.{engine}", engine=engine)
    batch = tx.iloc[50:60].assign(transaction_id=[100, 101, 102, 103, 104, 105, 106, 107, 108, 3])  # the last is taken
    with pytest.raises(ValueError, match="nothing of the 10 rows was stored"):
        insert_rows(path, batch, engine=engine)
    assert insert_rows(path, batch.head(0), engine=engine) == 50
    assert point_lookup(path, range(100, 109), engine=engine).empty


@pytest.mark.parametrize("engine", ENGINES)
def test_identifiers_are_checked_against_the_schema(loaded, engine):
    db = loaded[engine]
    with pytest.raises(ValueError, match=r"key must be a column of table 'transactions'; got 'transaction_idd'; it has \['transaction_id', "):
        point_lookup(db, [1, 2], engine=engine, key="transaction_idd")
    with pytest.raises(ValueError, match=r"table must be a table of the database; got 'transaction'; it has \['transactions'\]"):
        point_lookup(db, [1], engine=engine, table="transaction")
    with pytest.raises(ValueError, match="by must be a column of table 'transactions'; got 'typo'"):
        aggregate(db, engine=engine, by="typo")
    with pytest.raises(TypeError, match="value must name a numeric column of table 'transactions'; got 'country' of type"):
        aggregate(db, engine=engine, value="country")
    with pytest.raises(ValueError, match="value must be a column of table 'transactions'; got 'amount\"'"):
        aggregate(db, engine=engine, value='amount"')
    with pytest.raises(ValueError, match="table must be a table of the database"):
        aggregate(db, engine=engine, table='transactions" --')
    with pytest.raises(ValueError, match="rows must have only columns of table"):
        insert_rows(db, pd.DataFrame({"transaction_idd": [10**9]}), engine=engine)


def test_a_file_of_the_other_engine_is_refused_at_once_without_network(loaded, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # where DuckDB would install a downloaded extension
    with pytest.raises(ValueError, match=r"path must be a DuckDB database file .* it is a SQLite file \(use engine='sqlite'\)"):
        point_lookup(loaded["sqlite"], [1], engine="duckdb")
    with pytest.raises(ValueError, match=r"path must be a SQLite database file .* it is a DuckDB file \(use engine='duckdb'\)"):
        aggregate(loaded["duckdb"], engine="sqlite")
    (tmp_path / "notes.txt").write_text("not a database at all")
    for engine in ENGINES:
        with pytest.raises(ValueError, match="cannot open it"):
            point_lookup(tmp_path / "notes.txt", [1], engine=engine)
    assert not (tmp_path / ".duckdb").exists()  # no extension was installed (nor downloaded)


def test_duckdb_connections_never_load_extensions_by_themselves(loaded):
    settings = "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
    with connect(loaded["duckdb"], engine="duckdb") as con:
        assert con.execute(settings).fetchall() == [(False, False)]
    with connect(loaded["sqlite"], engine="sqlite") as con:  # SQLite: autocommit, transactions explicit
        assert con.isolation_level is None


def test_unusual_but_valid_keys(loaded, tx):
    for engine in ENGINES:
        db = loaded[engine]
        by_list = point_lookup(db, [3, 4, 5], engine=engine)
        for keys in (range(3, 6), np.arange(3, 6), pd.Series([3, 4, 5], index=[7, 8, 9]), (np.int32(3), 4, np.uint8(5))):
            pd.testing.assert_frame_equal(point_lookup(db, keys, engine=engine), by_list)
        assert list(point_lookup(db, [], engine=engine).columns) == list(tx.columns)


def test_engine_bad_input(tx, loaded, tmp_path):
    with pytest.raises(ValueError, match="engine must be one of 'sqlite', 'duckdb'; got 'postgres'"):
        load_table(tx, tmp_path / "x.db", engine="postgres")
    with pytest.raises(ValueError, match="key must name an integer column with unique values; got 'user_id'"):
        load_table(tx, tmp_path / "x.db", engine="sqlite", key="user_id")
    with pytest.raises(ValueError, match="key must be a column of df"):
        load_table(tx, tmp_path / "x.db", engine="duckdb", key="id")
    with pytest.raises(ValueError, match="df must have unique column names"):
        load_table(pd.DataFrame([[1, 2]], columns=["a", "a"]), tmp_path / "x.db", engine="duckdb", key=None)
    with pytest.raises(ValueError, match="df must have non-empty string column names"):
        load_table(pd.DataFrame({0: [1]}), tmp_path / "x.db", engine="duckdb", key=None)
    with pytest.raises(ValueError, match="path must be an existing database file"):
        point_lookup(tmp_path / "none.db", [1], engine="sqlite")
    with pytest.raises(TypeError, match=r"keys\[0\] must be an integer; got 1.5"):
        point_lookup(loaded["sqlite"], [1.5], engine="sqlite")
    with pytest.raises(TypeError, match="keys must be a sequence of integer keys"):
        point_lookup(loaded["sqlite"], 7, engine="sqlite")
    with pytest.raises(TypeError, match="keys must be a sequence of integer keys"):
        point_lookup(loaded["sqlite"], "17", engine="sqlite")
    with pytest.raises(ValueError, match=r"keys\[1\] must be <= 9223372036854775807"):
        point_lookup(loaded["sqlite"], [1, 2**70], engine="sqlite")
    with pytest.raises(TypeError, match="rows must be a pandas DataFrame"):
        insert_rows(loaded["sqlite"], [{"transaction_id": 1}], engine="sqlite")
    with pytest.raises(ValueError, match="the directory of path must be an existing directory"):
        load_table(tx, tmp_path / "missing" / "x.db", engine="sqlite")
    assert os.listdir(tmp_path) == []


# =====================================================================================================
# ETL and ELT
# =====================================================================================================


def intact(event):
    """The reference validation rule, written out for one raw event."""
    return "id" in event and event["ts"] != "not a time" and event["amount"] is not None and event["amount"] > 0


def clean_table(path):
    return duckdb_frame(path, "SELECT * FROM transactions_clean ORDER BY transaction_id")


def test_raw_events(tx):
    events = make_raw_events(tx, bad_share=0.1, random_state=0)
    assert len(events) == len(tx) and json.loads(json.dumps(events)) == events
    good = [e for e in events if intact(e)]
    assert abs(len(events) - len(good) - 0.1 * len(tx)) < 4 * np.sqrt(0.1 * 0.9 * len(tx))
    kinds = {"amount null": 0, "amount negative": 0, "bad ts": 0, "no id": 0}
    for e in events:
        kinds["amount null"] += e["amount"] is None
        kinds["amount negative"] += e["amount"] is not None and e["amount"] < 0
        kinds["bad ts"] += e["ts"] == "not a time"
        kinds["no id"] += "id" not in e
    assert min(kinds.values()) > 0
    assert all(intact(e) for e in make_raw_events(tx.head(200), bad_share=0.0))
    assert events == make_raw_events(tx, bad_share=0.1, random_state=0)


def test_change_schema_returns_new_events():
    events = [{"id": 1, "ts": "2024-01-01T00:00:00", "amount": 2.5}]
    assert change_schema(events, "rename") == [{"id": 1, "ts": "2024-01-01T00:00:00", "amount_usd": 2.5}]
    assert change_schema(events, "add") == [{"id": 1, "ts": "2024-01-01T00:00:00", "amount": 2.5, "currency": "USD"}]
    assert events == [{"id": 1, "ts": "2024-01-01T00:00:00", "amount": 2.5}]


def test_etl_and_elt_load_the_same_clean_rows_as_the_reference(tx, tmp_path):
    events = make_raw_events(tx, random_state=1)
    r_etl, r_elt = etl(events, tmp_path / "etl.duckdb"), elt(events, tmp_path / "elt.duckdb")
    good = tx[[intact(e) for e in events]]
    reference = pd.DataFrame({"transaction_id": good["transaction_id"], "timestamp": good["timestamp"],
                              "user_id": good["user_id"], "amount": good["amount"], "is_fraud": good["is_fraud"]})
    a, b = clean_table(tmp_path / "etl.duckdb"), clean_table(tmp_path / "elt.duckdb")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a.astype(reference.dtypes.to_dict()), reference.reset_index(drop=True))
    counts = ["records_in", "raw_rows", "clean_rows", "rejected"]
    assert r_etl[counts].iloc[0].tolist() == [len(tx), 0, len(good), len(tx) - len(good)]
    assert r_elt[counts].iloc[0].tolist() == [len(tx), len(tx), len(good), len(tx) - len(good)]
    assert r_etl["error"].item() == r_elt["error"].item() == ""


def test_rename_etl_fails_loudly_elt_keeps_history_and_recovers(tx, tmp_path):
    day1 = make_raw_events(tx.head(1_000), random_state=2)
    day2 = change_schema(make_raw_events(tx.tail(500), random_state=3), "rename")
    good1, good2 = sum(map(intact, day1)), sum(intact({**e, "amount": e["amount_usd"]}) for e in day2)
    etl_db, elt_db = tmp_path / "etl.duckdb", tmp_path / "elt.duckdb"
    etl(day1, etl_db)
    elt(day1, elt_db)
    r = etl(day2, etl_db).iloc[0]
    assert r["error"].startswith("schema changed: no field amount for column amount")
    assert (r["clean_rows"], r["rejected"], r["unused_fields"]) == (good1, 0, "amount_usd")
    r = elt(day2, elt_db).iloc[0]
    assert (r["error"], r["raw_rows"], r["clean_rows"], r["rejected"]) == ("", 1_500, good1, 1_500 - good1)
    r = elt([], elt_db, fields=SCHEMA_CHANGES["rename"]).iloc[0]  # fix the SQL, re-run over history
    assert (r["records_in"], r["clean_rows"], r["unused_fields"]) == (0, good1 + good2, "")
    r = etl(day2, etl_db, fields=SCHEMA_CHANGES["rename"]).iloc[0]  # fixed code, only if upstream replays
    assert (r["clean_rows"], r["error"]) == (good1 + good2, "")
    pd.testing.assert_frame_equal(clean_table(etl_db), clean_table(elt_db))


def test_added_field_is_dropped_by_etl_and_kept_by_elt(tx, tmp_path):
    day1 = make_raw_events(tx.head(300), bad_share=0.0)
    day2 = change_schema(make_raw_events(tx.iloc[300:600], bad_share=0.0), "add")
    etl_db, elt_db = tmp_path / "etl.duckdb", tmp_path / "elt.duckdb"
    for batch in (day1, day2):
        r_etl, r_elt = etl(batch, etl_db), elt(batch, elt_db)
    assert r_etl["unused_fields"].item() == r_elt["unused_fields"].item() == "currency"
    assert "currency" not in clean_table(etl_db).columns
    assert r_etl["clean_rows"].item() == r_elt["clean_rows"].item() == 600
    fixed = SCHEMA_CHANGES["add"]
    r_etl, r_elt = etl([], etl_db, fields=fixed), elt([], elt_db, fields=fixed)
    assert r_etl["complete_rows"].item() == 0  # the column exists now, but day 2's currencies are gone
    assert r_elt["complete_rows"].item() == 300  # recovered from the raw history
    currency = clean_table(elt_db)["currency"]
    assert currency.isna().tolist() == [True] * 300 + [False] * 300 and set(currency.dropna()) == {"USD"}


def test_etl_and_elt_accept_numpy_values_and_refuse_what_is_not_json(tmp_path):
    events = [{"id": np.int64(1), "ts": "2024-01-01T00:00:00", "user": np.int32(5), "amount": np.float32(9.5), "fraud": 0}]
    assert etl(events, tmp_path / "etl.duckdb")["clean_rows"].item() == 1
    assert elt(events, tmp_path / "elt.duckdb")["clean_rows"].item() == 1
    for pipeline in (etl, elt):
        with pytest.raises(ValueError, match=r"records must be JSON events .*records\[1\] is not"):
            pipeline([events[0], {**events[0], "amount": float("nan")}], tmp_path / "x.duckdb")
        with pytest.raises(ValueError, match=r"records\[0\] is not"):
            pipeline([{**events[0], "when": object()}], tmp_path / "x.duckdb")
    assert not (tmp_path / "x.duckdb").exists()
    load_table(make_transactions(5, random_state=0), tmp_path / "app.sqlite", engine="sqlite")
    with pytest.raises(ValueError, match="path must be a DuckDB database file .* it is a SQLite file"):
        elt(events, tmp_path / "app.sqlite")


def test_etl_elt_bad_input(tmp_path):
    with pytest.raises(TypeError, match="records must be a list of dicts"):
        etl({"id": 1}, tmp_path / "x.duckdb")
    with pytest.raises(TypeError, match="records must be a list of dicts.*an element 3"):
        elt([{"id": 1}, 3], tmp_path / "x.duckdb")
    with pytest.raises(ValueError, match=r"fields must define the columns .*; missing \['timestamp'\]"):
        transform_sql({"transaction_id": ("id", "BIGINT"), "amount": ("amount", "DOUBLE")})
    with pytest.raises(ValueError, match="the type of fields\\['amount'\\] must be one of"):
        transform_sql({**FIELDS, "amount": ("amount", "MONEY")})
    with pytest.raises(TypeError, match="fields must map a column name to"):
        etl([], tmp_path / "x.duckdb", fields={**FIELDS, "amount": "amount"})
    with pytest.raises(ValueError, match="change must be one of 'rename', 'add'; got 'drop'"):
        change_schema([], "drop")
    with pytest.raises(ValueError, match="bad_share must be in"):
        make_raw_events(make_transactions(3, random_state=0), bad_share=1.0)
    with pytest.raises(ValueError, match="df must have columns"):
        make_raw_events(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="the directory of path must be an existing directory"):
        elt([], tmp_path / "missing" / "x.duckdb")
    assert os.listdir(tmp_path) == []
