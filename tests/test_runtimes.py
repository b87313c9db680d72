"""Tests of mlsys_course.runtimes: ONNX export, onnxruntime predictions within the stated tolerance."""

import os
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlsys_course.runtimes import ONNX_ATOL, ONNX_RTOL, TARGET_OPSET, OnnxModel, to_onnx

EPS32 = np.finfo(np.float32).eps


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(1_000, 12, n_informative=6, random_state=0)
    X[:, 0] *= 1_000  # features on different scales, as in real data
    return X, y


CLASSIFIERS = {
    "logistic": lambda: LogisticRegression(max_iter=2_000),
    "scaled_logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
    "forest": lambda: RandomForestClassifier(n_estimators=100, random_state=0),
    "boosting": lambda: GradientBoostingClassifier(n_estimators=50, random_state=0),
    "mlp": lambda: make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=2_000, random_state=0)),
}


def test_tolerance_is_derived_from_float32_epsilon():
    assert ONNX_RTOL == pytest.approx(1000 * EPS32) and ONNX_ATOL == pytest.approx(100 * EPS32)
    assert 1e-5 < ONNX_RTOL < 1e-3 and 1e-6 < ONNX_ATOL < 1e-4


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_probabilities_equal_sklearns_within_tolerance(data, name):
    X, y = data
    model = CLASSIFIERS[name]().fit(X[:700], y[:700])
    fast = OnnxModel(to_onnx(model, X[:1]))
    expected, got = model.predict_proba(X[700:]), fast.predict_proba(X[700:])
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=ONNX_RTOL, atol=ONNX_ATOL)
    # labels agree except at ties: rows whose top probability is within the tolerance of 0.5
    tie = np.abs(expected[:, 1] - 0.5) <= ONNX_ATOL + ONNX_RTOL
    labels = fast.predict(X[700:])
    assert labels.dtype == model.classes_.dtype
    np.testing.assert_array_equal(labels[~tie], model.predict(X[700:])[~tie])
    np.testing.assert_array_equal(fast.classes_, model.classes_)
    assert fast.n_features_in_ == 12


def test_forest_votes_that_tie_at_one_half_are_the_only_disagreements(data):
    X, y = data
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X[:700], y[:700])
    fast = OnnxModel(to_onnx(forest, X[:1]))
    proba = forest.predict_proba(X)[:, 1]
    differ = fast.predict(X) != forest.predict(X)
    assert np.all(np.abs(proba[differ] - 0.5) < 1e-6)  # 5 votes of 10: a tie, broken differently


def test_regressors_equal_sklearns_within_tolerance():
    X, y = make_regression(600, 10, noise=5.0, random_state=0)
    y = (y - y.mean()) / y.std()  # ONNX_ATOL is absolute: predictions of order 1
    for model in (Ridge(), RandomForestRegressor(n_estimators=50, random_state=0),
                  make_pipeline(StandardScaler(), Ridge())):
        model.fit(X[:400], y[:400])
        fast = OnnxModel(to_onnx(model, X[:1]))
        got = fast.predict(X[400:])
        assert got.shape == (200,) and not hasattr(fast, "classes_")
        np.testing.assert_allclose(got, model.predict(X[400:]), rtol=ONNX_RTOL, atol=ONNX_ATOL)
        assert not hasattr(fast, "predict_proba")
        with pytest.raises(AttributeError, match="has no attribute 'predict_proba'"):
            fast.predict_proba(X[:1])


def test_multiclass_and_string_labels(data):
    X, k = make_classification(600, 6, n_informative=4, n_classes=3, random_state=1)
    y = np.array(["low", "mid", "high"])[k]
    model = LogisticRegression(max_iter=1_000).fit(X, y)
    fast = OnnxModel(to_onnx(model, X[:1]))
    assert fast.classes_.tolist() == model.classes_.tolist()
    np.testing.assert_allclose(fast.predict_proba(X), model.predict_proba(X), rtol=ONNX_RTOL, atol=ONNX_ATOL)
    assert (fast.predict(X) == model.predict(X)).mean() > 0.99


def test_the_tolerance_can_fail(data):
    """A model that differs by one part in a thousand is outside the tolerance: the check has teeth."""
    X, y = data
    model = LogisticRegression(max_iter=2_000).fit(X, y)
    onnx_bytes = to_onnx(model, X[:1])
    model.coef_ = model.coef_ * 1.001
    assert not np.allclose(OnnxModel(onnx_bytes).predict_proba(X), model.predict_proba(X), rtol=ONNX_RTOL, atol=ONNX_ATOL)


