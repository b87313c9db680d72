"""Chapter 3's lab drivers: short checks (the notebook exercises them at full size)."""

import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_course._processes import spawn
from mlsys_course.datasets import make_transactions
from mlsys_course.lab import ch03
from mlsys_course.lab.ch03 import (
    FORMATS,
    database_roundtrip,
    engine_benchmark,
    format_benchmark,
    machine,
    model_benchmark,
    ratio_bucket,
    run_pubsub,
    run_queue,
    scan_scaling,
    schema_change,
    staleness_report,
    text_vs_binary,
    time_arms,
)
from mlsys_course.exercises import evaluate
from mlsys_course.storage import load_orders, make_orders, make_raw_events

from processes import alive

T0 = np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
SECOND = 1_000_000_000


@pytest.fixture(scope="module")
def tx():
    return make_transactions(5_000, random_state=0)


# --- formats ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tx, tmp_path_factory):
    directory = tmp_path_factory.mktemp("formats")
    return directory, format_benchmark(tx, directory, FORMATS, columns=["amount", "is_fraud"], repeat=1)


def reference_read(path, fmt):
    """Readers other than the arms': pandas' default JSON parser, pyarrow's own."""
    return {"jsonl": lambda: pd.read_json(path, lines=True), "csv": lambda: pd.read_csv(path),
            "parquet": lambda: pq.read_table(path).to_pandas(), "feather": lambda: feather.read_table(path).to_pandas()}[fmt]()


def test_format_benchmark_sizes_dtypes_and_round_trips(tx, written):
    directory, res = written
    assert list(res.columns) == ["format", "bytes", "write_s", "read_all_s", "read_columns_s", "dtypes_kept", "values_kept"]
    size = res.set_index("format")["bytes"]
    assert size["parquet"] < size["csv"] < size["jsonl"]
    assert all(size[f] == os.path.getsize(directory / f"data.{f}") for f in FORMATS)
    assert res.set_index("format")["dtypes_kept"].to_dict() == {"jsonl": False, "csv": False, "parquet": True, "feather": True}
    assert res["values_kept"].all()
    for fmt, (_, read) in FORMATS.items():
        path = directory / f"data.{fmt}"
        for back in (reference_read(path, fmt), read(path, None)):
            pd.testing.assert_frame_equal(back.astype(tx.dtypes.to_dict()), tx)
        pd.testing.assert_frame_equal(read(path, ["is_fraud", "amount"]), tx[["is_fraud", "amount"]])


def test_values_kept_detects_json_rounding(tmp_path):
    df = pd.DataFrame({"x": np.arange(1, 6) / 3, "k": np.arange(5)}, index=[10, 11, 12, 13, 14])
    res = format_benchmark(df, tmp_path, repeat=1).set_index("format")
    assert res["values_kept"].to_dict() == {"jsonl": False, "csv": True, "parquet": True}  # JSON: 10 digits
    assert sorted(os.listdir(tmp_path)) == ["data.csv", "data.jsonl", "data.parquet"]


def test_format_benchmark_bad_arguments(tx, tmp_path):
    with pytest.raises(TypeError, match="formats must be a non-empty dict of name -> \\(write, read\\)"):
        format_benchmark(tx.head(10), tmp_path, ["csv"])
    with pytest.raises(TypeError, match="formats must map a name to"):
        format_benchmark(tx.head(10), tmp_path, {"csv": FORMATS["csv"][0]})
    with pytest.raises(ValueError, match="columns must be columns of df; got unknown \\['nope'\\]"):
        format_benchmark(tx.head(10), tmp_path, columns=["amount", "nope"])
    with pytest.raises(ValueError, match="directory must be an existing directory"):
        format_benchmark(tx.head(10), tmp_path / "missing")
    assert os.listdir(tmp_path) == []


def test_text_vs_binary():
    res = text_vs_binary([1_000_000]).set_index("encoding")
    assert res.loc["text (CSV)", "bytes"] == len("1000000\n") and res.loc["int32", "bytes"] == 4
    values = np.arange(100_000) % 7
    res = text_vs_binary(values).set_index("encoding")
    assert res.loc["text (CSV)", "bytes"] == 2 * len(values) and res.loc["parquet", "bytes"] < res.loc["int32", "bytes"]
    exact = lambda v: text_vs_binary(v).set_index("encoding")["exact"].to_dict()  # noqa: E731
    assert exact([0.1]) == {"text (CSV)": True, "int32": False, "int64": False, "float32": False, "float64": True, "parquet": True}
    assert exact([2**31])["int32"] is False and exact([2**24 + 1])["float32"] is False and exact([2**24])["float32"] is True
    with pytest.raises(ValueError, match="values must be finite"):
        text_vs_binary([1.0, np.nan])


