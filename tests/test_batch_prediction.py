"""Tests of mlsys_course.batch_prediction: chunked Parquet scoring, the Dask client, the same scoring on Dask.

References: the model applied to the whole frame in memory (scikit-learn), and the single-process path for the
Dask one. Memory is measured in fresh processes (Arrow's pool high-water mark cannot be reset in a process).
Every test that starts Dask workers checks that none is left afterwards.
"""

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from processes import alive, child_pids
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlsys_course.batch_prediction import dask_client, predict_parquet, predict_parquet_dask
from mlsys_course.datasets import make_transactions
from mlsys_course.features import transaction_features

RAW = ["timestamp", "amount", "merchant_category", "device", "is_foreign", "user_age", "account_age_days"]
ROOT = Path(__file__).resolve().parent.parent


# --- data, model and process bookkeeping -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    return make_transactions(3_000, start="2024-05-01", end="2024-05-07", random_state=11).drop(columns="label_known_at")


@pytest.fixture(scope="module")
def model():
    train = make_transactions(6_000, random_state=3)
    return make_pipeline(FunctionTransformer(transaction_features),
                         HistGradientBoostingClassifier(max_iter=30, random_state=0)).fit(train[RAW], train["is_fraud"])


@pytest.fixture(scope="module")
def days(world, tmp_path_factory):
    """The world as a hive-partitioned dataset: one directory per day (day=2024-05-01/...)."""
    root = tmp_path_factory.mktemp("days") / "transactions"
    frame = world.assign(day=world["timestamp"].dt.strftime("%Y-%m-%d"))
    pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), root, partition_cols=["day"],
                        row_group_size=256)
    return root


def _cluster_children(before):
    """Child processes started since ``before`` that are still alive, except multiprocessing's resource tracker
    (one per interpreter, started by the first spawned process and alive until the interpreter exits)."""
    left = []
    for pid in child_pids() - before:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if alive(pid) and "resource_tracker" not in command:
            left.append(pid)
    return left


@pytest.fixture(scope="module")
def cluster():
    """One local cluster of 2 worker processes for the module; afterwards no worker may be left."""
    before = child_pids()
    with dask_client(n_workers=2, threads_per_worker=1, processes=True) as client:
        yield client
    assert _cluster_children(before) == []


