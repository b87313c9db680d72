import contextlib
import json
import os
import sqlite3
import subprocess
import sys

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
    elt,
    engine_benchmark,
    etl,
    fetch_order,
    insert_rows,
    load_orders,
    load_table,
    make_orders,
    make_raw_events,
    model_benchmark,
    orders_as_documents,
    point_lookup,
    revenue_by_product,
    scan_scaling,
    schema_change,
    transform_sql,
)


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


def test_model_benchmark(shop):
    _, db = shop
    res = model_benchmark(db, n_fetches=20, repeat=2, random_state=0)
    assert list(res.columns) == ["query", "model", "operations", "seconds", "per_op_ms"]
    assert res["operations"].tolist() == [20, 20, 1, 1]
    assert (res["seconds"] > 0).all()
    np.testing.assert_allclose(res["per_op_ms"], 1000 * res["seconds"] / res["operations"])


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
    with pytest.raises(ValueError, match="path must be a new file; got .*already exists"):
        load_orders(tables, db)
    with pytest.raises(ValueError, match="must be an existing directory"):
        load_orders(tables, tmp_path / "missing" / "shop.sqlite")
    with pytest.raises(ValueError, match="model must be one of 'relational', 'document'; got 'graph'"):
        fetch_order(db, 0, model="graph")
    with pytest.raises(ValueError, match="db must be an existing database file"):
        revenue_by_product(tmp_path / "nope.sqlite", model="relational")
    with pytest.raises(ValueError, match="n_fetches must be >= 1"):
        model_benchmark(db, n_fetches=0)
    assert not (tmp_path / "nope.sqlite").exists()


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
    error = sqlite3.IntegrityError if engine == "sqlite" else duckdb.ConstraintException
    with pytest.raises(error):
        insert_rows(path, new.head(1), engine=engine)
    assert insert_rows(path, new.head(0), engine=engine) == 107
    assert load_table(tx.head(10), path, engine=engine) == str(path)  # replaces the table
    assert len(point_lookup(path, range(0, 200), engine=engine)) == 10


def test_engine_benchmark_writes_only_its_files_and_inserts_land(tx, tmp_path, monkeypatch):
    cwd, target = tmp_path / "cwd", tmp_path / "target"
    cwd.mkdir()
    target.mkdir()
    monkeypatch.chdir(cwd)
    res = engine_benchmark(tx, target, n_lookups=30, n_inserts=4, repeat=2, random_state=0)
    assert list(res.columns) == ["engine", "workload", "operations", "seconds", "per_op_ms"]
    assert res["engine"].tolist() == ["sqlite"] * 4 + ["duckdb"] * 4
    assert res["operations"].tolist() == [len(tx), 30, 4, 1] * 2
    assert (res["seconds"] > 0).all()
    np.testing.assert_allclose(res["per_op_ms"], 1000 * res["seconds"] / res["operations"])
    assert sorted(os.listdir(target)) == ["transactions.duckdb", "transactions.sqlite"]
    assert os.listdir(cwd) == []
    assert sorted(os.listdir(tmp_path)) == ["cwd", "target"]
    n = len(tx) + 2 * 4
    counts = sqlite_rows(target / "transactions.sqlite", "SELECT COUNT(*), MAX(transaction_id) FROM transactions")
    assert counts == [(n, n - 1)]
    assert duckdb_frame(target / "transactions.duckdb", "SELECT COUNT(*) AS n FROM transactions")["n"].item() == n
    res = engine_benchmark(tx.head(50), target, n_lookups=1, n_inserts=1, repeat=1)  # a second run replaces
    assert sqlite_rows(target / "transactions.sqlite", "SELECT COUNT(*) FROM transactions") == [(51,)]


def test_scan_scaling(tx, tmp_path):
    res = scan_scaling(tx.head(2_500), tmp_path, repeat=1)
    assert list(res.columns) == ["rows", "engine", "seconds"]
    assert res["rows"].tolist() == [100, 100, 300, 300, 1_000, 1_000, 2_500, 2_500]
    assert res["engine"].tolist() == list(ENGINES) * 4
    assert (res["seconds"] > 0).all()
    assert sorted(os.listdir(tmp_path)) == ["scan.duckdb", "scan.sqlite"]
    assert sqlite_rows(tmp_path / "scan.sqlite", "SELECT COUNT(*) FROM rows_300") == [(300,)]
    assert duckdb_frame(tmp_path / "scan.duckdb", "SELECT COUNT(*) AS n FROM rows_1000")["n"].item() == 1_000
    assert scan_scaling(tx, tmp_path, sizes=[5], repeat=1)["rows"].tolist() == [5, 5]


