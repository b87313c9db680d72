"""Cases of mlsys_course.augmentation: transforms, noise, augment, mixup, soft labels and SMOTE synthesis."""

import numpy as np
import pandas as pd

from api_cases import Case

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 16, size=(4, 3, 3))
ROWS = IMAGES.reshape(4, 9)
LABELS = [0, 1, 0, 1]
X6 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0], [5.0, 6.0]])

CASES = {
    "shift": Case(
        call=lambda: {"images": IMAGES.copy(), "dx": 1, "dy": 0},
        bad={"images": [np.zeros((3, 3)), np.full((1, 2, 2), np.nan)], "dx": [[1, 2], np.nan, "1"]},
        valid={"dx": [np.array(1.0), np.float32(0.5), np.array([1, 0, -1, 0])]},
    ),
    "rotate": Case(
        call=lambda: {"images": IMAGES.copy(), "degrees": 10.0},
        bad={"degrees": [np.inf, [1.0]], "images": [np.zeros((2, 9))]},
        valid={"degrees": [np.int64(90), np.array([0, 10, 20, 30])]},
    ),
    "add_noise": Case(
        call=lambda: {"images": IMAGES.copy(), "sigma": 1.0, "random_state": 0},
        bad={"sigma": [-1.0, np.nan], "clip": [(16, 0), 16, (0, np.nan)], "images": [[np.nan, 1.0]]},
        valid={"clip": [np.array([0, 16]), [0.0, 16.0]], "random_state": [np.random.default_rng(1), np.int64(3)]},
    ),
    "augment": Case(
        call=lambda: {"X": ROWS.copy(), "y": list(LABELS), "n_copies": 2, "image_shape": (3, 3), "random_state": 0},
        bad={"X": [np.where(ROWS > 8, np.nan, ROWS), ROWS.reshape(4, 3, 3)], "y": [[0, np.nan, 0, 1], [0, 1, 0]],
             "n_copies": [10**12, -1, 1.5], "max_shift": [99], "max_degrees": [270], "image_shape": [(4, 4), 8]},
        valid={"X": [ROWS.astype(np.float32), pd.DataFrame(ROWS, index=range(10, 14))],
               "y": [pd.Series(LABELS, index=[5, 6, 7, 8]), np.array(["a", "b", "a", "b"])],
               "image_shape": [np.array([3, 3])], "clip": [None, np.array([0.0, 16.0])]},
    ),
    "mixup": Case(
        call=lambda: {"X": ROWS.copy(), "y": list(LABELS), "n": 5, "random_state": 0},
        bad={"y": [[0, np.nan, 0, 1], [0, None, 0, 1]], "n": [10**12, -1], "alpha": [0.0, 1e308, np.nan]},
        valid={"n": [None, np.int64(3)], "y": [pd.Series(LABELS, index=[5, 6, 7, 8])]},
    ),
    "soft_label_rows": Case(
        call=lambda: {"X_mix": [[1.0, 2.0]], "y_a": [0], "y_b": [1], "lam": [0.3]},
        bad={"lam": [[1.5], [np.nan]], "y_a": [[np.nan]], "X_mix": [[[np.inf, 1.0]]]},
        valid={"lam": [np.array([0.3], dtype=np.float32)]},
    ),
    "smote_synthesize": Case(
        call=lambda: {"X": X6.copy(), "y": [0, 0, 0, 1, 1, 1], "k_neighbors": 2, "random_state": 0},
        bad={"k_neighbors": [3, 0], "classes": [[7], [0, 0], 0], "n_copies": [10**12, -1], "y": [[0, 0, 0, 1, 1, np.nan]]},
        valid={"classes": [np.array([1]), pd.Series([0]), range(2)], "random_state": [np.random.default_rng(0)]},
    ),
}
