"""The chapter 4a lab: sampling experiments and the label-budget drivers (short: the notebook exercises them too)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import train_test_split
from sklearn.semi_supervised import SelfTrainingClassifier

from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import evaluate
from mlsys_course.labeling import ABSTAIN, FRAUD, LEGIT, lf_card_testing_burst, majority_vote, query
from mlsys_course.lab.ch04a import (
    FRESH_WORLD_SEEDS,
    WeightedVote,
    active_learning_curve,
    fit_or_constant,
    inclusion_chisquare,
    inclusion_frequencies,
    label_budget_curves,
    naive_stream_sample,
    simulate_rare_counts,
)
from mlsys_course.sampling import miss_probability, reservoir_sample_r

ALPHA = 1e-3  # a test of a correct sampler rejects with this probability (one seed each)


# --- sampling experiments ----------------------------------------------------------------------------


def test_simulated_rare_counts_follow_the_hypergeometric():
    n, r, k, runs = 2_000, 10, 200, 5_000
    counts = simulate_rare_counts(n, r, k, runs, random_state=7)
    assert counts.shape == (runs,) and counts.min() >= 0 and counts.max() <= r
    expected = stats.hypergeom.pmf([0, 1, 2], n, r, k)  # bins 0, 1, 2, 3+ (multinomial counts)
    expected = np.append(expected, 1 - expected.sum()) * runs
    observed = np.bincount(np.minimum(counts, 3), minlength=4)
    assert stats.chisquare(observed, expected).pvalue > ALPHA
    p = miss_probability(n, r, k)
    assert abs((counts == 0).mean() - p) < 4 * math.sqrt(p * (1 - p) / runs)
    with pytest.raises(ValueError, match="n_runs must be >= 1"):
        simulate_rare_counts(10, 1, 1, 0)
    with pytest.raises(ValueError, match="n_rare must be <= 10"):
        simulate_rare_counts(10, 11, 1, 1)


def test_naive_sampler_is_biased_towards_recent_items():
    n, k, runs, p = 20, 5, 20_000, 0.5
    freq = inclusion_frequencies(naive_stream_sample, n, k, runs, random_state=0)
    assert inclusion_chisquare(freq, runs).pvalue < 1e-6
    assert stats.chisquare(np.round(freq * runs)).pvalue < 1e-6
    assert freq[-1] > 1.5 * k / n and freq[k] < 0.5 * k / n  # 0.5 and 0.11 instead of 0.25
    i = np.arange(n)  # ... and it follows the inclusion probabilities its docstring states
    expected = np.where(i < k, (1 - p / k) ** (n - k), p * (1 - p / k) ** (n - 1 - i))
    assert expected.sum() == pytest.approx(k)
    assert np.all(np.abs(freq - expected) < 4.5 * np.sqrt(expected * (1 - expected) / runs))


@pytest.mark.parametrize(
    "stream, k, kwargs, error, words",
    [
        ([], 3, {}, ValueError, "stream must yield at least one item"),
        (5, 2, {}, TypeError, "stream must be an iterable"),
        ([1, 2], 0, {}, ValueError, "k must be >= 1"),
        ([1, 2], 1, {"p_replace": 0.0}, ValueError, "p_replace must be in"),
        ([1, 2], 1, {"p_replace": "1"}, TypeError, "p_replace must be a real number"),
        ([1, 2], 1, {"random_state": "0"}, TypeError, "random_state must be"),
    ],
)
def test_naive_sampler_bad_input(stream, k, kwargs, error, words):
    with pytest.raises(error, match=words):
        naive_stream_sample(stream, k, **kwargs)


def test_inclusion_chisquare_is_calibrated():
    """Under exact uniform sampling its p-values are uniform; the plain Pearson test's are too large."""
    rng = np.random.default_rng(4)
    n, k, runs, reps = 10, 3, 2_000, 300
    ours, plain = [], []
    for _ in range(reps):
        picks = np.argsort(rng.random((runs, n)), axis=1)[:, :k]  # numpy's own uniform k-subsets
        counts = np.bincount(picks.ravel(), minlength=n)
        ours.append(inclusion_chisquare(counts / runs, runs).pvalue)
        plain.append(stats.chisquare(counts).pvalue)
    assert stats.kstest(ours, "uniform").pvalue > ALPHA
    assert stats.kstest(plain, "uniform").pvalue < ALPHA and np.mean(plain) > 0.55
    scale = (n - 1) / (n * (1 - k / n))
    assert inclusion_chisquare(counts / runs, runs).statistic == pytest.approx(stats.chisquare(counts).statistic * scale)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: inclusion_frequencies("r", 5, 2, 10), TypeError, "sampler must be callable"),
        (lambda: inclusion_frequencies(reservoir_sample_r, 0, 2, 10), ValueError, "n must be >= 1"),
        (lambda: inclusion_frequencies(reservoir_sample_r, 10**7, 2, 10), ValueError, "n must be <= 1000000"),
        (lambda: inclusion_frequencies(reservoir_sample_r, 5, 2, 0), ValueError, "n_runs must be >= 1"),
        (lambda: inclusion_frequencies(lambda s, k, random_state: [0, 0], 5, 2, 3), ValueError, "distinct positions"),
        (lambda: inclusion_frequencies(lambda s, k, random_state: [7], 5, 2, 3), ValueError, r"positions of range\(5\)"),
        (lambda: inclusion_chisquare([0.25, 0.5], 3), ValueError, "frequencies must be counts / n_runs"),
        (lambda: inclusion_chisquare([0.5, 0.25], 4), ValueError, "frequencies must sum to a whole sample size"),
        (lambda: inclusion_chisquare([0.5], 4), ValueError, "frequencies must have at least 2"),
    ],
)
def test_inclusion_helpers_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- labeling experiments ----------------------------------------------------------------------------


