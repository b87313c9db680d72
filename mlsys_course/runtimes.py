"""An optimized runtime: a fitted scikit-learn model exported to ONNX and run with onnxruntime.

scikit-learn predicts through Python: for one row, most of a random forest's time goes into checking
the input and dispatching a hundred small tree calls. ONNX writes the fitted model as a graph of standard
operators (a tree ensemble is one ``TreeEnsembleClassifier`` node, a logistic regression a
``LinearClassifier`` node); onnxruntime executes that graph in C++ with no Python per tree, so one row
costs microseconds instead of milliseconds (see ``tools/bench_runtimes.py``). The graph computes in
float32, so its outputs equal scikit-learn's (float64) within :data:`ONNX_RTOL` / :data:`ONNX_ATOL`,
not bit for bit.

ONNX is also a *safe* file format: loading an ``.onnx`` file parses a protobuf and runs no Python code.
Loading a pickle (``joblib.load``, ``pickle.load``) can run any code the file's author put in it, so never
unpickle a model file you did not write yourself; ship ONNX (or skops, whose loader refuses unknown types).

:func:`to_onnx` converts (with skl2onnx: float32 input named ``"X"``, classifiers output ``label`` and a
``probabilities`` matrix, no ZipMap); :class:`OnnxModel` wraps an onnxruntime ``InferenceSession`` with
scikit-learn's ``predict`` / ``predict_proba``.

What converts: the models skl2onnx supports (linear models, trees, random forests, extra trees, gradient
boosting, MLPs, scalers and encoders in a ``Pipeline``, ...). With skl2onnx 1.20 and scikit-learn 1.9,
``HistGradientBoosting*`` does *not* convert (the converter writes an attribute onnx refuses); use
``GradientBoostingClassifier``, a random forest, or LightGBM/XGBoost with their own converters.

Book: Chapter 7, "ML on the Cloud and on the Edge: Compiling and Optimizing Models for Edge Devices".
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd
import skl2onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from mlsys_course._validation import check_estimator, check_int, show

__all__ = ["ONNX_ATOL", "ONNX_RTOL", "TARGET_OPSET", "OnnxModel", "to_onnx"]

_EPS32 = float(np.finfo(np.float32).eps)  # 1.19e-7: the relative rounding error of one float32 operation

#: Relative tolerance within which an :class:`OnnxModel`'s outputs equal scikit-learn's:
#: ``np.allclose(onnx, sklearn, rtol=ONNX_RTOL, atol=ONNX_ATOL)``. The graph runs in float32 (inputs,
#: weights and sums are rounded to float32, eps = 1.19e-7) where scikit-learn computes in float64; a sum of
#: up to a few hundred terms (features of a linear model, trees of a forest, units of a layer) gathers
#: at most a few hundred roundings, so 1,000 float32 eps (1.2e-4) bounds the relative error with margin.
ONNX_RTOL: float = 1000 * _EPS32

#: Absolute tolerance beside :data:`ONNX_RTOL` (100 float32 eps, 1.2e-5), for outputs near 0 (a
#: probability of 1e-9 is rounded to float32 after a sigmoid of a rounded logit). It is absolute, so it
#: suits probabilities and predictions of order 1; for a regressor whose targets are large but whose
#: predictions can cancel to near 0, scale it by the target's scale (or standardise the target).
ONNX_ATOL: float = 100 * _EPS32

#: Opsets :func:`to_onnx` writes: the standard domain at 18 and the ML domain (tree ensembles, linear
#: classifiers) at 3, which onnxruntime has supported since 1.14, so the files load on older runtimes too.
TARGET_OPSET: dict[str, int] = {"": 18, "ai.onnx.ml": 3}

_META_CLASSES = "mlsys_course.classes"
_META_FEATURES = "mlsys_course.feature_names"
_META_N_FEATURES = "mlsys_course.n_features"


def _as_float32(name: str, X: Any, n_features: int | None, feature_names: list | None) -> np.ndarray:
    """X (a 2-d numeric array or a DataFrame of numeric columns) as a C-contiguous float32 matrix."""
    if isinstance(X, pd.DataFrame):
        kinds = [getattr(dtype, "kind", "O") for dtype in X.dtypes.tolist()]  # fast: this runs on every call
        if any(kind not in "biuf" for kind in kinds):
            bad = [c for c, kind in zip(X.columns, kinds) if kind not in "biuf"]
            raise TypeError(f"{name} must have numeric columns only; got non-numeric {show(bad)}")
        if feature_names is not None and X.shape[1] == len(feature_names) and X.columns.tolist() != feature_names:
            raise ValueError(
                f"{name} must have the model's columns in its order {show(feature_names)}; got {show(list(X.columns))}"
            )
        with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become inf: refused below
            try:
                arr = X.to_numpy(dtype=np.float32)
            except (TypeError, ValueError):  # a nullable column holding pd.NA
                raise ValueError(f"{name} must have no missing values; got a column with pd.NA") from None
    elif isinstance(X, np.ndarray):
        if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise TypeError(f"{name} must be numeric; got dtype {X.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):
            arr = X.astype(np.float32, copy=False)
    else:
        raise TypeError(f"{name} must be a 2-d numpy array or a pandas DataFrame; got {show(X)} of type {type(X).__name__}")
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be 2-d with at least one row; got shape {arr.shape}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} feature column(s), as the model was fitted with; got {arr.shape[1]}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite in float32 (no NaN, inf or |value| > 3.4e38); "
                         f"got {int(np.sum(~np.isfinite(arr)))} non-finite value(s)")
    return np.ascontiguousarray(arr)


def to_onnx(model: Any, X_sample: Any) -> bytes:
    """Convert a fitted scikit-learn model to an ONNX file (as bytes) with skl2onnx.

    Parameters
    ----------
    model : fitted scikit-learn estimator or Pipeline
        Any model skl2onnx converts (see the module docstring for what does not).
    X_sample : 2-d numpy array or pandas DataFrame of shape (n, n_features)
        A few rows of the model's input: they fix the number of features (their values are not used).

    Returns
    -------
    bytes
        The serialized ONNX model: one float32 input ``"X"`` of shape (any, n_features); a classifier has
        outputs ``label`` and ``probabilities`` (a matrix, no ZipMap), a regressor one output. The file
        records the classes and feature names in its metadata for :class:`OnnxModel`.

    Raises
    ------
    TypeError
        If ``model`` is not fitted or skl2onnx cannot convert it.

    Book: Chapter 7, "Compiling and Optimizing Models for Edge Devices" (model compilers, ONNX).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> model = LogisticRegression().fit(X, y)
    >>> onnx_bytes = to_onnx(model, X[:1])
    >>> fast = OnnxModel(onnx_bytes)
    >>> bool(np.allclose(fast.predict_proba(X), model.predict_proba(X), rtol=ONNX_RTOL, atol=ONNX_ATOL))
    True
    """
    check_estimator("model", model, methods=("predict",))
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise TypeError(f"model must be a fitted estimator; got an unfitted {type(model).__name__} (call fit first)") from None
    names = getattr(model, "feature_names_in_", None)
    names = None if names is None else [str(c) for c in names]
    n_features = getattr(model, "n_features_in_", None)
    X = _as_float32("X_sample", X_sample, n_features, names)
    n_features = X.shape[1]
    options = {id(model): {"zipmap": False}} if is_classifier(model) else None
    try:
        proto = skl2onnx.to_onnx(
            model, initial_types=[("X", FloatTensorType([None, n_features]))], options=options,
            target_opset=TARGET_OPSET,
        )
    except Exception as error:  # skl2onnx raises several kinds (RuntimeError, ValueError, NameError, ...)
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise TypeError(
            f"model must be a model skl2onnx {skl2onnx.__version__} can convert; got {type(model).__name__}, "
            f"which failed: {first}"
        ) from error
    meta = {_META_N_FEATURES: str(n_features)}
    if names is not None:
        meta[_META_FEATURES] = json.dumps(names)
    if is_classifier(model):
        classes = np.asarray(model.classes_)
        meta[_META_CLASSES] = json.dumps({"dtype": classes.dtype.str, "values": classes.tolist()})
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


class OnnxModel:
    """Predict with an ONNX model through onnxruntime, with scikit-learn's ``predict`` and ``predict_proba``.

    Parameters
    ----------
    onnx_bytes : bytes
        A model written by :func:`to_onnx` (any ONNX model with one float input works for ``predict``;
        ``classes_`` and column-name checks need the metadata :func:`to_onnx` writes).
    intra_op_threads : int or None, default None
        Threads onnxruntime uses inside one operator, for this session only; None keeps onnxruntime's
        default (one per physical core). One row per call gains nothing from more than 1.

    Attributes
    ----------
    onnx_bytes : bytes
        The model file, as given.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        The column names the model was fitted with (only when the file records them).
    classes_ : ndarray
        The class labels, for a classifier (from the file's metadata).

    Notes
    -----
    Loading runs no Python code from the file (unlike unpickling). The object pickles as its bytes (the
    session is rebuilt on load), so it can be sent to another process.

    Book: Chapter 7, "Compiling and Optimizing Models for Edge Devices".

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X, y = make_classification(200, 4, random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    >>> fast = OnnxModel(to_onnx(forest, X[:1]), intra_op_threads=1)
    >>> fast.n_features_in_, fast.classes_.tolist()
    (4, [0, 1])
    >>> bool((fast.predict(X) == forest.predict(X)).all())
    True
    """

    def __init__(self, onnx_bytes: bytes, *, intra_op_threads: int | None = None) -> None:
        if not isinstance(onnx_bytes, (bytes, bytearray)):
            raise TypeError(f"onnx_bytes must be bytes (an ONNX file's content); got {show(onnx_bytes)} of type {type(onnx_bytes).__name__}")
        if intra_op_threads is not None:
            check_int("intra_op_threads", intra_op_threads, minimum=1, maximum=1024)
        self.onnx_bytes = bytes(onnx_bytes)
        self.intra_op_threads = intra_op_threads
        self._load()

    def _load(self) -> None:
        options = onnxruntime.SessionOptions()
        if self.intra_op_threads is not None:
            options.intra_op_num_threads = int(self.intra_op_threads)
        try:
            self._session = onnxruntime.InferenceSession(self.onnx_bytes, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own exception types (InvalidProtobuf, Fail, ...)
            raise ValueError(f"onnx_bytes must be a valid ONNX model; got {len(self.onnx_bytes)} bytes onnxruntime "
                             f"refused: {str(error).strip()[:200]}") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 2 or inputs[0].type != "tensor(float)":
            raise ValueError(f"onnx_bytes must hold a model with one 2-d float input; got inputs "
                             f"{[(i.name, i.type, i.shape) for i in inputs]}")
        self._input = inputs[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]
        meta = self._session.get_modelmeta().custom_metadata_map
        width = inputs[0].shape[1]
        self.n_features_in_ = int(meta.get(_META_N_FEATURES, width if isinstance(width, int) else -1))
        self._feature_names = json.loads(meta[_META_FEATURES]) if _META_FEATURES in meta else None
        if self._feature_names is not None:
            self.feature_names_in_ = np.asarray(self._feature_names, dtype=object)
        if _META_CLASSES in meta:
            stored = json.loads(meta[_META_CLASSES])
            self.classes_ = np.asarray(stored["values"], dtype=np.dtype(stored["dtype"]))

    def __getstate__(self) -> dict:
        return {"onnx_bytes": self.onnx_bytes, "intra_op_threads": self.intra_op_threads}

    def __setstate__(self, state: dict) -> None:
        self.onnx_bytes = state["onnx_bytes"]
        self.intra_op_threads = state["intra_op_threads"]
        self._load()

    def __repr__(self) -> str:
        kind = "classifier" if hasattr(self, "classes_") else "model"
        return f"OnnxModel({kind}, n_features_in_={self.n_features_in_}, {len(self.onnx_bytes)} bytes)"

    def _run(self, X: Any) -> list:
        n = self.n_features_in_ if self.n_features_in_ > 0 else None
        return self._session.run(None, {self._input: _as_float32("X", X, n, self._feature_names)})

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (classifier) or values (regressor) for the rows of X, shape (n,)."""
        out = self._run(X)[0]
        if hasattr(self, "classes_"):
            return out.ravel().astype(self.classes_.dtype, copy=False)
        return out.reshape(len(out), -1)[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out

    def _has_probabilities(self) -> bool:
        return len(self._outputs) >= 2  # a classifier: label and probabilities

    @available_if(_has_probabilities)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in the order of ``classes_`` (float32)."""
        return self._run(X)[1]
