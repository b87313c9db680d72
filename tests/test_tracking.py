"""Tests for mlsys_course.tracking: a quiet MLflow store that leaves nothing behind, and run round-trips."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

pytest.importorskip("mlflow")

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


def test_import_does_not_import_mlflow():
    code = "import sys, mlsys_course.tracking; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_temporary_store_round_trip_is_silent_and_leaves_nothing(clean_env, data, capfd):
    X, y = data
    before_env = {k: os.environ.get(k) for k in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "MLFLOW_TRACKING_URI")}
    weak = LogisticRegression(C=0.001).fit(X[["c"]].assign(a=0.0, b=0.0)[["a", "b", "c"]], y)
    strong = LogisticRegression(C=1.0).fit(X, y)
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught, tracking_store() as uri:
        warnings.simplefilter("always")
        assert uri.startswith("sqlite:///") and uri.endswith("/mlflow.db")
        store_dir = Path(uri.removeprefix("sqlite:///")).parent
        assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true" and os.environ["DO_NOT_TRACK"] == "1"
        id_weak = log_run(weak, params={"C": 0.001}, metrics={"accuracy": 0.5}, X_train=X, y_train=y,
                          run_name="weak", log_model=False)
        id_strong = log_run(strong, params={"C": 1.0, "penalty": "l2"}, metrics={"accuracy": 0.9, "loss": 0.3},
                            X_train=X, y_train=y, run_name="strong")
        table = runs()
        best = best_run(metric="accuracy")
        worst = best_run(metric="accuracy", maximize=False)
        loaded = load_model(id_strong)
        artifacts = list((store_dir / "artifacts").rglob("*"))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert [str(w.message) for w in caught] == []

    assert list(table.columns) == ["run_id", "run_name", "params.C", "params.penalty", "metrics.accuracy",
                                   "metrics.loss", "data_fingerprint"]
    assert table["run_id"].tolist() == [id_weak, id_strong]
    assert table["run_name"].tolist() == ["weak", "strong"]
    assert table["params.C"].tolist() == ["0.001", "1.0"]
    assert table["metrics.accuracy"].tolist() == [0.5, 0.9]
    assert (table["data_fingerprint"] == data_fingerprint(X, y)).all()
    assert best["run_id"] == id_strong and best["metrics.accuracy"] == 0.9
    assert worst["run_id"] == id_weak
    np.testing.assert_array_equal(loaded.predict(X), strong.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), strong.predict_proba(X))
    assert any(p.name == "MLmodel" for p in artifacts)

    assert not store_dir.exists()
    assert list(clean_env.iterdir()) == []
    assert {k: os.environ.get(k) for k in before_env} == before_env
    with pytest.raises(RuntimeError, match="tracking_store"):
        runs()


def test_directory_store_keeps_runs_across_openings(clean_env, tmp_path, data):
    X, y = data
    store = tmp_path / "store"
    model = LogisticRegression().fit(X, y)
    with tracking_store(store) as uri:
        assert uri == f"sqlite:///{store / 'mlflow.db'}"
        run_id = log_run(model, params={}, metrics={"accuracy": 1.0}, X_train=X, experiment="my exp/1")
    assert (store / "mlflow.db").is_file()
    assert (store / "artifacts").is_dir()
    with tracking_store(store):
        assert runs("my exp/1")["run_id"].tolist() == [run_id]
        np.testing.assert_array_equal(load_model(run_id).predict(X), model.predict(X))
        with pytest.raises(ValueError, match="experiment"):
            runs("nope")
        with pytest.raises(ValueError, match="metric"):
            best_run("my exp/1", metric="f1")
        with pytest.raises(ValueError, match="run_id"):
            load_model("0" * 32)
    assert list(clean_env.iterdir()) == []


def test_env_tracking_uri_is_used_unchanged(clean_env, tmp_path, monkeypatch, data):
    X, y = data
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared)
    with tracking_store() as uri:
        assert uri == shared
        log_run(LogisticRegression().fit(X, y), params={"C": 1}, metrics={"accuracy": 0.7},
                X_train=X, run_name="shared", log_model=False)
    assert os.environ["MLFLOW_TRACKING_URI"] == shared
    assert (tmp_path / "shared.db").is_file()
    with tracking_store():
        assert runs()["run_name"].tolist() == ["shared"]


def test_fingerprint_is_stable_across_processes():
    code = (
        "import numpy as np, pandas as pd; from mlsys_course.tracking import data_fingerprint as f; "
        "X = pd.DataFrame({'a': [1.0, 2.5, 3.0], 'b': ['x', 'y', 'z']}); "
        "print(f(X, [0, 1, 0]), f(np.arange(6.0).reshape(2, 3)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    X = pd.DataFrame({"a": [1.0, 2.5, 3.0], "b": ["x", "y", "z"]})
    assert out == [data_fingerprint(X, [0, 1, 0]), data_fingerprint(np.arange(6.0).reshape(2, 3))]


def test_fingerprint_sees_every_change():
    X = pd.DataFrame({"a": [1.0, 2.5, 3.0], "b": ["x", "y", "z"]})
    base = data_fingerprint(X, [0, 1, 0])
    assert len(base) == 16 and int(base, 16) >= 0
    assert data_fingerprint(X.set_axis([7, 8, 9]), [0, 1, 0]) == base  # the index is not data
    changed_value = X.copy()
    changed_value.loc[1, "a"] = 2.50001
    changed_text = X.copy()
    changed_text.loc[2, "b"] = "w"
    variants = [
        data_fingerprint(changed_value, [0, 1, 0]),
        data_fingerprint(changed_text, [0, 1, 0]),
        data_fingerprint(X.rename(columns={"a": "A"}), [0, 1, 0]),
        data_fingerprint(X.astype({"a": "float32"}), [0, 1, 0]),
        data_fingerprint(X, [0, 1, 1]),
        data_fingerprint(X),
    ]
    assert len({base, *variants}) == len(variants) + 1
    arr = np.arange(6.0)
    assert data_fingerprint(arr) != data_fingerprint(arr.reshape(2, 3))
    assert data_fingerprint(arr) != data_fingerprint(arr.astype(np.float32))
    assert data_fingerprint(np.array(["a", None], dtype=object)) == data_fingerprint(np.array(["a", None], dtype=object))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"params": [("C", 1)]}, TypeError, "params"),
        ({"params": {1: 2}}, TypeError, "params"),
        ({"params": {"C": [1, 2]}}, TypeError, r"params\['C'\]"),
        ({"params": {"data_fingerprint": "x"}}, ValueError, "params"),
        ({"metrics": 0.9}, TypeError, "metrics"),
        ({"metrics": {"acc": float("nan")}}, ValueError, r"metrics\['acc'\]"),
        ({"metrics": {"acc": float("inf")}}, ValueError, r"metrics\['acc'\]"),
        ({"metrics": {"acc": "0.9"}}, TypeError, r"metrics\['acc'\]"),
        ({"experiment": ""}, ValueError, "experiment"),
        ({"run_name": 3}, TypeError, "run_name"),
        ({"X_train": 3.0}, TypeError, "X"),
        ({"log_model": "yes"}, TypeError, "log_model"),
    ],
)
def test_log_run_rejects_bad_input(kwargs, error, match):
    args = {"params": {}, "metrics": {"acc": 1.0}, "X_train": np.zeros((2, 1)), **kwargs}
    with pytest.raises(error, match=match):
        log_run(None, **args)


def test_other_bad_input(clean_env):
    with pytest.raises(TypeError, match="X"):
        data_fingerprint(None)
    with pytest.raises(TypeError, match="y"):
        data_fingerprint([1, 2], "ab")
    with pytest.raises(TypeError, match="directory"):
        with tracking_store(3):
            pass
    (clean_env / "file").write_text("")
    with pytest.raises(ValueError, match="directory"):
        with tracking_store(clean_env / "file"):
            pass
    with pytest.raises(TypeError, match="run_id"):
        load_model(None)
    with pytest.raises(RuntimeError, match="tracking_store"):
        log_run(None, params={}, metrics={}, X_train=[[1.0]])
    assert tracking._ARTIFACT_ROOTS == []