def test_fit_or_constant():
    X, y = make_classification(200, n_features=4, random_state=0)
    np.testing.assert_array_equal(fit_or_constant(LogisticRegression(), X, y).predict_proba(X),
                                  LogisticRegression().fit(X, y).predict_proba(X))
    negatives = np.flatnonzero(y == 0)[:20]
    constant = fit_or_constant(LogisticRegression(), X[negatives], y[negatives])
    np.testing.assert_array_equal(constant.classes_, [0, 1])
    assert average_precision_score(y, constant.predict_proba(X)[:, 1]) == pytest.approx(y.mean())  # ranks nothing
    with pytest.raises(ValueError, match="y must hold at least one label"):
        fit_or_constant(LogisticRegression(), X[:0], y[:0])
    with pytest.raises(TypeError, match="estimator must be an estimator instance"):
        fit_or_constant(LogisticRegression, X, y)


def test_active_learning_curve_shape_and_final_full_pool():
    X, y = make_classification(300, n_features=4, random_state=0)
    X_pool, y_pool, X_test, y_test = X[:100], y[:100], X[100:], y[100:]
    curve = active_learning_curve(X_pool, y_pool, X_test, y_test, n_initial=10, batch_size=30, n_rounds=3)
    assert curve.columns.tolist() == ["strategy", "labels_used", "score"]
    assert curve["labels_used"].tolist() == [10, 40, 70, 100]
    full = LogisticRegression(max_iter=1000).fit(X_pool, y_pool).score(X_test, y_test)
    assert curve["score"].iloc[-1] == pytest.approx(full)  # the whole pool bought: no position repeated
    pd.testing.assert_frame_equal(curve, active_learning_curve(pd.DataFrame(X_pool), pd.Series(y_pool), X_test, y_test,
                                                               n_initial=10, batch_size=30, n_rounds=3))


