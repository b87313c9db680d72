import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, stats
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from imblearn.over_sampling import SMOTE

from mlsys_course.augmentation import (
    add_noise,
    augment,
    mixup,
    rotate,
    shift,
    smote_synthesize,
    soft_label_rows,
)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data[:60], d.target[:60]


def _images(n=5, size=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 16, size=(n, size, size))


# --- shift -------------------------------------------------------------------------------------------


def test_shift_by_zero_is_identity():
    images = _images()
    np.testing.assert_array_equal(shift(images, 0, 0), images)


def test_integer_shift_moves_pixels_exactly_and_fills_zeros():
    images = _images()
    out = shift(images, dx=2, dy=-1)  # right 2, up 1
    expected = np.zeros_like(images)
    expected[:, :-1, 2:] = images[:, 1:, :-2]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dx, dy", [(0.3, -1.6), (1.0, 2.5), (-0.5, 0.0)])
def test_shift_matches_scipy_ndimage(dx, dy):
    images = _images()
    np.testing.assert_allclose(shift(images, dx, dy), ndimage.shift(images, (0, dy, dx), order=1), atol=1e-12)


def test_shift_per_image_equals_one_image_at_a_time():
    images = _images(4)
    dx, dy = np.array([1, 0, -1, 0.5]), np.array([0, -2, 1, 0.25])
    out = shift(images, dx, dy)
    for k in range(4):
        np.testing.assert_allclose(out[k], ndimage.shift(images[k], (dy[k], dx[k]), order=1), atol=1e-12)


# --- rotate ------------------------------------------------------------------------------------------


def test_rotate_by_zero_is_identity():
    images = _images()
    np.testing.assert_array_equal(rotate(images, 0), images)
    np.testing.assert_allclose(rotate(images, 360), images, atol=1e-9)
    np.testing.assert_allclose(rotate(images, 180), images[:, ::-1, ::-1], atol=1e-9)


@pytest.mark.parametrize("size", [7, 8])
def test_rotate_by_90_is_rot90_counter_clockwise(size):
    images = _images(size=size)
    np.testing.assert_allclose(rotate(images, 90), np.rot90(images, k=1, axes=(1, 2)), atol=1e-9)
    np.testing.assert_allclose(rotate(images, -90), np.rot90(images, k=-1, axes=(1, 2)), atol=1e-9)


@pytest.mark.parametrize("degrees", [5.0, -12.0, 33.3, 135.0])
def test_rotate_matches_scipy_ndimage(degrees):
    images = _images()
    expected = ndimage.rotate(images, degrees, axes=(1, 2), reshape=False, order=1)
    np.testing.assert_allclose(rotate(images, degrees), expected, atol=1e-9)


def test_rotate_per_image_angles():
    images = _images(3)
    angles = np.array([-10.0, 0.0, 15.0])
    out = rotate(images, angles)
    for k in range(3):
        np.testing.assert_allclose(out[k], ndimage.rotate(images[k], angles[k], reshape=False, order=1), atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.floats(-180, 180), st.floats(-3, 3), st.floats(-3, 3), st.integers(0, 1000))
def test_geometric_transforms_stay_within_the_pixel_range(degrees, dx, dy, seed):
    images = _images(2, seed=seed)
    for out in (rotate(images, degrees), shift(images, dx, dy)):
        assert out.shape == images.shape
        # Bilinear interpolation of pixels and of the zero background: a convex combination.
        assert out.min() >= min(0.0, images.min()) - 1e-9
        assert out.max() <= images.max() + 1e-9


