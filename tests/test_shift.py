"""Tests of mlsys_course.shift: each simulated shift has its defining property; the corrections match their papers."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from mlsys_course.datasets import make_transactions
from mlsys_course.shift import adjust_priors, estimate_label_shift, importance_weights, simulate_shift

START = "2024-01-01 12:00"


def _world(n=6_000, seed=0, a=-2.0, b=1.5):
    """x ~ N(0, 1), z ~ N(0, 1) independent, y ~ Bernoulli(sigmoid(a + b x)); times over one day; a row id."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a + b * x)))).astype(np.int64)
    t = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 86_400, n)), unit="s")
    return pd.DataFrame({"timestamp": t, "x": x, "z": z, "is_fraud": y,
                         "label_known_at": t + pd.to_timedelta(np.where(y == 1, 5, 60), unit="D"),
                         "kind": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b", "c"]),
                         "row": np.arange(n)})


def _window(frame):
    return frame[frame["timestamp"] >= START]


def _logit(frame):
    fit = sm.Logit(frame["is_fraud"].to_numpy(), sm.add_constant(frame["x"].to_numpy())).fit(disp=0)
    return fit.params, fit.bse


# ---- simulate_shift: common contract ------------------------------------------------------------------------

@pytest.mark.parametrize("kind, columns", [("covariate", ["x"]), ("label", None), ("concept", ["x"]),
                                           ("correlation", ["x", "z"])])
def test_size_zero_and_a_late_start_change_nothing_and_the_frame_keeps_its_shape(kind, columns):
    df = _world()
    shuffled = df.sample(frac=1.0, random_state=0)  # unsorted input comes back sorted by time
    for size, start in ((0.0, START), (1.0, "2030-01-01")):
        out = simulate_shift(shuffled, kind, size=size, start=start, columns=columns, random_state=0)
        pd.testing.assert_frame_equal(out, shuffled.sort_values("timestamp", kind="stable").reset_index(drop=True))
    out = simulate_shift(df, kind, size=1.0, start=START, columns=columns, random_state=0)
    assert list(out.columns) == list(df.columns) and (out.dtypes == df.dtypes).all()
    assert list(out["kind"].cat.categories) == ["a", "b", "c"]
    assert out["timestamp"].is_monotonic_increasing and isinstance(out.index, pd.RangeIndex)
    assert not out["row"].duplicated().any()  # never duplicates a row
    before = df[df["timestamp"] < START]
    pd.testing.assert_frame_equal(out[out["timestamp"] < START], before)  # rows before start untouched
    again = simulate_shift(df, kind, size=1.0, start=START, columns=columns, random_state=0)
    pd.testing.assert_frame_equal(out, again)
    assert not out.equals(df)  # size 1 from START changes something


def test_a_start_before_the_first_row_shifts_every_row():
    df = _world()
    out = simulate_shift(df, "label", size=3.0, start="2023-01-01", random_state=0)
    n_neg = int((df["is_fraud"] == 0).sum())
    assert out["row"].min() == 0 or (df.loc[0, "is_fraud"] == 0)
    assert (out["is_fraud"] == 1).sum() == df["is_fraud"].sum()
    assert abs((out["is_fraud"] == 0).sum() - n_neg / 4) < 4 * np.sqrt(n_neg * 0.25 * 0.75)