def test_active_learning_beats_random_on_digits():
    X, y = load_digits(return_X_y=True)
    X_pool, X_test, y_pool, y_test = train_test_split(X / 16, y, test_size=500, random_state=0, stratify=y)
    scores = {}
    for strategy in ("margin", "random"):
        curves = [active_learning_curve(X_pool, y_pool, X_test, y_test, strategy=strategy, n_initial=20,
                                        batch_size=20, n_rounds=5, random_state=seed) for seed in range(3)]
        scores[strategy] = np.mean([c["score"].iloc[-1] for c in curves])  # at 120 labels
    assert scores["margin"] > scores["random"] + 0.02


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"n_rounds": 10, "batch_size": 10}, ValueError, r"n_initial \+ n_rounds \* batch_size must be at most the pool size 50"),
        ({"strategy": "smart"}, ValueError, "strategy must be one of"),
        ({"committee_size": 1}, ValueError, "committee_size must be >= 2"),
        ({"estimator": "lr"}, TypeError, "estimator must be a scikit-learn estimator"),
        ({"scoring": "nope"}, ValueError, "scoring must be a scikit-learn scorer name"),
    ],
)
def test_active_learning_curve_bad_input(kwargs, error, words):
    X, y = make_classification(100, n_features=4, random_state=0)
    args = {"n_initial": 5, "batch_size": 5, "n_rounds": 2} | kwargs
    with pytest.raises(error, match=words):
        active_learning_curve(X[:50], y[:50], X[50:], y[50:], **args)


def hand_labels_only(X, y_known):
    bought = y_known != -1
    return fit_or_constant(LogisticRegression(max_iter=1000), X[bought], y_known[bought])


@pytest.fixture(scope="module")
def pool():
    X, y = make_classification(800, n_features=5, random_state=0)
    return X[:500], y[:500], X[500:], y[500:]


def test_label_budget_curves_arms_against_their_definitions(pool):
    X, y, X_test, y_test = pool
    arms = {
        "random": ("random", hand_labels_only),
        "active learning": ("uncertainty", hand_labels_only),
        "perfect weak labels": ("random", lambda X, y_known: hand_labels_only(X, y)),
        "self-training": ("random", lambda X, y_known: SelfTrainingClassifier(LogisticRegression()).fit(X, y_known)),
    }
    curves = label_budget_curves(arms, X, y, X_test, y_test, budgets=[20, 60], seeds=[3, 4])
    assert curves.columns.tolist() == ["seed", "arm", "labels_used", "score"] and len(curves) == 2 * 4 * 2
    score = curves.set_index(["seed", "arm", "labels_used"])["score"]
    order = np.random.default_rng(3).permutation(len(X))  # the random rows: a prefix of the seed's permutation
    for b in (20, 60):
        by_hand = LogisticRegression(max_iter=1000).fit(X[order[:b]], y[order[:b]]).score(X_test, y_test)
        assert score[3, "random", b] == pytest.approx(by_hand)
        assert score[3, "perfect weak labels", b] == pytest.approx(LogisticRegression(max_iter=1000).fit(X, y).score(X_test, y_test))
    assert score[3, "active learning", 20] == score[3, "random", 20]  # active learning starts from the random rows
    rng = np.random.default_rng(3)  # ... then asks the model which 40 rows to label next
    rng.permutation(len(X))
    first = order[:20]
    rest = np.setdiff1d(np.arange(len(X)), first)
    bought = np.r_[first, rest[query(hand_labels_only(X[first], y[first]), X[rest], 40, random_state=rng)]]
    expected = LogisticRegression(max_iter=1000).fit(X[bought], y[bought]).score(X_test, y_test)
    assert score[3, "active learning", 60] == pytest.approx(expected)
    assert score[3, "random", 60] != score[4, "random", 60]  # seeds differ
    assert curves.equals(label_budget_curves(arms, X, y, X_test, y_test, budgets=[20, 60], seeds=[3, 4]))


def test_label_budget_curves_with_a_single_class_use_a_constant():
    X, y = make_classification(600, n_features=4, weights=[0.98], random_state=0)
    y_pool = y[:400].copy()
    y_pool[np.random.default_rng(0).permutation(400)[:10]] = 0  # the first 10 random labels are all negative
    arms = {"random": ("random", hand_labels_only), "active learning": ("uncertainty", hand_labels_only)}
    curves = label_budget_curves(arms, X[:400], y_pool, X[400:], y[400:], budgets=[10], scoring="average_precision", seeds=[0])
    assert np.allclose(curves["score"], y[400:].mean())  # a constant score ranks nothing: AP = prevalence


