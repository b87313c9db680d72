"""Measure chapter 9's bandit simulation, vectorised across replicates, against river's bandits stepping one at a time.

    .venv/bin/python tools/bench_bandits.py                 # both policies, median of 3 runs (about 20 s)
    .venv/bin/python tools/bench_bandits.py --repeat 5 --river-replicates 40

The problem: 10 arms with click rates drawn once from Uniform(0.02, 0.20) (seed 0), Bernoulli rewards.
Arms, per policy (Thompson sampling with Beta(1, 1) priors; UCB1, river's ``UCB(delta=1)``, the same index):
- ours: ``simulate(policy, rates, n_steps=1_000, n_replicates=1_000)``: 1,000,000 replicate-steps in one call
  (numpy across replicates, a Python loop over the 1,000 steps); steps per second = 10^6 / seconds.
- ours, one replicate: ``n_replicates=1`` (what a single bandit costs with our code: the per-step numpy overhead).
- river 0.26: one policy, ``pull(range(10))`` then ``update(arm, reward)`` per step, rewards from
  ``random.Random``; ``--river-replicates`` runs of 1,000 steps each (20 by default: 20,000 steps).
Requirement (issue 13): ours vectorised >= 20x river's steps per second. The issue's anchors, measured earlier on
this machine: river Thompson 44k steps/s, a vectorised numpy version 1.3M.

Same answer: both sides report the mean cumulative (expected) regret after 1,000 steps over their replicates, with
a 95% interval from the spread across replicates; the two sides run the same algorithms with different random
streams, so the means must agree within sampling error ("yes" when they differ by less than 3 combined standard
errors).

Runs single-threaded BLAS/OpenMP (as the notebook kernels do). Times are medians of ``--repeat`` wall-clock runs
after one untimed warm-up of each arm; the arms take turns. Other processes inflate every time: the load average is
printed at the start and the end. Nothing is asserted (CONVENTIONS section 4): the "result" column says whether
the requirement held in this run.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import river  # noqa: E402
from river import bandit, proba  # noqa: E402

from mlsys_course.bandits import ThompsonSampling, UCB1, simulate  # noqa: E402
from tools.machine import cpu_model  # noqa: E402

SEED = 0
N_ARMS, N_STEPS, N_REPLICATES = 10, 1_000, 1_000
REQUIRED = 20
ANCHORS = {"river_thompson": 44_000, "numpy_thompson": 1_300_000}


def river_run(make, rates: np.ndarray, n_replicates: int, seed: int) -> np.ndarray:
    """Cumulative expected regret after N_STEPS of ``n_replicates`` river policies, stepped one at a time."""
    best = rates.max()
    out = np.empty(n_replicates)
    for r in range(n_replicates):
        policy, rng, regret = make(seed + r), random.Random(seed + r), 0.0
        arms = list(range(N_ARMS))
        for _ in range(N_STEPS):
            arm = policy.pull(arms)
            policy.update(arm, rng.random() < rates[arm])
            regret += best - rates[arm]
        out[r] = regret
    return out


def timed(fns: dict, repeat: int) -> dict:
    """Median seconds of ``repeat`` calls of each fn (one untimed call first; the arms take turns) and a result."""
    results = {name: fn() for name, fn in fns.items()}
    seconds = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            seconds[name].append(time.perf_counter() - start)
    return {name: (float(np.median(seconds[name])), results[name]) for name in fns}


def mean_ci(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per arm (median reported)")
    parser.add_argument("--river-replicates", type=int, default=20, help="river runs of 1,000 steps each")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"Bandits, chapter 9: {os.cpu_count()} cores ({cpu_model()}), load average {load:.2f} at start; "
          f"numpy {np.__version__}, river {river.__version__}, Python {platform.python_version()}")

    rates = np.random.default_rng(SEED).uniform(0.02, 0.20, N_ARMS)
    policies = {
        "Thompson sampling": (ThompsonSampling(N_ARMS), lambda s: bandit.ThompsonSampling(reward_obj=proba.Beta(), seed=s)),
        "UCB1": (UCB1(N_ARMS), lambda s: bandit.UCB(delta=1, seed=s)),
    }
    rows = []
    for name, (ours, theirs) in policies.items():
        times = timed({
            "ours": lambda: simulate(ours, rates, n_steps=N_STEPS, n_replicates=N_REPLICATES, random_state=SEED)[0],
            "ours1": lambda: simulate(ours, rates, n_steps=N_STEPS, n_replicates=1, random_state=SEED)[0],
            "river": lambda: river_run(theirs, rates, args.river_replicates, SEED),
        }, args.repeat)
        (ours_s, regret), (one_s, _), (river_s, river_regret) = times.values()
        ours_rate = N_STEPS * N_REPLICATES / ours_s
        one_rate = N_STEPS / one_s
        river_rate = N_STEPS * args.river_replicates / river_s
        m_ours, se_ours = mean_ci(regret.sum(axis=0))
        m_river, se_river = mean_ci(river_regret)
        agree = abs(m_ours - m_river) < 3 * np.hypot(se_ours, se_river)
        ratio = ours_rate / river_rate
        rows.append((name, river_rate, ours_rate, one_rate, ratio, "yes" if ratio >= REQUIRED else "NO",
                     f"{'yes' if agree else 'NO'}: regret@1k ours {m_ours:.1f} ± {1.96 * se_ours:.1f}, "
                     f"river {m_river:.1f} ± {1.96 * se_river:.1f}"))

    print()
    print("| Policy (10 arms) | river steps/s (1 replicate) | ours steps/s (1,000 replicates) | ours steps/s "
          "(1 replicate) | Ratio (vectorised / river) | Required | Result | Same answer |")
    print("|---|---|---|---|---|---|---|---|")
    for name, river_rate, ours_rate, one_rate, ratio, result, same in rows:
        print(f"| {name} | {river_rate:,.0f} | {ours_rate:,.0f} | {one_rate:,.0f} | {ratio:.0f}x | >= {REQUIRED}x | "
              f"{result} | {same} |")
    print(f"\n- Anchors (issue 13): river Thompson {ANCHORS['river_thompson']:,} steps/s, a vectorised numpy version "
          f"{ANCHORS['numpy_thompson']:,}.")
    print(f"- Rates: {np.round(rates, 3).tolist()} (best {rates.max():.3f}); ours: {N_REPLICATES} replicates x "
          f"{N_STEPS} steps per call; river: {args.river_replicates} x {N_STEPS} steps.")
    print(f"- Load average {os.getloadavg()[0]:.2f} at the end ({os.cpu_count()} cores; this script alone makes about 1).")


if __name__ == "__main__":
    main()
