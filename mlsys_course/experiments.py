"""A/B tests done right and canary decisions: size the test, analyse it, look early safely, roll back.

Recipes for testing a model in production on a binary outcome (a conversion, a click, an error):

- :func:`sample_size` and :func:`power`: how many users an A/B test needs to detect a lift from
  ``p_control`` to ``p_treatment``, with Cohen's effect size ``h = 2 asin sqrt(p_t) - 2 asin sqrt(p_c)``
  and the normal approximation (the same numbers as statsmodels' ``NormalIndPower``).
- :func:`ab_test`: the analysis of a finished test: the difference of the rates, its confidence interval
  and the two-proportion z-test's p-value.
- :func:`sequential_boundaries`: the peeking problem. Testing at ``alpha`` after every day of a test
  rejects a true null far more often than ``alpha`` (about 0.19 for 10 looks at 0.05). Group-sequential
  boundaries with Lan & DeMets (1983) alpha spending keep the overall false-positive rate at ``alpha``
  however the looks are spread: stop at look ``k`` only when ``|z_k| >= boundary[k]``. The
  O'Brien-Fleming-type spending function (O'Brien & Fleming 1979 in the form of Lan & DeMets) spends
  almost nothing early, so the last boundary stays close to the fixed test's 1.96 and little power is lost.
- :func:`canary_check`: the automatic rollback of a canary release, a one-sided test of "the canary's
  error rate exceeds the control's by more than ``margin``".

References: Kohavi, Tang & Xu (2020), *Trustworthy Online Controlled Experiments* (sizing, analysis,
peeking); Lan & DeMets (1983), "Discrete sequential boundaries for clinical trials", Biometrika 70;
O'Brien & Fleming (1979), "A multiple testing procedure for clinical trials", Biometrics 35; Armitage,
McPherson & Rowe (1969) for the recursive numerical integration; Johari et al. (2017), "Peeking at A/B
tests" (the problem and the always-valid alternative).

Book: Chapter 9, "Test in Production" (A/B testing, canary release).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from mlsys_course._validation import check_choice, check_int, check_probability, check_real, show

__all__ = ["ABResult", "CanaryDecision", "ab_test", "canary_check", "power", "sample_size", "sequential_boundaries"]

_ALTERNATIVES = ("two-sided", "larger", "smaller")
_SPENDING = ("obrien-fleming", "pocock")


@dataclass(frozen=True)
class ABResult:
    """The analysis of a finished A/B test on a binary outcome (see :func:`ab_test`)."""

    p_control: float
    p_treatment: float
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    significant: bool
    alpha: float


@dataclass(frozen=True)
class CanaryDecision:
    """The verdict of one canary check (see :func:`canary_check`)."""

    rollback: bool
    error_rate_canary: float
    error_rate_control: float
    difference: float
    z: float
    p_value: float
    margin: float
    alpha: float


def _effect_size(p_control: float, p_treatment: float) -> float:
    """Cohen's h of the lift, ``2 asin sqrt(p_t) - 2 asin sqrt(p_c)`` (statsmodels' proportion_effectsize(p_t, p_c))."""
    return 2.0 * math.asin(math.sqrt(p_treatment)) - 2.0 * math.asin(math.sqrt(p_control))


def _power(h: float, n_control: float, alpha: float, ratio: float, alternative: str) -> float:
    """Power of the z-test with effect size ``h`` and ``n_control`` / ``ratio * n_control`` users."""
    shift = h * math.sqrt(1.0 / (1.0 / n_control + 1.0 / (ratio * n_control)))
    if alternative == "two-sided":
        crit = stats.norm.isf(alpha / 2.0)
        return float(stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift))
    crit = stats.norm.isf(alpha)
    return float(stats.norm.sf(crit - shift) if alternative == "larger" else stats.norm.cdf(-crit - shift))


def _rates(p_control: Any, p_treatment: Any, alpha: Any, ratio: Any, alternative: Any) -> tuple:
    p_control = check_probability("p_control", p_control)
    p_treatment = check_probability("p_treatment", p_treatment)
    alpha = check_probability("alpha", alpha)
    ratio = check_real("ratio", ratio, low=0.0, low_open=True)
    alternative = check_choice("alternative", alternative, _ALTERNATIVES)
    return p_control, p_treatment, alpha, ratio, alternative


def power(p_control: float, p_treatment: float, n_control: float, *, alpha: float = 0.05, ratio: float = 1.0,
          alternative: str = "two-sided") -> float:
    """Power of a two-proportion z-test with ``n_control`` users in control and ``ratio * n_control`` in treatment.

    Cohen's effect size ``h = 2 asin sqrt(p_treatment) - 2 asin sqrt(p_control)`` with the normal
    approximation: ``power = P(Z > z_crit - h sqrt(n_eff)) (+ the other tail when two-sided)``, where
    ``n_eff = 1 / (1 / n_c + 1 / n_t)``. Equal to statsmodels'
    ``NormalIndPower().power(proportion_effectsize(p_treatment, p_control), n_control, alpha, ratio, alternative)``.

    Parameters
    ----------
    p_control, p_treatment : float
        True rates of the two arms, in (0, 1).
    n_control : float
        Users in the control arm (> 0).
    alpha : float, default 0.05
        Significance level, in (0, 1).
    ratio : float, default 1.0
        Treatment users per control user (> 0).
    alternative : {"two-sided", "larger", "smaller"}, default "two-sided"
        "larger": the test looks only for ``p_treatment > p_control``; "smaller" only for the opposite.

    Returns
    -------
    float
        The probability that the test rejects "no difference", in [0, 1]; ``alpha`` when the rates are equal
        (two-sided).

    Book: Chapter 9, "Test in Production" (A/B testing: how many samples are needed).

    Example
    -------
    >>> round(power(0.10, 0.11, 14_744), 3)
    0.8
    """
    p_control, p_treatment, alpha, ratio, alternative = _rates(p_control, p_treatment, alpha, ratio, alternative)
    n_control = check_real("n_control", n_control, low=0.0, low_open=True)
    return _power(_effect_size(p_control, p_treatment), n_control, alpha, ratio, alternative)


def sample_size(p_control: float, p_treatment: float, *, alpha: float = 0.05, power: float = 0.8,
                ratio: float = 1.0, alternative: str = "two-sided") -> int:
    """Users needed in the control arm to detect the lift from ``p_control`` to ``p_treatment``.

    The smallest whole number of control users whose :func:`power` reaches ``power`` (treatment gets
    ``ratio`` times as many): ``ceil`` of the root of ``power(n) = power``, found with the other tail of a
    two-sided test included, exactly as statsmodels'
    ``ceil(NormalIndPower().solve_power(effect_size=proportion_effectsize(p_t, p_c), alpha=..., power=...,
    ratio=..., alternative=...))``. Without the other tail (negligible for realistic sizes) it is the
    textbook ``(z_{1-alpha/2} + z_{power})**2 (1 + 1/ratio) / h**2``.

    Parameters
    ----------
    p_control, p_treatment : float
        Control's rate and the treatment rate worth detecting, in (0, 1), not equal.
    alpha : float, default 0.05
        Significance level, in (0, 1).
    power : float, default 0.8
        Target power, in (0, 1); it must exceed the false-positive rate the test has anyway (``alpha``).
    ratio : float, default 1.0
        Treatment users per control user (> 0).
    alternative : {"two-sided", "larger", "smaller"}, default "two-sided"
        A one-sided test ("larger": treatment above control) needs fewer users, but only in its direction.

    Returns
    -------
    int
        Users in the control arm; the treatment arm needs ``ceil(ratio * n)``.

    Raises
    ------
    ValueError
        For equal rates (no finite size detects no lift), a one-sided alternative pointing away from the
        lift, or ``power <= alpha``.

    Book: Chapter 9, "Test in Production" (A/B testing: how many samples are needed).

    Example
    -------
    >>> sample_size(0.10, 0.11)       # 10% -> 11% at alpha 0.05, power 0.8; statsmodels' root is 14744.1
    14745
    >>> sample_size(0.10, 0.11, alternative="larger")
    11614
    """
    p_control, p_treatment, alpha, ratio, alternative = _rates(p_control, p_treatment, alpha, ratio, alternative)
    target = check_probability("power", power)
    h = _effect_size(p_control, p_treatment)
    if h == 0.0:
        raise ValueError(f"p_treatment must differ from p_control: no sample size detects no lift; got both "
                         f"{show(p_control)}")
    if (alternative == "larger" and h < 0) or (alternative == "smaller" and h > 0):
        raise ValueError(f"alternative={alternative!r} tests only for p_treatment "
                         f"{'above' if alternative == 'larger' else 'below'} p_control; got p_control={p_control!r}, "
                         f"p_treatment={p_treatment!r}")
    if target <= alpha:
        raise ValueError(f"power must exceed alpha ({alpha!r}), the rejection rate with no users at all; got {target!r}")
    one_sided = alpha / 2.0 if alternative == "two-sided" else alpha
    # the one-tail closed form; the other tail only adds power, so the root lies at or below it
    z_sum = stats.norm.isf(one_sided) + stats.norm.ppf(target)
    upper = (z_sum / h) ** 2 * (1.0 + 1.0 / ratio)
    if _power(h, upper, alpha, ratio, alternative) - target < 1e-12:
        return max(1, math.ceil(upper - 1e-9))
    lower = upper * 1e-6
    while _power(h, lower, alpha, ratio, alternative) > target:
        lower /= 10.0
    root = optimize.brentq(lambda n: _power(h, n, alpha, ratio, alternative) - target, lower, upper,
                           xtol=1e-10, rtol=1e-14)
    n = math.ceil(root - 1e-7)  # a root a rounding error above a whole number is that number
    return max(1, n if _power(h, n, alpha, ratio, alternative) >= target - 1e-12 else n + 1)


def _counts(name_conv: str, conversions: Any, name_n: str, n: Any) -> tuple[int, int]:
    n = check_int(name_n, n)
    if n < 1:
        raise ValueError(f"{name_n} must be >= 1: an arm with no traffic cannot be analysed; got {n}")
    conversions = check_int(name_conv, conversions, minimum=0)
    if conversions > n:
        raise ValueError(f"{name_conv} must be at most {name_n} ({n}); got {conversions}")
    return conversions, n


def ab_test(conversions_control: int, n_control: int, conversions_treatment: int, n_treatment: int, *,
            alpha: float = 0.05) -> ABResult:
    """Analyse a finished A/B test on a binary outcome: the lift, its interval and the z-test's p-value.

    - ``difference = p_treatment - p_control`` (absolute; divide by ``p_control`` for the relative lift);
    - ``z`` and ``p_value``: the two-sided two-proportion z-test with the pooled variance under "no
      difference", ``z = d / sqrt(p(1 - p)(1/n_c + 1/n_t))`` with ``p`` the pooled rate; equal to statsmodels'
      ``proportions_ztest([conv_t, conv_c], [n_t, n_c])``;
    - ``ci_low``, ``ci_high``: the ``1 - alpha`` Wald interval of the difference with unpooled variances,
      ``d -/+ z_{1-alpha/2} sqrt(p_t(1 - p_t)/n_t + p_c(1 - p_c)/n_c)``; equal to statsmodels'
      ``confint_proportions_2indep(conv_t, n_t, conv_c, n_c, method="wald", compare="diff")``.

    The two variances differ slightly, so at the edge of significance the interval and the p-value can
    disagree (Kohavi et al. 2020 report both); ``significant`` is ``p_value < alpha``.

    Parameters
    ----------
    conversions_control, n_control : int
        Conversions and users in the control arm (``0 <= conversions <= n``, ``n >= 1``).
    conversions_treatment, n_treatment : int
        The same for the treatment arm.
    alpha : float, default 0.05
        Significance level and ``1 - `` the interval's coverage, in (0, 1).

    Returns
    -------
    ABResult
        ``p_control``, ``p_treatment``, ``difference``, ``ci_low``, ``ci_high``, ``z``, ``p_value``,
        ``significant``, ``alpha``.

    Raises
    ------
    ValueError
        When both arms converted never or always: the pooled variance is 0 and no test exists.

    Book: Chapter 9, "Test in Production" (A/B testing: analysing the result).

    Example
    -------
    >>> r = ab_test(1000, 10_000, 1100, 10_000)
    >>> round(r.difference, 4), round(r.ci_low, 4), round(r.ci_high, 4), round(r.p_value, 4), r.significant
    (0.01, 0.0015, 0.0185, 0.0211, True)
    """
    cc, nc = _counts("conversions_control", conversions_control, "n_control", n_control)
    ct, nt = _counts("conversions_treatment", conversions_treatment, "n_treatment", n_treatment)
    alpha = check_probability("alpha", alpha)
    pc, pt = cc / nc, ct / nt
    pooled = (cc + ct) / (nc + nt)
    if pooled in (0.0, 1.0):
        raise ValueError(f"conversions_control and conversions_treatment must not both be 0 or both be every user: "
                         f"the pooled variance is 0 and the z-test is undefined; got {cc}/{nc} and {ct}/{nt}")
    d = pt - pc
    z = d / math.sqrt(pooled * (1.0 - pooled) * (1.0 / nc + 1.0 / nt))
    p_value = float(2.0 * special.ndtr(-abs(z)))
    half = float(stats.norm.isf(alpha / 2.0)) * math.sqrt(pt * (1.0 - pt) / nt + pc * (1.0 - pc) / nc)
    return ABResult(p_control=pc, p_treatment=pt, difference=d, ci_low=d - half, ci_high=d + half, z=float(z),
                    p_value=p_value, significant=bool(p_value < alpha), alpha=alpha)


def _spent(t: np.ndarray, alpha: float, spending: str) -> np.ndarray:
    """Lan-DeMets alpha spent by information fraction ``t`` (two-sided total ``alpha`` at t = 1)."""
    if spending == "obrien-fleming":  # each side spends alpha/2 with 2 - 2 Phi(z_{1-alpha/4} / sqrt(t))
        return 4.0 * special.ndtr(-stats.norm.isf(alpha / 4.0) / np.sqrt(t))
    return alpha * np.log1p((math.e - 1.0) * t)


def _information_times(looks: Any) -> np.ndarray:
    if isinstance(looks, numbers.Integral) and not isinstance(looks, (bool, np.bool_)):
        k = check_int("looks", looks, minimum=1, maximum=200)
        return np.arange(1, k + 1) / k
    if isinstance(looks, (str, bytes, dict, set)) or not hasattr(looks, "__len__"):
        raise TypeError(f"looks must be a number of equally spaced looks (int) or increasing information fractions "
                        f"ending at 1; got {show(looks)}")
    t = np.asarray(looks)
    if t.ndim != 1 or not 1 <= len(t) <= 200:
        raise ValueError(f"looks must hold 1 to 200 information fractions; got shape {t.shape}")
    if t.dtype == bool or not np.issubdtype(t.dtype, np.number):
        raise TypeError(f"looks must hold numbers (information fractions); got dtype {t.dtype}")
    t = t.astype(float)
    if not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0) or t[-1] != 1.0:
        raise ValueError(f"looks must be strictly increasing information fractions in (0, 1] ending at 1.0 "
                         f"(users so far / planned users); got {show(t.tolist())}")
    return t


def sequential_boundaries(looks: Any, *, alpha: float = 0.05, spending: str = "obrien-fleming",
                          grid: int = 801) -> np.ndarray:
    """Two-sided group-sequential z boundaries for repeated looks at an A/B test (Lan-DeMets alpha spending).

    Look ``k`` happens at information fraction ``t_k`` (users so far / planned users). The test stops and
    declares a difference at the first look with ``|z_k| >= boundary[k]`` (``z_k`` from :func:`ab_test` on
    the data so far); with no stop by the last look, it accepts "no difference". The boundaries spend the
    false-positive rate ``alpha`` over the looks with the spending function ``a(t)``:
    ``P(stop at look k | no difference) = a(t_k) - a(t_{k-1})``, so the overall rate is exactly ``alpha``
    whatever the number and spacing of the looks (Lan & DeMets 1983). Spending functions:

    - ``"obrien-fleming"``: each side spends ``alpha / 2`` with ``a(t) = 2 - 2 Phi(z_{1-alpha/4} / sqrt(t))``
      (so ``a(t) = 4 - 4 Phi(z_{1-alpha/4} / sqrt(t))`` in all), as gsDesign, rpact and ldbounds compute a
      symmetric two-sided design: very strict early, the last boundary close to the fixed test's
      (O'Brien & Fleming 1979's shape); the usual choice.
    - ``"pocock"``: ``a(t) = alpha ln(1 + (e - 1) t)``: nearly equal boundaries, stops big effects sooner,
      costs more users when the effect is small.

    The cumulative statistics ``z_k`` behave as Brownian motion ``B(t_k) / sqrt(t_k)`` (correlation
    ``sqrt(t_j / t_k)``); each boundary is solved by the recursive numerical integration of Armitage,
    McPherson & Rowe (1969): the density of ``B(t_k)`` on the paths not yet stopped is carried from look to
    look on a grid of ``grid`` points (trapezoid rule), and ``boundary[k]`` is the root (Brent) that makes
    the probability of first crossing at look ``k`` equal the alpha to spend there. Accuracy about 1e-4 in z.

    Parameters
    ----------
    looks : int or array-like of float
        The number of equally spaced looks (1 to 200), or the information fractions of the looks,
        strictly increasing in (0, 1] and ending at 1.0.
    alpha : float, default 0.05
        Overall two-sided false-positive rate, in (0, 1).
    spending : {"obrien-fleming", "pocock"}, default "obrien-fleming"
        The spending function.
    grid : int, default 801
        Grid points of the numerical integration per look (101 to 10001).

    Returns
    -------
    numpy.ndarray of float, shape (n_looks,)
        The |z| boundary of each look. One look gives the fixed test's ``z_{1-alpha/2}`` (1.96 at 0.05).

    Book: Chapter 9, "Test in Production" (A/B testing: the peeking problem).

    Example
    -------
    >>> sequential_boundaries(5).round(2)      # Lan-DeMets O'Brien-Fleming, 5 equal looks, alpha 0.05
    array([4.88, 3.36, 2.68, 2.29, 2.03])
    """
    t = _information_times(looks)
    alpha = check_probability("alpha", alpha)
    spending = check_choice("spending", spending, _SPENDING)
    grid = check_int("grid", grid, minimum=101, maximum=10_001)
    increments = np.diff(np.concatenate([[0.0], _spent(t, alpha, spending)]))
    bounds = np.empty(len(t))
    bounds[0] = stats.norm.isf(increments[0] / 2.0)
    # density of B(t_1) on the continuation region |B| < b_1 sqrt(t_1), on a grid with trapezoid weights
    half = bounds[0] * math.sqrt(t[0])
    s = np.linspace(-half, half, grid)
    w = np.full(grid, s[1] - s[0])
    w[[0, -1]] /= 2.0
    f = stats.norm.pdf(s, scale=math.sqrt(t[0]))
    for k in range(1, len(t)):
        sd = math.sqrt(t[k] - t[k - 1])
        mass = w * f

        def crossing(c: float) -> float:
            b = c * math.sqrt(t[k])
            return float(mass @ (special.ndtr((s - b) / sd) + special.ndtr((-b - s) / sd)))

        target = increments[k]
        hi = 1.0
        while crossing(hi) > target:
            hi *= 2.0
        bounds[k] = optimize.brentq(lambda c: crossing(c) - target, 0.0, hi, xtol=1e-10) if crossing(0.0) > target else 0.0
        half = bounds[k] * math.sqrt(t[k])
        s_new = np.linspace(-half, half, grid)
        f = np.exp(-0.5 * ((s_new[:, None] - s[None, :]) / sd) ** 2) @ mass / (sd * math.sqrt(2.0 * math.pi))
        s = s_new
        w = np.full(grid, s[1] - s[0])
        w[[0, -1]] /= 2.0
    return bounds


def canary_check(errors_canary: int, n_canary: int, errors_control: int, n_control: int, *, margin: float = 0.0,
                 alpha: float = 0.05) -> CanaryDecision:
    """Roll back the canary? A one-sided test that its error rate exceeds control's by more than ``margin``.

    Tests ``H0: e_canary - e_control <= margin`` against ``H1: e_canary - e_control > margin`` with the
    Wald z statistic ``z = (d - margin) / sqrt(e_k(1 - e_k)/n_k + e_c(1 - e_c)/n_c)`` (unpooled variances,
    so a non-zero margin is tested correctly); equal to statsmodels'
    ``test_proportions_2indep(errors_canary, n_canary, errors_control, n_control, value=margin,
    method="wald", compare="diff", alternative="larger")``. ``rollback`` is ``p_value < alpha``. When both
    rates are 0 (or both 1) the variance is 0: no rollback unless ``d > margin``.

    The margin is the regression you tolerate (absolute, in error rate): a canary 0.1 points worse than
    control may be acceptable; the test then rolls back only on evidence of more. A canary checked every
    minute is a test with many looks: use a smaller ``alpha`` per check (``alpha / looks``, Bonferroni, keeps
    the false-rollback rate of the whole release at most ``alpha``), or false rollbacks pile up. The
    Wald test wants a handful of errors in each arm; with fewer, wait for more traffic.

    Parameters
    ----------
    errors_canary, n_canary : int
        Failed requests and requests served by the canary (``0 <= errors <= n``, ``n >= 1``).
    errors_control, n_control : int
        The same for the current model.
    margin : float, default 0.0
        Tolerated excess error rate, in [0, 1).
    alpha : float, default 0.05
        Significance level of this check, in (0, 1).

    Returns
    -------
    CanaryDecision
        ``rollback``, both error rates, their ``difference`` (canary - control), ``z``, ``p_value``,
        ``margin``, ``alpha``.

    Book: Chapter 9, "Test in Production" (canary release).

    Example
    -------
    >>> canary_check(30, 1_000, 100, 10_000).rollback          # 3% against 1% errors
    True
    >>> canary_check(12, 1_000, 100, 10_000).rollback          # 1.2% against 1%: not enough evidence
    False
    """
    ek, nk = _counts("errors_canary", errors_canary, "n_canary", n_canary)
    ec, nc = _counts("errors_control", errors_control, "n_control", n_control)
    margin = check_real("margin", margin, low=0.0, high=1.0, high_open=True)
    alpha = check_probability("alpha", alpha)
    pk, pc = ek / nk, ec / nc
    d = pk - pc
    se = math.sqrt(pk * (1.0 - pk) / nk + pc * (1.0 - pc) / nc)
    if se > 0:
        z = (d - margin) / se
    else:
        z = math.inf if d > margin else -math.inf if d < margin else 0.0
    p_value = float(special.ndtr(-z)) if se > 0 or d != margin else 1.0
    return CanaryDecision(rollback=bool(p_value < alpha), error_rate_canary=pk, error_rate_control=pc, difference=d,
                          z=float(z), p_value=p_value, margin=margin, alpha=alpha)
