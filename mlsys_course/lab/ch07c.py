"""Chapter 7c: model compression: the lab code of the chapter's notebook (plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.compression` (quantization, pruning, low-rank factorization,
distillation, the size measure) and :mod:`mlsys_course.runtimes` (ONNX). This part holds what only the
chapter needs: fitting the reference models and every compressed arm on each time fold, scoring them
(PR-AUC, size, agreement with the reference's alerts), the size/fidelity/latency figure, and exercise 7c.1's check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import average_precision_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course._validation import check_binary_labels, check_estimator, check_real, check_same_length, show
from mlsys_course.comparison import folds, paired_difference
from mlsys_course.compression import (
    DistilledClassifier,
    LowRankClassifier,
    PrunedClassifier,
    QuantizedClassifier,
    model_nbytes,
)
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise
from mlsys_course.features import transaction_features
from mlsys_course.plotting import COLORS

__all__ = ["alert_overlap", "compression_scores", "compression_summary", "exercise_network", "plot_compression_frontier",
           "shipped_model"]


def shipped_model(model: Any) -> Any:
    """The model that ships: a distilled classifier's student, a compressed classifier's compressed model,
    a frozen estimator's model; anything else as it is (for timing what production would run)."""
    if isinstance(model, DistilledClassifier):
        return model.student_
    if isinstance(model, (QuantizedClassifier, PrunedClassifier, LowRankClassifier)):
        return shipped_model(model.estimator_)
    if isinstance(model, FrozenEstimator):
        return model.estimator
    return model


def alert_overlap(reference: Any, scores: Any, *, share: float = 0.01) -> float:
    """Share of the reference model's top-``share`` alerts that the other model also puts in its top ``share``.

    Agreement on the rows a fraud team reviews: at 1% prevalence nearly every hard label is 0, so label
    agreement says little. Ties at the cut are broken by position (stable sort of the scores).
    """
    a, b = np.asarray(reference, dtype=float), np.asarray(scores, dtype=float)
    check_same_length(reference=a, scores=b)
    share = check_real("share", share, low=0.0, high=1.0, low_open=True)
    k = max(1, int(round(share * len(a))))
    top_a = np.argsort(-a, kind="stable")[:k]
    top_b = np.argsort(-b, kind="stable")[:k]
    return len(np.intersect1d(top_a, top_b)) / k


def _check_compression_arms(arms: Any, references: Any) -> None:
    if not isinstance(references, Mapping) or not references:
        raise TypeError(f"references must be a non-empty dict of name -> unfitted classifier; got {show(references)}")
    for name, model in references.items():
        check_estimator(f"references[{name!r}]", model, methods=("fit", "predict_proba"))
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty dict of name -> (reference name, build); got {show(arms)}")
    for name, arm in arms.items():
        if not (isinstance(arm, tuple) and len(arm) == 2 and arm[0] in references and callable(arm[1])):
            raise TypeError(f"arms[{name!r}] must be (a name of references, build(fitted reference) -> estimator); got {show(arm)}")


