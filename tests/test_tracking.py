"""Tests for mlsys_course.tracking: MLflow stores through the public client, no global side effects, run round-trips."""

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

# MLflow decides at import whether to send usage data: tell it not to before the import below.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
mlflow = pytest.importorskip("mlflow")

from mlsys_course import tracking  # noqa: E402
from mlsys_course.tracking import best_run, data_fingerprint, load_model, log_run, runs, tracking_store  # noqa: E402


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] + 0.5 * X["b"] > 0).astype(int)
    return X, y


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No shared tracking server, and an empty working directory."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _global_state():
    """What a recipe must leave alone: the environment, every logger's level, MLflow's global tracking state."""
    levels = {name: logger.level for name, logger in logging.root.manager.loggerDict.items() if isinstance(logger, logging.Logger)}
    return dict(os.environ), {**levels, "": logging.getLogger().level}, mlflow.is_tracking_uri_set(), mlflow.active_run()


def test_import_does_not_import_mlflow():
    code = "import sys, mlsys_course.tracking; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_temporary_store_round_trip(clean_env, data, capfd):
    X, y = data
    weak = LogisticRegression(C=0.001).fit(X, y)
    strong = make_pipeline(FunctionTransformer(), HistGradientBoostingClassifier(max_iter=10)).fit(X, y)
    env, levels, uri_set, active = _global_state()
    with tracking_store() as uri:
        assert uri.startswith("sqlite:///") and uri.endswith("/mlflow.db")
        store_dir = Path(uri.removeprefix("sqlite:///")).parent
        capfd.readouterr()  # creating a new store's tables logs MLflow's INFO lines (MLFLOW_LOGGING_LEVEL quiets them)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            id_weak = log_run(weak, params={"C": 0.001}, metrics={"accuracy": 0.5}, X_train=X, y_train=y,
                              run_name="weak", log_model=False)
            id_strong = log_run(strong, params={"C": np.float64(1.0), "penalty": "l2", "extra": None},
                                metrics={"accuracy": np.float32(0.875), "loss": 0.3}, X_train=X, y_train=y, run_name="strong")
            table = runs()
            best = best_run(metric="accuracy")
            worst = best_run(metric="accuracy", maximize=False)
            loaded = load_model(id_strong)
        out, err = capfd.readouterr()
        assert out == "" and err == ""  # logging and querying runs print nothing
        assert [str(w.message) for w in caught] == []
        artifacts = list((store_dir / "artifacts").rglob("*"))
        inside = _global_state()
    # neither inside the block nor after it: the environment, MLflow's global tracking URI and active run, and the
    # levels of the loggers that existed before (MLflow's own imports may add new loggers) are as they were
    for env_now, levels_now, uri_set_now, active_now in (inside, _global_state()):
        assert env_now == env and uri_set_now == uri_set and active_now is active is None
        assert {name: levels_now[name] for name in levels} == levels
    assert "mlflow" in levels

    assert list(table.columns) == ["run_id", "run_name", "params.C", "params.extra", "params.penalty",
                                   "metrics.accuracy", "metrics.loss", "data_fingerprint"]
    assert table["run_id"].tolist() == [id_weak, id_strong]
    assert table["run_name"].tolist() == ["weak", "strong"]
    assert table["params.C"].tolist() == ["0.001", "1.0"]
    assert table["params.extra"].tolist()[1] == "None" and pd.isna(table["params.extra"].iloc[0])
    assert table["metrics.accuracy"].tolist() == [0.5, 0.875]
    assert np.isnan(table["metrics.loss"].iloc[0])
    assert (table["data_fingerprint"] == data_fingerprint(X, y)).all()
    assert best["run_id"] == id_strong and best["metrics.accuracy"] == 0.875
    assert worst["run_id"] == id_weak
    np.testing.assert_array_equal(loaded.predict_proba(X), strong.predict_proba(X))
    assert any(p.name == "MLmodel" for p in artifacts)

    assert not store_dir.exists()
    assert list(clean_env.iterdir()) == []
    with pytest.raises(RuntimeError, match="tracking_store"):
        runs()
    assert tracking._OPEN_STORES == []


