"""Tests for mlsys_course.distributed: the gradient, and data-parallel averaging equal to the full-batch step."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_course.distributed import data_parallel_step, gradient, loss


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, 3))]
    y = (X @ [0.2, 1.0, -1.0, 0.5] + rng.logistic(size=n) > 0).astype(int)
    return X, y


def test_loss_against_sklearn_log_loss():
    from sklearn.metrics import log_loss

    X, y = _data()
    w = np.array([0.1, -0.2, 0.3, 0.0])
    assert loss(w, X, y) == pytest.approx(log_loss(y, 1 / (1 + np.exp(-X @ w))))


def test_gradient_matches_finite_difference():
    X, y = _data()
    w = np.array([0.1, -0.2, 0.3, 0.0])
    eps = 1e-6
    num = [(loss(w + eps * e, X, y) - loss(w - eps * e, X, y)) / (2 * eps) for e in np.eye(4)]
    assert np.allclose(gradient(w, X, y), num, atol=1e-7)


def test_data_parallel_step_equals_full_batch():
    X, y = _data()
    w = np.array([0.1, -0.2, 0.3, 0.0])
    cuts = [0, 50, 260, 600]  # unequal shards
    shards = [(X[a:b], y[a:b]) for a, b in zip(cuts, cuts[1:])]
    assert np.allclose(data_parallel_step(w, shards, 0.3), w - 0.3 * gradient(w, X, y))
    unweighted = w - 0.3 * np.mean([gradient(w, *s) for s in shards], axis=0)
    assert not np.allclose(unweighted, data_parallel_step(w, shards, 0.3))


def test_repeated_steps_reach_sklearns_unpenalised_fit():
    X, y = _data()
    shards = [(X[i::3], y[i::3]) for i in range(3)]
    w = np.zeros(4)
    for _ in range(2000):
        w = data_parallel_step(w, shards, 2.0)
    ref = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y)
    assert loss(w, X, y) == pytest.approx(loss(ref.coef_[0], X, y), abs=1e-4)
    np.testing.assert_allclose(w, ref.coef_[0], atol=2e-2)


def test_unusual_but_valid_inputs():
    X, y = _data(n=40)
    frame = pd.DataFrame(X, index=np.arange(100, 140))
    labels = pd.Series(y.astype(bool), index=frame.index)
    w = np.zeros(4, dtype=np.float32)
    expected = gradient(np.zeros(4), X, y)
    np.testing.assert_allclose(gradient(w, frame, labels), expected)
    step = data_parallel_step(pd.Series(w), ((frame[:10], labels[:10]), [X[10:].astype(np.float32), list(y[10:])]), np.float64(0.5))
    np.testing.assert_allclose(step, -0.5 * expected)


def test_bad_input():
    X, y = _data()
    with pytest.raises(ValueError, match="w must have one weight"):
        gradient(np.zeros(2), X, y)
    with pytest.raises(ValueError, match="lr must be in"):
        data_parallel_step(np.zeros(4), [(X, y)], lr=0.0)
    with pytest.raises(ValueError, match=r"shards\[1\] X must have one column per weight in w \(4\); got 3"):
        data_parallel_step(np.zeros(4), [(X, y), (X[:, :3], y)], lr=0.1)
    with pytest.raises(ValueError, match=r"shards\[0\] X and y must have the same length"):
        data_parallel_step(np.zeros(4), [(X, y[:10])], lr=0.1)
    with pytest.raises(TypeError, match=r"shards\[0\] must be an \(X, y\) pair"):
        data_parallel_step(np.zeros(4), (X, y), lr=0.1)  # one pair, not a list of pairs
    with pytest.raises(ValueError, match="at least one"):
        data_parallel_step(np.zeros(4), [], lr=0.1)
    with pytest.raises(ValueError, match=r"shards\[0\] y must hold only 0 and 1"):
        data_parallel_step(np.zeros(4), [(X, y + 1)], lr=0.1)
    with pytest.raises(ValueError, match="w must be finite"):
        loss([0, 0, 0, np.nan], X, y)
    with pytest.raises(ValueError, match="X must be finite"):
        loss(np.zeros(4), np.where(X > 1, np.inf, X), y)


@pytest.mark.parametrize("function", [loss, gradient])
def test_overflowing_scores_are_refused_not_nan(function):
    """Finite w and X whose scores X @ w overflow float64 gave a NaN loss and gradient without a word."""
    X, y = _data(n=20)
    with np.errstate(all="raise"):  # and no RuntimeWarning on the way
        with pytest.raises(ValueError, match=r"w and X give scores X @ w too large for float64"):
            function(np.full(4, 1e308), X, y)
        with pytest.raises(ValueError, match=r"w and shards\[0\] X give scores"):
            data_parallel_step(np.full(4, 1e308), [(X, y)], lr=0.1)
    assert np.isfinite(function(np.full(4, 1e300), X, y)).all()  # large but representable: fine
