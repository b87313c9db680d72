"""Tests of the compression experiment's lab code in mlsys_course.lab.ch07c and of the checks of exercises 7c.1 and 7c.2."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

from mlsys_course.compression import DistilledClassifier, PrunedClassifier, QuantizedClassifier, model_nbytes  # noqa: E402
from mlsys_course.exercises import evaluate  # noqa: E402
from mlsys_course.lab.ch07c import (  # noqa: E402
    EXERCISE_BUDGET_BYTES,
    alert_overlap,
    compression_scores,
    compression_summary,
    exercise_teacher,
    plot_compression_frontier,
    plot_distillation,
    shipped_model,
)


def test_alert_overlap_counts_shared_top_rows():
    reference = np.arange(100.0)          # top 10%: rows 90..99
    other = reference.copy()
    other[[95, 96]] = -1.0                # two of them drop out; rows 88 and 89 come in
    assert alert_overlap(reference, other, share=0.1) == pytest.approx(0.8)
    assert alert_overlap(reference, reference, share=0.01) == 1.0
    assert alert_overlap(reference, -reference, share=0.1) == 0.0
    with pytest.raises(ValueError, match="share must be in"):
        alert_overlap(reference, other, share=0.0)


@pytest.fixture(scope="module")
def small_experiment():
    X, y = make_classification(900, 6, weights=[0.9], random_state=0)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    splits = [(np.arange(0, 600), np.arange(600, 750)), (np.arange(0, 750), np.arange(750, 900))]
    student = DecisionTreeClassifier(max_depth=2, random_state=0)
    arms = {"linear": ("linear", FrozenEstimator),
            "int8": ("linear", lambda m: QuantizedClassifier(FrozenEstimator(m), bits=8)),
            "pruned": ("linear", lambda m: PrunedClassifier(FrozenEstimator(m), sparsity=0.9)),
            "teacher": ("teacher", FrozenEstimator),
            "student": ("teacher", lambda t: DistilledClassifier(FrozenEstimator(t), student))}
    references = {"linear": LogisticRegression(), "teacher": DecisionTreeClassifier(max_depth=6, random_state=0)}
    return (*compression_scores(arms, references, X, y, splits), X, y, splits)


def test_compression_scores_fit_every_arm_on_every_fold(small_experiment):
    scores, last, X, y, splits = small_experiment
    assert len(scores) == 5 * 2 and set(last) == {"linear", "int8", "pruned", "teacher", "student"}
    references = scores[scores["arm"].isin(["linear", "teacher"])]
    assert (references["overlap"] == 1.0).all()
    np.testing.assert_allclose(references["pr_auc"], references["reference_pr_auc"])
    assert (scores.loc[scores["arm"] == "int8", "nbytes"] == model_nbytes(last["int8"])).all()
    _, test = splits[-1]
    refit = LogisticRegression().fit(X.iloc[splits[-1][0]], y[splits[-1][0]])
    np.testing.assert_allclose(shipped_model(last["linear"]).coef_, refit.coef_)


def test_summary_pairs_each_arm_with_its_reference(small_experiment):
    scores = small_experiment[0]
    summary = compression_summary(scores)
    assert summary.loc["linear", "vs_reference"] == 0.0 and summary.loc["teacher", "vs_reference"] == 0.0
    part = scores[scores["arm"] == "int8"]
    assert summary.loc["int8", "vs_reference"] == pytest.approx((part["pr_auc"] - part["reference_pr_auc"]).mean())
    assert summary["is_reference"].tolist() == [True, False, False, True, False]
    assert not summary.loc[["linear", "teacher"], "frontier"].any()  # references are not compressions
    compressed = summary[~summary["is_reference"]]
    for arm, row in compressed.iterrows():  # on the frontier: no smaller compressed arm keeps more alerts
        dominated = ((compressed["kB"] < row["kB"]) & (compressed["overlap"] > row["overlap"])).any()
        assert row["frontier"] == (not dominated)
    assert summary.loc[compressed["kB"].idxmin(), "frontier"]


def test_shipped_model_and_the_figures(small_experiment):
    scores, last = small_experiment[:2]
    assert isinstance(shipped_model(last["student"]), DecisionTreeClassifier)
    assert isinstance(shipped_model(last["int8"]), LogisticRegression)
    assert shipped_model(last["int8"]) is last["int8"].estimator_.estimator
    summary = compression_summary(scores)
    fig = plot_compression_frontier(summary)
    assert len(fig.axes) == 2
    legend = [text.get_text() for text in fig.axes[1].get_legend().get_texts()]
    assert [label.split(":")[0] for label in legend] == ["quantized", "pruned", "frontier"]  # no low-rank arm here
    plt.close(fig)
    fig = plot_compression_frontier(summary.loc[["linear"]])  # no family, no frontier: no empty legend
    assert fig.axes[0].get_legend() is None
    plt.close(fig)
    part = scores[scores["reference"] == "teacher"]
    fig = plot_distillation(part, {"teacher": 2.0, "student": 0.5})
    assert len(fig.axes) == 2
    np.testing.assert_allclose(fig.axes[0].lines[-1].get_ydata(), part.loc[part["is_reference"], "pr_auc"].mean())
    plt.close(fig)


def _int8(m):
    return QuantizedClassifier(FrozenEstimator(m), bits=8)


def test_exercise_7c1_passes_the_reference_solution_and_refuses_the_rest():
    assert evaluate("7c.1", _int8).passed
    assert not evaluate("7c.1", lambda m: PrunedClassifier(FrozenEstimator(m), sparsity=0.9)).passed  # alerts move
    assert "budget" in evaluate("7c.1", FrozenEstimator).message  # the float32 network itself is too big
    verdict = evaluate("7c.1", QuantizedClassifier(LogisticRegression()))
    assert not verdict.passed and "function" in verdict.message
    verdict = evaluate("7c.1", lambda m: 1 / 0)
    assert not verdict.passed and "ZeroDivisionError" in verdict.message


def _distilled(student_depth=5, soft=True, teacher=None):
    return DistilledClassifier(exercise_teacher() if teacher is None else teacher,
                               DecisionTreeClassifier(max_depth=student_depth, random_state=0), soft=soft)


def test_exercise_7c2_passes_the_reference_solution_on_fresh_worlds():
    verdict = evaluate("7c.2", _distilled())
    assert verdict.passed, verdict.message
    assert evaluate("7c.2", _distilled(), world_seeds=(11, 12)).passed  # and on two other worlds
    # a teacher with other settings is fitted as given (not the shared ensemble) and can pass too
    other = ExtraTreesClassifier(n_estimators=30, min_samples_leaf=20, random_state=1)
    assert evaluate("7c.2", _distilled(teacher=other)).passed


def test_exercise_7c2_refuses_the_typical_wrong_answers():
    hard = evaluate("7c.2", _distilled(soft=False))  # hard labels at 1% prevalence: all "legit"
    assert not hard.passed and "same student trained on the real labels" in hard.message
    memorizing = evaluate("7c.2", _distilled(teacher=ExtraTreesClassifier(n_estimators=30, random_state=0)))
    assert not memorizing.passed and "same student" in memorizing.message  # its soft labels are the labels
    big = evaluate("7c.2", _distilled(student_depth=8))
    assert not big.passed and f"{EXERCISE_BUDGET_BYTES:,} bytes" in big.message
    forest = evaluate("7c.2", DistilledClassifier(exercise_teacher(), RandomForestClassifier(10, random_state=0)))
    assert not forest.passed and "budget" in forest.message


def test_exercise_7c2_turns_malformed_answers_into_verdicts():
    for answer in (DecisionTreeClassifier(max_depth=5), "soft", None):
        verdict = evaluate("7c.2", answer)
        assert not verdict.passed and "DistilledClassifier" in verdict.message
    frozen = evaluate("7c.2", DistilledClassifier(FrozenEstimator(LogisticRegression()), DecisionTreeClassifier()))
    assert not frozen.passed and "unfitted" in frozen.message
    no_weights = evaluate("7c.2", DistilledClassifier(exercise_teacher(), make_pipeline(StandardScaler(), LogisticRegression())))
    assert not no_weights.passed and "TypeError" in no_weights.message  # soft labels need sample_weight
    broken = evaluate("7c.2", DistilledClassifier("a forest", DecisionTreeClassifier()))
    assert not broken.passed and "failed" in broken.message
