"""Measure the labeling module: the label model's speed at scale, and the notebook's experiments end to end.

    python tools/bench_labeling.py          # prints the timings and the numbers chapter 4a quotes

Runs single-threaded BLAS, as the notebook kernels do (tools/notebooks.py KERNEL_ENV), so the
timings are what a reader's notebook sees. Times are the best and the median of several repeats
(wall clock; other processes on the machine inflate them). Nothing here is asserted: speed is
measured, not tested (CONVENTIONS section 4).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score, f1_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.semi_supervised import SelfTrainingClassifier  # noqa: E402

from mlsys_course.datasets import make_transactions  # noqa: E402
from mlsys_course.features import transaction_features  # noqa: E402
from mlsys_course.lab.ch04a import active_learning_curve, fit_or_constant, label_budget_curves  # noqa: E402
from mlsys_course.lab.timing import best_time  # noqa: E402
from mlsys_course.labeling import (  # noqa: E402
    FRAUD_LABELING_FUNCTIONS,
    STRATEGIES,
    LabelModel,
    apply_labeling_functions,
    lf_summary,
    majority_vote,
    simulate_votes,
)
from mlsys_course.streaming import window_count_batch  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """Best and median wall-clock seconds of ``repeat`` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        seconds_one, result = best_time(fn, repeat=1)
        seconds.append(seconds_one)
    return min(seconds), float(np.median(seconds)), result


def label_model_at_scale(n: int = 200_000, repeat: int = 5) -> list[str]:
    accuracies = [0.9, 0.9, 0.9, 0.8] + [0.55] * 6
    coverages = [0.3, 0.5, 0.7, 0.4, 0.5, 0.5, 0.5, 0.6, 0.6, 0.8]
    L, y = simulate_votes(n, accuracies, coverages, class_prior=0.3, random_state=0)
    fit_best, fit_med, model = timed(lambda: LabelModel().fit(L), repeat)
    proba_best, _, _ = timed(lambda: model.predict_proba(L), repeat)
    mv_best, mv_med, mv = timed(lambda: majority_vote(L, tie_break="random", random_state=0), repeat)
    err = np.abs(model.accuracies_ - accuracies).max()
    return [
        f"LabelModel on {n:_} rows x {L.shape[1]} labeling functions (synthetic, planted accuracies):",
        f"  fit            best {fit_best:.3f} s, median {fit_med:.3f} s ({model.n_iter_} EM iterations, "
        f"{len(np.unique(L, axis=0)):_} distinct vote patterns)",
        f"  predict_proba  best {proba_best:.3f} s",
        f"  majority_vote  best {mv_best:.3f} s, median {mv_med:.3f} s",
        f"  max |fitted - planted accuracy| {err:.4f}; accuracy label model {np.mean(model.predict(L) == y):.3f}, "
        f"majority vote {np.mean(mv == y):.3f}",
    ]


def fraud_world(n: int = 100_000) -> list[str]:
    df = make_transactions(n, random_state=0)
    y = df["is_fraud"].to_numpy()
    apply_s, _, L = timed(lambda: apply_labeling_functions(df, FRAUD_LABELING_FUNCTIONS), 3)
    fit_s, _, model = timed(lambda: LabelModel(class_prior=0.01).fit(L), 3)
    mv = majority_vote(L, tie_break="negative")
    p = model.predict_proba(L)[:, 1]
    rows = [
        ("majority vote (ties: legit)", np.mean(mv == y), f1_score(y, mv), average_precision_score(y, (L == 1).sum(axis=1))),
        ("label model, class_prior=0.01", np.mean(model.predict(L) == y), f1_score(y, model.predict(L)), average_precision_score(y, p)),
    ]
    table = pd.DataFrame(rows, columns=["combiner", "accuracy", "F1", "PR-AUC"]).set_index("combiner")
    summary = lf_summary(L, y, names=FRAUD_LABELING_FUNCTIONS).assign(model_acc=model.accuracies_)
    return [
        f"Fraud world, make_transactions({n:_}, random_state=0), fraud rate {y.mean():.4f}:",
        f"  apply 5 labeling functions {apply_s:.3f} s; LabelModel fit {fit_s:.3f} s ({model.n_iter_} iterations)",
        summary.drop(columns="polarity").round(3).to_string(),
        table.round(3).to_string(),
    ]