@pytest.mark.parametrize(
    "change, error, words",
    [
        ({"y": np.where(np.arange(500) == 7, np.nan, 0.0)}, ValueError, "y must have no missing labels; got 1"),
        ({"y_test": np.full(300, np.nan)}, ValueError, "y_test must have no missing labels"),
        ({"y": np.full(500, 0.5)}, TypeError, "y must hold integer class labels >= 0"),
        ({"y": np.full(500, -1)}, ValueError, "y must hold class labels >= 0"),
        ({"budgets": [20, 10]}, ValueError, "budgets must be strictly increasing"),
        ({"budgets": [0]}, ValueError, r"budgets\[0\] must be >= 1"),
        ({"budgets": [501]}, ValueError, r"budgets\[0\] must be <= 500"),
        ({"budgets": 10}, TypeError, "budgets must be a non-empty list"),
        ({"budgets": []}, ValueError, "budgets must hold at least one"),
        ({"seeds": 3}, TypeError, "seeds must be a list of int seeds such as range"),
        ({"seeds": [0.5]}, TypeError, r"seeds\[0\] must be an int"),
        ({"arms": {"a": hand_labels_only}}, TypeError, r"arms\['a'\] must be a pair \(buying, train\)"),
        ({"arms": {"a": ("smart", hand_labels_only)}}, ValueError, r"arms\['a'\]\[0\] \(how rows are bought\) must be one of"),
        ({"arms": {"a": ("random", "lr")}}, TypeError, r"arms\['a'\]\[1\] must be a function"),
        ({"arms": {"a": ("random", lambda X, y_known: None)}}, TypeError, r"arms\['a'\]: train must return a fitted classifier"),
        ({"arms": []}, TypeError, "arms must be a non-empty dict"),
        ({"scoring": 3}, TypeError, "scoring must be a scorer name"),
    ],
)
def test_label_budget_curves_bad_input(pool, change, error, words):
    X, y, X_test, y_test = pool
    args = {"arms": {"random": ("random", hand_labels_only)}, "X": X, "y": y, "X_test": X_test, "y_test": y_test,
            "budgets": [10], "seeds": [0]} | change
    with pytest.raises(error, match=words):
        label_budget_curves(**args)


def test_label_budget_curves_take_frames_numpy_ints_and_ranges(pool):
    X, y, X_test, y_test = pool
    arms = {"random": ("random", hand_labels_only)}
    expected = label_budget_curves(arms, X, y, X_test, y_test, budgets=[10, 30], seeds=[0, 1])
    got = label_budget_curves(arms, pd.DataFrame(X, index=np.arange(500) + 7), pd.Series(y.astype(bool), index=np.arange(500) + 7),
                              X_test.astype(np.float32), y_test, budgets=np.array([10, 30]), seeds=range(2))
    pd.testing.assert_frame_equal(got, expected, atol=1e-6)


# --- combining labeling functions: the weighted-vote baselines ---------------------------------------


def test_weighted_vote_counts_votes_like_majority_vote():
    L = np.array([[1, 1, 0], [1, 0, 0], [-1, -1, -1], [0, -1, 1], [1, -1, -1]])
    vote = WeightedVote().fit(L)
    assert vote.decision_function(L).tolist() == [1.0, -1.0, 0.0, 0.0, 1.0]  # fraud votes minus legit votes
    np.testing.assert_array_equal(vote.predict(L), majority_vote(L, tie_break="negative"))
    np.testing.assert_allclose(vote.predict_proba(L).sum(axis=1), 1.0)