def compression_scores(
    arms: Mapping[str, tuple[str, Callable[[Any], Any]]],
    references: Mapping[str, Any],
    X: Any,
    y: Any,
    splits: Sequence,
    *,
    share: float = 0.01,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fit the references on every fold, build and fit each arm from its fitted reference, score on the test rows.

    ``arms`` maps a name to ``(reference name, build)``: ``build(fitted reference)`` returns an estimator
    (``FrozenEstimator(m)`` for the reference itself, ``QuantizedClassifier(FrozenEstimator(m), bits=8)``,
    ``DistilledClassifier(FrozenEstimator(m), student)``, or an unrelated model to fit on the labels), which
    is fitted on the fold's training rows.

    Returns a tidy table (``fold``, ``arm``, ``reference``, ``is_reference``: the arm is the fitted reference
    itself, ``nbytes`` by :func:`model_nbytes`, ``pr_auc``, ``reference_pr_auc``, ``overlap``:
    :func:`alert_overlap` with the reference's scores) and the fitted arms of the last fold (for timing them).
    """
    _check_compression_arms(arms, references)
    y = check_binary_labels("y", y)
    check_same_length(X=X, y=y)
    rows, last = [], {}
    for k, (train, test) in enumerate(splits):
        X_train, X_test = X.iloc[train], X.iloc[test]
        fitted = {name: clone(model).fit(X_train, y[train]) for name, model in references.items()}
        reference_scores = {name: m.predict_proba(X_test)[:, 1] for name, m in fitted.items()}
        for name, (ref, build) in arms.items():
            built = build(fitted[ref])
            is_reference = isinstance(built, FrozenEstimator) and built.estimator is fitted[ref]
            model = clone(built).fit(X_train, y[train])  # a clone of a FrozenEstimator is itself
            scores = model.predict_proba(X_test)[:, 1]
            rows.append({"fold": k, "arm": name, "reference": ref, "is_reference": is_reference,
                         "nbytes": model_nbytes(model),
                         "pr_auc": float(average_precision_score(y[test], scores)),
                         "reference_pr_auc": float(average_precision_score(y[test], reference_scores[ref])),
                         "overlap": alert_overlap(reference_scores[ref], scores, share=share)})
            last[name] = model
    return pd.DataFrame(rows), last


def compression_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per arm: mean size, PR-AUC (mean, std over folds), its paired difference from the arm's reference
    (mean ``vs_reference``, standard deviation ``diff_sd``) with a 95% interval (``measurable`` when it excludes 0),
    the mean alert overlap with the reference, and ``frontier``: a compressed arm (not a reference) that no smaller
    compressed arm beats on alert overlap. The frontier is drawn on the overlap, not on PR-AUC: with a few dozen
    frauds per block, PR-AUC differences between compressions are mostly noise, while the overlap is measured on
    every alert."""
    rows = []
    for arm, part in scores.groupby("arm", sort=False):
        part = part.sort_values("fold")
        diff, low, high = paired_difference(part["pr_auc"], part["reference_pr_auc"])
        rows.append({"arm": arm, "reference": part["reference"].iloc[0], "is_reference": bool(part["is_reference"].all()),
                     "kB": part["nbytes"].mean() / 1e3, "pr_auc": part["pr_auc"].mean(),
                     "pr_auc_std": part["pr_auc"].std(ddof=1), "vs_reference": diff,
                     "diff_sd": (part["pr_auc"] - part["reference_pr_auc"]).std(ddof=1),
                     "low": low, "high": high, "measurable": bool(low > 0 or high < 0), "overlap": part["overlap"].mean()})
    out = pd.DataFrame(rows).set_index("arm")
    compressed = out[~out["is_reference"]]
    out["frontier"] = [not row.is_reference and not ((compressed["kB"] < row.kB) & (compressed["overlap"] > row.overlap)).any()
                       for row in out.itertuples()]
    return out


def plot_compression_frontier(summary: pd.DataFrame, latency_ms: Mapping[str, float]) -> Any:
    """Three panels against size or latency (log): the PR-AUC change from each arm's reference (mean and sd of the
    paired differences over the folds), the share of the reference's alerts kept (with the frontier), and the
    PR-AUC change against one-row latency.

    Arms are grouped by name: "int", "pruned", "rank" (one curve each, from the float32 network), the references
    and the students (every other name). In scikit-learn the network's compressed arms predict with dequantized,
    dense weights, so the latency panel shows one point for them: the float32 network's.
    """
    families = {"int": ("quantized: int8, int4, int2", COLORS["good"]), "pruned": ("pruned: 50%, 80%, 90%", COLORS["bad"]),
                "rank": ("low rank: 8, 4, 2", COLORS["other"])}
    fig, (acc, fid, lat) = plt.subplots(1, 3, figsize=(13.5, 4.2))
    for key, (label, colour) in families.items():
        part = summary[[key in arm for arm in summary.index]].sort_values("kB")
        acc.errorbar(part["kB"], part["vs_reference"], yerr=part["diff_sd"], fmt="o-", color=colour, capsize=3,
                     alpha=0.85, label=label)
        fid.plot(part["kB"], part["overlap"], "o-", color=colour, alpha=0.85, label=label)
    singles = summary[[not any(key in arm for key in families) for arm in summary.index]]
    for arm, row in singles.iterrows():
        colour = COLORS["neutral"] if "MLP" in arm else COLORS["accent"] if "teacher" in arm else COLORS["muted"]
        marker = "D" if row["is_reference"] else "s"
        for ax, x, y, err in ((acc, row["kB"], row["vs_reference"], row["diff_sd"]), (fid, row["kB"], row["overlap"], None),
                              (lat, latency_ms[arm], row["vs_reference"], row["diff_sd"])):
            ax.errorbar(x, y, yerr=err, fmt=marker, color=colour, capsize=3)
            text = f"{arm} (and its compressions)" if ax is lat and "MLP" in arm else arm
            ax.annotate(text, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    front = summary[summary["frontier"]].sort_values("kB")
    fid.step(front["kB"], front["overlap"], where="post", color=COLORS["accent"], lw=1, ls="--", label="frontier")
    for ax in (acc, lat):
        ax.axhline(0, color=COLORS["muted"], lw=1)
    acc.set(xscale="log", xlabel="model size, kB (model_nbytes, log)", title="Size against accuracy",
            ylabel="PR-AUC minus the reference's, mean ± sd\n(network arms: float32 MLP; students: teacher)")
    acc.legend(loc="lower right", fontsize=7)
    fid.set(xscale="log", xlabel="model size, kB (model_nbytes, log)", ylim=(-0.05, 1.05),
            ylabel="share of the reference's top-1% alerts kept", title="Size against fidelity")
    fid.legend(loc="upper left", fontsize=7)
    lat.set(xscale="log", xlabel="one-row predict_proba p50, ms (scikit-learn, log)", title="Latency against accuracy")
    return fig


# --- Exercise 7c.1: ship the network smaller without changing its alerts --------------------------------


def exercise_network(random_state: int = 0) -> Any:
    """The small network of the notebook's compression decision (and of exercise 7c.1), unfitted."""
    return make_pipeline(StandardScaler(), MLPClassifier((32, 16), alpha=1e-3, batch_size=256, tol=1e-3,
                                                         n_iter_no_change=2, max_iter=100, random_state=random_state))


@exercise("7c.1")
def _compress_network(answer: Any, *, world_seed: int = 2027) -> tuple[bool, str]:
    if not callable(answer) or (hasattr(answer, "fit") and not isinstance(answer, type)):
        return False, (f"the answer must be a function build(fitted_network) -> classifier, as in the arms above; "
                       f"got {type(answer).__name__}.")
    world = make_transactions(n=40_000, random_state=world_seed)  # a fresh world the notebook never saw
    X = transaction_features(world)
    X = X.fillna(X.median())
    y = world["is_fraud"].to_numpy()
    overlaps, sizes = [], []
    for k, (train, test) in enumerate(folds(X, y, split="time", time=world["timestamp"], n_repeats=3, test_size=0.1)):
        network = exercise_network().fit(X.iloc[train], y[train])
        budget = model_nbytes(network) / 3
        try:
            model = clone(answer(network)).fit(X.iloc[train], y[train])
            scores = np.asarray(model.predict_proba(X.iloc[test]))[:, 1]
            size = model_nbytes(model)
        except Exception as error:  # a learner's model may fail in any way: report it as a verdict
            return False, f"building, fitting, scoring or sizing your model failed: {type(error).__name__}: {error}"
        overlap = alert_overlap(network.predict_proba(X.iloc[test])[:, 1], scores)
        if size > budget:  # checked block by block, so a wrong answer fails fast
            return False, f"your model takes {size:,} bytes; the budget is a third of the float32 network, {budget:,.0f} bytes."
        if overlap < 0.9:
            return False, (f"your model fits the budget ({size:,} bytes) but on time block {k + 1} of a fresh world it "
                           f"raises only {overlap:.0%} of the network's top-1% alerts; it needs 90% on every block.")
        overlaps.append(overlap)
        sizes.append(size)
    return True, (f"{max(sizes):,} bytes (the float32 network: {3 * budget:,.0f}), and at least {min(overlaps):.0%} of "
                  f"the network's top-1% alerts on every block of a fresh world.")