@pytest.mark.parametrize(
    "func, args, error, words",
    [
        (shift, (np.zeros((8, 8)), 1, 1), ValueError, "images must have 3 dimension"),
        (shift, (np.zeros((2, 8, 8)), [1, 2, 3], 0), ValueError, "dx must be a number or have one value per image"),
        (shift, (np.zeros((2, 8, 8)), "1", 0), TypeError, "dx must be"),
        (shift, (np.zeros((2, 8, 8)), 0, np.nan), ValueError, "dy must be finite"),
        (rotate, (np.zeros((2, 64)), 10), ValueError, "images must have 3 dimension"),
        (rotate, (np.zeros((2, 8, 8)), np.inf), ValueError, "degrees must be finite"),
        (rotate, (np.full((1, 2, 2), np.nan), 10), ValueError, "images must be finite"),
    ],
)
def test_transforms_bad_input(func, args, error, words):
    with pytest.raises(error, match=words):
        func(*args)


# --- add_noise ---------------------------------------------------------------------------------------


def test_noise_with_sigma_zero_is_identity():
    images = _images()
    out = add_noise(images, 0.0, random_state=0)
    np.testing.assert_array_equal(out, images)
    assert out is not images


def test_noise_has_the_requested_spread_and_is_seeded():
    x = np.zeros(200_000)
    noisy = add_noise(x, 2.0, random_state=1)
    # Standard error of a sample sd: sigma / sqrt(2n) = 0.0032; of the mean: sigma / sqrt(n) = 0.0045.
    assert abs(noisy.std() - 2.0) < 5 * 2.0 / np.sqrt(2 * len(x))
    assert abs(noisy.mean()) < 5 * 2.0 / np.sqrt(len(x))
    np.testing.assert_array_equal(noisy, add_noise(x, 2.0, random_state=1))
    assert not np.array_equal(noisy, add_noise(x, 2.0, random_state=2))
    clipped = add_noise(np.full((3, 8, 8), 15.0), 5.0, random_state=0, clip=(0, 16))
    assert clipped.min() >= 0 and clipped.max() <= 16 and clipped.shape == (3, 8, 8)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"sigma": -1.0}, ValueError, r"sigma must be in \[0.0, inf\]; got -1.0"),
        ({"sigma": 1.0, "clip": (16, 0)}, ValueError, "clip must have low <= high"),
        ({"sigma": 1.0, "clip": 16}, TypeError, "clip must be a"),
        ({"sigma": 1.0, "random_state": -3}, ValueError, "random_state must be a non-negative int"),
        ({"sigma": 1.0, "images": None}, TypeError, "images must be an array"),
        ({"sigma": 1.0, "images": [[np.nan, 1.0]]}, ValueError, "images must be finite"),
    ],
)
def test_noise_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        add_noise(kwargs.pop("images", np.zeros((2, 4))), **kwargs)


# --- augment -----------------------------------------------------------------------------------------


def test_augment_shapes_labels_and_originals(digits):
    X, y = digits
    X_aug, y_aug = augment(X, y, n_copies=3, random_state=0)
    assert X_aug.shape == (4 * len(X), 64)
    np.testing.assert_array_equal(X_aug[: len(X)], X)  # originals first, untouched
    np.testing.assert_array_equal(y_aug, np.tile(y, 4))  # labels preserved
    assert X_aug.min() >= 0 and X_aug.max() <= 16
    X0, y0 = augment(X, y, n_copies=0, random_state=0)
    np.testing.assert_array_equal(X0, X)
    np.testing.assert_array_equal(y0, y)


def test_augment_with_every_transform_off_copies_the_images(digits):
    X, y = digits
    X_aug, _ = augment(X, y, n_copies=2, max_shift=0, max_degrees=0, noise_sigma=0, random_state=0)
    np.testing.assert_array_equal(X_aug, np.tile(X, (3, 1)))