def test_precision_weights_are_the_smoothed_log_odds_of_each_vote():
    rng = np.random.default_rng(0)
    y = (rng.random(2_000) < 0.05).astype(int)
    L = np.column_stack([np.where(rng.random(2_000) < np.where(y == 1, 0.6, 0.05), 1, -1),  # a fraud rule
                         np.where(rng.random(2_000) < np.where(y == 1, 0.1, 0.7), 0, -1)])  # a legit rule
    vote = WeightedVote("precision", smoothing=2.0).fit(L, y)
    base = (y.sum() + 1) / (len(y) + 2)
    assert vote.bias_ == pytest.approx(np.log(base / (1 - base)))
    for j, column, value in [(0, 1, 1), (1, 0, 0)]:
        fires = L[:, j] == value
        p = (y[fires].sum() + 2 * base) / (fires.sum() + 2)
        assert vote.weights_[j, column] == pytest.approx(np.log(p / (1 - p)) - vote.bias_)
    assert vote.weights_[0, 0] == 0.0 and vote.weights_[1, 1] == 0.0  # votes never cast add nothing
    assert vote.weights_[0, 1] > 0 > vote.weights_[1, 0]
    # naive Bayes over the firings: the score of a row is the bias plus the weights of the votes cast
    row = np.array([[1, 0]])
    assert vote.decision_function(row)[0] == pytest.approx(vote.bias_ + vote.weights_[0, 1] + vote.weights_[1, 0])
    assert average_precision_score(y, vote.predict_proba(L)[:, 1]) > 3 * y.mean()


@pytest.mark.parametrize(
    "make, call, error, words",
    [
        (lambda: WeightedVote("best"), lambda v: v.fit([[1]]), ValueError, "weights must be one of"),
        (lambda: WeightedVote(smoothing=0), lambda v: v.fit([[1]]), ValueError, "smoothing must be"),
        (lambda: WeightedVote("precision"), lambda v: v.fit([[1], [0]]), ValueError, "y .hand labels"),
        (lambda: WeightedVote("precision"), lambda v: v.fit([[1], [0]], [1, 2]), ValueError, "y must hold 0/1 labels"),
        (lambda: WeightedVote(), lambda v: v.fit([[2]]), ValueError, "L must hold votes -1"),
        (lambda: WeightedVote(), lambda v: v.fit([[0.5]]), ValueError, "L must hold votes -1"),
        (lambda: WeightedVote(), lambda v: v.predict([[1]]), ValueError, "not fitted yet"),
        (lambda: WeightedVote(), lambda v: v.fit([[1, 1]]).predict([[1]]), ValueError, "L must have 2 columns"),
    ],
)
def test_weighted_vote_bad_input(make, call, error, words):
    with pytest.raises(error, match=words):
        call(make())


# --- exercises that judge an artifact on a world the notebook never used -----------------------------


def test_exercise_4a_3_judges_a_labeling_function_on_a_fresh_world():
    def new_account_risky(df):
        risky = df["merchant_category"].isin(["digital_goods", "gaming", "electronics", "travel"]).to_numpy()
        return np.where((df["account_age_days"].to_numpy() < 30) & (risky | df["is_foreign"].to_numpy()), FRAUD, ABSTAIN)

    assert evaluate("4a.3", new_account_risky)
    assert not evaluate("4a.3", lf_card_testing_burst)  # already among the label model's functions
    assert not evaluate("4a.3", lambda df: np.full(len(df), FRAUD))  # fires everywhere: precision = the fraud rate
    assert not evaluate("4a.3", lambda df: np.full(len(df), LEGIT))  # votes the wrong way
    assert not evaluate("4a.3", lambda df: df["no_such_column"])  # fails on the data: a verdict, not a crash
    assert not evaluate("4a.3", 3)


def test_exercise_4a_4_computes_the_window_from_a_fresh_world():
    world = make_transactions(40_000, random_state=FRESH_WORLD_SEEDS[1])
    frauds = world[world["is_fraud"] == 1]
    delay_days = (frauds["label_known_at"] - frauds["timestamp"]).dt.total_seconds() / 86_400
    needed = int(np.ceil(delay_days.quantile(0.95)))
    assert (delay_days <= needed).mean() >= 0.95 > (delay_days <= needed - 1).mean()
    assert evaluate("4a.4", needed)
    assert not evaluate("4a.4", 30)            # misses about a fifth of the frauds
    assert not evaluate("4a.4", 2 * needed)    # safe but needlessly late
    assert not evaluate("4a.4", 45.5) and not evaluate("4a.4", "46")