def test_engine_bad_input(tx, loaded, tmp_path):
    with pytest.raises(ValueError, match="engine must be one of 'sqlite', 'duckdb'; got 'postgres'"):
        load_table(tx, tmp_path / "x.db", engine="postgres")
    with pytest.raises(ValueError, match="key must name an integer column with unique values; got 'user_id'"):
        load_table(tx, tmp_path / "x.db", engine="sqlite", key="user_id")
    with pytest.raises(ValueError, match="key must name an integer column with unique values; got 'amount'"):
        engine_benchmark(tx, tmp_path, key="amount")
    with pytest.raises(ValueError, match="key must be a column of df"):
        load_table(tx, tmp_path / "x.db", engine="duckdb", key="id")
    with pytest.raises(ValueError, match="by must be a column of df"):
        engine_benchmark(tx, tmp_path, by="shop")
    with pytest.raises(TypeError, match="value must name a numeric column; got 'country'"):
        scan_scaling(tx, tmp_path, value="country")
    with pytest.raises(ValueError, match="n_lookups must be >= 1; got 0"):
        engine_benchmark(tx, tmp_path, n_lookups=0)
    with pytest.raises(ValueError, match="n_inserts must be >= 1"):
        engine_benchmark(tx, tmp_path, n_inserts=0)
    with pytest.raises(ValueError, match="repeat must be >= 1"):
        engine_benchmark(tx, tmp_path, repeat=0)
    with pytest.raises(ValueError, match="directory must be an existing directory"):
        engine_benchmark(tx, tmp_path / "missing")
    with pytest.raises(ValueError, match="sizes must be <= 5000; got 5001"):
        scan_scaling(tx, tmp_path, sizes=[10, 5_001])
    with pytest.raises(ValueError, match="sizes must be strictly increasing"):
        scan_scaling(tx, tmp_path, sizes=[100, 10])
    with pytest.raises(ValueError, match="sizes must be >= 1"):
        scan_scaling(tx, tmp_path, sizes=[0])
    with pytest.raises(TypeError, match="sizes must be a non-empty sequence"):
        scan_scaling(tx, tmp_path, sizes=[])
    with pytest.raises(ValueError, match="path must be an existing database file"):
        point_lookup(tmp_path / "none.db", [1], engine="sqlite")
    with pytest.raises(TypeError, match="keys must be an integer"):
        point_lookup(loaded["sqlite"], [1.5], engine="sqlite")
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


@pytest.mark.parametrize("change", ["rename", "add"])
def test_schema_change_scenario(tx, tmp_path, change):
    res = schema_change(tx.head(3_000), tmp_path, change=change, bad_share=0.05, random_state=4)
    assert list(res.columns) == ["day", "schema", "code", "pipeline", "records_in", "raw_rows", "clean_rows",
                                 "complete_rows", "rejected", "unused_fields", "error"]
    assert res["day"].tolist() == [1, 1, 2, 2, 3, 3] and res["pipeline"].tolist() == ["ETL", "ELT"] * 3
    events = make_raw_events(tx.head(3_000), bad_share=0.05, random_state=4)
    good = np.array([intact(e) for e in events]).reshape(3, 1_000).sum(axis=1)  # per day
    last = res.set_index(["day", "pipeline"])
    assert last.loc[(3, "ELT"), "clean_rows"] == good.sum()
    assert last.loc[(3, "ELT"), "raw_rows"] == 3_000 and last.loc[(3, "ETL"), "raw_rows"] == 0
    if change == "rename":
        assert last.loc[(2, "ETL"), "error"].startswith("schema changed")
        assert last.loc[(3, "ETL"), "clean_rows"] == good[0] + good[2]  # day 2 is lost
    else:
        assert (res["error"] == "").all()
        assert last.loc[(3, "ETL"), "clean_rows"] == good.sum()
        assert last.loc[(3, "ETL"), "complete_rows"] == good[2]  # currency lost for day 2
        assert last.loc[(3, "ELT"), "complete_rows"] == good[1:].sum()
    assert sorted(os.listdir(tmp_path)) == ["elt.duckdb", "etl.duckdb"]
    again = schema_change(tx.head(3_000), tmp_path, change=change, bad_share=0.05, random_state=4)
    pd.testing.assert_frame_equal(again, res)  # a re-run starts from fresh files


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
    with pytest.raises(ValueError, match="df must have at least 3 row"):
        schema_change(make_transactions(2, random_state=0), tmp_path)
    assert os.listdir(tmp_path) == []


def test_import_is_cheap():
    heavy = "('duckdb', 'sqlite3', 'pyarrow.parquet')"
    code = f"import sys, mlsys_course.storage; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