def test_augment_shift_only_copies_are_whole_pixel_shifts(digits):
    X, y = digits
    X_aug, _ = augment(X, y, n_copies=2, max_shift=1, max_degrees=0, random_state=4)
    images = X.reshape(-1, 8, 8)
    candidates = [shift(images, dx, dy).reshape(len(X), 64) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    for copy in (X_aug[len(X) : 2 * len(X)], X_aug[2 * len(X) :]):
        match = np.array([[np.array_equal(copy[i], c[i]) for c in candidates] for i in range(len(X))])
        assert match.any(axis=1).all()
    # Several different shifts were drawn, not one for all.
    assert len({int(np.argmax(row)) for row in match}) > 3


def test_augment_does_not_shift_by_default(digits):
    # Chapter 4b measured that one-pixel shifts of centred digits lower accuracy: the default leaves them out.
    X, y = digits
    X_aug, _ = augment(X, y, n_copies=2, max_degrees=0, random_state=0)
    np.testing.assert_array_equal(X_aug, np.tile(X, (3, 1)))
    assert not np.array_equal(augment(X, y, n_copies=2, max_shift=1, max_degrees=0, random_state=0)[0], X_aug)


def test_augment_is_deterministic_given_the_seed(digits):
    X, y = digits
    a = augment(X, y, n_copies=2, noise_sigma=1.0, random_state=7)[0]
    np.testing.assert_array_equal(a, augment(X, y, n_copies=2, noise_sigma=1.0, random_state=7)[0])
    assert not np.array_equal(a, augment(X, y, n_copies=2, noise_sigma=1.0, random_state=8)[0])


def test_augment_inside_an_imbalanced_learn_pipeline_touches_training_folds_only(digits):
    from imblearn import FunctionSampler
    from imblearn.pipeline import make_pipeline

    X, y = digits
    seen = []

    class Recorder(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            seen.append(len(X))
            return super().fit(X, y, sample_weight)

    sampler = FunctionSampler(func=augment, validate=False, kw_args={"n_copies": 2, "random_state": 0})
    pipe = make_pipeline(sampler, Recorder(max_iter=2000)).fit(X[:40], y[:40])
    assert seen == [120]
    assert pipe.predict(X[40:]).shape == (20,)  # predicting does not augment


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"n_copies": -1}, ValueError, "n_copies must be >= 0"),
        ({"n_copies": 1.5}, TypeError, "n_copies must be an integer"),
        ({"noise_sigma": -0.1}, ValueError, "noise_sigma must be in"),
        ({"max_shift": -1}, ValueError, "max_shift must be >= 0"),
        ({"max_degrees": 270}, ValueError, "max_degrees must be in"),
        ({"image_shape": (4, 4)}, ValueError, "X must have image_shape"),
        ({"image_shape": 8}, TypeError, "image_shape must be a"),
        ({"max_shift": 9}, ValueError, "max_shift must be <= 8"),
        ({"clip": (0, np.nan)}, ValueError, r"clip\[1\] must be finite"),
        ({"n_copies": 10**9}, ValueError, "n_copies would make a result of .* more than MAX_VALUES"),
    ],
)
def test_augment_bad_parameters(digits, kwargs, error, words):
    X, y = digits
    with pytest.raises(error, match=words):
        augment(X, y, **kwargs)


def test_augment_bad_arrays(digits):
    X, y = digits
    with pytest.raises(ValueError, match="X must have 2 dimension"):
        augment(X.reshape(-1, 8, 8), y)
    with pytest.raises(ValueError, match="same length"):
        augment(X, y[:-1])


@pytest.mark.parametrize("func", [augment, mixup, smote_synthesize])
def test_nan_and_inf_are_refused_not_passed_through(digits, func):
    X, y = digits
    kwargs = {"k_neighbors": 3} if func is smote_synthesize else {}
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 10] = bad
        with pytest.raises(ValueError, match=r"X must be finite \(no NaN or inf\)"):
            func(X_bad, y, random_state=0, **kwargs)
        y_bad = y.astype(float)
        y_bad[5] = bad
        with pytest.raises(ValueError, match="y must not contain missing or infinite labels"):
            func(X, y_bad, random_state=0, **kwargs)
    with pytest.raises(ValueError, match="y must not contain missing"):
        func(X, pd.Series(y, dtype=object).where(np.arange(len(y)) != 7, None), random_state=0, **kwargs)
    with pytest.raises(TypeError, match="y must hold labels of one type"):
        func(X, ["a"] * (len(y) - 1) + [1], random_state=0, **kwargs)