def test_time_arms():
    res = time_arms({"fast": lambda: None, "slow": lambda: time.sleep(0.002)}, repeat=2)
    assert res.index.tolist() == ["fast", "slow"] and res.loc["fast", "slowdown"] == 1.0
    assert res.loc["slow", "seconds"] >= 0.002
    with pytest.raises(TypeError, match="arms must be a non-empty dict"):
        time_arms([lambda: None])


# --- data models and storage engines ----------------------------------------------------------------------


def test_model_benchmark(tmp_path):
    db = load_orders(make_orders(200, random_state=1), tmp_path / "shop.sqlite")
    res = model_benchmark(db, n_fetches=20, repeat=2)
    assert res["operations"].tolist() == [20, 20, 1, 1] and (res["seconds"] > 0).all()
    np.testing.assert_allclose(res["per_op_ms"], 1000 * res["seconds"] / res["operations"])
    with pytest.raises(ValueError, match="db must be the file written by storage.load_orders"):
        model_benchmark(tmp_path / "missing.sqlite")


def test_engine_benchmark_writes_only_its_files_and_inserts_land(tx, tmp_path, monkeypatch):
    cwd, target = tmp_path / "cwd", tmp_path / "target"
    cwd.mkdir()
    target.mkdir()
    monkeypatch.chdir(cwd)
    res = engine_benchmark(tx, target, n_lookups=30, n_inserts=4, repeat=2, random_state=0)
    assert res["engine"].tolist() == ["sqlite"] * 4 + ["duckdb"] * 4
    assert res["operations"].tolist() == [len(tx), 30, 4, 1] * 2 and (res["seconds"] > 0).all()
    assert sorted(os.listdir(target)) == ["transactions.duckdb", "transactions.sqlite"] and os.listdir(cwd) == []
    from mlsys_course.storage import point_lookup

    for engine in ("sqlite", "duckdb"):  # the 2 x 4 inserted copies are there, with new keys
        got = point_lookup(target / f"transactions.{engine}", range(len(tx), len(tx) + 9), engine=engine)
        assert got["transaction_id"].tolist() == list(range(len(tx), len(tx) + 8))


def test_scan_scaling(tx, tmp_path):
    res = scan_scaling(tx.head(2_500), tmp_path, repeat=1)
    assert res["rows"].tolist() == [100, 100, 300, 300, 1_000, 1_000, 2_500, 2_500]
    assert (res["seconds"] > 0).all() and sorted(os.listdir(tmp_path)) == ["scan.duckdb", "scan.sqlite"]
    with pytest.raises(ValueError, match="sizes must be strictly increasing"):
        scan_scaling(tx, tmp_path, sizes=[100, 10])
    with pytest.raises(TypeError, match="value must name a numeric column; got 'country'"):
        scan_scaling(tx, tmp_path, value="country")


@pytest.mark.parametrize("change", ["rename", "add"])
def test_schema_change_scenario(tx, tmp_path, change):
    res = schema_change(tx.head(3_000), tmp_path, change=change, bad_share=0.05, random_state=4)
    assert res["day"].tolist() == [1, 1, 2, 2, 3, 3] and res["pipeline"].tolist() == ["ETL", "ELT"] * 3
    events = make_raw_events(tx.head(3_000), bad_share=0.05, random_state=4)
    intact = [("id" in e and e["ts"] != "not a time" and e["amount"] is not None and e["amount"] > 0) for e in events]
    good = np.array(intact).reshape(3, 1_000).sum(axis=1)  # per day
    last = res.set_index(["day", "pipeline"])
    assert last.loc[(3, "ELT"), "clean_rows"] == good.sum()
    if change == "rename":
        assert last.loc[(2, "ETL"), "error"].startswith("schema changed")
        assert last.loc[(3, "ETL"), "clean_rows"] == good[0] + good[2]  # day 2 is lost
    else:
        assert (res["error"] == "").all()
        assert last.loc[(3, "ETL"), "complete_rows"] == good[2]  # currency lost for day 2
        assert last.loc[(3, "ELT"), "complete_rows"] == good[1:].sum()
    again = schema_change(tx.head(3_000), tmp_path, change=change, bad_share=0.05, random_state=4)
    pd.testing.assert_frame_equal(again, res)  # a re-run starts from fresh files


# --- dataflow -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_process_left_behind")
def test_database_roundtrip(tmp_path):
    df = pd.DataFrame({"sensor": ["a", "b"], "reading": [0.5, 1.5]})
    back, ms = database_roundtrip(df, tmp_path, table="readings")
    pd.testing.assert_frame_equal(back, df)
    assert ms.index.tolist() == ["start_writer", "write_and_commit", "read"] and (ms > 0).all()


