"""Chapter 9b: test in production: the lab code of the chapter's notebook (plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.serving` (the shadow model and the prediction log),
:mod:`mlsys_course.experiments` (sample size, power, the A/B analysis, sequential boundaries, the canary check),
:mod:`mlsys_course.interleaving` (team-draft) and :mod:`mlsys_course.bandits`. This module holds what only the
chapter needs: the worlds, simulations vectorised over thousands of experiments (their per-experiment statistics
are tested equal to the recipes), the figures, and the checks of exercises 9b.1 and 9b.2.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import special
from scipy.stats import norm

from mlsys_course.bandits import probability_best
from mlsys_course.comparison import paired_difference
from mlsys_course.datasets import make_click_log
from mlsys_course.exercises import exercise
from mlsys_course.experiments import ab_test, sample_size
from mlsys_course.plotting import COLORS
from mlsys_course.serving import predict, read_prediction_log, serve_model

__all__ = ["AB_CANARY", "AB_EXERCISE", "AB_WORLD", "BANDIT_EXERCISE_PROBLEMS", "BANDIT_EXERCISE_REPLICATES",
           "BANDIT_EXERCISE_USER_SHARE", "BANDIT_WORLD", "IL_EXAMINATION", "IL_WORLD", "SHADOW_RATIO_BUCKETS",
           "ab_canary_outcome", "ab_canary_p_values", "ab_canary_plot", "ab_canary_traffic", "ab_exercise_run",
           "ab_first_stop", "ab_peeking_z", "ab_plot", "ab_stop_table", "ab_users", "bandit_ab_outcomes",
           "bandit_check_stopping_rule", "bandit_difference", "bandit_experiment", "bandit_plot", "bandit_stop",
           "bandit_stopping_table", "bandit_summary", "bandit_world", "il_draw_users", "il_p_click", "il_plot",
           "il_users_for_power", "il_world", "il_z_test", "shadow_alerts", "shadow_bucket", "shadow_cost",
           "shadow_replay", "shadow_with_labels"]


# --- A/B tests, peeking, canary releases (ab_) ---------------------------------------------------------------------

AB_WORLD = {"p_control": 0.10, "p_treatment": 0.11, "per_arm_per_day": 1_100, "days": 14}


def ab_users(seed: int, *, days: int = 14, per_arm_per_day: int = 1_100, p_control: float = 0.10,
             relative_lift: float = 0.10) -> pd.DataFrame:
    """One A/B test on the marketplace's users: ``per_arm_per_day`` new users a day in each arm for ``days`` days.

    Each user has a propensity to convert, drawn from Beta(2, 18) rescaled to mean ``p_control``; a treated
    user's propensity is multiplied by ``1 + relative_lift`` (so the treatment arm converts at about
    ``p_control * (1 + relative_lift)``). Returns one row per user: ``day``, ``arm`` ("A" control, "B"
    treatment), ``propensity`` (hidden truth) and ``converted`` (0/1)."""
    rng = np.random.default_rng([seed, 9201])
    n = days * per_arm_per_day
    day = np.tile(np.repeat(np.arange(days), per_arm_per_day), 2)
    arm = np.repeat(np.array(["A", "B"]), n)
    propensity = rng.beta(2.0, 18.0, 2 * n) * (p_control / 0.1)
    propensity[n:] = np.minimum(propensity[n:] * (1.0 + relative_lift), 1.0)
    converted = (rng.random(2 * n) < propensity).astype(int)
    return pd.DataFrame({"day": day, "arm": arm, "propensity": propensity, "converted": converted})


def ab_peeking_z(seed: int, *, reps: int, looks: int, per_look: int, p_control: float, p_treatment: float
                 ) -> np.ndarray:
    """The two-proportion z (pooled, as :func:`~mlsys_course.experiments.ab_test`) at every look of ``reps``
    independent experiments, shape (reps, looks): ``per_look`` new users per arm between looks. Users convert
    independently, so each arm's conversions between looks are Binomial(per_look, p) (the same law as summing
    :func:`ab_users`'s users)."""
    rng = np.random.default_rng([seed, 9202])
    c = np.cumsum(rng.binomial(per_look, p_control, (reps, looks)), axis=1)
    t = np.cumsum(rng.binomial(per_look, p_treatment, (reps, looks)), axis=1)
    n = per_look * np.arange(1, looks + 1)
    pooled = (c + t) / (2.0 * n)
    var = pooled * (1.0 - pooled) * 2.0 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (t - c) / n / np.sqrt(var)
    return np.where(var > 0, z, 0.0)


def ab_first_stop(z: np.ndarray, boundaries: Sequence[float]) -> np.ndarray:
    """Index of the first look with ``|z| >= boundary`` per experiment, or -1 when none crosses."""
    crossed = np.abs(z) >= np.asarray(boundaries, dtype=float)
    return np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)


