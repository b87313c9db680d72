"""The experiment harness: paired intervals with the right coverage, production-like folds, planted gains found."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from mlsys_course.comparison import SPLITS, Comparison, compare, folds, paired_difference


# --- paired_difference -----------------------------------------------------------------------------
def test_paired_interval_equals_scipy_ttest_rel():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.8, 0.02, 7), rng.normal(0.79, 0.02, 7)
    mean, low, high = paired_difference(a, b, confidence=0.9)
    ci = stats.ttest_rel(a, b).confidence_interval(confidence_level=0.9)
    assert mean == pytest.approx(np.mean(a - b))
    assert (low, high) == pytest.approx((ci.low, ci.high))


def test_paired_interval_covers_zero_about_95_percent_of_the_time_when_arms_are_identical():
    rng = np.random.default_rng(2)
    runs, n = 4_000, 5
    covered = 0
    for _ in range(runs):
        split_noise = rng.normal(0, 0.05, n)  # shared by both arms: cancels in the pairing
        a, b = 0.7 + split_noise + rng.normal(0, 0.01, n), 0.7 + split_noise + rng.normal(0, 0.01, n)
        _, low, high = paired_difference(a, b)
        covered += low <= 0 <= high
    se = np.sqrt(0.95 * 0.05 / runs)
    assert abs(covered / runs - 0.95) < 4 * se


def test_paired_interval_excludes_zero_for_a_planted_gain_hidden_by_split_noise():
    rng = np.random.default_rng(3)
    split_noise = rng.normal(0, 0.05, 5)
    a, b = 0.72 + split_noise + rng.normal(0, 0.002, 5), 0.70 + split_noise + rng.normal(0, 0.002, 5)
    mean, low, _ = paired_difference(a, b)
    assert low > 0 and mean == pytest.approx(0.02, abs=0.005)
    assert stats.ttest_ind(a, b).pvalue > 0.05  # unpaired, the same gain is lost in the split noise


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"scores": [1.0], "baseline": [1.0]}, ValueError, "scores must have at least 2"),
     ({"scores": [1, 2], "baseline": [1, 2, 3]}, ValueError, "same length"),
     ({"scores": [1, np.nan], "baseline": [1, 2]}, ValueError, "scores must be finite"),
     ({"scores": [1, 2], "baseline": [1, 2], "confidence": 1.5}, ValueError, "confidence must be in"),
     ({"scores": "ab", "baseline": [1, 2]}, TypeError, "scores must be array-like")],
)
def test_paired_difference_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        paired_difference(**kwargs)


# --- folds ------------------------------------------------------------------------------------------
def test_time_folds_test_only_rows_later_than_every_training_row():
    rng = np.random.default_rng(4)
    t = rng.permutation(pd.date_range("2024-01-01", periods=200, freq="h"))  # rows not in time order
    X = pd.DataFrame({"t": t, "x": rng.normal(size=200)})
    result = folds(X, np.zeros(200), time="t", n_repeats=3, test_size=0.1)
    assert len(result) == 3
    for train, test in result:
        assert len(test) == 20 and X["t"].iloc[train].max() < X["t"].iloc[test].min()
    assert [len(train) for train, _ in result] == [140, 160, 180]  # rolling origin


def test_group_folds_never_split_a_group_and_differ_between_repeats():
    groups = np.repeat(np.arange(50), 4)
    result = folds(np.zeros((200, 1)), np.arange(200) % 2, split="group", groups=groups, n_repeats=3, random_state=0)
    for train, test in result:
        assert not set(groups[train]) & set(groups[test])
    assert len({tuple(test) for _, test in result}) == 3


def test_random_folds_need_a_reason_and_are_stratified():
    y = np.r_[np.ones(20), np.zeros(180)].astype(int)
    with pytest.raises(ValueError, match="reason must say why a random split is honest"):
        folds(np.zeros((200, 1)), y, split="random")
    result = folds(np.zeros((200, 1)), y, split="random", reason="i.i.d. rows", n_repeats=4, random_state=0)
    assert all(y[test].sum() == 4 for _, test in result)


def test_same_int_seed_same_folds_and_a_splitter_is_used_as_given():
    y = np.arange(100) % 2
    a = folds(np.zeros((100, 1)), y, split="random", reason="iid", random_state=7)
    b = folds(np.zeros((100, 1)), y, split="random", reason="iid", random_state=7)
    assert all(np.array_equal(x[1], z[1]) for x, z in zip(a, b))
    kf = folds(np.zeros((100, 1)), y, split=KFold(5))
    assert [len(test) for _, test in kf] == [20] * 5


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"split": "shuffle"}, ValueError, "split must be one of 'time', 'group', 'random'"),
     ({"split": "time"}, TypeError, "time must be a column name of X or an array-like"),
     ({"split": "time", "time": np.arange(5)}, ValueError, "time must have one value per row"),
     ({"split": "time", "time": np.arange(10), "n_repeats": 5}, ValueError, "n_repeats \\* test_size must be < 1"),
     ({"split": "group", "groups": "user"}, TypeError, "groups may name a column only when X is a DataFrame"),
     ({"split": "time", "time": np.arange(10), "n_repeats": 0}, ValueError, "n_repeats must be >= 1"),
     ({"split": "time", "time": np.arange(10), "test_size": 0}, ValueError, "test_size must be in")],
)
def test_folds_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        folds(np.zeros((10, 1)), np.arange(10) % 2, **kwargs)


# --- compare ----------------------------------------------------------------------------------------
def _problem(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(int)
    return X, y


def test_compare_finds_a_planted_gain_and_reports_a_tidy_frame():
    X, y = _problem(0)
    arms = {"dummy": DummyClassifier(), "logistic": LogisticRegression()}
    result = compare(arms, X, y, split="random", reason="simulated i.i.d. rows", n_repeats=4, scoring="roc_auc",
                     random_state=0)
    assert isinstance(result, Comparison) and result.baseline == "dummy" and result.scoring == "roc_auc"
    assert list(result.scores.columns) == ["arm", "repeat", "score"] and len(result.scores) == 8
    row = result.summary.loc["logistic"]
    assert row["measurable"] and row["diff_low"] > 0.2 and row["n"] == 4
    assert result.summary.loc["dummy", "diff"] == 0 and not result.summary.loc["dummy", "measurable"]
    assert row["mean"] == pytest.approx(result.scores.query("arm == 'logistic'")["score"].mean())


def _noisy_arm(arm_id: int):
    """A linear discriminant on a random 60% of the training rows: two ids are identical in distribution."""

    def fit(X_train, y_train, random_state):
        rng = np.random.default_rng([random_state, arm_id])
        keep = rng.random(len(y_train)) < 0.6
        return LinearDiscriminantAnalysis().fit(X_train[keep], y_train[keep])

    return fit


def test_compare_arms_identical_in_distribution_cover_zero_about_95_percent_of_seeded_runs():
    runs, covered = 150, 0
    for seed in range(runs):
        X, y = _problem(seed, n=300)
        result = compare({"a": _noisy_arm(1), "b": _noisy_arm(2)}, X, y, split="random", reason="simulated",
                         n_repeats=5, scoring="roc_auc", random_state=seed)
        covered += not result.summary.loc["b", "measurable"]
    se = np.sqrt(0.95 * 0.05 / runs)
    assert abs(covered / runs - 0.95) < 4 * se


def test_compare_gives_every_arm_the_repetitions_seed():
    seen = {}

    def record(name):
        def fit(X_train, y_train, random_state):
            seen.setdefault(name, []).append(random_state)
            return DummyClassifier().fit(X_train, y_train)

        return fit

    X, y = _problem(1)
    compare({"a": record("a"), "b": record("b")}, X, y, split="random", reason="simulated", random_state=3)
    assert seen["a"] == seen["b"] and len(set(seen["a"])) == 3


def test_compare_same_int_seed_same_result_and_dataframe_columns_pass_through():
    X, y = _problem(2)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(t=np.arange(len(y)))
    arms = {"dummy": DummyClassifier(strategy="stratified"), "logistic": LogisticRegression()}
    one = compare(arms, frame[["a", "b", "c"]], y, time=frame["t"], random_state=5)
    two = compare(arms, frame[["a", "b", "c"]], pd.Series(y, index=np.arange(len(y)) + 1000), time=frame["t"],
                  random_state=5)
    pd.testing.assert_frame_equal(one.summary, two.summary)


def test_compare_plot_has_one_row_per_arm():
    import matplotlib

    matplotlib.use("Agg")
    X, y = _problem(3)
    result = compare({"dummy": DummyClassifier(), "logistic": LogisticRegression()}, X, y, split="random",
                     reason="simulated", random_state=0)
    ax = result.plot()
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["dummy", "logistic"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({"arms": {}}, TypeError, "arms must be a non-empty mapping"),
     ({"arms": {"a": 3}}, TypeError, "arms\\['a'\\] must be an estimator or a callable"),
     ({"baseline": "nope"}, ValueError, "baseline must be one of the arms"),
     ({"scoring": "accuracyy"}, ValueError, "scoring must be a scikit-learn scorer name"),
     ({"scoring": 3}, TypeError, "scoring must be a scorer name"),
     ({"n_repeats": 1}, ValueError, "n_repeats must be >= 2 for a spread")],
)
def test_compare_bad_input(kwargs, error, match):
    X, y = _problem(4, n=100)
    args = {"arms": {"dummy": DummyClassifier()}, "split": "random", "reason": "simulated", **kwargs}
    with pytest.raises(error, match=match):
        compare(X=X, y=y, **args)


def test_split_policies_are_named():
    assert SPLITS == ("time", "group", "random")


def test_the_comparison_record_validates_its_fields():
    X, y = _problem(5, n=100)
    result = compare({"dummy": DummyClassifier(), "logistic": LogisticRegression()}, X, y, split="random",
                     reason="simulated", random_state=0)
    with pytest.raises(ValueError, match="baseline must be an arm of summary"):
        Comparison(result.scores, result.summary, "other", "roc_auc")
    with pytest.raises(ValueError, match="columns must be columns of scores"):
        Comparison(result.scores.drop(columns="score"), result.summary, "dummy", "roc_auc")
    with pytest.raises(TypeError, match="summary must be a pandas DataFrame"):
        Comparison(result.scores, None, "dummy", "roc_auc")
