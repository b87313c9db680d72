import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_course.distributed import data_parallel_step, gradient, loss, simulate_training


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, 3))]
    y = (X @ [0.2, 1.0, -1.0, 0.5] + rng.logistic(size=n) > 0).astype(int)
    return X, y


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


def test_sync_converges_to_sklearn_and_straggler_sets_pace():
    X, y = _data()
    s = simulate_training(X, y, mode="sync", steps=2000, lr=2.0, straggler_delay=3.0, jitter=0.0)
    ref = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y)
    ref_loss = loss(ref.coef_[0], X, y)
    assert s["loss"].iloc[-1] == pytest.approx(ref_loss, abs=1e-4)
    assert np.allclose(np.diff(s["wall_time"]), 4.0)  # 1 unit + 3 units of straggler delay


def test_async_faster_wall_clock_with_stale_updates():
    X, y = _data()
    s = simulate_training(X, y, mode="sync", steps=50, straggler_delay=3.0, random_state=0)
    a = simulate_training(X, y, mode="async", steps=200, straggler_delay=3.0, random_state=0)
    assert a["wall_time"].iloc[-1] < s["wall_time"].iloc[-1]
    assert a["staleness"].max() > 0 and (s["staleness"] == 0).all()
    assert a["loss"].iloc[-1] < a["loss"].iloc[0]


def test_bad_input():
    X, y = _data()
    with pytest.raises(ValueError, match="mode"):
        simulate_training(X, y, mode="ring")
    with pytest.raises(ValueError, match="w must have one weight"):
        gradient(np.zeros(2), X, y)
    with pytest.raises(ValueError, match="lr"):
        data_parallel_step(np.zeros(4), [(X, y)], lr=0.0)