def test_directory_store_shared_uri_and_clear_errors(clean_env, tmp_path, data, monkeypatch):
    X, y = data
    store = tmp_path / "store"
    model = LogisticRegression().fit(X, y)
    with tracking_store(store) as uri:
        assert uri == f"sqlite:///{store / 'mlflow.db'}"
        run_id = log_run(model, params={}, metrics={"accuracy": 1.0}, X_train=X, experiment="my exp/1")
        no_model = log_run(model, params={}, metrics={"accuracy": 0.5}, X_train=X, experiment="my exp/1", log_model=False)
    assert (store / "mlflow.db").is_file() and (store / "artifacts").is_dir()

    # the same database as a "shared server": MLFLOW_TRACKING_URI is used unchanged, with or without a store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert runs("my exp/1")["run_id"].tolist() == [run_id, no_model]
    with tracking_store() as shared:
        assert shared == uri
        np.testing.assert_array_equal(load_model(run_id).predict(X), model.predict(X))

        # clear errors naming what was asked
        with pytest.raises(ValueError, match=r"experiment must name an existing experiment; got 'nope' \(known: \['Default', 'my exp/1'\]\)"):
            runs("nope")
        with pytest.raises(ValueError, match=r"metric must be a metric logged in experiment 'my exp/1' \(known: \['accuracy'\]\); got 'f1'"):
            best_run("my exp/1", metric="f1")
        with pytest.raises(ValueError, match="run_id must be a run of the open tracking store; got '0+'"):
            load_model("0" * 32)
        with pytest.raises(ValueError, match="run_id must be a run that logged a model"):
            load_model(no_model)
        with pytest.raises(ValueError, match="model must be fitted"):
            log_run(LogisticRegression(), params={}, metrics={}, X_train=X, experiment="my exp/1")
        # a run is logged whole or not at all
        with pytest.raises(ValueError, match="model could not be saved"):
            log_run(make_pipeline(FunctionTransformer(lambda Z: Z), LogisticRegression()).fit(X, y),
                    params={}, metrics={"accuracy": 0.1}, X_train=X, experiment="my exp/1")
        assert runs("my exp/1")["run_id"].tolist() == [run_id, no_model]
        client = mlflow.MlflowClient(tracking_uri=uri)
        client.delete_experiment(client.get_experiment_by_name("my exp/1").experiment_id)
        with pytest.raises(ValueError, match="experiment 'my exp/1' was deleted"):
            runs("my exp/1")
        with pytest.raises(ValueError, match="experiment 'my exp/1' was deleted"):
            log_run(model, params={}, metrics={}, X_train=X, experiment="my exp/1")
    assert list(clean_env.iterdir()) == []


def test_fingerprint_golden_value():
    """The canonical byte form is fixed: a change of this value changes every logged fingerprint."""
    X = pd.DataFrame({"amount": [1.0, 2.5, np.nan], "merchant": ["x", "y", None], "n": [1, 2, 3]})
    assert data_fingerprint(X, [0, 1, 0]) == "49290e8dcccdcaea"
    assert data_fingerprint(np.arange(6.0).reshape(2, 3)) == "cb0bc660062c7673"
    # the same text in pandas' object dtype, its string dtype or as categories: the same data
    for merchant in (pd.array(["x", "y", None], dtype=object), pd.array(["x", "y", None], dtype="string"),
                     pd.Categorical(["x", "y", None])):
        assert data_fingerprint(X.assign(merchant=merchant), [0, 1, 0]) == "49290e8dcccdcaea"


