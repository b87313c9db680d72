"""Chapter 7c: model compression: the lab code of the chapter's notebook (plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.compression` (quantization, pruning, low-rank factorization,
distillation, the size measure) and :mod:`mlsys_course.runtimes` (ONNX). This part holds what only the
chapter needs: fitting the reference models and every compressed arm on each time fold, scoring them
(PR-AUC, size, agreement with the reference's alerts), the figures of the two decisions (weight-level
compression; distillation), and the checks of exercises 7c.1 and 7c.2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullFormatter
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier
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
from mlsys_course.leakage import time_split
from mlsys_course.plotting import COLORS

__all__ = ["EXERCISE_BUDGET_BYTES", "EXERCISE_PR_AUC_SHARE", "EXERCISE_WORLDS", "alert_overlap", "compression_scores",
           "compression_summary", "exercise_network", "exercise_teacher", "plot_compression_frontier", "plot_distillation",
           "shipped_model"]

#: Exercise 7c.2: the distilled model's size budget (bytes by ``model_nbytes``), the share of the ensemble's
#: PR-AUC it must keep (pooled over the worlds), and the fresh world seeds the check fits on.
EXERCISE_BUDGET_BYTES = 1_000
EXERCISE_PR_AUC_SHARE = 0.5
EXERCISE_WORLDS = (2028, 2029)


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


def _log_axis(ax: Any, ticks: Sequence[float]) -> None:
    """A log x axis labelled with plain numbers at ``ticks`` (inside the data range) and room for the labels."""
    ax.set_xscale("log")
    low, high = ax.get_xlim()
    ax.set_xticks([t for t in ticks if low <= t <= high])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(low, high * (high / low) ** 0.15)


def plot_compression_frontier(summary: pd.DataFrame) -> Any:
    """Two panels against model size (log): the PR-AUC change from the reference (mean and sd of the paired
    differences over the folds), and the share of the reference's top-1% alerts kept, with the frontier.

    Arms are grouped by name: "int", "pruned", "rank" (one curve each); every other arm is drawn as a single
    point (the reference network).
    """
    families = {"int": ("quantized: int8, int4, int2", COLORS["good"]), "pruned": ("pruned: 50%, 80%, 90%", COLORS["bad"]),
                "rank": ("low rank: 8, 4, 2", COLORS["other"])}
    fig, (acc, fid) = plt.subplots(1, 2, figsize=(10, 4.2))
    for key, (label, colour) in families.items():
        part = summary[[key in arm for arm in summary.index]].sort_values("kB")
        if len(part):
            acc.errorbar(part["kB"], part["vs_reference"], yerr=part["diff_sd"], fmt="o-", color=colour, capsize=3,
                         alpha=0.85, label=label)
            fid.plot(part["kB"], part["overlap"], "o-", color=colour, alpha=0.85, label=label)
    singles = summary[[not any(key in arm for key in families) for arm in summary.index]]
    for arm, row in singles.iterrows():
        marker = "D" if row["is_reference"] else "s"
        for ax, y, err in ((acc, row["vs_reference"], row["diff_sd"]), (fid, row["overlap"], None)):
            ax.errorbar(row["kB"], y, yerr=err, fmt=marker, color=COLORS["neutral"], capsize=3)
            ax.annotate(arm, (row["kB"], y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    front = summary[summary["frontier"]].sort_values("kB")
    if len(front):
        fid.step(front["kB"], front["overlap"], where="post", color=COLORS["accent"], lw=1, ls="--", label="frontier")
    acc.axhline(0, color=COLORS["muted"], lw=1)
    acc.set(xlabel="model size, kB (model_nbytes, log)", title="Size against accuracy",
            ylabel="PR-AUC minus the reference's, mean ± sd")
    fid.set(xlabel="model size, kB (model_nbytes, log)", ylim=(-0.05, 1.05),
            ylabel="share of the reference's top-1% alerts kept", title="Size against fidelity")
    for ax in (acc, fid):
        _log_axis(ax, (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right" if ax is acc else "upper left", fontsize=7)
    return fig


def plot_distillation(scores: pd.DataFrame, latency_ms: Mapping[str, float]) -> Any:
    """Two panels for the distillation arms: PR-AUC (every fold, and the mean) against model size (log), and
    against one-row latency (log); the teacher's mean PR-AUC as a line. The PR-AUC of each fold is drawn, not
    an error bar: with three folds a reader should see all three."""
    fig, (size, lat) = plt.subplots(1, 2, figsize=(10, 4.0), sharey=True)
    teacher = scores[scores["is_reference"]]
    for arm, part in scores.groupby("arm", sort=False):
        colour = (COLORS["neutral"] if part["is_reference"].all() else COLORS["good"] if "soft" in arm
                  else COLORS["bad"] if "hard" in arm else COLORS["muted"])
        for ax, x in ((size, part["nbytes"].mean() / 1e3), (lat, latency_ms[arm])):
            ax.plot(np.full(len(part), x), part["pr_auc"], "o", color=colour, alpha=0.4, ms=4)
            ax.plot(x, part["pr_auc"].mean(), "D", color=colour, ms=7)
            ax.annotate(arm, (x, part["pr_auc"].mean()), textcoords="offset points", xytext=(6, 4), fontsize=7)
    for ax in (size, lat):
        ax.axhline(teacher["pr_auc"].mean(), color=COLORS["neutral"], lw=1, ls="--")
    size.set(xlabel="model size, kB (model_nbytes, log)", ylabel="PR-AUC (dots: time blocks; diamond: mean)",
             title="Size against accuracy")
    lat.set(xlabel="one-row predict_proba p50, ms (scikit-learn, log)", title="Latency against accuracy")
    _log_axis(size, (0.001, 0.01, 0.1, 1, 10, 100, 1000))
    _log_axis(lat, (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50))
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


# --- Exercise 7c.2: distil the ensemble for a 1 kB budget -------------------------------------------------


def exercise_teacher(random_state: int = 0) -> ExtraTreesClassifier:
    """The ensemble of the notebook's distillation decision (and exercise 7c.2's reference), unfitted."""
    return ExtraTreesClassifier(n_estimators=30, min_samples_leaf=10, random_state=random_state)


def _exercise_world(seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    world = make_transactions(n=40_000, random_state=seed)
    X = transaction_features(world)
    X = X.fillna(X.median())
    train, future = time_split(world, test_size=0.3)
    return X, world["is_fraud"].to_numpy(), train, future


def _is_exercise_teacher(model: Any) -> bool:
    """Whether ``model`` has the class and parameters of :func:`exercise_teacher` (False when unsure)."""
    try:
        return type(model) is ExtraTreesClassifier and repr(model.get_params()) == repr(exercise_teacher().get_params())
    except Exception:  # an object without get_params, a parameter whose repr fails: fit it, do not guess
        return False


@exercise("7c.2")
def _distil_ensemble(answer: Any, *, world_seeds: Sequence[int] = EXERCISE_WORLDS) -> tuple[bool, str]:
    if not isinstance(answer, DistilledClassifier):
        return False, (f"the answer must be an unfitted DistilledClassifier(teacher, student, soft=...); "
                       f"got {type(answer).__name__}.")
    if any(isinstance(part, FrozenEstimator) for part in (answer.teacher, answer.student)):
        return False, ("the teacher and the student must be unfitted (no FrozenEstimator): the check fits them on "
                       "fresh worlds the notebook never saw.")
    budget, kept, plain_kept, pr_auc, ensemble_pr_auc, sizes = EXERCISE_BUDGET_BYTES, [], [], [], [], []
    for k, seed in enumerate(world_seeds):
        X, y, train, future = _exercise_world(seed)
        ensemble = exercise_teacher().fit(X.iloc[train], y[train])
        reference = ensemble.predict_proba(X.iloc[future])[:, 1]
        # the notebook's ensemble settings fit the same trees: fit them once, for the reference and the answer
        teacher = FrozenEstimator(ensemble) if _is_exercise_teacher(answer.teacher) else answer.teacher
        try:
            model = clone(answer).set_params(teacher=teacher).fit(X.iloc[train], y[train])
            scores = np.asarray(model.predict_proba(X.iloc[future]))[:, 1]
            size = model_nbytes(model)
            plain = clone(answer.student).fit(X.iloc[train], y[train])  # the same small model on the real labels
            plain_scores = np.asarray(plain.predict_proba(X.iloc[future]))[:, 1]
        except Exception as error:  # a learner's model may fail in any way: report it as a verdict
            return False, f"building, fitting, scoring or sizing your model failed: {type(error).__name__}: {error}"
        if size > budget:
            return False, (f"your distilled model takes {size:,} bytes on world {k + 1}; the budget is {budget:,} bytes "
                           f"(the ensemble takes {model_nbytes(ensemble):,}).")
        kept.append(alert_overlap(reference, scores))
        plain_kept.append(alert_overlap(reference, plain_scores))
        if kept[-1] <= plain_kept[-1]:
            return False, (f"on fresh world {k + 1} your distilled model raises {kept[-1]:.0%} of the ensemble's top-1% "
                           f"alerts, and the same student trained on the real labels {plain_kept[-1]:.0%}: distilled, it "
                           f"must follow the ensemble more closely than the labels alone teach it to.")
        pr_auc.append(float(average_precision_score(y[future], scores)))
        ensemble_pr_auc.append(float(average_precision_score(y[future], reference)))
        sizes.append(size)
    share = float(np.mean(pr_auc) / np.mean(ensemble_pr_auc))
    if share < EXERCISE_PR_AUC_SHARE:
        return False, (f"your distilled model fits the budget and follows the ensemble, but keeps only {share:.0%} of its "
                       f"PR-AUC on fresh worlds (mean {np.mean(pr_auc):.3f} against {np.mean(ensemble_pr_auc):.3f}); "
                       f"it needs {EXERCISE_PR_AUC_SHARE:.0%}.")
    versus = ", ".join(f"{a:.0%} against {b:.0%}" for a, b in zip(kept, plain_kept))
    return True, (f"{max(sizes):,} bytes at most, {share:.0%} of the ensemble's PR-AUC on {len(sizes)} fresh worlds, and more "
                  f"of its top-1% alerts than the same student trained on the labels ({versus}).")