def test_unusual_but_valid_input_gives_the_same_result(digits):
    X, y = digits
    expected = augment(X, y, n_copies=2, max_shift=1, random_state=3)
    frame = pd.DataFrame(X.astype(np.float32), index=np.arange(len(X)) * 5 + 2)  # digits' pixels are whole: exact in float32
    got = augment(frame, pd.Series(y, index=frame.index), n_copies=np.int64(2), max_shift=np.int32(1),
                  max_degrees=np.float32(10.0), clip=np.array([0.0, 16.0]), image_shape=np.array([8, 8]),
                  random_state=np.int64(3))
    np.testing.assert_allclose(got[0], expected[0], atol=1e-4)
    np.testing.assert_array_equal(got[1], expected[1])
    for a, b in zip(mixup(X, y, n=np.int64(5), alpha=np.float64(0.3), random_state=1),
                    mixup(X.astype(np.float32), pd.Series(y), n=5, alpha=0.3, random_state=1)):
        np.testing.assert_allclose(a, b, atol=1e-4)
    a = smote_synthesize(X, y, classes=np.array([3, 8]), k_neighbors=2, random_state=0)
    b = smote_synthesize(X, y, classes=pd.Series([3, 8]), k_neighbors=np.int64(2), random_state=0)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(shift(X[:2].reshape(-1, 8, 8), np.array(1.0), np.float32(0.0)), shift(X[:2].reshape(-1, 8, 8), 1, 0))


# --- mixup and soft labels ------------------------------------------------------------------------------


def test_mixup_is_a_convex_combination_of_a_pair():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 16, size=(30, 64))
    ids = np.arange(30)  # labels = row index, so y_a and y_b name the pair
    X_mix, y_a, y_b, lam = mixup(X, ids, alpha=0.4, n=500, random_state=1)
    assert X_mix.shape == (500, 64) and y_a.shape == y_b.shape == lam.shape == (500,)
    assert lam.min() >= 0 and lam.max() <= 1
    low, high = np.minimum(X[y_a], X[y_b]), np.maximum(X[y_a], X[y_b])
    assert np.all(X_mix >= low - 1e-12) and np.all(X_mix <= high + 1e-12)
    np.testing.assert_allclose(X_mix, lam[:, None] * X[y_a] + (1 - lam[:, None]) * X[y_b])


def test_mixup_weights_follow_the_beta_distribution_and_are_seeded():
    X, y = np.eye(4), np.arange(4)
    _, _, _, lam = mixup(X, y, alpha=0.2, n=5000, random_state=2)
    assert stats.kstest(lam, "beta", args=(0.2, 0.2)).pvalue > 0.001
    assert np.mean((lam < 0.1) | (lam > 0.9)) > 0.6  # small alpha: mostly one of the two images
    a = mixup(X, y, n=10, random_state=3)
    b = mixup(X, y, n=10, random_state=3)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert mixup(X, y, n=0, random_state=0)[0].shape == (0, 4)
    assert mixup(X, y, random_state=0)[0].shape == (4, 4)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"alpha": 0.0}, ValueError, r"alpha must be in \(0.0, 1000000.0\]; got 0.0"),
        ({"n": -1}, ValueError, "n must be >= 0"),
        ({"random_state": "seed"}, TypeError, "random_state must be an int"),
        ({"alpha": 1e308}, ValueError, r"alpha must be in \(0.0, 1000000.0\]"),
        ({"n": 10**9}, ValueError, "n would make a result of"),
    ],
)
def test_mixup_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        mixup(np.eye(3), [0, 1, 2], **kwargs)