# ---- covariate shift -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0.5, 2.0])
def test_covariate_shift_tilts_the_rank_positions_to_beta(size):
    df = _world(n=8_000)
    window = _window(df)
    u = (stats.rankdata(window["x"]) - 0.5) / len(window)
    out = _window(simulate_shift(df, "covariate", size=size, start=START, columns=["x"], random_state=1))
    kept = u[np.isin(window["row"], out["row"])]
    # positions of the kept rows follow Beta(1 + size, 1): cdf u ** (1 + size)
    assert stats.kstest(kept, lambda v: v ** (1 + size)).pvalue > 1e-3
    assert stats.kstest(kept, "uniform").pvalue < 1e-6
    p = u ** size  # each row kept independently with probability u ** size
    assert abs(len(kept) - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    assert out["x"].mean() > window["x"].mean() + 0.2


def test_covariate_shift_keeps_p_y_given_x():
    df = _world(n=30_000, seed=2)
    out = _window(simulate_shift(df, "covariate", size=1.5, start=START, columns=["x"], random_state=2))
    assert out["x"].mean() > _window(df)["x"].mean() + 0.4  # P(X) moved
    params, se = _logit(out)
    assert abs(params[0] - -2.0) < 4 * se[0] and abs(params[1] - 1.5) < 4 * se[1]


def test_covariate_shift_on_the_case_study_moves_amount_and_keeps_fraud_given_amount_bins():
    df = make_transactions(20_000, random_state=0)
    out = simulate_shift(df, "covariate", size=1.0, start="2024-04-01", random_state=0)
    w0, w1 = (f[f["timestamp"] >= "2024-04-01"] for f in (df, out))
    assert w1["amount"].median() > 1.5 * w0["amount"].median()
    edges = np.quantile(w0["amount"], np.linspace(0, 1, 6))
    for lo, hi in zip(edges[:-1], edges[1:]):
        bin0 = w0[(w0["amount"] >= lo) & (w0["amount"] <= hi)]
        bin1 = w1[(w1["amount"] >= lo) & (w1["amount"] <= hi)]
        r = bin0["is_fraud"].mean()
        # the kept rows are a subsample of bin0: hypergeometric standard error of their fraud rate
        se = np.sqrt(r * (1 - r) / len(bin1) * (1 - len(bin1) / len(bin0))) + 1e-9
        assert abs(bin1["is_fraud"].mean() - r) < 4 * se + 1e-12


# ---- label shift -----------------------------------------------------------------------------------------------

def test_label_shift_multiplies_the_odds_and_keeps_p_x_given_y():
    df = _world(n=30_000, seed=3)
    size = 3.0
    out = _window(simulate_shift(df, "label", size=size, start=START, random_state=3))
    window = _window(df)
    pos, neg = window[window["is_fraud"] == 1], window[window["is_fraud"] == 0]
    assert set(pos["row"]) <= set(out["row"])  # every positive kept
    kept_neg = np.isin(neg["row"], out["row"])
    assert abs(kept_neg.sum() - len(neg) / (1 + size)) < 4 * np.sqrt(len(neg) * 0.25 * 0.75)
    # P(x | y = 0): kept and dropped negatives are two samples of one distribution
    assert stats.ks_2samp(neg["x"][kept_neg], neg["x"][~kept_neg]).pvalue > 1e-3
    # the posterior's logit moves by log(1 + size), the slope stays (Bayes' rule under label shift)
    params, se = _logit(out)
    assert abs(params[0] - (-2.0 + np.log(1 + size))) < 4 * se[0]
    assert abs(params[1] - 1.5) < 4 * se[1]


# ---- concept drift ---------------------------------------------------------------------------------------------

def test_concept_drift_keeps_every_input_and_swaps_labels_across_mirrored_ranks():
    df = _world(n=6_000, seed=4)
    out = simulate_shift(df, "concept", size=1.0, start=START, columns=["x"], random_state=4)
    pd.testing.assert_frame_equal(out.drop(columns=["is_fraud", "label_known_at"]),
                                  df.drop(columns=["is_fraud", "label_known_at"]))
    assert out["is_fraud"].sum() == df["is_fraud"].sum()
    window, shifted = _window(df), _window(out)
    order = np.argsort(window["x"].to_numpy())
    half = len(order) // 2
    y0, y1 = window["is_fraud"].to_numpy(), shifted["is_fraud"].to_numpy()
    np.testing.assert_array_equal(y1[order[:half]], y0[order[::-1][:half]])  # label of rank i <- rank n-1-i
    # the label's delay moves with the label
    delay = (out["label_known_at"] - out["timestamp"]).dt.days
    assert set(delay[out["is_fraud"] == 1]) == {5} and set(delay[out["is_fraud"] == 0]) == {60}
    params, se = _logit(shifted)
    assert params[1] < -1.0  # P(y | x) flipped


def test_concept_drift_swaps_each_pair_with_probability_size():
    df = _world(n=20_000, seed=5)
    size = 0.3
    out = simulate_shift(df, "concept", size=size, start=START, columns=["x"], random_state=5)
    window, shifted = _window(df), _window(out)
    order = np.argsort(window["x"].to_numpy())
    half = len(order) // 2
    y0 = window["is_fraud"].to_numpy()
    differ = y0[order[:half]] != y0[order[::-1][:half]]  # pairs whose swap shows
    changed = (shifted["is_fraud"].to_numpy()[order[:half]] != y0[order[:half]])[differ]
    n = differ.sum()
    assert abs(changed.sum() - size * n) < 4 * np.sqrt(n * size * (1 - size))


# ---- correlation shift -----------------------------------------------------------------------------------------

def test_correlation_shift_keeps_every_marginal_and_flips_the_joint():
    df = _world(n=6_000, seed=6)
    df["z"] = df["x"] + 0.5 * df["z"]  # strongly related at baseline
    rho0 = stats.spearmanr(_window(df)["x"], _window(df)["z"])[0]
    rhos = []
    for size in (0.0, 0.25, 0.5, 0.75, 1.0):
        out = simulate_shift(df, "correlation", size=size, start=START, columns=["x", "z"], random_state=6)
        pd.testing.assert_frame_equal(out.drop(columns="z"), df.drop(columns="z"))  # other columns in place
        np.testing.assert_array_equal(np.sort(_window(out)["z"]), np.sort(_window(df)["z"]))  # a permutation
        rhos.append(stats.spearmanr(_window(out)["x"], _window(out)["z"])[0])
    assert rhos[0] == pytest.approx(rho0) and rho0 > 0.8
    assert np.all(np.diff(rhos) < 0) and rhos[-1] == pytest.approx(-1.0)
    # per-feature two-sample tests cannot see it: the window's values are the same
    out = simulate_shift(df, "correlation", size=0.5, start=START, columns=["x", "z"], random_state=6)
    assert stats.ks_2samp(_window(out)["z"], _window(df)["z"]).statistic == 0.0


def test_correlation_shift_moves_a_share_size_of_rows():
    df = _world(n=10_000, seed=7)
    size = 0.4
    out = simulate_shift(df, "correlation", size=size, start=START, columns=["x", "z"], random_state=7)
    n = len(_window(df))
    moved = (_window(out)["z"].to_numpy() != _window(df)["z"].to_numpy()).sum()
    assert abs(moved - size * n) < 4 * np.sqrt(n * size * (1 - size))


# ---- simulate_shift: bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    ({"kind": "drift"}, ValueError, "kind"),
    ({"size": -0.1}, ValueError, "size"),
    ({"kind": "concept", "size": 1.5}, ValueError, "size"),
    ({"kind": "correlation", "size": 2.0, "columns": ["x", "z"]}, ValueError, "size"),
    ({"kind": "label", "columns": ["x"]}, ValueError, "columns"),
    ({"columns": ["kind"]}, TypeError, "columns"),
    ({"columns": ["nope"]}, ValueError, "columns"),
    ({"columns": "x"}, TypeError, "columns"),
    ({"kind": "correlation", "columns": ["x"]}, ValueError, "columns"),
    ({"kind": "label", "target": "x"}, ValueError, "target"),
    ({"kind": "label", "target": "nope"}, ValueError, "target"),
    ({"kind": "concept", "label_time": "nope"}, ValueError, "label_time"),
    ({"time": "x"}, TypeError, "time"),
    ({"start": 5}, TypeError, "start"),
    ({"random_state": -1}, ValueError, "random_state"),
])
def test_simulate_shift_refuses_bad_input_clearly(kwargs, error, match):
    call = {"kind": "covariate", "size": 1.0, "start": START, "columns": ["x"], **kwargs}
    with pytest.raises(error, match=match):
        simulate_shift(_world(n=200), **call)