def ab_stop_table(arms: Mapping[str, Sequence[float]], z_null: np.ndarray, z_lift: np.ndarray, *, per_look: int
                  ) -> pd.DataFrame:
    """Per arm (a boundary per look): false-positive rate on the A/A runs, power on the A/B runs (each with
    +-2 standard errors of the simulation), and the mean users per arm when the A/B test stops."""
    rows = []
    looks = z_null.shape[1]
    for name, bounds in arms.items():
        fp = ab_first_stop(z_null, bounds) >= 0
        stop = ab_first_stop(z_lift, bounds)
        users = per_look * np.where(stop >= 0, stop + 1, looks)
        rows.append({"arm": name, "false_positive_rate": fp.mean(),
                     "fp_2se": 2 * math.sqrt(fp.mean() * (1 - fp.mean()) / len(fp)),
                     "power": (stop >= 0).mean(), "power_2se": 2 * math.sqrt((stop >= 0).mean() * (1 - (stop >= 0).mean()) / len(stop)),
                     "mean_users_per_arm": users.mean()})
    return pd.DataFrame(rows).set_index("arm")


def ab_plot(lifts: np.ndarray, sizes: np.ndarray, arms: Mapping[str, Sequence[float]], z_null: np.ndarray,
            *, alpha: float = 0.05) -> plt.Figure:
    """Left: users per arm against the relative lift (log scale). Right: the A/A false-positive rate
    accumulated over the looks, one line per arm."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(100 * lifts, sizes, color=COLORS["neutral"], marker="o", ms=3)
    left.set(yscale="log", xlabel="relative lift over 10% conversion (%)", ylabel="users per arm",
             title="Sample size (alpha 0.05, power 0.8)")
    colors = [COLORS["muted"], COLORS["bad"], COLORS["good"], COLORS["other"]]
    looks = np.arange(1, z_null.shape[1] + 1)
    for (name, bounds), color in zip(arms.items(), colors):
        stop = ab_first_stop(z_null, bounds)
        cum = [np.mean((stop >= 0) & (stop < k)) for k in looks]
        right.plot(looks, cum, marker="o", ms=3, color=color, label=name)
    right.axhline(alpha, color=COLORS["accent"], ls="--", lw=1, label=f"alpha = {alpha}")
    right.set(xlabel="look (day)", ylabel="false positives so far (A/A)", title="Peeking at an A/A test")
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --- Canary release (ab_canary_) -----------------------------------------------------------------------------------

#: The canary section's traffic: 2,000 requests a minute, 5% to the canary, 1% errors on the current model.
AB_CANARY = {"minutes": 60, "requests_per_minute": 2_000, "canary_share": 0.05, "error_control": 0.01}


def ab_canary_traffic(seed: int, *, error_canary: float, runs: int = 1, minutes: int = 60,
                      requests_per_minute: int = 2_000, canary_share: float = 0.05, error_control: float = 0.01
                      ) -> dict[str, np.ndarray]:
    """Cumulative requests and errors per minute of ``runs`` canary releases, each array of shape (runs, minutes):
    ``n_canary``, ``errors_canary``, ``n_control``, ``errors_control``. Each request goes to the canary with
    probability ``canary_share`` and fails with its model's error rate."""
    rng = np.random.default_rng([seed, 9203])
    nk = rng.binomial(requests_per_minute, canary_share, (runs, minutes))
    nc = requests_per_minute - nk
    ek = rng.binomial(nk, error_canary)
    ec = rng.binomial(nc, error_control)
    return {"n_canary": nk.cumsum(1), "errors_canary": ek.cumsum(1), "n_control": nc.cumsum(1),
            "errors_control": ec.cumsum(1)}


def ab_canary_p_values(traffic: Mapping[str, np.ndarray], *, margin: float = 0.0) -> np.ndarray:
    """:func:`~mlsys_course.experiments.canary_check`'s one-sided Wald p-value, vectorised over runs and minutes
    (the same formula, including its rule for a zero variance), shape (runs, minutes)."""
    nk, nc = traffic["n_canary"].astype(float), traffic["n_control"].astype(float)
    pk, pc = traffic["errors_canary"] / nk, traffic["errors_control"] / nc
    d = pk - pc
    se = np.sqrt(pk * (1 - pk) / np.maximum(nk, 1) + pc * (1 - pc) / nc)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (d - margin) / se, np.where(d > margin, np.inf, np.where(d < margin, -np.inf, 0.0)))
    p = special.ndtr(-z)
    p = np.where((se == 0) & (d == margin), 1.0, p)
    return np.where(traffic["n_canary"] > 0, p, 1.0)  # a minute with no canary traffic yet: nothing to test


def ab_canary_outcome(traffic: Mapping[str, np.ndarray], *, alpha: float, margin: float = 0.0,
                      error_control: float = 0.01) -> dict[str, float]:
    """How the rule "roll back at the first minute with p < alpha" fared over many releases (``traffic`` of
    :func:`ab_canary_traffic`): ``rolled_back`` the share of releases rolled back, ``minute`` the median minute of the rollback and
    ``canary_requests`` the median canary requests served until then (rolled-back releases only), and ``extra_errors`` the mean extra failed requests
    per release (canary errors until the rollback, or the hour's end, minus ``error_control`` x its requests)."""
    fire = ab_canary_p_values(traffic, margin=margin) < alpha
    rolled = fire.any(axis=1)
    last = np.where(rolled, fire.argmax(axis=1), fire.shape[1] - 1)
    runs = np.arange(len(last))
    exposed, errors = traffic["n_canary"][runs, last], traffic["errors_canary"][runs, last]
    return {"rolled_back": float(rolled.mean()),
            "minute": float(np.median(last[rolled] + 1)) if rolled.any() else np.nan,
            "canary_requests": float(np.median(exposed[rolled])) if rolled.any() else np.nan,
            "extra_errors": float(np.mean(errors - error_control * exposed))}


