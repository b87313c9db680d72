"""Chapter 4b's lab code: the book's cancer models, the lesson's tables, the leak protocols, the augmentation curve.

Short on purpose: the notebook exercises all of it; these tests hold each piece to a reference.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import make_classification
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
from sklearn.model_selection import StratifiedKFold, TunedThresholdClassifierCV, cross_val_score, cross_validate
from sklearn.tree import DecisionTreeClassifier

from mlsys_course.augmentation import augment, mixup, soft_label_rows
from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch04b import (
    BOOK_CANCER_CONFUSION,
    augmentation_curve,
    best_f1,
    book_cancer_example,
    confusion_from_accuracy_f1,
    cv_table,
    labels_from_confusion,
    metric_table,
    score_on_test,
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


def test_score_on_test_scores_every_arm_the_same_way():
    X, y = make_classification(3000, n_features=5, weights=[0.95], flip_y=0.01, random_state=0)
    X_fit, y_fit, X_val, y_val, X_test, y_test = X[:1500], y[:1500], X[1500:2000], y[1500:2000], X[2000:], y[2000:]
    plain = LogisticRegression().fit(X_fit, y_fit)
    tuned = TunedThresholdClassifierCV(plain, scoring="f1", cv="prefit", refit=False).fit(X_val, y_val)
    table = score_on_test({"none": plain, "threshold_moving": tuned}, X_test, y_test)
    assert table.columns.tolist() == ["pr_auc", "roc_auc", "threshold", "f1", "f1_best"]
    s = plain.predict_proba(X_test)[:, 1]
    assert table.loc["none", "pr_auc"] == pytest.approx(average_precision_score(y_test, s))
    assert table.loc["none", "f1"] == pytest.approx(f1_score(y_test, s > 0.5))
    # Moving the threshold changes the decisions, not the ranking.
    assert table.loc["threshold_moving", ["pr_auc", "roc_auc", "f1_best"]].tolist() == table.loc["none", ["pr_auc", "roc_auc", "f1_best"]].tolist()
    assert table.loc["threshold_moving", "threshold"] == tuned.best_threshold_ != 0.5
    assert table.loc["threshold_moving", "f1"] == pytest.approx(f1_score(y_test, s >= tuned.best_threshold_))
    assert (table["f1"] <= table["f1_best"] + 1e-12).all()


# --- The leak experiment's table ---------------------------------------------------------------------------------


def test_cv_table_is_the_mean_and_spread_of_each_fold_score():
    X, y = make_classification(400, n_features=4, weights=[0.9], random_state=4)
    folds = StratifiedKFold(4, shuffle=True, random_state=7)
    model = Pipeline([("smote", SMOTE(random_state=0)), ("model", DecisionTreeClassifier(random_state=0))])
    result = cross_validate(model, X, y, cv=folds, scoring=["roc_auc", "average_precision"])
    table = cv_table({"honest": result})
    assert table.columns.tolist() == ["roc_auc", "average_precision", "roc_auc_std", "average_precision_std"]
    manual = cross_val_score(model, X, y, cv=folds, scoring="roc_auc")
    assert table.loc["honest", "roc_auc"] == pytest.approx(manual.mean())
    assert table.loc["honest", "roc_auc_std"] == pytest.approx(manual.std())


def test_cv_table_refuses_what_is_not_a_cross_validate_result():
    with pytest.raises(ValueError, match=r"results\['a'\] must be a cross_validate result"):
        cv_table({"a": {"fit_time": [0.1]}})


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


def test_exercise_4b_2_wants_the_honest_smote_score():
    X, y = make_classification(600, n_features=4, weights=[0.9], random_state=3)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    honest = Pipeline([("smote", SMOTE(random_state=0)), ("model", DecisionTreeClassifier(random_state=0))])
    answer = cross_val_score(honest, X, y, cv=folds, scoring="roc_auc").mean()
    assert evaluate("4b.2", answer, X=X, y=y).passed
    X_over, y_over = SMOTE(random_state=0).fit_resample(X, y)
    leaky = cross_val_score(DecisionTreeClassifier(random_state=0), X_over, y_over, cv=folds, scoring="roc_auc").mean()
    verdict = evaluate("4b.2", leaky, X=X, y=y)
    assert not verdict.passed and "leaky" in verdict.message
    assert not evaluate("4b.2", answer + 0.01, X=X, y=y).passed