def test_simulate_shift_refuses_missing_values_in_columns():
    df = _world(n=200)
    df.loc[5, "x"] = np.nan
    with pytest.raises(ValueError, match="columns.*missing"):
        simulate_shift(df, "covariate", size=1.0, start="2023-01-01", columns=["x"], random_state=0)


# ---- importance_weights ----------------------------------------------------------------------------------------

def test_importance_weights_approach_the_true_density_ratio_of_two_gaussians():
    rng = np.random.default_rng(0)
    n, mu = 4_000, 0.7
    reference, current = rng.normal(0, 1, (n, 1)), rng.normal(mu, 1, (n, 1))
    w = importance_weights(reference, current, random_state=0)
    x = reference[:, 0]
    true = np.exp(mu * x - mu ** 2 / 2)
    assert w.mean() == pytest.approx(1.0)
    inner = np.abs(x) < 2  # where the clip (20) does not bind and the estimate is well supported
    err = np.log(w[inner]) - np.log(true[inner] / true.mean())
    # logistic slope SE ~ 1 / sqrt(2n * var(x) * 1/4) ~ 0.02: the log-ratio error stays within 4 SE at |x| < 2
    assert np.abs(err).max() < 4 * (0.02 * 2 + 0.02)
    # the weighted reference mean reaches the current mean (within the weighted sample's standard error)
    n_eff = w.sum() ** 2 / (w ** 2).sum()
    se = np.sqrt(np.cov(x, aweights=w) / n_eff + current[:, 0].var() / n)
    assert abs(np.average(x, weights=w) - current[:, 0].mean()) < 4 * se
    assert abs(x.mean() - current[:, 0].mean()) > 10 * se  # unweighted it is far