def test_dataframes_are_read_by_column_order_and_checked():
    X, y = make_classification(300, 3, n_informative=3, n_redundant=0, random_state=0)
    frame = pd.DataFrame(X, columns=["amount", "age", "hour"])
    model = LogisticRegression().fit(frame, y)
    fast = OnnxModel(to_onnx(model, frame.iloc[:1]))
    assert fast.feature_names_in_.tolist() == ["amount", "age", "hour"]
    np.testing.assert_allclose(fast.predict_proba(frame), model.predict_proba(frame), rtol=ONNX_RTOL, atol=ONNX_ATOL)
    np.testing.assert_allclose(fast.predict_proba(X), fast.predict_proba(frame))
    with pytest.raises(ValueError, match=r"X must have the model's columns in its order"):
        fast.predict(frame[["age", "amount", "hour"]])
    with pytest.raises(ValueError, match="X must have 3 feature column"):
        fast.predict(frame.assign(extra=1.0))
    with pytest.raises(TypeError, match="X must have numeric columns only"):
        fast.predict(frame.assign(hour="noon"))
    with pytest.raises(ValueError, match="X must be finite"):
        fast.predict(frame.assign(age=np.nan))
    with pytest.raises(ValueError, match="X must be finite"):
        fast.predict(frame.assign(age=1e39))  # beyond float32: would be inf
    with pytest.raises(TypeError, match="X must be a 2-d numpy array or a pandas DataFrame"):
        fast.predict(X.tolist())
    with pytest.raises(ValueError, match="X_sample must have the model's columns"):
        to_onnx(model, frame[["hour", "age", "amount"]])


def test_unfitted_and_unsupported_models_are_refused(data):
    X, y = data
    with pytest.raises(TypeError, match="model must be a fitted estimator; got an unfitted LogisticRegression"):
        to_onnx(LogisticRegression(), X[:1])
    with pytest.raises(TypeError, match="model must be a scikit-learn estimator"):
        to_onnx("a model", X[:1])
    # skl2onnx 1.20 cannot convert HistGradientBoosting with scikit-learn 1.9; if a later version can, it
    # must then hold the tolerance like every other model.
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    try:
        onnx_bytes = to_onnx(model, X[:1])
    except TypeError as error:
        assert "model must be a model skl2onnx" in str(error) and "HistGradientBoostingClassifier" in str(error)
    else:
        np.testing.assert_allclose(OnnxModel(onnx_bytes).predict_proba(X), model.predict_proba(X),
                                   rtol=ONNX_RTOL, atol=ONNX_ATOL)


def test_file_format_names_input_x_and_has_no_zipmap(data):
    import onnx

    X, y = data
    proto = onnx.load_from_string(to_onnx(DecisionTreeClassifier(max_depth=3).fit(X, y), X[:1]))
    assert [i.name for i in proto.graph.input] == ["X"]
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    assert "ZipMap" not in {node.op_type for node in proto.graph.node}
    opsets = {o.domain: o.version for o in proto.opset_import}
    assert all(opsets[domain] <= TARGET_OPSET[domain] for domain in opsets), opsets


def test_loading_runs_no_python_code(tmp_path):
    """A pickle runs code on load; OnnxModel refuses its bytes without running them."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = pickle.dumps(Payload())
    with pytest.raises(ValueError, match="onnx_bytes must be a valid ONNX model"):
        OnnxModel(evil)
    assert not marker.exists()
    pickle.loads(evil).close()  # what unpickling does: the file now exists
    assert marker.exists()
    os.remove(marker)


def test_session_options_and_pickling(data):
    X, y = data
    model = LogisticRegression(max_iter=2_000).fit(X, y)
    fast = OnnxModel(to_onnx(model, X[:1]), intra_op_threads=1)
    assert fast._session.get_session_options().intra_op_num_threads == 1
    assert OnnxModel(fast.onnx_bytes)._session.get_session_options().intra_op_num_threads == 0  # onnxruntime's default
    again = pickle.loads(pickle.dumps(fast))
    np.testing.assert_array_equal(again.predict_proba(X), fast.predict_proba(X))
    assert again.intra_op_threads == 1 and "classifier" in repr(again)
    with pytest.raises(ValueError, match="intra_op_threads must be >= 1"):
        OnnxModel(fast.onnx_bytes, intra_op_threads=0)
    with pytest.raises(TypeError, match="onnx_bytes must be bytes"):
        OnnxModel("model.onnx")