def test_soft_label_rows_are_exactly_soft_label_logistic_regression():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + rng.normal(0, 1, 200) > 0).astype(int)
    X_mix, y_a, y_b, lam = mixup(X, y, alpha=0.4, n=300, random_state=6)
    X_rows, y_rows, w = soft_label_rows(X_mix, y_a, y_b, lam)
    assert X_rows.shape == (600, 3)
    np.testing.assert_allclose(w[:300] + w[300:], 1.0)
    C = 0.7
    model = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X_rows, y_rows, sample_weight=w)
    # Cross-entropy against the soft target t = lam y_a + (1 - lam) y_b, minimised directly.
    t = lam * y_a + (1 - lam) * y_b

    def objective(theta):
        z = X_mix @ theta[:3] + theta[3]
        loss = -(t * log_expit(z) + (1 - t) * log_expit(-z)).sum() + theta[:3] @ theta[:3] / (2 * C)
        g = expit(z) - t
        return loss, np.append(X_mix.T @ g + theta[:3] / C, g.sum())

    theta = minimize(objective, np.zeros(4), jac=True, method="L-BFGS-B", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(model.coef_[0], theta[:3], atol=1e-5)
    np.testing.assert_allclose(model.intercept_[0], theta[3], atol=1e-5)


def test_soft_label_rows_bad_input():
    with pytest.raises(ValueError, match=r"lam must be in \[0, 1\]"):
        soft_label_rows([[1.0]], [0], [1], [1.5])
    with pytest.raises(ValueError, match="same length"):
        soft_label_rows([[1.0], [2.0]], [0], [1], [0.5])


# --- SMOTE synthesis ---------------------------------------------------------------------------------------


def test_smote_synthesize_grows_each_class_inside_its_own_region(digits):
    X, y = digits
    X_aug, y_aug = smote_synthesize(X, y, n_copies=2, k_neighbors=3, random_state=0)
    np.testing.assert_array_equal(np.bincount(y_aug), 3 * np.bincount(y))
    np.testing.assert_array_equal(X_aug[: len(X)], X)
    np.testing.assert_array_equal(y_aug[: len(y)], y)
    for c in np.unique(y):
        new = X_aug[len(X) :][y_aug[len(X) :] == c]
        real = X[y == c]
        # Each synthetic point lies between two real points of its class: inside their bounding box.
        assert np.all(new >= real.min(axis=0) - 1e-9) and np.all(new <= real.max(axis=0) + 1e-9)
    X_same, _ = smote_synthesize(X, y, n_copies=2, k_neighbors=3, random_state=0)
    np.testing.assert_array_equal(X_same, X_aug)


def test_smote_synthesize_is_imbalanced_learns_smote(digits):
    X, y = digits
    X_aug, y_aug = smote_synthesize(X, y, n_copies=1, k_neighbors=3, random_state=11)
    target = {c: 2 * n for c, n in zip(*np.unique(y, return_counts=True))}
    X_ref, y_ref = SMOTE(sampling_strategy=target, k_neighbors=3, random_state=11).fit_resample(X, y)
    np.testing.assert_array_equal(X_aug, X_ref)  # an int seed is handed to SMOTE unchanged
    np.testing.assert_array_equal(y_aug, y_ref)


def test_smote_synthesize_only_the_chosen_classes(digits):
    X, y = digits
    _, y_aug = smote_synthesize(X, y, n_copies=1, classes=[3, 8], k_neighbors=2, random_state=0)
    counts, before = np.bincount(y_aug), np.bincount(y)
    expected = before.copy()
    expected[[3, 8]] *= 2
    np.testing.assert_array_equal(counts, expected)
    X0, y0 = smote_synthesize(X, y, n_copies=0)
    np.testing.assert_array_equal(X0, X)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"k_neighbors": 4}, ValueError, r"smaller than the smallest grown class \(4 examples\); got 4"),
        ({"classes": [3, 42]}, ValueError, "classes must be labels present in y"),
        ({"classes": 3}, TypeError, "classes must be a list"),
        ({"n_copies": -2}, ValueError, "n_copies must be >= 0"),
        ({"classes": [3, 3]}, ValueError, "classes must name each class once"),
        ({"n_copies": 10**8}, ValueError, "n_copies would make a result of"),
    ],
)
def test_smote_synthesize_bad_input(digits, kwargs, error, words):
    X, y = digits
    with pytest.raises(error, match=words):
        smote_synthesize(X, y, **kwargs)