@pytest.mark.usefixtures("no_process_left_behind")
def test_pubsub_every_subscriber_gets_every_message_in_order():
    run = run_pubsub(3000, n_subscribers=2, payload_bytes=10)
    for ids in run.received.values():
        np.testing.assert_array_equal(ids, np.arange(3000))  # all of them, in publication order
    assert run.counts.share.tolist() == [1.0] * 2
    assert run.deliveries_per_second == pytest.approx(2 * run.messages_per_second)
    assert not any(alive(pid) for pid in run.pids.values())


@pytest.mark.usefixtures("no_process_left_behind")
def test_queue_each_message_goes_to_exactly_one_worker():
    run = run_queue(2000, n_workers=2, high_water_mark=10)  # a small high-water mark waits, never drops
    everything = np.concatenate(list(run.received.values()))
    np.testing.assert_array_equal(np.sort(everything), np.arange(2000))  # no loss, no duplicate
    assert all(len(ids) > 0 for ids in run.received.values())
    assert run.deliveries_per_second == pytest.approx(run.messages_per_second)


@pytest.mark.usefixtures("no_process_left_behind")
def test_timeouts_and_crashes_stop_every_consumer(monkeypatch):
    with pytest.raises(TimeoutError, match="subscribers subscribed in time"):
        run_pubsub(100, n_subscribers=2, timeout=0.01)

    def spawn_broken(module, *args, **kwargs):
        return spawn(module, *args, "--no-such-option", **kwargs)

    monkeypatch.setattr(ch03, "spawn", spawn_broken)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="(?s)exited with code 2.*unrecognized arguments: --no-such-option"):
        run_queue(100, n_workers=2, timeout=60)
    assert time.monotonic() - start < 30  # failed fast, not at the 60 s timeout


def test_a_consumer_exits_when_its_parent_dies():
    script = (
        "from mlsys_course._processes import spawn; import os; "
        "p = spawn('mlsys_course.lab.ch03', 'consume', '--pattern', 'queue', '--consumer', '0', "
        "'--data', 'tcp://127.0.0.1:9', '--results', 'tcp://127.0.0.1:9', '--timeout', '60'); "
        "print(p.pid, flush=True); os._exit(0)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True)
    orphan = int(out.stdout)
    deadline = time.monotonic() + 10
    while alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(orphan)


def test_transport_bad_input():
    with pytest.raises(ValueError, match="n_messages must be >= 1; got 0"):
        run_pubsub(0)
    with pytest.raises(ValueError, match="n_workers must be <= 64; got 65"):
        run_queue(10, n_workers=65)


# --- staleness ------------------------------------------------------------------------------------------


def frame(keys, t_ns, **extra):
    return pd.DataFrame({"user_id": keys, "timestamp": np.asarray(t_ns, dtype=np.int64).view("datetime64[ns]"), **extra})


def jobs_reference(t, w, closed, refresh):
    """Enumerate every job from the first row's refresh to the last row's; count the events each reads."""
    def in_window(tj, r):
        return (r - w < tj if closed == "right" else r - w <= tj) and tj < r

    boundaries = range(t[0] // refresh * refresh, t[-1] // refresh * refresh + 1, refresh)
    return len(boundaries), sum(sum(1 for tj in t if in_window(tj, r)) for r in boundaries)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from([0, 1, 59, 60, 299, 600, 601, 3600, 86_400]), min_size=1, max_size=30),
    st.sampled_from(["1s", "1min", "7min", "1h", "1D"]),
    st.sampled_from(["right", "both"]),
)
def test_job_costs_match_the_definition(gaps, refresh, closed):
    t = T0 + np.cumsum(gaps) * SECOND
    report = staleness_report(frame(np.zeros(len(t), dtype=int), t), refreshes=[refresh], closed=closed, label=None)
    w, r = pd.Timedelta("10min").value, pd.Timedelta(refresh).value
    assert report.iloc[0][["jobs", "rows_scanned"]].tolist() == list(jobs_reference(t, w, closed, r))


def test_staleness_report_on_a_handmade_burst():
    t = T0 + (10 * 3600 + np.array([-3000, 60, 120, 180, 240, 300])) * SECOND
    report = staleness_report(frame([1] * 6, t, is_fraud=[0, 1, 1, 1, 1, 1]), refreshes=["1min", "1h"])
    assert report.loc["1h", "share_fraud_wrong"] == 0.8 and report.loc["1h", "share_burst_wrong"] == 1.0
    assert report.loc["1h", "mae"] == pytest.approx(10 / 6) and report.loc["1min", "mae"] == 0.0
    # the 10:00 job saw nothing in its window: the burst rows after 10:01 are too low, none too high
    assert report.loc["1h", "share_under"] == pytest.approx(4 / 6) and report.loc["1h", "share_over"] == 0.0
    # 09:59, then 10:09:59: the 10:00 job counted 09:59, which has left the window by 10:09:59 (too high);
    # the 10:09 job of a one-minute refresh no longer counts it
    late = T0 + (10 * 3600 + np.array([-60, 599])) * SECOND
    over = staleness_report(frame([1, 1], late), refreshes=["1h", "1min"], label=None)
    assert over.loc["1h", "share_over"] == 0.5 and over.loc["1min", "share_over"] == 0.0
    assert (over["share_under"] + over["share_over"] == over["share_wrong"]).all()
    no_burst = staleness_report(frame([1, 1], t[:2]), refreshes=["1h"], label=None)
    assert np.isnan(no_burst.loc["1h", "share_burst_wrong"]) and "share_fraud_wrong" not in no_burst
    with pytest.raises(ValueError, match="must not repeat"):
        staleness_report(frame([1], t[:1], is_fraud=[0]), refreshes=["1h", "60min"])
    with pytest.raises(ValueError, match="label must be a column of df"):
        staleness_report(frame([1], t[:1]))


