"""Chapter 4b's lab code: the book's cancer models, the arms' comparison tables, the leak protocols, the augmentation curve.

Short on purpose: the notebook exercises all of it; these tests hold each piece to a reference.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlsys_course.augmentation import augment, mixup, soft_label_rows
from mlsys_course.comparison import compare
from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch04b import (
    BOOK_CANCER_CONFUSION,
    augmentation_curve,
    augmentation_summary,
    best_f1,
    book_cancer_example,
    compare_metrics,
    confusion_from_accuracy_f1,
    labels_from_confusion,
    metric_summary,
    metric_table,
    protocol_table,
)

# --- The book's cancer models and the table of metrics ------------------------------------------------


def test_book_example_has_the_books_numbers_by_scikit_learn():
    y_true, predictions = book_cancer_example()
    assert len(y_true) == 1000 and y_true.sum() == 100
    expected = {"Model A": (0.1, 0.167), "Model B": (0.9, 0.643)}
    for name, pred in predictions.items():
        tn, fp, fn, tp = confusion_matrix(y_true, pred).ravel()
        assert {"tp": tp, "fp": fp, "fn": fn, "tn": tn} == BOOK_CANCER_CONFUSION[name]
        assert accuracy_score(y_true, pred) == pytest.approx(0.9)
        assert precision_score(y_true, pred) == pytest.approx(0.5)
        assert recall_score(y_true, pred) == pytest.approx(expected[name][0])
        assert round(f1_score(y_true, pred), 3) == expected[name][1]


def test_book_confusions_are_the_only_ones_with_those_metrics():
    for name, f1 in [("Model A", 0.167), ("Model B", 0.643)]:
        assert confusion_from_accuracy_f1(1000, 100, 0.9, f1) == BOOK_CANCER_CONFUSION[name]
    # The same two models on 100 cases with 10 cancers: every count divided by 10.
    assert confusion_from_accuracy_f1(100, 10, 0.9, 0.167) == {"tp": 1, "fp": 1, "fn": 9, "tn": 89}
    with pytest.raises(ValueError, match="no confusion matrix"):
        confusion_from_accuracy_f1(100, 10, 0.9, 0.9)  # 10 errors cannot give F1 0.9 with 10 positives


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60), st.integers(0, 300))
def test_confusion_is_recovered_from_accuracy_and_f1(tp, fp, fn, tn):
    assume(fp + fn > 0)  # F1 = 1 fixes nothing
    n = tp + fp + fn + tn
    accuracy = (tp + tn) / n
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert confusion_from_accuracy_f1(n, tp + fn, accuracy, f1) == {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def test_labels_from_confusion_matches_confusion_matrix():
    y_true, y_pred = labels_from_confusion(tp=3, fp=2, fn=5, tn=7)
    assert confusion_matrix(y_true, y_pred).ravel().tolist() == [7, 2, 5, 3]
    with pytest.raises(ValueError, match="all counts 0"):
        labels_from_confusion(tp=0, fp=0, fn=0, tn=0)


def test_metric_table_matches_scikit_learn():
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.1).astype(int)
    scores = {"good": y + rng.normal(0, 0.7, 500), "noise": rng.random(500)}
    predictions = {name: (s > np.quantile(s, 0.85)).astype(int) for name, s in scores.items()}
    predictions["nothing"] = np.zeros(500, int)
    table = metric_table(y, predictions, scores)
    assert table.index.tolist() == ["good", "noise", "nothing"]
    for name, pred in predictions.items():
        row = table.loc[name]
        assert row["accuracy"] == pytest.approx(accuracy_score(y, pred))
        assert row["precision"] == pytest.approx(precision_score(y, pred, zero_division=0))
        assert row["recall"] == pytest.approx(recall_score(y, pred))
        assert row["f1"] == pytest.approx(f1_score(y, pred, zero_division=0))
        assert row["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
        if name in scores:
            assert row["pr_auc"] == pytest.approx(average_precision_score(y, scores[name]))
            assert row["roc_auc"] == pytest.approx(roc_auc_score(y, scores[name]))
        else:
            assert np.isnan(row["pr_auc"]) and np.isnan(row["roc_auc"])
    with pytest.raises(ValueError, match="y_true must contain both classes"):
        metric_table([0, 0, 0], {"m": [0, 1, 0]})


# --- Scoring the imbalance arms -------------------------------------------------------------------------


def test_best_f1_is_the_brute_force_maximum():
    rng = np.random.default_rng(2)
    y = (rng.random(300) < 0.1).astype(int)
    s = np.round(y + rng.normal(0, 1, 300), 1)  # ties
    threshold, f1 = best_f1(y, s)
    brute = {t: f1_score(y, s >= t) for t in np.unique(s)}
    assert f1 == pytest.approx(max(brute.values()))
    assert brute[threshold] == pytest.approx(f1)


def test_compare_metrics_fits_each_arm_once_and_matches_compare():
    X, y = make_classification(900, n_features=5, weights=[0.9], random_state=0)
    fits = []

    def logistic(X_train, y_train, random_state):
        fits.append(random_state)
        return LogisticRegression().fit(X_train, y_train)

    split = dict(split="time", time=np.arange(900), n_repeats=3, test_size=0.2, random_state=5)
    out = compare_metrics({"a": logistic, "b": logistic}, X, y, scorings={"ap": "average_precision", "f1": "f1"}, **split)
    assert list(out) == ["ap", "f1"] and len(fits) == 6  # 2 arms x 3 repetitions, scored twice
    direct = compare({"a": LogisticRegression(), "b": LogisticRegression()}, X, y, scoring="f1", **split)
    pd.testing.assert_frame_equal(out["f1"].scores, direct.scores)
    table = metric_summary(out)
    assert table.columns.tolist() == ["ap", "ap vs a", "f1", "f1 vs a"]
    s = direct.summary.loc["b"]
    assert table.loc["b", "f1"] == f"{s['mean']:.3f} ± {s['std']:.3f}"
    assert table.loc["a", "f1 vs a"] == "-"
    with pytest.raises(TypeError, match="random_state must be an int"):
        compare_metrics({"a": logistic}, X, y, scorings={"ap": "average_precision"}, split="time", time=np.arange(900))


def test_metric_summary_marks_only_measurable_differences():
    X, y = make_classification(1500, n_features=5, weights=[0.8], random_state=1)
    arms = {"prior": lambda X, y, seed: DummyClassifier().fit(X, y),
            "logistic": lambda X, y, seed: LogisticRegression().fit(X, y)}
    out = compare_metrics(arms, X, y, scorings={"roc_auc": "roc_auc"}, split="time", time=np.arange(1500),
                          n_repeats=4, test_size=0.2, random_state=0)
    assert out["roc_auc"].summary.loc["logistic", "measurable"]
    assert metric_summary(out).loc["logistic", "roc_auc vs prior"].endswith(" *")


# --- The leak experiment's table ---------------------------------------------------------------------------------


def test_protocol_table_is_the_mean_and_sample_spread_per_protocol():
    scores = pd.DataFrame({"protocol": ["b", "b", "b", "a", "a", "a"], "repeat": [0, 1, 2] * 2,
                           "roc_auc": [0.6, 0.7, 0.8, 0.5, 0.5, 0.8]})
    table = protocol_table(scores)
    assert table.index.tolist() == ["b", "a"]  # order of appearance
    assert table.loc["b", "roc_auc"] == pytest.approx(0.7)
    assert table.loc["a", "roc_auc_sd"] == pytest.approx(np.std([0.5, 0.5, 0.8], ddof=1))
    with pytest.raises(TypeError, match="scores must be a DataFrame"):
        protocol_table(scores.drop(columns="repeat"))


# --- The augmentation curve -----------------------------------------------------------------------------

def _mixup_rows(X, y, rng):
    X_rows, y_rows, weights = soft_label_rows(*mixup(X, y, alpha=0.2, n=2 * len(y), random_state=rng))
    return np.r_[X, X_rows], np.r_[y, y_rows], np.r_[np.ones(len(y)), weights]


ARMS = {
    "none": lambda X, y, rng: (X, y),
    "rotate": lambda X, y, rng: augment(X, y, n_copies=2, max_shift=0, max_degrees=10, random_state=rng),
    "mixup": _mixup_rows,
}


def test_augmentation_curve_table():
    curve = augmentation_curve(ARMS, [20, 60], random_state=0)
    assert curve.columns.tolist() == ["n_real", "method", "n_train", "accuracy"]
    assert curve["n_real"].tolist() == [20] * 3 + [60] * 3
    assert curve["method"].tolist() == list(ARMS) * 2
    assert curve["n_train"].tolist() == [20, 60, 100, 60, 180, 300]  # a mixed example is two weighted rows
    assert curve["accuracy"].between(0, 1).all()
    assert curve.loc[curve["method"] == "none", "accuracy"].is_monotonic_increasing  # nested training sets


def test_augmentation_curve_cells_are_independent_and_seeded():
    one = augmentation_curve({"none": ARMS["none"], "rotate": ARMS["rotate"]}, [40], random_state=1)
    many = augmentation_curve(ARMS, [20, 40], random_state=1)
    assert one["accuracy"].tolist() == many.loc[many["n_real"] == 40, "accuracy"].tolist()[:2]
    other = augmentation_curve({"none": ARMS["none"], "rotate": ARMS["rotate"]}, [40], random_state=2)
    assert not one.equals(other)
    with pytest.raises(ValueError, match="n_real_values must be >= 20"):
        augmentation_curve(ARMS, [10])
    with pytest.raises(TypeError, match=r"augmentations\['bad'\] must return \(X, y\)"):
        augmentation_curve({"bad": lambda X, y, rng: X}, [20])


# --- Exercise checks ------------------------------------------------------------------------------------


def test_exercise_4b_1_accepts_the_smallest_beta_only():
    counts = {0: 27_691, 1: 309}
    assert evaluate("4b.1", 0.9999, counts=counts).passed
    assert not evaluate("4b.1", 0.999, counts=counts).passed
    assert not evaluate("4b.1", "0.9999", counts=counts).passed


def test_augmentation_summary_is_the_paired_difference_per_size():
    curve = pd.concat([augmentation_curve(ARMS, [20, 60], random_state=seed).assign(repeat=seed) for seed in range(3)])
    table = augmentation_summary(curve)
    assert table.index.tolist() == [(20, "rotate"), (20, "mixup"), (60, "rotate"), (60, "mixup")]
    block = curve[curve["n_real"] == 60].pivot(index="repeat", columns="method", values="accuracy")
    d = block["rotate"] - block["none"]
    assert table.loc[(60, "rotate"), "gain"] == pytest.approx(d.mean())
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert table.loc[(60, "rotate"), "low"] == pytest.approx(d.mean() - half)
    expected = "better" if d.mean() - half > 0 else "worse" if d.mean() + half < 0 else "not measurable"
    assert table.loc[(60, "rotate"), "verdict"] == expected
    with pytest.raises(ValueError, match="baseline must be one of the methods"):
        augmentation_summary(curve, baseline="nothing")


def test_exercise_4b_2_wants_smote_inside_a_pipeline():
    honest = Pipeline([("smote", SMOTE(random_state=0)), ("model", DecisionTreeClassifier(random_state=0))])
    verdict = evaluate("4b.2", honest, random_state=3)
    assert verdict.passed and "fresh world" in verdict.message
    scaled = Pipeline([("scale", StandardScaler()), ("smote", SMOTE()), ("model", LogisticRegression())])
    assert evaluate("4b.2", scaled, random_state=4).passed  # steps before SMOTE are fine
    assert not evaluate("4b.2", DecisionTreeClassifier(), random_state=3).passed  # no pipeline
    assert not evaluate("4b.2", Pipeline([("model", DecisionTreeClassifier())]), random_state=3).passed  # no SMOTE
    assert not evaluate("4b.2", 0.69, random_state=3).passed  # a number is not a protocol


def test_exercise_4b_3_wants_an_augmentation_that_helps():
    noise = lambda X, y, rng: augment(X, y, n_copies=4, max_degrees=0, noise_sigma=2, random_state=rng)
    shift = lambda X, y, rng: augment(X, y, n_copies=4, max_shift=1, max_degrees=0, random_state=rng)
    assert evaluate("4b.3", noise, random_state=0).passed
    verdict = evaluate("4b.3", shift, random_state=0)
    assert not verdict.passed and "worse" in verdict.message
    assert not evaluate("4b.3", lambda X, y, rng: (X, y), random_state=0).passed  # no augmentation, no gain
    assert not evaluate("4b.3", "noise", random_state=0).passed