def test_fingerprint_byte_form_of_an_array():
    """The documented layout, rebuilt by hand: length-prefixed fields, shape, dtype, raw little-endian values."""
    import hashlib
    import struct

    def field(data):
        return struct.pack("<Q", len(data)) + data

    arr = np.arange(6.0).reshape(2, 3)
    form = (field(b"mlsys-course data fingerprint 1") + field(b"X") + field(b"array") + struct.pack("<Q", 2)
            + struct.pack("<2Q", 2, 3) + field(b"<f8") + arr.astype("<f8").tobytes() + field(b"y") + field(b"none"))
    assert data_fingerprint(arr) == hashlib.sha256(form).hexdigest()[:16]


def test_fingerprint_sees_every_change_and_nothing_else():
    X = pd.DataFrame({"a": [1.0, 2.5, 3.0], "b": ["x", "y", "z"]})
    base = data_fingerprint(X, [0, 1, 0])
    assert len(base) == 16 and int(base, 16) >= 0
    # not data: the row index, byte order, memory layout, the container of y
    assert data_fingerprint(X.set_axis([7, 8, 9]), [0, 1, 0]) == base
    assert data_fingerprint(X, np.array([0, 1, 0])) == data_fingerprint(X, [0, 1, 0])
    arr = np.arange(6.0).reshape(2, 3)
    assert data_fingerprint(arr) == data_fingerprint(arr.astype(">f8")) == data_fingerprint(np.asfortranarray(arr))
    changed_value = X.copy()
    changed_value.loc[1, "a"] = 2.50001
    changed_text = X.copy()
    changed_text.loc[2, "b"] = "w"
    variants = [
        data_fingerprint(changed_value, [0, 1, 0]),
        data_fingerprint(changed_text, [0, 1, 0]),
        data_fingerprint(X.rename(columns={"a": "A"}), [0, 1, 0]),
        data_fingerprint(X.astype({"a": "float32"}), [0, 1, 0]),
        data_fingerprint(X[["b", "a"]], [0, 1, 0]),
        data_fingerprint(X, [0, 1, 1]),
        data_fingerprint(X),
        data_fingerprint(X.iloc[:2], [0, 1]),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert data_fingerprint(arr.ravel()) != data_fingerprint(arr)
    assert data_fingerprint(np.array(["1"])) != data_fingerprint(np.array([1]))
    assert data_fingerprint(pd.Series([1, 2], name="a")) != data_fingerprint(pd.Series([1, 2], name="b"))


def test_fingerprint_unusual_but_valid_inputs():
    dates = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", None]), "d": [pd.Timedelta("1D"), pd.NaT]})
    assert data_fingerprint(dates) == data_fingerprint(dates.copy())
    assert data_fingerprint(dates) != data_fingerprint(dates.assign(t=dates["t"].dt.tz_localize("UTC")))
    assert data_fingerprint(pd.Series([1, None], dtype="Int64")) == data_fingerprint(pd.Series([1, None], dtype="Int64"))
    assert data_fingerprint(np.array([np.nan, 1.0])) == data_fingerprint(np.array([-np.nan, 1.0]))
    assert data_fingerprint(np.array(["a", None], dtype=object)) == data_fingerprint(np.array(["a", None], dtype=object))
    assert len(data_fingerprint(pd.DataFrame({("a", 1): [1], 2: [3]}), range(1))) == 16


def test_fingerprint_bad_input():
    with pytest.raises(TypeError, match="X must be an array-like"):
        data_fingerprint(None)
    with pytest.raises(TypeError, match="y must be an array-like"):
        data_fingerprint([1, 2], "ab")
    with pytest.raises(TypeError, match="X must be an array-like"):
        data_fingerprint(np.float64(3.0))
    with pytest.raises(TypeError, match="X must be an array-like"):
        data_fingerprint([[1], [1, 2]])
    with pytest.raises(TypeError, match=r"X\['a'\] holds a value of type dict"):
        data_fingerprint(pd.DataFrame({"a": [{"k": 1}]}))
    with pytest.raises(ValueError, match="y must have one label per row of X; got 3 labels for 2 rows"):
        data_fingerprint(np.zeros((2, 1)), [0, 1, 0])
    with pytest.raises(TypeError, match="must be dense"):
        from scipy.sparse import eye

        data_fingerprint(eye(3))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"params": [("C", 1)]}, TypeError, "params must be a dict"),
        ({"params": {1: 2}}, TypeError, "params keys must be non-empty strings"),
        ({"params": {"a?b": 2}}, ValueError, "params keys must be names MLflow accepts"),
        ({"params": {"a/../b": 2}}, ValueError, "params keys must be names MLflow accepts"),
        ({"params": {"C": [1, 2]}}, TypeError, r"params\['C'\]"),
        ({"params": {"C": "x" * 6001}}, ValueError, r"params\['C'\] must be at most 6000"),
        ({"params": {"data_fingerprint": "x"}}, ValueError, "params must not contain"),
        ({"metrics": 0.9}, TypeError, "metrics must be a dict"),
        ({"metrics": {"a b?": 1.0}}, ValueError, "metrics keys must be names MLflow accepts"),
        ({"metrics": {"acc": float("nan")}}, ValueError, r"metrics\['acc'\]"),
        ({"metrics": {"acc": float("inf")}}, ValueError, r"metrics\['acc'\]"),
        ({"metrics": {"acc": "0.9"}}, TypeError, r"metrics\['acc'\]"),
        ({"experiment": ""}, ValueError, "experiment"),
        ({"run_name": 3}, TypeError, "run_name"),
        ({"X_train": 3.0}, TypeError, "X_train must be an array-like"),
        ({"X_train": np.zeros((0, 1))}, ValueError, "X_train must have at least 1 row"),
        ({"y_train": [0, 1, 0]}, ValueError, "y_train must have one label per row of X_train; got 3 labels for 2 rows"),
        ({"experiment": "x" * 257}, ValueError, "experiment must be at most 256 characters"),
        ({"run_name": "x" * 251}, ValueError, "run_name must be at most 250 characters"),
        ({"model": "LogisticRegression"}, TypeError, "model must be a scikit-learn estimator"),
        ({"log_model": "yes"}, TypeError, "log_model"),
        ({"log_model": True}, TypeError, "model must be a scikit-learn estimator"),
    ],
)
def test_log_run_rejects_bad_input(kwargs, error, match):
    """Every check runs before the store is touched (no store is open here: a check that came later would give
    RuntimeError instead)."""
    args = {"model": None, "params": {}, "metrics": {"acc": 1.0}, "X_train": np.zeros((2, 1)), "log_model": False, **kwargs}
    with pytest.raises(error, match=match):
        log_run(**args)


def test_other_bad_input(clean_env, monkeypatch):
    with pytest.raises(TypeError, match="directory"):
        with tracking_store(3):
            pass
    with pytest.raises(ValueError, match="directory must be a non-empty path"):
        with tracking_store(""):
            pass
    (clean_env / "file").write_text("")
    with pytest.raises(ValueError, match="directory must be a directory"):
        with tracking_store(clean_env / "file"):
            pass
    with pytest.raises(TypeError, match="run_id"):
        load_model(None)
    with monkeypatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", "nonsense://tracking")
        with pytest.raises(ValueError, match="MLFLOW_TRACKING_URI='nonsense://tracking' must hold a tracking store"):
            with tracking_store():
                pass
    with pytest.raises(TypeError, match="maximize"):
        best_run(metric="acc", maximize=1)
    with pytest.raises(RuntimeError, match="tracking_store"):
        log_run(None, params={}, metrics={}, X_train=[[1.0]], log_model=False)
    with pytest.raises(RuntimeError, match="tracking_store"):
        load_model("abc")
    assert tracking._OPEN_STORES == []