def _listening(pids):
    """(host, port) of every listening TCP socket held by these processes (Linux /proc)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # state LISTEN
                host, port = fields[1].split(":")
                found.append((host, int(port, 16)))
    return found


def _scored(path, key="transaction_id"):
    return pd.read_parquet(path).sort_values(key).reset_index(drop=True)


# --- predict_parquet: correctness ---------------------------------------------------------------------------
def test_chunked_scores_equal_the_model_on_the_whole_frame(model, world, days, tmp_path):
    summary = predict_parquet(model, days, tmp_path / "scored.parquet", keep=["transaction_id", "day"], batch_rows=500)
    scored = _scored(tmp_path / "scored.parquet")
    reference = world.sort_values("transaction_id").reset_index(drop=True)
    assert summary["rows"] == len(world) and summary["files"] == 6
    assert list(scored.columns) == ["transaction_id", "day", "prediction"]
    np.testing.assert_array_equal(scored["transaction_id"], reference["transaction_id"])
    np.testing.assert_array_equal(scored["prediction"], model.predict_proba(reference[RAW])[:, 1])  # row-wise trees: exact
    np.testing.assert_array_equal(scored["day"].astype(str), reference["timestamp"].dt.strftime("%Y-%m-%d"))


@pytest.mark.parametrize("batch_rows", [1, 7, 64, 10**6])
def test_batch_size_changes_nothing_but_the_batches(batch_rows, tmp_path):
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"id": np.arange(150), "x": rng.normal(size=150), "z": rng.normal(size=150)})
    model = LogisticRegression().fit(data[["x", "z"]], (data["x"] + rng.normal(size=150) > 0).astype(int))
    (tmp_path / "in").mkdir()
    data.iloc[:100].to_parquet(tmp_path / "in" / "a.parquet", row_group_size=30)
    data.iloc[100:].to_parquet(tmp_path / "in" / "b.parquet")
    summary = predict_parquet(model, tmp_path / "in", tmp_path / "out.parquet", keep=["id"], batch_rows=batch_rows)
    scored = pd.read_parquet(tmp_path / "out.parquet")
    np.testing.assert_array_equal(scored["id"], data["id"])  # files in path order, rows in file order
    np.testing.assert_allclose(scored["prediction"], model.predict_proba(data[["x", "z"]])[:, 1], rtol=1e-12)
    assert summary == {"rows": 150, "batches": math.ceil(100 / batch_rows) + math.ceil(50 / batch_rows), "files": 2}
    groups = pq.ParquetFile(tmp_path / "out.parquet").metadata
    assert groups.num_row_groups == summary["batches"]  # written as produced: one row group per batch
    assert max(groups.row_group(i).num_rows for i in range(groups.num_row_groups)) <= batch_rows


def test_regressors_and_multiclass_models_are_scored_with_predict(tmp_path):
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"id": np.arange(90), "x": rng.normal(size=90), "z": rng.normal(size=90)})
    data.to_parquet(tmp_path / "in.parquet")
    regressor = LinearRegression().fit(data[["x", "z"]], 2 * data["x"] - data["z"])
    three = LogisticRegression().fit(data[["x", "z"]], np.digitize(data["x"], [-0.5, 0.5]))
    for name, fitted in [("reg", regressor), ("three", three)]:
        predict_parquet(fitted, tmp_path / "in.parquet", tmp_path / f"{name}.parquet", keep=["id"], batch_rows=40)
        scored = pd.read_parquet(tmp_path / f"{name}.parquet")
        np.testing.assert_array_equal(scored["prediction"], fitted.predict(data[["x", "z"]]))
    assert pd.read_parquet(tmp_path / "three.parquet")["prediction"].dtype == three.classes_.dtype
    words = LogisticRegression().fit(data[["x", "z"]], np.array(["low", "mid", "high"])[np.digitize(data["x"], [-0.5, 0.5])])
    with pytest.raises(TypeError, match="model must predict numbers"):
        predict_parquet(words, tmp_path / "in.parquet", tmp_path / "words.parquet")


def test_columns_name_the_inputs_of_a_model_fitted_without_names(tmp_path):
    data = pd.DataFrame({"z": [0.0, 1.0, 2.0, 3.0], "x": [3.0, 2.0, 1.0, 0.0]})
    data.to_parquet(tmp_path / "in.parquet")
    model = LogisticRegression().fit(data[["x", "z"]].to_numpy(), [1, 1, 0, 0])
    with pytest.raises(ValueError, match="columns must be given"):
        predict_parquet(model, tmp_path / "in.parquet", tmp_path / "a.parquet")
    predict_parquet(model, tmp_path / "in.parquet", tmp_path / "b.parquet", columns=["x", "z"])  # in the fitted order
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "b.parquet")["prediction"],
                               model.predict_proba(data[["x", "z"]].to_numpy())[:, 1])


def test_bad_input_is_refused_before_anything_is_written(model, days, tmp_path):
    (tmp_path / "taken.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match="destination must be a new path"):
        predict_parquet(model, days, tmp_path / "taken.parquet")
    with pytest.raises(ValueError, match="keep must be columns of source; got unknown \\['nope'\\]"):
        predict_parquet(model, days, tmp_path / "a.parquet", keep=["nope"])
    with pytest.raises(ValueError, match="output must differ from the kept columns"):
        predict_parquet(model, days, tmp_path / "a.parquet", keep=["amount"], output="amount")
    with pytest.raises(ValueError, match="model must be a fitted estimator"):
        predict_parquet(HistGradientBoostingClassifier(), days, tmp_path / "a.parquet")
    (tmp_path / "notes.txt").write_text("not parquet")
    with pytest.raises(ValueError, match="source must be a Parquet file"):
        predict_parquet(model, tmp_path / "notes.txt", tmp_path / "a.parquet")
    assert not (tmp_path / "a.parquet").exists()


# --- predict_parquet: memory stays flat as the data grows ---------------------------------------------------------
_CHILD = textwrap.dedent("""
    import json, pickle, sys, tracemalloc
    import pyarrow as pa, pyarrow.parquet as pq
    from mlsys_course.batch_prediction import predict_parquet
    model_path, how, *sources = sys.argv[1:]
    model = pickle.load(open(model_path, "rb"))   # written by this test run
    tracemalloc.start()
    peaks = []
    for k, source in enumerate(sources):  # in order of growing need: Arrow's high-water mark can only rise
        tracemalloc.reset_peak()
        destination = f"{model_path}-{how}-{k}.parquet"
        if how == "chunks":
            predict_parquet(model, source, destination, keep=["transaction_id"], batch_rows=1024)
        else:  # read everything, then score
            frame = pq.read_table(source).to_pandas()
            scores = model.predict_proba(frame[list(model.feature_names_in_)])[:, 1]
            frame[["transaction_id"]].assign(prediction=scores).to_parquet(destination)
        peaks.append({"arrow": pa.default_memory_pool().max_memory(), "numpy": tracemalloc.get_traced_memory()[1]})
    print(json.dumps(peaks))