def test_importance_weights_are_flat_without_shift_and_agree_on_frames_and_arrays():
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=(2_000, 3)), rng.normal(size=(2_000, 3))
    w = importance_weights(reference, current, random_state=0)
    assert w.std() < 0.1
    frames = importance_weights(pd.DataFrame(reference, columns=list("abc")),
                                pd.DataFrame(current, columns=list("abc")), random_state=0)
    np.testing.assert_allclose(frames, w)


def test_importance_weights_clip_flattens_the_top_and_keeps_the_rest_proportional():
    rng = np.random.default_rng(2)
    reference, current = rng.normal(0, 1, (2_000, 1)), rng.normal(1.5, 1, (2_000, 1))
    free = importance_weights(reference, current, clip=None, random_state=0)
    clipped = importance_weights(reference, current, clip=3.0, random_state=0)
    top = clipped == clipped.max()
    assert top.sum() > 10 and free[top].min() >= free[~top].max()
    ratio = clipped[~top] / free[~top]
    np.testing.assert_allclose(ratio, ratio[0])


def test_importance_weights_are_out_of_fold_odds_times_the_window_ratio():
    rng = np.random.default_rng(3)
    reference, current = rng.normal(0, 1, (300, 2)), rng.normal(0.5, 1, (500, 2))
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    w = importance_weights(reference, current, estimator=model, cv=3, clip=None, random_state=0)
    X, d = np.vstack([reference, current]), np.r_[np.zeros(300), np.ones(500)]
    p = np.empty(300)
    for train, test in StratifiedKFold(3, shuffle=True, random_state=0).split(X, d):
        fitted = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X[train], d[train])
        p[test[test < 300]] = fitted.predict_proba(X[test[test < 300]])[:, 1]
    raw = p / (1 - p) * 300 / 500
    np.testing.assert_allclose(w, raw / raw.mean(), rtol=1e-10)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"current": np.zeros((50, 3))}, ValueError, "current"),
    ({"current": pd.DataFrame({"b": np.zeros(50)})}, TypeError, "current"),
    ({"cv": 1}, ValueError, "cv"),
    ({"cv": 100}, ValueError, "cv"),
    ({"clip": 0.0}, ValueError, "clip"),
    ({"estimator": object()}, TypeError, "estimator"),
    ({"reference": np.full((50, 2), "a")}, TypeError, "reference"),
    ({"reference": np.full((50, 2), np.nan)}, ValueError, "reference"),
    ({"reference": [1.0, 2.0]}, ValueError, "reference"),
])
def test_importance_weights_refuse_bad_input_clearly(kwargs, error, match):
    rng = np.random.default_rng(0)
    call = {"reference": rng.normal(size=(50, 2)), "current": rng.normal(size=(50, 2)), **kwargs}
    with pytest.raises(error, match=match):
        importance_weights(**call)