def ab_canary_plot(traffic: Mapping[str, np.ndarray], p_values: np.ndarray, alphas: Mapping[str, float]
                   ) -> plt.Figure:
    """One release: the two error rates over the minutes (left) and the canary check's p-value with each arm's
    per-check alpha (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    minutes = np.arange(1, p_values.size + 1)
    left.plot(minutes, 100 * traffic["errors_canary"][0] / traffic["n_canary"][0], color=COLORS["bad"],
              label="canary")
    left.plot(minutes, 100 * traffic["errors_control"][0] / traffic["n_control"][0], color=COLORS["neutral"],
              label="control")
    left.set(xlabel="minute", ylabel="error rate so far (%)", title="A canary with a planted regression")
    left.legend(fontsize=8)
    right.plot(minutes, p_values, color=COLORS["neutral"], marker="o", ms=2)
    for (name, a), color in zip(alphas.items(), [COLORS["bad"], COLORS["good"], COLORS["other"]]):
        right.axhline(a, ls="--", lw=1, color=color, label=name)
    right.set(yscale="log", xlabel="minute", ylabel="canary_check p-value", title="Roll back when p < alpha")
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig


# --- Exercise 9b.1: size an A/B test and stop it correctly (ab_exercise_) -----------------------------------------

#: Exercise 9b.1: conversion 5% -> 5.5%, alpha 0.05 two-sided, power 0.8; 3,000 users per arm a day and a look
#: every day; a budget of 1.25 x the fixed test's users; the checker's fresh seeds and experiments per hypothesis
#: (a plan passes with a false-positive rate <= alpha + 3 SE and a power >= 0.8 - 3 SE of the simulation).
AB_EXERCISE = {"p_control": 0.05, "p_treatment": 0.055, "alpha": 0.05, "power": 0.8, "per_arm_per_day": 3_000,
               "budget": 1.25, "seeds": (9101, 9102), "reps": 40_000}


def ab_exercise_run(plan: Mapping[str, Any], seed: int, *, p_treatment: float, reps: int) -> float:
    """Share of ``reps`` experiments that stop with a difference under ``plan`` (equally spaced looks)."""
    n, looks = plan["n_per_arm"], plan["looks"]
    bounds = np.asarray(plan["boundaries"], dtype=float)
    edges = np.round(n * np.arange(looks + 1) / looks).astype(int)
    rng = np.random.default_rng([seed, 9204])
    p_c = AB_EXERCISE["p_control"]
    c = np.cumsum(rng.binomial(np.diff(edges), p_c, (reps, looks)), axis=1)
    t = np.cumsum(rng.binomial(np.diff(edges), p_treatment, (reps, looks)), axis=1)
    m = edges[1:]
    pooled = (c + t) / (2.0 * m)
    z = (t - c) / m / np.sqrt(pooled * (1 - pooled) * 2.0 / m)
    return float((np.abs(z) >= bounds).any(axis=1).mean())


@exercise("9b.1")
def _ab_check_plan(answer: Any) -> tuple[bool, str]:
    cfg = AB_EXERCISE
    if not isinstance(answer, Mapping) or set(answer) != {"n_per_arm", "looks", "boundaries"}:
        return False, ("the answer must be a dict {'n_per_arm': int, 'looks': int, 'boundaries': one |z| "
                       f"boundary per look}}; got {answer!r:.80}.")
    n, looks = answer["n_per_arm"], answer["looks"]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 100:
        return False, f"'n_per_arm' must be a whole number of users (>= 100); got {n!r:.40}."
    if isinstance(looks, bool) or not isinstance(looks, (int, np.integer)) or not 1 <= looks <= 200:
        return False, f"'looks' must be a whole number of looks from 1 to 200; got {looks!r:.40}."
    try:
        bounds = np.asarray(answer["boundaries"], dtype=float)
    except (TypeError, ValueError):
        bounds = np.array([np.nan])
    if bounds.shape != (looks,) or np.isnan(bounds).any() or (bounds <= 0).any():
        return False, f"'boundaries' must hold {looks} positive |z| boundaries, one per look; got {answer['boundaries']!r:.60}."
    days = math.ceil(n / cfg["per_arm_per_day"])
    if looks < days:
        return False, (f"{n} users per arm take {days} days at {cfg['per_arm_per_day']} a day, and the team looks "
                       f"every day: plan at least {days} looks, not {looks}.")
    fixed = sample_size(cfg["p_control"], cfg["p_treatment"], alpha=cfg["alpha"], power=cfg["power"])
    if n > cfg["budget"] * fixed:
        return False, (f"{n} users per arm is over the budget of {cfg['budget']} x the fixed test's {fixed} "
                       f"= {int(cfg['budget'] * fixed)}: find boundaries that cost less power.")
    plan = {"n_per_arm": int(n), "looks": int(looks), "boundaries": bounds}
    reps = cfg["reps"]
    fp = ab_exercise_run(plan, cfg["seeds"][0], p_treatment=cfg["p_control"], reps=reps)
    pw = ab_exercise_run(plan, cfg["seeds"][1], p_treatment=cfg["p_treatment"], reps=reps)
    se_fp, se_pw = math.sqrt(cfg["alpha"] * (1 - cfg["alpha"]) / reps), math.sqrt(pw * (1 - pw) / reps)
    shown = (f"on {reps} fresh A/A tests the false-positive rate is {fp:.3f} (+-{2 * se_fp:.3f}), on {reps} A/B "
             f"tests (5% -> 5.5%) the power is {pw:.3f} (+-{2 * se_pw:.3f})")
    # three standard errors of the simulation: a correct plan fails by chance about once in a thousand
    if fp > cfg["alpha"] + 3 * se_fp:
        return False, f"{shown}: too many false positives; peeking every day needs stricter boundaries."
    if pw < cfg["power"] - 3 * se_pw:
        return False, f"{shown}: below the 0.8 power asked for; more users or boundaries that spend less early."
    return True, f"{shown}, with {n} users per arm ({n / fixed:.2f} x the fixed test's {fixed}) over {looks} looks."


# --- Bandits, and the bandit as an experiment (bandit_) ------------------------------------------------------------

BANDIT_WORLD = {"n_users": 500, "n_items": 200, "n_arms": 5, "n_pool": 5_000}
#: Exercise 9b.2: fresh problems (seed, control rate, treatment rate); the checker runs the student's stopping rule.
BANDIT_EXERCISE_PROBLEMS = ((9201, 0.10, 0.105), (9202, 0.05, 0.056))
BANDIT_EXERCISE_REPLICATES = 300
#: ... and must use on average at most this share of the A/B test's users.
BANDIT_EXERCISE_USER_SHARE = 0.6


def bandit_world(seed: int) -> dict:
    """Arms, users and true click rates from ``make_click_log(..., return_entities=True)``.

    The arms are the 5 most popular items. A user's click rate on an item at the top slot is the log's
    relevance ``sigmoid(user_taste . item_taste + user_bias + item_bias)``. ``contexts`` are 5,000 users drawn
    by activity (as they arrive), with features ``[1, taste_0..3, bias]``; ``user_rates`` their rates per arm;
    ``rates`` the mean over them (what a non-contextual bandit faces)."""
    w = BANDIT_WORLD
    _, users, items = make_click_log(1_000, n_users=w["n_users"], n_items=w["n_items"], random_state=seed,
                                     return_entities=True)
    arms = items.nlargest(w["n_arms"], "popularity")
    taste = [f"taste_{i}" for i in range(4)]
    rng = np.random.default_rng(seed)
    pool = users.iloc[rng.choice(len(users), w["n_pool"], p=users["activity"] / users["activity"].sum())]
    logit = pool[taste].to_numpy() @ arms[taste].to_numpy().T + pool[["bias"]].to_numpy() + arms["bias"].to_numpy()
    user_rates = 1.0 / (1.0 + np.exp(-logit))
    contexts = np.column_stack([np.ones(len(pool)), pool[taste].to_numpy(), pool["bias"].to_numpy()])
    return {"items": arms["item_id"].to_numpy(), "rates": user_rates.mean(axis=0), "user_rates": user_rates,
            "contexts": contexts}


def bandit_summary(runs: Mapping[str, np.ndarray], *, late: int = 500) -> pd.DataFrame:
    """One row per policy from its per-step regret (n_steps, n_replicates): the mean cumulative regret at the end
    with a 95% interval over replicates, and the regret per 1,000 users over the last ``late`` steps."""
    rows = []
    for name, regret in runs.items():
        total = regret.sum(axis=0)
        half = 1.96 * total.std(ddof=1) / np.sqrt(len(total))
        rows.append({"policy": name, "regret": total.mean(), "ci_low": total.mean() - half,
                     "ci_high": total.mean() + half, "late_per_1k": 1000 * regret[-late:].mean()})
    return pd.DataFrame(rows).set_index("policy").round(1)


def bandit_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean cumulative regret of ``a`` minus ``b`` (independent replicates) and its 95% Welch interval."""
    ta, tb = a.sum(axis=0), b.sum(axis=0)
    diff = ta.mean() - tb.mean()
    half = 1.96 * np.sqrt(ta.var(ddof=1) / len(ta) + tb.var(ddof=1) / len(tb))
    return float(diff), float(diff - half), float(diff + half)