""")


def test_chunked_peak_memory_stays_flat_as_the_data_grows_eightfold(model, tmp_path):
    """1x, 8x as eight files, 8x as one file (row groups of 1,024 rows): the chunked path's peak stays flat,
    while reading everything at once grows with the data (which shows the measurement can see growth)."""
    import pickle

    base = make_transactions(4_096, start="2024-05-01", end="2024-05-02", random_state=5).drop(columns="label_known_at")
    sources = {"1x": tmp_path / "1x", "8x files": tmp_path / "8x-files", "8x one file": tmp_path / "8x-one"}
    for path in sources.values():
        path.mkdir()
    base.to_parquet(sources["1x"] / "part-0.parquet", row_group_size=1_024)
    for i in range(8):
        base.assign(transaction_id=base["transaction_id"] + i * len(base)).to_parquet(
            sources["8x files"] / f"part-{i}.parquet", row_group_size=1_024)
    pd.concat([base] * 8, ignore_index=True).to_parquet(sources["8x one file"] / "part-0.parquet", row_group_size=1_024)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    runs = {"chunks": [sources["1x"], sources["8x files"], sources["8x one file"]],
            "all": [sources["1x"], sources["8x files"]]}
    children = {how: subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "model.pkl"), how, *map(str, paths)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
                for how, paths in runs.items()}
    peaks = {}
    for how, child in children.items():
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        peaks[how] = json.loads(out)
    (one, files, one_file), (all_one, all_files) = peaks["chunks"], peaks["all"]
    batch_bytes = pq.read_table(sources["1x"] / "part-0.parquet", columns=["transaction_id", *RAW]).slice(0, 1_024).nbytes
    for eight in (files, one_file):
        assert eight["arrow"] <= 1.25 * one["arrow"], peaks  # not 8x: flat
        assert eight["numpy"] <= 1.25 * one["numpy"], peaks
        assert eight["arrow"] <= 8 * batch_bytes, (peaks, batch_bytes)  # a few batches, not the data
        assert all_files["arrow"] + all_files["numpy"] >= 5 * (eight["arrow"] + eight["numpy"]), peaks
    assert all_files["arrow"] + all_files["numpy"] >= 4 * (all_one["arrow"] + all_one["numpy"]), peaks  # ~8x


# --- dask_client ---------------------------------------------------------------------------------------------
def test_local_cluster_is_on_loopback_quiet_and_gone_after_the_block(capfd):
    before = child_pids()
    with dask_client(n_workers=2, processes=True) as client:
        info = client.scheduler_info()
        workers = _cluster_children(before)
        sockets = _listening([os.getpid(), *workers])
        assert client.submit(sum, [1, 2, 3]).result() == 6
    assert _cluster_children(before) == []
    assert len(workers) == 2  # two worker processes while it ran
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert all(address.startswith("tcp://127.0.0.1:") for address in info["workers"])
    assert len(sockets) >= 5  # scheduler, its HTTP endpoint, 2 workers and their nannies ...
    assert {host for host, _ in sockets} == {"0100007F"}, sockets  # ... all on 127.0.0.1, none on every interface
    assert 8787 not in {port for _, port in sockets}  # no dashboard on Dask's default port
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # nothing on stdout or stderr (a notebook would show it)


def test_the_cluster_is_closed_when_the_block_raises():
    before = child_pids()
    with pytest.raises(ZeroDivisionError):
        with dask_client(n_workers=1, processes=True) as client:
            client.submit(sum, [1]).result()
            1 / 0
    assert _cluster_children(before) == []


def test_the_client_is_not_made_the_default_scheduler():
    with dask_client(n_workers=1, processes=False):
        assert dask.config.get("scheduler", None) in (None, "threads", "sync")
        from distributed import default_client

        with pytest.raises(ValueError):
            default_client()  # no client was registered as the default


def test_dasks_scheduler_address_setting_points_the_same_code_at_an_existing_cluster(cluster):
    address = cluster.scheduler.address
    before = child_pids()
    with dask.config.set({"scheduler-address": address}):
        with dask_client(n_workers=5) as client:  # the local-cluster arguments do not apply
            assert client.scheduler.address == address
            assert len(client.scheduler_info()["workers"]) == 2
    assert child_pids() - before == set()  # no cluster was started
    assert cluster.submit(sum, [2, 2]).result() == 4  # and the existing one still runs


def test_the_environment_variable_sets_the_address_in_a_fresh_process(cluster):
    code = ("from mlsys_course.batch_prediction import dask_client\n"
            "with dask_client() as client:\n"
            "    print(client.scheduler.address, len(client.scheduler_info()['workers']))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_SCHEDULER_ADDRESS": cluster.scheduler.address}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [cluster.scheduler.address, "2"]


def test_an_address_with_no_scheduler_fails_within_the_timeout():
    with pytest.raises(OSError):
        with dask_client("tcp://127.0.0.1:9", timeout=1.0):
            pass


# --- predict_parquet_dask ----------------------------------------------------------------------------------
@pytest.mark.parametrize("partitions", [None, 1, 4, 11])
def test_dask_scores_equal_the_single_process_path(cluster, model, days, partitions, tmp_path):
    predict_parquet(model, days, tmp_path / "single.parquet", keep=["transaction_id", "day"], batch_rows=700)
    summary = predict_parquet_dask(model, days, tmp_path / "dask", client=cluster, keep=["transaction_id", "day"],
                                   partitions=partitions)
    single, spread = _scored(tmp_path / "single.parquet"), _scored(tmp_path / "dask")
    assert summary["rows"] == len(single)
    if partitions is not None:  # by default Dask decides (it may combine small files)
        assert summary["partitions"] == partitions
    assert len(list((tmp_path / "dask").glob("*.parquet"))) == summary["partitions"]
    np.testing.assert_array_equal(spread["transaction_id"], single["transaction_id"])
    np.testing.assert_array_equal(spread["prediction"], single["prediction"])  # identical, not merely close
    np.testing.assert_array_equal(spread["day"].astype(str), single["day"].astype(str))


def test_dask_path_checks_its_arguments_before_running(cluster, model, days, tmp_path):
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        predict_parquet_dask(model, days, tmp_path / "a", client="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="partitions must be >= 1"):
        predict_parquet_dask(model, days, tmp_path / "a", client=cluster, partitions=0)
    with pytest.raises(ValueError, match="columns must be columns of source"):
        predict_parquet_dask(model, days, tmp_path / "a", client=cluster, columns=["nope"])
    assert not (tmp_path / "a").exists()