# ---- adjust_priors ---------------------------------------------------------------------------------------------

def test_adjust_priors_follows_saerens_formula_and_is_the_identity_for_equal_priors():
    p = np.array([0.01, 0.2, 0.5, 0.99])
    new = adjust_priors(p, train_priors=0.3, new_priors=0.1)
    expected = p * (0.1 / 0.3) / (p * (0.1 / 0.3) + (1 - p) * (0.9 / 0.7))
    np.testing.assert_allclose(new, expected, rtol=1e-12)
    np.testing.assert_allclose(adjust_priors(p, train_priors=0.3, new_priors=0.3), p, rtol=1e-12)
    np.testing.assert_allclose(adjust_priors(p, train_priors=0.3, new_priors=1.0), 1.0)  # a clipped BBSE estimate
    back = adjust_priors(new, train_priors=[0.9, 0.1], new_priors=[0.7, 0.3])
    np.testing.assert_allclose(back, p, rtol=1e-12)


def test_adjust_priors_gives_the_true_posterior_under_the_new_prior():
    # two Gaussian classes N(0, 1), N(1, 1): the exact posterior under prior pi is sigmoid(x - 1/2 + logit(pi))
    x = np.linspace(-3, 4, 50)
    post = lambda pi: 1 / (1 + np.exp(-(x - 0.5 + np.log(pi / (1 - pi)))))  # noqa: E731
    np.testing.assert_allclose(adjust_priors(post(0.5), train_priors=0.5, new_priors=0.05), post(0.05), rtol=1e-10)
    # three classes: rows sum to 1 and match Bayes' rule
    lik = np.stack([stats.norm.pdf(x, m) for m in (0, 1, 2)], axis=1)
    old, new = np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.3, 0.1])
    bayes = lambda pri: lik * pri / (lik * pri).sum(axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(adjust_priors(bayes(old), train_priors=old, new_priors=new), bayes(new), rtol=1e-10)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"train_priors": [0.5, 0.6]}, ValueError, "train_priors.*sum"),
    ({"new_priors": [1.2, -0.2]}, ValueError, "new_priors"),
    ({"train_priors": [1.0, 0.0]}, ValueError, "train_priors"),
    ({"new_priors": [0.2, 0.3, 0.5]}, ValueError, "new_priors"),
    ({"new_priors": 1.2}, ValueError, "new_priors"),
    ({"proba": np.array([0.5, 1.2])}, ValueError, "proba"),
    ({"proba": np.array([[0.5, 0.6]])}, ValueError, "proba"),
    ({"proba": "0.5"}, TypeError, "proba"),
])
def test_adjust_priors_refuses_bad_input_clearly(kwargs, error, match):
    call = {"proba": np.array([0.2, 0.7]), "train_priors": 0.5, "new_priors": 0.2, **kwargs}
    with pytest.raises(error, match=match):
        adjust_priors(**call)