def bandit_plot(runs: Mapping[str, np.ndarray], ax: Any = None, *, title: str = "",
                colors: tuple = ("muted", "neutral", "accent", "other", "bad", "good")) -> Any:
    """Cumulative regret, mean over replicates with the 10-90% band of the replicates (``colors``: COLORS keys,
    one per run in order)."""
    ax = ax if ax is not None else plt.subplots(figsize=(6, 4))[1]   # a new figure, never whatever is current
    for i, (name, regret) in enumerate(runs.items()):
        curves = regret.cumsum(axis=0)
        t = np.arange(1, len(curves) + 1)
        color = COLORS[colors[i % len(colors)]]
        ax.plot(t, curves.mean(axis=1), color=color, label=name)
        ax.fill_between(t, *np.percentile(curves, [10, 90], axis=1), color=color, alpha=0.15, linewidth=0)
    ax.set(xlabel="users served", ylabel="cumulative regret (clicks lost)", title=title)
    ax.legend(fontsize=8)
    return ax


# --- A bandit instead of an A/B test --------------------------------------------------------------------------------

def bandit_ab_outcomes(rates: Any, n_per_arm: int, *, n_replicates: int, seed: int, alpha: float = 0.05) -> dict:
    """Simulated fixed-horizon A/B tests of arm 0 (control) against arm 1, analysed with
    :func:`mlsys_course.experiments.ab_test`: the share that finds the better arm, picks the worse one, or finds
    no significant difference (and keeps control)."""
    rates = np.asarray(rates, dtype=float)
    conversions = np.random.default_rng(seed).binomial(n_per_arm, rates, size=(n_replicates, 2))
    results = [ab_test(int(c), n_per_arm, int(t), n_per_arm, alpha=alpha) for c, t in conversions]
    significant = np.array([r.significant for r in results])
    picked = np.array([1 if r.difference > 0 else 0 for r in results])
    better = int(np.argmax(rates))
    return {"users": 2 * n_per_arm, "right": float(np.mean(significant & (picked == better))),
            "wrong": float(np.mean(significant & (picked != better))), "undecided": float(np.mean(~significant))}


