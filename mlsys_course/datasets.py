"""Seeded synthetic worlds: the marketplace's card transactions and its recommendation clicks.

No data is downloaded: every frame the course uses is generated here from a seed, and each generator
documents its *generative story* (what causes fraud, how labels arrive late, where drift comes from,
why values are missing), so that every effect measured in a chapter can be explained by it.

- :func:`make_transactions`: the running case study, card transactions on an online marketplace
  (class imbalance, delayed natural labels, concept drift, new merchants, MAR and MNAR missing values).
- :func:`make_click_log`: the marketplace's recommendation surface (position bias, delayed clicks,
  the true click probability kept as hidden truth for bandits, interleaving and A/B tests).
- :func:`make_app_usage`: a phone-usage world in which new apps appear (chapter 2, framing).
- :func:`make_feed`: newsfeed posts whose quality and engagement pull apart (chapter 2, objectives).

``CATEGORIES``, ``COUNTRIES`` and ``DEVICES`` are the fixed category lists of the categorical
columns: every frame carries all of them as categories, so one-hot columns are stable across samples.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import (
    RandomState,
    show,
    check_timestamp,
    check_int,
    check_probability,
    check_random_state,
    check_real,
)

__all__ = ["CATEGORIES", "COUNTRIES", "DEVICES", "TOPICS", "make_transactions", "make_click_log", "make_app_usage", "make_feed"]

# --- The fixed lists and the world's constants (the story in make_transactions' docstring) --------
CATEGORIES = ("grocery", "restaurants", "fashion", "electronics", "travel", "gaming", "digital_goods", "home")
_CATEGORY_SHARE = np.array([0.20, 0.16, 0.14, 0.10, 0.06, 0.10, 0.12, 0.12])
_CATEGORY_AMOUNT = np.array([1.0, 0.8, 1.6, 4.0, 6.0, 0.5, 0.3, 2.0])  # spend multiplier
COUNTRIES = ("US", "GB", "DE", "FR", "IN", "BR", "NG", "JP")
_COUNTRY_SHARE = np.array([0.30, 0.14, 0.12, 0.10, 0.12, 0.10, 0.06, 0.06])
_DEVICE_MISSING = np.array([0.02, 0.02, 0.15, 0.15, 0.02, 0.02, 0.02, 0.02])  # by transaction country
DEVICES = ("mobile", "desktop", "tablet")
_DEVICE_SHARE = np.array([0.60, 0.32, 0.08])

_SECOND = 10**9  # nanoseconds
_HOUR = 3_600 * _SECOND
_DAY = 24 * _HOUR
_NEW_USER_SHARE = 0.2  # share of users who sign up during [start, end)
_HISTORY_DAYS = 3 * 365  # older users and merchants appeared uniformly over this many days before start
_FOREIGN_RATE = 0.04
_NEW_ACCOUNT_DAYS = 30
_BURST_SHARE, _BURST_EXTRA_MEAN, _BURST_GAP_SECONDS = 0.3, 3.0, 90.0  # card testing: see make_transactions
_CHARGEBACK_SHAPE, _CHARGEBACK_SCALE_DAYS = 2.0, 10.0  # Gamma delay: mean 20 days, sd ~14 days
_EXAMINATION_EXPONENT = 0.7  # click log: P(examine position k) = (1 + k) ** -0.7


# --- Small helpers ----------------------------------------------------------------------------------
#: Upper bounds that keep a generator within memory and within datetime64[ns] (years 1678-2261).
MAX_ROWS = 20_000_000
MAX_DELAY_DAYS = 3_650
_MAX_CELLS = 50_000_000  # make_app_usage's (events x apps) matrix: 400 MB of float64


def _check_optional_int(name: str, value: Any, default: int) -> int:
    return default if value is None else check_int(name, value, minimum=1, maximum=MAX_ROWS)


def _check_fits(name: str, last_ns: int, delay_days: float) -> None:
    """``last + delay`` (plus a margin for the random delays' tails) must be a representable datetime64[ns]."""
    if last_ns + (delay_days + 5_000) * _DAY >= np.iinfo(np.int64).max:
        raise ValueError(
            f"{name} pushes label or click times past the year 2261 (the limit of datetime64[ns]); choose an "
            f"earlier start or end, or a shorter delay"
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _solve_intercept(score: np.ndarray, rate: float, weight: np.ndarray) -> float:
    """The intercept ``b`` with weighted ``mean(sigmoid(b + score)) == rate``: Newton steps in a bisection bracket."""
    total = weight.sum()
    if total == 0:
        return 0.0
    target = np.log(rate / (1 - rate))
    lo, hi = target - score.max(), target - score.min()  # the weighted mean is <= rate at lo and >= rate at hi
    b = target - score.mean()
    for _ in range(200):
        p = _sigmoid(b + score)
        gap = (weight * p).sum() / total - rate
        if abs(gap) <= 1e-9 * rate or hi - lo < 1e-12:
            break
        lo, hi = (lo, b) if gap > 0 else (b, hi)
        newton = b - gap * total / max((weight * p * (1 - p)).sum(), 1e-300)
        b = newton if lo < newton < hi else (lo + hi) / 2
    return b


def _arrivals(rng: np.random.Generator, n: int, n_new: int, t0: int, span: int) -> np.ndarray:
    """Sorted whole-second arrival times (int64 ns): ``n - n_new`` uniform over the history before ``t0``,
    ``n_new`` uniform during ``[t0, t0 + span)``."""
    return np.sort(np.concatenate([
        t0 - (rng.random(n - n_new) * _HISTORY_DAYS * _DAY).astype(np.int64) - _SECOND,
        t0 + (rng.random(n_new) * span).astype(np.int64),
    ]) // _SECOND * _SECOND)


def _times_with_daily_cycle(rng: np.random.Generator, n: int, start_ns: int, span_ns: int) -> np.ndarray:
    """``n`` sorted whole-second times (int64 ns) in ``[start, start + span)``.

    Thinning of a uniform draw by the intensity ``1 + 0.7 cos(2 pi (hour - 14) / 24)``: busiest at 14:00,
    quietest at 02:00 (about 5.7 times fewer events per hour).
    """
    n_seconds = -(-span_ns // _SECOND)  # ceil: second k is in range for k < n_seconds
    kept = []
    n_kept = 0
    while n_kept < n:
        m = int(1.8 * (n - n_kept)) + 16
        t = start_ns + np.minimum((rng.random(m) * n_seconds).astype(np.int64), n_seconds - 1) * _SECOND
        hour = (t % _DAY) / _HOUR
        t = t[rng.random(m) * 1.7 < 1 + 0.7 * np.cos(2 * np.pi * (hour - 14) / 24)]
        kept.append(t)
        n_kept += len(t)
    return np.sort(np.concatenate(kept)[:n])


def _pick_available(rng: np.random.Generator, times: np.ndarray, available_from: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """For each time, the index of an entity already available (``available_from <= time``), drawn with
    probability proportional to ``weight``. Entities must be sorted by ``available_from`` and the first
    one must be available at every time."""
    n_open = np.searchsorted(available_from, times, side="right")
    cum = np.cumsum(weight)
    draw = rng.random(len(times)) * cum[n_open - 1]
    return np.minimum(np.searchsorted(cum, draw, side="right"), n_open - 1)


def _as_datetime(ns: np.ndarray) -> np.ndarray:
    return ns.astype("datetime64[ns]")


# --- The transactions world --------------------------------------------------------------------------
def make_transactions(
    n: int = 100_000,
    *,
    start: str | _dt.date | np.datetime64 = "2024-01-01",
    end: str | _dt.date | np.datetime64 = "2024-07-01",
    n_users: int | None = None,
    n_merchants: int | None = None,
    fraud_rate: float = 0.01,
    new_merchant_share: float = 0.3,
    label_maturity_days: int = 60,
    random_state: RandomState = None,
    return_entities: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Card transactions on an online marketplace: the course's running case study.

    The generative story, which later chapters use to explain every effect they measure:

    **Users** (``n_users``, default ``max(100, n // 20)``). Each has a home country from
    ``COUNTRIES`` (shares US .30, GB .14, DE .12, FR .10, IN .12, BR .10, NG .06, JP .06); a true age
    ``18 + Gamma(3, 7)`` years (median 37), rounded and capped at 90; a typical spend level
    ``LogNormal(log 30, 0.6)`` dollars; an activity weight ``LogNormal(0, 1.5)`` (heavy-tailed: the
    top 1% of users make about a fifth of the transactions); and a hidden fraud risk ``Normal(0, 0.7)``
    added to the fraud logits of all their transactions (fraud clusters by user, so rows of one user
    are not independent). 80% of users signed up uniformly over the 3 years before ``start``, 20%
    sign up uniformly during ``[start, end)``. ``user_id`` is issued in sign-up order.

    **Merchants** (``n_merchants``, default ``max(20, n // 500)``). Each has a category from
    ``CATEGORIES`` (shares grocery .20, restaurants .16, fashion .14, electronics .10, travel .06,
    gaming .10, digital_goods .12, home .12) and a popularity weight ``LogNormal(0, 1)``.
    ``floor(new_merchant_share * n_merchants)`` merchants (at most all but one) open uniformly during
    ``[start, end)``; the rest were open before ``start``. ``merchant_id`` is issued in opening order,
    so new ids keep appearing over the period (unseen categories for the hashing lessons).

    **Transactions** (``n``). Timestamps are whole seconds in ``[start, end)`` with a daily cycle
    (intensity ``1 + 0.7 cos(2 pi (hour - 14) / 24)``: busiest at 14:00, about 5.7 times quieter at
    02:00), sorted ascending; ``transaction_id`` is ``0 .. n-1`` in time order. Each transaction picks
    a user among those already signed up, proportionally to activity, and a merchant among those
    already open, proportionally to popularity. ``amount = spend level x category multiplier x
    LogNormal(0, 0.5)`` rounded to cents (at least 0.01), with multipliers grocery 1.0, restaurants
    0.8, fashion 1.6, electronics 4.0, travel 6.0, gaming 0.5, digital_goods 0.3, home 2.0.
    ``device`` is mobile .60, desktop .32, tablet .08. ``country`` is the user's home country, except
    for 4% of transactions (travel, proxies) made from another country drawn uniformly
    (``is_foreign``). ``account_age_days`` is the whole days since the user's sign-up.

    **Fraud** is drawn for each transaction given its features, by two fraud populations whose mix
    drifts (concept drift: ``P(fraud | features)`` changes while the features' meaning does not).
    With ``w = (timestamp - start) / (end - start)`` going from 0 to 1, ``log_amount = clip(log(amount
    / 50), -3, 3)``, night = hour < 6 and new account = ``account_age_days < 30``::

        early = 3.0 [electronics or travel] + 1.5 log_amount + 2.0 [night] + 3.0 [is_foreign] + 2.5 [new account]
        late  = 3.5 [digital_goods or gaming] - 1.5 log_amount + 2.0 [mobile] + 2.5 [new account]
        P(fraud) = (1 - w) sigmoid(b_early + early + risk) + w sigmoid(b_late + late + risk)

    where ``risk`` is the user's hidden risk. Early on, fraud is big-ticket electronics and travel, at
    night, from abroad; by the end fraudsters have moved to card testing: small amounts on digital
    goods and gaming, on mobile. New accounts are risky throughout. The intercepts are solved
    (Newton steps within a bisection bracket) so that each population contributes ``fraud_rate``
    times its weight: the mean of ``P(fraud)`` over the generated rows equals ``fraud_rate`` exactly,
    so the realised rate is within binomial sampling error of it, and the fraud rate stays level over
    the period (about ``fraud_rate`` in every month) while its pattern changes. (With the defaults,
    digital goods and gaming hold about 5% of January's fraud and 90% of June's.)

    **Card testing bursts** (velocity features, ch. 3 and 5). A fraudster with a working card uses it
    fast: ``round(0.3 x fraud_rate x n)`` of the rows are follow-up charges of a burst. Each burst
    starts at a fraud row drawn uniformly from the fraud above and repeats it ``1 + Poisson(3)`` times
    on the same card (user), merchant, device and country, each charge ``1 + floor(Exponential(90))`` seconds after the
    previous one (about 6 minutes for a whole burst), for the same amount times ``LogNormal(0, 0.3)``;
    all follow-ups are fraud. The fraud intercepts above target ``(fraud_rate x n - n_burst) /
    (n - n_burst)`` on the other rows, so the expected overall rate is still ``fraud_rate``. With the
    defaults, 30% of fraud rows have another transaction of the same card in the previous 10 minutes,
    against under 1% of legitimate rows: bursts are what a stale velocity feature misses.

    **Labels arrive late** (natural labels, ch. 4). ``label_known_at`` is when the row's final label
    becomes known: for fraud, the chargeback, ``timestamp + Gamma(2, 10)`` days (mean 20 days, sd
    about 14; about 1.7% come after a 60-day window, so a label taken at the window's close is
    wrong for them); for legitimate rows, ``timestamp + label_maturity_days``, when the dispute
    window closes with no chargeback. ``label_known_at`` can fall after ``end``.

    **Missing values** (ch. 5). ``device`` is missing at random (MAR): the device fingerprint is
    blocked for 15% of transactions made from DE or FR (consent rules) and 2% elsewhere, so
    missingness depends only on the observed ``country``. ``user_age`` is missing not at random
    (MNAR): each user skips the age field at sign-up with probability
    ``0.05 + 0.45 exp(-(age - 18) / 7)`` (0.50 at 18, 0.09 at 40), which depends on the unobserved age
    itself; it is missing on all of that user's rows. Nothing else is ever missing.

    Parameters
    ----------
    n : int, default 100_000
        Number of transactions (>= 1).
    start, end : str, datetime, date or numpy.datetime64
        The period ``[start, end)`` (timezone-naive; ``end`` after ``start``).
    n_users : int or None
        Number of users (>= 1); None for ``max(100, n // 20)``.
    n_merchants : int or None
        Number of merchants (>= 1); None for ``max(20, n // 500)``.
    fraud_rate : float, default 0.01
        Expected share of fraud, in (0, 1).
    new_merchant_share : float, default 0.3
        Share of merchants that open during the period, in [0, 1).
    label_maturity_days : int, default 60
        Days after which a transaction with no chargeback is known to be legitimate (>= 0).
    random_state : int, numpy.random.Generator or None, default None
        Seed: the same int gives an identical frame (None: a fresh world each call).
    return_entities : bool, default False
        Also return the users and merchants tables, with the hidden truth (true age, risk, open dates).

    Returns
    -------
    pandas.DataFrame
        One row per transaction, columns ``transaction_id`` (int64), ``timestamp`` (datetime64[ns]),
        ``user_id``, ``merchant_id`` (int64), ``merchant_category`` (categorical, ``CATEGORIES``),
        ``amount`` (float64), ``device`` (categorical, ``DEVICES``, may be missing), ``country``
        (categorical, ``COUNTRIES``), ``is_foreign`` (bool), ``user_age`` (float64, may be missing),
        ``account_age_days`` (int64), ``is_fraud`` (int64, 0/1), ``label_known_at`` (datetime64[ns]).
        With ``return_entities=True``, a tuple ``(transactions, users, merchants)``: ``users`` has
        ``user_id, home_country, signed_up_at, true_age, user_age, spend_level, activity, risk``;
        ``merchants`` has ``merchant_id, merchant_category, opened_at, popularity``.

    Book: running case study (ch. 1-9); ch. 4 "Natural Labels" and "Class Imbalance"; ch. 5 "Handling
    Missing Values"; ch. 8 "Data Distribution Shifts" (concept drift).

    Examples
    --------
    >>> df = make_transactions(2_000, random_state=0)
    >>> df.shape
    (2000, 13)
    >>> list(df.columns[:6])
    ['transaction_id', 'timestamp', 'user_id', 'merchant_id', 'merchant_category', 'amount']
    >>> bool(df["timestamp"].is_monotonic_increasing), bool((df["label_known_at"] >= df["timestamp"]).all())
    (True, True)
    """
    n = check_int("n", n, minimum=1, maximum=MAX_ROWS)
    start_ts, end_ts = check_timestamp("start", start), check_timestamp("end", end)
    if end_ts <= start_ts:
        raise ValueError(f"end must be after start; got start={start_ts}, end={end_ts}")
    n_users = _check_optional_int("n_users", n_users, max(100, n // 20))
    n_merchants = _check_optional_int("n_merchants", n_merchants, max(20, n // 500))
    fraud_rate = check_probability("fraud_rate", fraud_rate)
    new_merchant_share = check_real("new_merchant_share", new_merchant_share, low=0.0, high=1.0, high_open=True)
    label_maturity_days = check_int("label_maturity_days", label_maturity_days, minimum=0, maximum=MAX_DELAY_DAYS)
    _check_fits("label_maturity_days", end_ts.value, label_maturity_days)
    if not isinstance(return_entities, bool):
        raise TypeError(f"return_entities must be True or False; got {show(return_entities)}")
    rng = check_random_state("random_state", random_state)
    t0, span = start_ts.value, end_ts.value - start_ts.value

    # Users, in sign-up order (the first one always signed up before start).
    n_new = min(int(_NEW_USER_SHARE * n_users), n_users - 1)
    signed_up = _arrivals(rng, n_users, n_new, t0, span)
    home = rng.choice(len(COUNTRIES), n_users, p=_COUNTRY_SHARE)
    true_age = np.minimum(np.round(18 + rng.gamma(3.0, 7.0, n_users)), 90)
    reported_age = np.where(rng.random(n_users) < 0.05 + 0.45 * np.exp(-(true_age - 18) / 7), np.nan, true_age)
    spend = rng.lognormal(np.log(30), 0.6, n_users)
    activity = rng.lognormal(0.0, 1.5, n_users)
    risk = rng.normal(0.0, 0.7, n_users)

    # Merchants, in opening order (the first one always open before start).
    n_new = min(int(new_merchant_share * n_merchants), n_merchants - 1)
    opened = _arrivals(rng, n_merchants, n_new, t0, span)
    category = rng.choice(len(CATEGORIES), n_merchants, p=_CATEGORY_SHARE)
    popularity = rng.lognormal(0.0, 1.0, n_merchants)

    # Transactions: n - n_burst independent ones now, n_burst card-testing follow-ups after the fraud draw.
    n_burst = min(int(round(_BURST_SHARE * fraud_rate * n)), n - 1)
    n_base = n - n_burst
    t = _times_with_daily_cycle(rng, n_base, t0, span)
    user = _pick_available(rng, t, signed_up, activity)
    merchant = _pick_available(rng, t, opened, popularity)
    cat = category[merchant]
    amount = np.maximum(np.round(spend[user] * _CATEGORY_AMOUNT[cat] * rng.lognormal(0.0, 0.5, n_base), 2), 0.01)
    device = rng.choice(len(DEVICES), n_base, p=_DEVICE_SHARE)
    foreign = rng.random(n_base) < _FOREIGN_RATE
    country = np.where(foreign, (home[user] + rng.integers(1, len(COUNTRIES), n_base)) % len(COUNTRIES), home[user])
    account_age = (t - signed_up[user]) // _DAY

    # Fraud, with a pattern drifting from `early` to `late`.
    w = (t - t0) / span
    log_amount = np.clip(np.log(amount / 50), -3, 3)
    night = (t % _DAY) < 6 * _HOUR
    new_account = account_age < _NEW_ACCOUNT_DAYS
    c = CATEGORIES.index
    early = (3.0 * np.isin(cat, [c("electronics"), c("travel")]) + 1.5 * log_amount + 2.0 * night
             + 3.0 * foreign + 2.5 * new_account)
    late = (3.5 * np.isin(cat, [c("digital_goods"), c("gaming")]) - 1.5 * log_amount
            + 2.0 * (device == DEVICES.index("mobile")) + 2.5 * new_account)
    early, late = early + risk[user], late + risk[user]
    base_rate = (fraud_rate * n - n_burst) / n_base  # so that base fraud plus the follow-ups average fraud_rate
    p_fraud = ((1 - w) * _sigmoid(_solve_intercept(early, base_rate, 1 - w) + early)
               + w * _sigmoid(_solve_intercept(late, base_rate, w) + late))
    is_fraud = rng.random(n_base) < p_fraud

    # Card testing: each burst starts at a fraud row and repeats it on the same card and merchant within minutes.
    if n_burst:
        anchors = np.flatnonzero(is_fraud)
        if len(anchors) == 0:  # tiny worlds only: the likeliest row becomes the fraud that starts the burst
            anchors = np.array([np.argmax(p_fraud)])
            is_fraud[anchors] = True
        sizes = 1 + rng.poisson(_BURST_EXTRA_MEAN, n_burst)
        sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_burst) + 1]
        sizes[-1] -= sizes.sum() - n_burst
        src = np.repeat(rng.choice(anchors, len(sizes)), sizes)
        step = 1 + rng.exponential(_BURST_GAP_SECONDS, n_burst).astype(np.int64)  # whole seconds, >= 1
        elapsed = np.cumsum(step)
        elapsed -= np.concatenate([[0], elapsed])[np.repeat(np.cumsum(sizes) - sizes, sizes)]  # since the burst began
        t_new = t[src] + elapsed * _SECOND
        t_new = np.where(t_new < t0 + span, t_new, t[src] - elapsed * _SECOND)  # a burst at the very end runs backwards
        extra_amount = np.maximum(np.round(amount[src] * rng.lognormal(0.0, 0.3, n_burst), 2), 0.01)
        order = np.argsort(np.concatenate([t, t_new]), kind="stable")
        t = np.concatenate([t, t_new])[order]
        user, merchant, cat, device, foreign, country = (
            np.concatenate([a, a[src]])[order] for a in (user, merchant, cat, device, foreign, country))
        amount = np.concatenate([amount, extra_amount])[order]
        is_fraud = np.concatenate([is_fraud, np.ones(n_burst, dtype=bool)])[order]
        account_age = (t - signed_up[user]) // _DAY

    # Late labels and missing values.
    delay = (rng.gamma(_CHARGEBACK_SHAPE, _CHARGEBACK_SCALE_DAYS, n) * _DAY).astype(np.int64) // _SECOND * _SECOND
    label_known_at = t + np.where(is_fraud, delay, label_maturity_days * _DAY)
    device[rng.random(n) < _DEVICE_MISSING[country]] = -1

    transactions = pd.DataFrame({
        "transaction_id": np.arange(n, dtype=np.int64),
        "timestamp": _as_datetime(t),
        "user_id": user.astype(np.int64),
        "merchant_id": merchant.astype(np.int64),
        "merchant_category": pd.Categorical.from_codes(cat, categories=CATEGORIES),
        "amount": amount,
        "device": pd.Categorical.from_codes(device, categories=DEVICES),
        "country": pd.Categorical.from_codes(country, categories=COUNTRIES),
        "is_foreign": foreign,
        "user_age": reported_age[user],
        "account_age_days": account_age.astype(np.int64),
        "is_fraud": is_fraud.astype(np.int64),
        "label_known_at": _as_datetime(label_known_at),
    })
    if not return_entities:
        return transactions
    users = pd.DataFrame({
        "user_id": np.arange(n_users, dtype=np.int64),
        "home_country": pd.Categorical.from_codes(home, categories=COUNTRIES),
        "signed_up_at": _as_datetime(signed_up),
        "true_age": true_age,
        "user_age": reported_age,
        "spend_level": spend,
        "activity": activity,
        "risk": risk,
    })
    merchants = pd.DataFrame({
        "merchant_id": np.arange(n_merchants, dtype=np.int64),
        "merchant_category": pd.Categorical.from_codes(category, categories=CATEGORIES),
        "opened_at": _as_datetime(opened),
        "popularity": popularity,
    })
    return transactions, users, merchants


# --- The recommendation surface ----------------------------------------------------------------------
def make_click_log(
    n_impressions: int = 50_000,
    *,
    n_users: int = 500,
    n_items: int = 200,
    n_positions: int = 5,
    start: str | _dt.date | np.datetime64 = "2024-01-01",
    days: float = 7,
    click_delay_minutes: float = 10.0,
    random_state: RandomState = None,
    return_entities: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Impressions and clicks of the marketplace's recommendation surface, with position bias and delayed clicks.

    The generative story:

    - Users and items have latent taste vectors of dimension 4 (entries ``Normal(0, 0.7)``, so the dot
      product has a standard deviation of about 1), a user bias ``Normal(0, 0.5)`` and an item bias
      ``-1.5 + 0.3 log(popularity) + Normal(0, 0.5)``, where item popularity is ``LogNormal(0, 1)``.
    - Impression times are whole seconds in ``[start, start + days)`` with the same daily cycle as
      :func:`make_transactions` (busiest at 14:00), sorted ascending; ``impression_id`` is in time order.
    - Each impression shows one item to one user at one position. Users are drawn proportionally to
      an activity weight ``LogNormal(0, 0.5)``; items proportionally to popularity (popular items are
      shown more); the position uniformly in ``0 .. n_positions-1`` (as if the layout were randomised,
      so position effects are not confounded with item quality).
    - The true click probability is a position-based model:
      ``p_click = sigmoid(user_taste . item_taste + user_bias + item_bias) x (1 + position) ** -0.7``,
      relevance times the probability of examining the position (1 at the top, 0.38 at position 3).
      ``p_click`` is the hidden truth, kept for teaching (checking estimators, simulating policies);
      a real log would not have it.
    - ``clicked ~ Bernoulli(p_click)``; a click arrives ``Exponential(mean click_delay_minutes)``
      minutes after the impression (rounded down to the second), so a short labelling window misses
      clicks that will still come.

    Parameters
    ----------
    n_impressions : int, default 50_000
        Number of impressions (>= 1).
    n_users, n_items : int
        Number of users and items (>= 1).
    n_positions : int, default 5
        Number of slots on the surface (>= 1); positions are 0-based.
    start : str, datetime, date or numpy.datetime64, default "2024-01-01"
        Start of the log (timezone-naive).
    days : float, default 7
        Length of the log in days (> 0).
    click_delay_minutes : float, default 10.0
        Mean delay between an impression and its click, in minutes (>= 0).
    random_state : int, numpy.random.Generator or None, default None
        Seed: the same int gives an identical frame (None: a fresh world each call).
    return_entities : bool, default False
        Also return the users and items tables (biases, taste vectors, weights) to simulate other policies.

    Returns
    -------
    pandas.DataFrame
        Columns ``impression_id``, ``timestamp`` (datetime64[ns]), ``user_id``, ``item_id``,
        ``position`` (int64), ``p_click`` (float64), ``clicked`` (int64, 0/1) and ``click_time``
        (datetime64[ns], NaT when not clicked). With ``return_entities=True``, a tuple
        ``(log, users, items)``: ``users`` has ``user_id, activity, bias, taste_0 .. taste_3``, ``items`` has
        ``item_id, popularity, bias, taste_0 .. taste_3``.

    Book: ch. 4 "Natural Labels" (feedback loop length); ch. 9 "Test in Production" (A/B testing,
    interleaving, bandits).

    Examples
    --------
    >>> log = make_click_log(1_000, random_state=0)
    >>> list(log.columns)
    ['impression_id', 'timestamp', 'user_id', 'item_id', 'position', 'p_click', 'clicked', 'click_time']
    >>> bool((log["clicked"] == log["click_time"].notna()).all())
    True
    """
    n = check_int("n_impressions", n_impressions, minimum=1, maximum=MAX_ROWS)
    n_users = check_int("n_users", n_users, minimum=1, maximum=MAX_ROWS)
    n_items = check_int("n_items", n_items, minimum=1, maximum=MAX_ROWS)
    n_positions = check_int("n_positions", n_positions, minimum=1, maximum=1_000)
    start_ts = check_timestamp("start", start)
    days = check_real("days", days, low=0.0, low_open=True, high=MAX_DELAY_DAYS)
    click_delay_minutes = check_real("click_delay_minutes", click_delay_minutes, low=0.0, high=MAX_DELAY_DAYS * 1_440)
    if not isinstance(return_entities, bool):
        raise TypeError(f"return_entities must be True or False; got {show(return_entities)}")
    rng = check_random_state("random_state", random_state)
    span = max(int(days * _DAY), 1)
    try:
        (start_ts + pd.Timedelta(span, unit="ns")).as_unit("ns")
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"start + days must be a date before 2262; got start={start_ts}, days={days}") from exc
    # the longest of up to MAX_ROWS exponential click delays stays below ~40 times their mean
    _check_fits("click_delay_minutes", start_ts.value + span, click_delay_minutes / 1_440 * 40)

    dim = 4
    user_taste, item_taste = rng.normal(0, 0.7, (n_users, dim)), rng.normal(0, 0.7, (n_items, dim))
    user_bias, activity = rng.normal(0, 0.5, n_users), rng.lognormal(0, 0.5, n_users)
    popularity = rng.lognormal(0, 1, n_items)
    item_bias = -1.5 + 0.3 * np.log(popularity) + rng.normal(0, 0.5, n_items)

    t = _times_with_daily_cycle(rng, n, start_ts.value, span)
    user = rng.choice(n_users, n, p=activity / activity.sum())
    item = rng.choice(n_items, n, p=popularity / popularity.sum())
    position = rng.integers(0, n_positions, n)
    relevance = _sigmoid(np.einsum("ij,ij->i", user_taste[user], item_taste[item]) + user_bias[user] + item_bias[item])
    p_click = relevance * (1.0 + position) ** -_EXAMINATION_EXPONENT
    clicked = rng.random(n) < p_click
    delay = (rng.exponential(click_delay_minutes * 60, n)).astype(np.int64) * _SECOND
    click_time = np.where(clicked, _as_datetime(t + delay), np.datetime64("NaT", "ns"))

    log = pd.DataFrame({
        "impression_id": np.arange(n, dtype=np.int64),
        "timestamp": _as_datetime(t),
        "user_id": user.astype(np.int64),
        "item_id": item.astype(np.int64),
        "position": position.astype(np.int64),
        "p_click": p_click,
        "clicked": clicked.astype(np.int64),
        "click_time": click_time,
    })
    if not return_entities:
        return log
    taste = [f"taste_{k}" for k in range(dim)]
    users = pd.DataFrame({"user_id": np.arange(n_users, dtype=np.int64), "activity": activity, "bias": user_bias})
    users[taste] = user_taste
    items = pd.DataFrame({"item_id": np.arange(n_items, dtype=np.int64), "popularity": popularity, "bias": item_bias})
    items[taste] = item_taste
    return log, users, items


# --- The app-usage world (chapter 2, framing) -----------------------------------------------------
#: The topics of the app-usage world: one ``interest_<topic>`` column per user, one ``topic_<topic>``
#: column per app.
TOPICS: tuple[str, ...] = ("games", "social", "work", "media", "photo", "travel")
N_DAYS = 30.0
_AFFINITY, _QUALITY, _NEW_QUALITY = 8.0, 0.5, 1.0


def make_app_usage(
    n_users: int = 300,
    n_apps: int = 30,
    n_new_apps: int = 5,
    n_events: int = 20_000,
    *,
    release_day: float = 18.0,
    random_state: RandomState = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A seeded phone-usage world in which new apps are released part-way through.

    Story: each user has interests over the topics ``TOPICS`` (Dirichlet(0.3): most users care about
    one or two) and an activity level (log-normal). Each app has a topic mix (Dirichlet(0.3): mostly
    one topic) and a ``quality`` score from its store review, both known at release: normal with
    sd 1 and mean 0, or mean 1 for the new apps (newer apps are more polished on average). Over
    ``N_DAYS`` = 30 days, events arrive at uniform random times; each picks a user in proportion to
    activity, and the user opens one of the apps released by then, with probability proportional
    to ``exp(8 * interest . topic + 0.5 * quality)``. Apps ``n_apps - n_new_apps, ..., n_apps - 1``
    are released on ``release_day``, all others on day 0.

    Parameters
    ----------
    n_users : int, default 300
        Number of users (>= 1).
    n_apps : int, default 30
        Number of apps, new ones included (>= n_new_apps + 2).
    n_new_apps : int, default 5
        Apps released on ``release_day`` (>= 0).
    n_events : int, default 20000
        Number of app openings (>= 1).
    release_day : float, default 18.0
        Day in (0, 30) on which the new apps appear: the training cut.
    random_state : int, numpy.random.Generator or None, default None
        Seed.

    Returns
    -------
    events : pandas.DataFrame
        Columns ``time`` (day, float, increasing), ``user_id``, ``app_id``, ``is_new_app`` (bool).
    users : pandas.DataFrame
        Indexed by ``user_id``; columns ``interest_<topic>`` (non-negative, summing to 1).
    apps : pandas.DataFrame
        Indexed by ``app_id``; columns ``topic_<topic>`` (summing to 1), ``quality``,
        ``release_day`` and ``is_new`` (bool).

    Book: Chapter 2, "Framing ML Problems".

    Example
    -------
    >>> events, users, apps = make_app_usage(n_users=50, n_events=1000, random_state=0)
    >>> events.columns.tolist()
    ['time', 'user_id', 'app_id', 'is_new_app']
    >>> bool(events.loc[events.time < 18, "is_new_app"].any()), int(apps.is_new.sum())
    (False, 5)
    """
    n_users = check_int("n_users", n_users, minimum=1, maximum=MAX_ROWS)
    n_apps = check_int("n_apps", n_apps, minimum=2, maximum=MAX_ROWS)
    n_new_apps = check_int("n_new_apps", n_new_apps, minimum=0)
    if n_apps < n_new_apps + 2:
        raise ValueError(f"n_apps must be >= {n_new_apps + 2} (n_new_apps + 2 old apps); got n_apps={n_apps}, n_new_apps={n_new_apps}")
    n_events = check_int("n_events", n_events, minimum=1, maximum=MAX_ROWS)
    for name, cells in (("n_events * n_apps", n_events * n_apps), ("n_users * n_apps", n_users * n_apps)):
        if cells > _MAX_CELLS:
            raise ValueError(f"{name} must be <= {_MAX_CELLS:,} (the world holds such a matrix in memory); got {cells:,}")
    release_day = check_real("release_day", release_day, low=0.0, high=N_DAYS, low_open=True, high_open=True)
    rng = check_random_state("random_state", random_state)

    k = len(TOPICS)
    interest = rng.dirichlet(np.full(k, 0.3), size=n_users)
    activity = rng.lognormal(0.0, 0.5, size=n_users)
    topic = rng.dirichlet(np.full(k, 0.3), size=n_apps)
    is_new = np.arange(n_apps) >= n_apps - n_new_apps
    quality = rng.normal(loc=np.where(is_new, _NEW_QUALITY, 0.0))

    time = np.sort(rng.uniform(0.0, N_DAYS, size=n_events))
    user = rng.choice(n_users, size=n_events, p=activity / activity.sum())
    utility = _AFFINITY * interest @ topic.T + _QUALITY * quality  # (n_users, n_apps)
    weight = np.exp(utility - utility.max(axis=1, keepdims=True))
    released = ~is_new[None, :] | (time >= release_day)[:, None]  # (n_events, n_apps)
    prob = weight[user] * released
    cdf = np.cumsum(prob, axis=1)
    draw = rng.random(n_events) * cdf[:, -1]
    app = np.minimum((cdf <= draw[:, None]).sum(axis=1), n_apps - 1)

    events = pd.DataFrame({"time": time, "user_id": user, "app_id": app, "is_new_app": is_new[app]})
    users = pd.DataFrame(interest, columns=[f"interest_{t}" for t in TOPICS])
    users.index.name = "user_id"
    apps = pd.DataFrame(topic, columns=[f"topic_{t}" for t in TOPICS])
    apps["quality"] = quality
    apps["release_day"] = np.where(is_new, release_day, 0.0)
    apps["is_new"] = is_new
    apps.index.name = "app_id"
    return events, users, apps


# --- The newsfeed world (chapter 2, decoupling objectives) ------------------------------------------
#: The observed columns of :func:`make_feed`.
FEED_FEATURES: tuple[str, ...] = ("clickbait", "depth", "reputation", "trend", "noise_1", "noise_2")


def make_feed(n_posts: int = 5_000, *, noise: float = 0.5, random_state: RandomState = None) -> pd.DataFrame:
    """Newsfeed posts whose quality and engagement pull apart, for the decoupled-objectives lesson.

    Story: each post has six observed features, each standard normal and independent: ``clickbait``
    (a sensational headline), ``depth`` (substance: length, sources), ``reputation`` (of the
    publisher), ``trend`` (how hot the topic is) and two features with no effect (``noise_1``,
    ``noise_2``). The two hidden outcomes the feed cares about are::

        quality    = 1.0 depth - 0.8 clickbait + 0.5 reputation + Normal(0, noise)
        engagement = 1.0 clickbait + 0.4 depth + 0.6 trend + Normal(0, noise)

    Clickbait raises engagement and lowers quality, so ranking by engagement alone fills the feed
    with low-quality posts, and a platform must trade one objective against the other (book: "Decoupling
    objectives", the newsfeed example). With the default noise the two outcomes correlate about -0.2.

    Parameters
    ----------
    n_posts : int, default 5000
        Number of posts (>= 1).
    noise : float, default 0.5
        Standard deviation of each outcome's noise (>= 0).
    random_state : int, numpy.random.Generator or None, default None
        Seed: the same int gives an identical frame (None: a fresh world each call).

    Returns
    -------
    pandas.DataFrame
        Columns ``FEED_FEATURES``, then ``quality`` and ``engagement`` (the hidden truth a model learns).

    Book: Chapter 2, "Framing ML Problems: Decoupling objectives".

    Example
    -------
    >>> feed = make_feed(1000, random_state=0)
    >>> feed.columns.tolist()
    ['clickbait', 'depth', 'reputation', 'trend', 'noise_1', 'noise_2', 'quality', 'engagement']
    >>> bool(feed["quality"].corr(feed["engagement"]) < 0)
    True
    """
    n_posts = check_int("n_posts", n_posts, minimum=1, maximum=MAX_ROWS)
    noise = check_real("noise", noise, low=0.0)
    rng = check_random_state("random_state", random_state)
    x = rng.standard_normal((n_posts, len(FEED_FEATURES)))
    feed = pd.DataFrame(x, columns=list(FEED_FEATURES))
    feed["quality"] = feed["depth"] - 0.8 * feed["clickbait"] + 0.5 * feed["reputation"] + rng.normal(0, noise, n_posts)
    feed["engagement"] = feed["clickbait"] + 0.4 * feed["depth"] + 0.6 * feed["trend"] + rng.normal(0, noise, n_posts)
    return feed