def test_case_study_staleness_grows_with_the_refresh_interval():
    world = make_transactions(30_000, random_state=0)
    report = staleness_report(world, refreshes=(np.timedelta64(60, "s"), "10min", "1h", "1D"))
    assert report.index.tolist() == ["1min", "10min", "1h", "1D"]
    assert report["share_burst_wrong"].is_monotonic_increasing and report.loc["1D", "share_burst_wrong"] > 0.9
    assert report["jobs"].is_monotonic_decreasing and report["rows_scanned"].is_monotonic_decreasing


def test_case_study_over_counting_explains_the_non_monotone_share():
    report = staleness_report(make_transactions(30_000, random_state=0), refreshes=("1min", "10min", "1h", "1D"))
    assert report["share_under"].is_monotonic_increasing  # missed events only grow with the interval
    assert report.loc["1h", "share_over"] > report.loc["1D", "share_over"]  # a midnight job has little to expire
    np.testing.assert_allclose(report["share_under"] + report["share_over"], report["share_wrong"])


def test_ratio_bucket_and_machine():
    assert [ratio_bucket(r) for r in (0, 1.99, 2, 9.9, 10, 99, 100, 1e6)] == [
        "under 2x", "under 2x", "2-10x", "2-10x", "10-100x", "10-100x", "100x or more", "100x or more"]
    with pytest.raises(ValueError, match="ratio"):
        ratio_bucket(-1.0)
    assert "pandas" in machine() and "DuckDB" in machine() and "cores" in machine()


# --- exercises: reference answers pass on a fresh world, wrong ones get a verdict --------------------------


def alarm(before, after):
    new_rows = after["raw_rows"].item() - before["raw_rows"].item()
    return bool(after["rejected"].item() - before["rejected"].item() > 0.2 * max(new_rows, 1))


def test_exercise_3_3_elt_alarm():
    assert evaluate("3.3", alarm)
    assert "5% malformed" in evaluate("3.3", lambda b, a: bool(a["rejected"].item() > b["rejected"].item())).message
    assert "stayed silent" in evaluate("3.3", lambda b, a: False).message
    assert "True or False" in evaluate("3.3", lambda b, a: "yes").message
    assert "raised KeyError" in evaluate("3.3", lambda b, a: a["nope"]).message
    assert not evaluate("3.3", 0.2)


def test_exercise_3_4_training_storage():
    assert evaluate("3.4", (lambda df, p: df.to_parquet(p, index=False), lambda p, c: pd.read_parquet(p, columns=c)))
    csv = evaluate("3.4", (lambda df, p: df.to_csv(p, index=False), lambda p, c: pd.read_csv(p, usecols=c)[c]))
    assert "types were lost" in csv.message
    pickle = evaluate("3.4", (lambda df, p: df.to_pickle(p), lambda p, c: pd.read_pickle(p)[c]))
    assert "more than half the CSV" in pickle.message
    assert "exactly those columns" in evaluate("3.4", (lambda df, p: df.to_parquet(p), lambda p, c: pd.read_parquet(p))).message
    assert not evaluate("3.4", pd.read_parquet)


def test_exercise_3_5_revenue_by_country():
    sql = """SELECT c.country, SUM(i.quantity * i.unit_price) AS revenue FROM order_items AS i
             JOIN orders AS o ON o.order_id = i.order_id JOIN customers AS c ON c.customer_id = o.customer_id
             GROUP BY c.country ORDER BY c.country"""
    assert evaluate("3.5", sql)
    assert "differs" in evaluate("3.5", sql.replace("i.quantity * i.unit_price", "i.unit_price")).message
    assert "alphabetical" in evaluate("3.5", sql.replace("ORDER BY c.country", "ORDER BY revenue")).message
    assert "columns country, revenue" in evaluate("3.5", sql.replace("AS revenue", "AS total")).message
    verdict = evaluate("3.5", "SELEC")
    assert not verdict and "failed" in verdict.message and "\n" not in verdict.message