def bandit_experiment(rates: Any, *, max_users: int, batch: int = 2_000, n_replicates: int = 300,
                      n_draws: int = 400, seed: int = 0) -> dict:
    """Batched Thompson sampling run as an experiment (Scott 2010), ``n_replicates`` runs in lockstep.

    Every ``batch`` users the Beta(1, 1) posteriors give each arm's probability of being best
    (:func:`mlsys_course.bandits.probability_best`); the next batch is split between the arms in those
    proportions (Thompson sampling's allocation). Runs to ``max_users``; stopping rules are applied afterwards
    with :func:`bandit_stop`. Returns ``users`` (n_checks,), ``p_best`` (n_checks, n_replicates, n_arms) and
    ``exposed`` (n_checks, n_replicates, n_arms), the users sent to each arm so far."""
    rates = np.asarray(rates, dtype=float)
    rng = np.random.default_rng(seed)
    k = len(rates)
    successes = np.zeros((n_replicates, k))
    failures = np.zeros((n_replicates, k))
    users, p_best, exposed = [], [], []
    share = np.full((n_replicates, k), 1.0 / k)
    for n in range(batch, max_users + 1, batch):
        sent = rng.multinomial(batch, share)
        clicks = rng.binomial(sent, rates)
        successes += clicks
        failures += sent - clicks
        share = probability_best(successes, failures, n_draws=n_draws, random_state=rng)
        users.append(n)
        p_best.append(share)
        exposed.append(successes + failures)
    return {"rates": rates, "users": np.array(users), "p_best": np.array(p_best), "exposed": np.array(exposed)}


def bandit_stop(run: Mapping, *, threshold: float, min_users: int = 0) -> pd.DataFrame:
    """Apply "stop when an arm's P(best) >= threshold (after ``min_users``)" to every replicate of a run.

    One row per replicate: ``users`` at the stop (``max_users`` when it never stopped), ``stopped``, the
    ``chosen`` arm (at the end without a stop: the arm with the highest P(best)), ``wrong`` (a stop on a worse
    arm) and ``worse_exposed``, the users sent to worse arms before the decision."""
    p = run["p_best"]
    ok = (p.max(axis=2) >= threshold) & (run["users"][:, None] >= min_users)
    stopped = ok.any(axis=0)
    at = np.where(stopped, ok.argmax(axis=0), len(run["users"]) - 1)
    reps = np.arange(p.shape[1])
    chosen = p[at, reps].argmax(axis=1)
    best = int(np.argmax(run["rates"]))
    worse = np.delete(run["exposed"][at, reps], best, axis=1).sum(axis=1)
    return pd.DataFrame({"users": run["users"][at], "stopped": stopped, "chosen": chosen,
                         "wrong": stopped & (chosen != best), "worse_exposed": worse})