# ---- estimate_label_shift --------------------------------------------------------------------------------------

def _labelled(n, priors, rng):
    y = rng.choice(len(priors), size=n, p=priors)
    return rng.normal(loc=y[:, None] * 1.5, scale=1.0, size=(n, 2)), y


def test_bbse_recovers_the_new_priors_of_a_seeded_label_shift():
    rng = np.random.default_rng(0)
    X_tr, y_tr = _labelled(5_000, [1 / 3] * 3, rng)
    model = LogisticRegression().fit(X_tr, y_tr)
    X_val, y_val = _labelled(20_000, [1 / 3] * 3, rng)
    true = np.array([0.6, 0.3, 0.1])
    X_cur, _ = _labelled(20_000, true, rng)
    errors = []
    for method in ("soft", "hard"):
        est = estimate_label_shift(y_val, model.predict_proba(X_val), model.predict_proba(X_cur), method=method)
        assert est.sum() == pytest.approx(1.0)
        # BBSE's error is O(1/sqrt(n)) times the conditioning of C: about 0.01 here, so 0.04 is 4 SE
        np.testing.assert_allclose(est, true, atol=0.04)
        errors.append(np.abs(est - true).max())
    naive = model.predict_proba(X_cur).mean(axis=0)  # the model's own average is biased toward training priors
    assert np.abs(naive - true).max() > 2 * max(errors)


def test_bbse_is_exact_on_the_validation_rows_and_equals_adjusted_classify_and_count():
    rng = np.random.default_rng(1)
    X, y = _labelled(3_000, [0.8, 0.2], rng)
    p = LogisticRegression().fit(X, y).predict_proba(X)[:, 1]
    np.testing.assert_allclose(estimate_label_shift(y, p, p), np.bincount(y) / len(y), atol=1e-12)
    X_cur, _ = _labelled(3_000, [0.5, 0.5], rng)
    p_cur = LogisticRegression().fit(X, y).predict_proba(X_cur)[:, 1]
    tpr, fpr = (p[y == 1] >= 0.5).mean(), (p[y == 0] >= 0.5).mean()
    acc = ((p_cur >= 0.5).mean() - fpr) / (tpr - fpr)  # Forman's adjusted classify and count
    assert estimate_label_shift(y, p, p_cur, method="hard")[1] == pytest.approx(np.clip(acc, 0, 1), abs=1e-12)


def test_bbse_clips_impossible_estimates_to_valid_priors():
    y = np.array([0, 0, 1, 1])
    p_val = np.array([0.2, 0.3, 0.7, 0.8])
    est = estimate_label_shift(y, p_val, np.array([0.95, 0.99]))  # beyond what class 1 alone gives
    np.testing.assert_allclose(est, [0.0, 1.0])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"y_true": [0, 1, 2, 1]}, ValueError, "y_true"),
    ({"y_true": [0, 1, 1]}, ValueError, "y_true"),
    ({"y_true": [1, 1, 1, 1]}, ValueError, "y_true"),
    ({"proba_val": [0.2, 0.3, 0.7, 1.5]}, ValueError, "proba_val"),
    ({"proba_current": np.array([[0.2, 0.3, 0.5]])}, ValueError, "proba_current"),
    ({"proba_val": [0.2, 0.2, 0.2, 0.2], "method": "hard"}, ValueError, "proba_val"),
    ({"method": "exact"}, ValueError, "method"),
])
def test_estimate_label_shift_refuses_bad_input_clearly(kwargs, error, match):
    call = {"y_true": [0, 0, 1, 1], "proba_val": [0.2, 0.3, 0.7, 0.8], "proba_current": [0.5, 0.6], **kwargs}
    with pytest.raises(error, match=match):
        estimate_label_shift(**call)