def active_learning(repeat_seeds: int = 3) -> list[str]:
    X, y = load_digits(return_X_y=True)
    X_pool, X_test, y_pool, y_test = train_test_split(X / 16, y, test_size=500, random_state=0, stratify=y)
    curves, seconds = [], {}
    for strategy in STRATEGIES:
        start = time.perf_counter()
        for seed in range(repeat_seeds):
            curves.append(active_learning_curve(X_pool, y_pool, X_test, y_test, strategy=strategy, n_initial=20,
                                                batch_size=10, n_rounds=20, random_state=seed))
        seconds[strategy] = (time.perf_counter() - start) / repeat_seeds
    mean = pd.concat(curves).groupby(["labels_used", "strategy"])["score"].mean().unstack()
    reach = {s: (int(mean.index[mean[s] >= 0.9][0]) if (mean[s] >= 0.9).any() else None) for s in mean}
    return [
        f"Active learning on digits (pool {len(X_pool)}, test {len(X_test)}), LogisticRegression, 20 random + 20 x 10 "
        f"queried, mean accuracy of {repeat_seeds} seeds:",
        "  seconds per curve: " + ", ".join(f"{s} {t:.2f}" for s, t in seconds.items())
        + f"; all five: {sum(seconds.values()):.2f} s",
        mean.iloc[::4].round(3).to_string(),
        "  labels to reach 0.90 accuracy: " + ", ".join(f"{s} {r}" for s, r in reach.items()),
    ]


def budget(seeds: int = 5) -> list[str]:
    df = make_transactions(30_000, random_state=0)
    X = transaction_features(df)
    X["log_card_payments_10min"] = np.log(window_count_batch(df, key="user_id", window="10min").to_numpy())
    X, y = X.to_numpy(), df["is_fraud"].to_numpy()
    pool, test = train_test_split(np.arange(len(df)), test_size=10_000, random_state=0, stratify=y)
    L = apply_labeling_functions(df, FRAUD_LABELING_FUNCTIONS)[pool]  # on the whole log: a card's history is all of it
    weak = LabelModel(class_prior=0.01).fit(L).predict(L)
    estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    def hand_labels_only(X, y_known):  # the arms of notebook 04a
        bought = y_known != -1
        return fit_or_constant(estimator, X[bought], y_known[bought])

    def self_training(X, y_known):
        if len(np.unique(y_known[y_known != -1])) < 2:
            return hand_labels_only(X, y_known)
        return SelfTrainingClassifier(estimator).fit(X, y_known)

    def weak_supervision(X, y_known):
        return hand_labels_only(X, np.where(y_known != -1, y_known, weak))

    arms = {"random": ("random", hand_labels_only), "active learning": ("uncertainty", hand_labels_only),
            "self-training": ("random", self_training), "weak supervision": ("random", weak_supervision)}
    start = time.perf_counter()
    curves = label_budget_curves(arms, X[pool], y[pool], X[test], y[test], budgets=[50, 100, 200, 400, 800, 1600, 3200],
                                 scoring="average_precision", seeds=range(seeds))
    seconds = (time.perf_counter() - start) / seeds
    full = average_precision_score(y[test], estimator.fit(X[pool], y[pool]).predict_proba(X[test])[:, 1])
    zero = average_precision_score(y[test], weak_supervision(X[pool], np.full(len(pool), -1)).predict_proba(X[test])[:, 1])
    mean = curves.groupby(["labels_used", "arm"])["score"].mean().unstack()
    return [
        f"Spending a label budget on the fraud world (make_transactions(30_000), pool 20,000, test 10,000, "
        f"transaction_features + card payments in 10 min, scaled LogisticRegression, PR-AUC, mean of {seeds} seeds):",
        f"  {seconds:.2f} s per seed; weak labels: {int(weak.sum())} positives, precision "
        f"{y[pool][weak == 1].mean():.2f}, recall {weak[y[pool] == 1].mean():.2f}",
        mean.round(3).to_string(),
        f"  weak supervision with 0 hand labels: PR-AUC {zero:.3f}; every pool label (20,000): PR-AUC {full:.3f}",
    ]


def main() -> None:
    for section in (label_model_at_scale, fraud_world, active_learning, budget):
        print("\n".join(section()), end="\n\n", flush=True)


if __name__ == "__main__":
    main()