def bandit_stopping_table(run: Mapping, rules: Mapping[str, Mapping], ab: Mapping) -> pd.DataFrame:
    """One row per stopping rule (name -> bandit_stop keywords) and one for the A/B test (``bandit_ab_outcomes``):
    mean users, the share of runs that picked the wrong arm (with a 95% Wilson interval), that decided nothing,
    and the users sent to the worse arm."""
    rows = []
    for name, rule in rules.items():
        out = bandit_stop(run, **rule)
        n = len(out)
        lo, hi = _wilson(int(out["wrong"].sum()), n)
        rows.append({"design": name, "mean_users": out["users"].mean(), "median_users": out["users"].median(),
                     "wrong_arm": out["wrong"].mean(), "wrong_lo": lo, "wrong_hi": hi,
                     "undecided": 1 - out["stopped"].mean(), "worse_arm_users": out["worse_exposed"].mean()})
    rows.append({"design": "A/B test (fixed horizon)", "mean_users": ab["users"], "median_users": ab["users"],
                 "wrong_arm": ab["wrong"], "wrong_lo": np.nan, "wrong_hi": np.nan, "undecided": ab["undecided"],
                 "worse_arm_users": ab["users"] / 2})
    table = pd.DataFrame(rows).set_index("design")
    return table.round({"mean_users": -2, "median_users": -2, "worse_arm_users": -2, "wrong_arm": 3, "wrong_lo": 3,
                        "wrong_hi": 3, "undecided": 3}).astype({"mean_users": int, "median_users": int,
                                                                "worse_arm_users": int})


def _wilson(k: int, n: int) -> tuple[float, float]:
    z = 1.96
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


@exercise("9b.2")
def bandit_check_stopping_rule(answer: Any) -> tuple[bool, str]:
    """Exercise 9b.2: ``answer = {"threshold": P(best) to stop at, "min_users": users before any stop}``.

    On each fresh problem of ``BANDIT_EXERCISE_PROBLEMS`` (the better arm placed at random), batched Thompson
    sampling capped at the A/B test's total users, stopped by the rule, must pick the wrong arm in under 5% of
    ``BANDIT_EXERCISE_REPLICATES`` runs and use on average at most ``BANDIT_EXERCISE_USER_SHARE`` (60%) of the A/B test's users
    (80% power, alpha 0.05, :func:`mlsys_course.experiments.sample_size`)."""
    if not isinstance(answer, Mapping) or set(answer) != {"threshold", "min_users"}:
        return False, f"the answer must be a dict {{'threshold': ..., 'min_users': ...}}; got {answer!r:.80}."
    threshold, min_users = answer["threshold"], answer["min_users"]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not 0.5 < threshold < 1:
        return False, f"'threshold' must be a probability in (0.5, 1); got {threshold!r:.40}."
    if isinstance(min_users, bool) or not isinstance(min_users, (int, np.integer)) or min_users < 0:
        return False, f"'min_users' must be a non-negative integer; got {min_users!r:.40}."
    notes = []
    for seed, p_control, p_treatment in BANDIT_EXERCISE_PROBLEMS:
        rates = [p_control, p_treatment][:: 1 if seed % 2 else -1]
        n_ab = sample_size(p_control, p_treatment)
        run = bandit_experiment(rates, max_users=2 * n_ab, n_replicates=BANDIT_EXERCISE_REPLICATES, seed=seed)
        out = bandit_stop(run, threshold=float(threshold), min_users=int(min_users))
        wrong, users = out["wrong"].mean(), out["users"].mean()
        where = f"{p_control:.1%} vs {p_treatment:.1%}"
        if wrong >= 0.05:
            return False, f"{where}: picked the wrong arm in {wrong:.1%} of runs (must be under 5%)."
        if users > BANDIT_EXERCISE_USER_SHARE * 2 * n_ab:
            return False, (f"{where}: used {users:,.0f} users on average, more than {BANDIT_EXERCISE_USER_SHARE:.0%} "
                           f"of the A/B test's {2 * n_ab:,}.")
        notes.append(f"{where}: wrong arm {wrong:.1%}, {users:,.0f} users vs A/B {2 * n_ab:,}")
    return True, "; ".join(notes)


# --- Interleaving or A/B (il_) -------------------------------------------------------------------------------------

IL_WORLD = {"n_users": 2_000, "n_items": 200, "slots": 5, "noise_a": 1.5, "noise_b": 1.0}
#: Probability of examining each slot of a page: ``(1 + position) ** -0.7``, the click log's position model.
IL_EXAMINATION = (1.0 + np.arange(IL_WORLD["slots"])) ** -0.7


def il_world(seed: int) -> dict:
    """The section's world for ``seed``: per user and item the true relevance (click probability at the top slot,
    from ``make_click_log``'s users and items), users' activity weights, and the two rankers' top-5 lists
    (``rank_a``, ``rank_b``: item ids, shape (n_users, 5)), with each ranker's true expected clicks per page."""
    _, users, items = make_click_log(1_000, n_users=IL_WORLD["n_users"], n_items=IL_WORLD["n_items"],
                                     random_state=seed, return_entities=True)
    taste = [f"taste_{k}" for k in range(4)]
    logit = (users[taste].to_numpy() @ items[taste].to_numpy().T + users["bias"].to_numpy()[:, None]
             + items["bias"].to_numpy()[None, :])
    rng = np.random.default_rng([seed, 9_207])
    k = IL_WORLD["slots"]
    ranks = {name: np.argsort(-(logit + rng.normal(0, IL_WORLD[f"noise_{name}"], logit.shape)), axis=1)[:, :k].astype(np.int16)
             for name in ("a", "b")}
    world = {"relevance": 1.0 / (1.0 + np.exp(-logit)), "activity": users["activity"].to_numpy(),
             "rank_a": ranks["a"], "rank_b": ranks["b"]}
    w = world["activity"] / world["activity"].sum()
    for name in ("a", "b"):
        world[f"clicks_per_page_{name}"] = float(w @ il_p_click(world, np.arange(len(w)), ranks[name]).sum(axis=1))
    return world


