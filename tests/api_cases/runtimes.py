"""Cases of mlsys_course.runtimes: export to ONNX and predict with onnxruntime."""

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from api_cases import Case
from mlsys_course.runtimes import OnnxModel, to_onnx

_X, _Y = make_classification(80, 4, random_state=0)
_MODEL = LogisticRegression().fit(_X, _Y)
_FRAME = pd.DataFrame(_X, columns=["a", "b", "c", "d"])
_NAMED = LogisticRegression().fit(_FRAME, _Y)
_BYTES = to_onnx(_MODEL, _X[:1])


def _serve(onnx_bytes, intra_op_threads=None, X=_X):
    model = OnnxModel(onnx_bytes, intra_op_threads=intra_op_threads)
    return model.predict_proba(X), model.predict(X)


CASES = {
    "to_onnx": Case(
        call=lambda: {"model": _MODEL, "X_sample": _X[:2].copy()},
        bad={"model": [LogisticRegression(), LogisticRegression, object(), None, "model"],
             "X_sample": [_X[:2, :3], _X[:2].tolist(), np.array([["a"] * 4]), np.full((1, 4), np.nan),
                          np.empty((0, 4)), _X[0], _FRAME.assign(e=1.0)]},
        valid={"X_sample": [_X[:1].astype(np.float32), _FRAME.iloc[:1], _X[:3].astype(np.int64)],
               "model": [_NAMED]},
    ),
    "OnnxModel": Case(
        call=lambda: {"onnx_bytes": _BYTES},
        fn=_serve,
        bad={"onnx_bytes": [b"", b"not an onnx file", "text", bytearray(b"\x00\x01"), None],
             "intra_op_threads": [0, -1, 1.5, "2", True, 10**6],
             "X": [_X[:, :3], _X.tolist(), np.full((1, 4), np.inf), _FRAME.assign(e=1.0),
                   _FRAME.astype({"a": str}), np.empty((0, 4))]},
        valid={"intra_op_threads": [1, np.int64(2), None], "onnx_bytes": [bytearray(_BYTES)],
               "X": [_FRAME, _X.astype(np.float32), _X[:1], _FRAME.astype({"a": np.float32})]},
    ),
}