def il_draw_users(world: dict, shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """Users arriving at the page: ids drawn with probability proportional to their activity."""
    p = world["activity"] / world["activity"].sum()
    return rng.choice(len(p), size=shape, p=p).astype(np.int16)


def il_p_click(world: dict, users: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """True click probability of each slot of the pages ``shown`` (item ids, last axis = slot) to ``users``:
    relevance x examination of the slot (the position-based model of ``make_click_log``)."""
    return world["relevance"][users[..., None], shown] * IL_EXAMINATION


def il_z_test(successes_a: np.ndarray, n_a: np.ndarray, successes_b: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """Two-sided p-values of the pooled two-proportion z-test (statsmodels ``proportions_ztest``), vectorised."""
    successes_a, n_a, successes_b, n_b = (np.asarray(v, dtype=float) for v in (successes_a, n_a, successes_b, n_b))
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (successes_b / n_b - successes_a / n_a) / se
    return np.where(se > 0, 2 * norm.sf(np.abs(z)), 1.0)


def il_users_for_power(table: pd.DataFrame, *, target: float = 0.8) -> pd.Series:
    """Users each design needs to find the better ranker with probability ``target``: the power curve of
    ``table`` (columns design, users, found) interpolated linearly in log(users) at its first crossing of
    ``target`` (NaN when it never reaches it)."""
    out = {}
    for design, g in table.groupby("design", sort=False):
        n, found = g["users"].to_numpy(float), g["found"].to_numpy()
        above = np.flatnonzero(found >= target)
        if len(above) == 0:
            out[design] = np.nan
        elif above[0] == 0:
            out[design] = n[0]
        else:
            i = above[0]
            f = (target - found[i - 1]) / (found[i] - found[i - 1])
            out[design] = float(np.exp(np.log(n[i - 1]) + f * (np.log(n[i]) - np.log(n[i - 1]))))
    return pd.Series(out, name="users_for_power")


def il_plot(table: pd.DataFrame, needed: pd.Series, *, target: float = 0.8) -> Any:
    """The probability of finding the better ranker against the number of users, one line per design with a
    band of +-2 standard errors over the replicates, and the users each needs for ``target`` power."""
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    palette = [COLORS["neutral"], COLORS["bad"], COLORS["good"]]
    for color, (design, g) in zip(palette, table.groupby("design", sort=False), strict=False):
        ax.plot(g["users"], g["found"], "o-", color=color, label=design, ms=4)
        ax.fill_between(g["users"], g["found"] - 2 * g["se"], g["found"] + 2 * g["se"], color=color, alpha=0.2, lw=0)
        if np.isfinite(needed[design]):
            ax.axvline(needed[design], color=color, ls=":", lw=1)
    ax.axhline(target, color=COLORS["accent"], ls="--", lw=1, label=f"{target:.0%} power")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("users in the experiment (log scale)")
    ax.set_ylabel("P(significant at 0.05, right way)")
    ax.set_title("Finding the better ranker: A/B test or team-draft interleaving")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


# --- Shadow deployment (shadow_) -----------------------------------------------------------------------------------

SHADOW_RATIO_BUCKETS = ((0.0, 0.8, "below 0.8x"), (0.8, 1.2, "about 1x (0.8x-1.2x)"), (1.2, 2.0, "1.2x-2x"),
                        (2.0, np.inf, "2x or more"))


def _shadow_cpu_seconds(pid):
    """CPU seconds (user + system) a process has used, from Linux's /proc; NaN where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


def shadow_replay(primary, candidate, X, *, batch_size=50, warmup=3):
    """Replay the rows of ``X`` (in requests of ``batch_size`` rows) through two services side by side: the primary
    alone, and the primary with the candidate in shadow. Both start at once (two threads) and both log; each request
    goes to both, in alternating order, so they see the same load. Returns the shadow service's log (read after it
    stopped, warm-up requests dropped), the client-side latency (ms) of each request to each service, and each
    service's CPU seconds per request (from /proc, the service process only; NaN elsewhere than Linux)."""
    chunks = [X.iloc[i : i + batch_size] for i in range(0, len(X), batch_size)]
    folder = tempfile.mkdtemp(prefix="shadow-")
    plain_log, shadow_log = os.path.join(folder, "plain.jsonl"), os.path.join(folder, "shadow.jsonl")
    services = [serve_model(primary, model_version="current", log_path=plain_log),
                serve_model(primary, model_version="current", log_path=shadow_log, shadow_model=candidate,
                            shadow_version="candidate")]
    arms = ("without shadow", "with shadow")
    latency = {arm: [] for arm in arms}
    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(2) as pool:
            started = [pool.submit(service.__enter__) for service in services]
        for service, future in zip(services, started):
            if future.exception() is None:
                stack.push(service.__exit__)  # stopped on the way out, whatever happens
        handles = dict(zip(arms, (future.result() for future in started)))
        for chunk in chunks[:warmup]:
            for handle in handles.values():
                predict(handle.url, chunk)
        cpu = {arm: _shadow_cpu_seconds(handle.pid) for arm, handle in handles.items()}
        for i, chunk in enumerate(chunks):
            for arm in arms if i % 2 == 0 else arms[::-1]:
                t0 = time.perf_counter()
                predict(handles[arm].url, chunk)
                latency[arm].append((time.perf_counter() - t0) * 1000)
        cpu = {arm: _shadow_cpu_seconds(handle.pid) - cpu[arm] for arm, handle in handles.items()}
    log = read_prediction_log(shadow_log)
    log = log[log.request_id.isin(log.request_id.unique()[warmup:])].reset_index(drop=True)
    return {"log": log, "latency_ms": {arm: np.array(v) for arm, v in latency.items()},
            "cpu_per_request_s": {arm: v / len(chunks) for arm, v in cpu.items()}}


def shadow_bucket(ratio):
    """The coarse bucket of ``SHADOW_RATIO_BUCKETS`` a ratio falls in."""
    return next(label for low, high, label in SHADOW_RATIO_BUCKETS if low <= ratio < high)


def shadow_cost(replay):
    """Stable statements about what the shadow cost in a :func:`shadow_replay`: lines to print."""
    plain, shadow = replay["latency_ms"]["without shadow"], replay["latency_ms"]["with shadow"]
    added = float(np.median(shadow - plain))  # paired: request i went to both
    cpu = replay["cpu_per_request_s"]
    ratio = cpu["with shadow"] / cpu["without shadow"]
    return [f"requests per service: {len(plain)}",
            f"shadow adds under 2 ms to the median answer: {added < 2.0}",
            f"p99 with shadow under twice p99 without: {bool(np.percentile(shadow, 99) < 2 * np.percentile(plain, 99))}",
            f"service CPU per request, with / without shadow: {shadow_bucket(ratio)}" if np.isfinite(ratio) else
            "service CPU per request: not measured (it is read from Linux's /proc)"]


def shadow_alerts(log, thresholds):
    """What the log says before any label: alert rates and score quantiles of each model, and how often they
    disagree on an alert. ``thresholds``: {"current": t, "candidate": t} (alert when the score >= t)."""
    scores = {"current": log["prediction"].to_numpy(), "candidate": log["shadow_prediction"].to_numpy()}
    alerts = {name: s >= thresholds[name] for name, s in scores.items()}
    table = pd.DataFrame({name: {"alert rate": alerts[name].mean(), "median score": np.median(s),
                                 "99th percentile score": np.quantile(s, 0.99)} for name, s in scores.items()}).T
    either = alerts["current"] | alerts["candidate"]
    both = alerts["current"] & alerts["candidate"]
    agreement = {"transactions where they disagree on an alert": float((alerts["current"] != alerts["candidate"]).mean()),
                 "alerts raised by both, of those raised by either": float(both.sum() / max(either.sum(), 1))}
    return table, agreement


def shadow_with_labels(log, y, days, thresholds):
    """Once the labels are known: each model's frauds caught and precision at its alert threshold, and per-day
    paired differences (candidate - current) of log loss and of frauds caught, with their 95% t-intervals."""
    y = np.asarray(y, dtype=int)
    days = np.asarray(days)
    scores = {"current": log["prediction"].to_numpy(), "candidate": log["shadow_prediction"].to_numpy()}
    alerts = {name: s >= thresholds[name] for name, s in scores.items()}
    table = pd.DataFrame({name: {"frauds": int(y.sum()), "frauds caught": int(alerts[name][y == 1].sum()),
                                 "precision of alerts": float(y[alerts[name]].mean()) if alerts[name].any() else np.nan}
                          for name in scores}).T
    table[["frauds", "frauds caught"]] = table[["frauds", "frauds caught"]].astype(int)
    unique = np.unique(days)

    def per_day(values):
        return np.array([values[days == d].mean() for d in unique])

    def loss(s):
        s = np.clip(s, 1e-15, 1 - 1e-15)
        return -(y * np.log(s) + (1 - y) * np.log(1 - s))

    rows = {}
    for metric, current, candidate in [
        ("log loss per transaction", per_day(loss(scores["current"])), per_day(loss(scores["candidate"]))),
        ("frauds caught per day", per_day(alerts["current"] & (y == 1)) * np.bincount(np.searchsorted(unique, days)),
         per_day(alerts["candidate"] & (y == 1)) * np.bincount(np.searchsorted(unique, days))),
    ]:
        mean, low, high = paired_difference(candidate, current)
        rows[metric] = {"days": len(unique), "candidate - current": mean, "ci low": low, "ci high": high}
    return table, pd.DataFrame(rows).T
