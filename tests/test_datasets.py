import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_course.datasets import CATEGORIES, COUNTRIES, DEVICES, make_app_usage, make_click_log, make_feed, make_transactions

N = 200_000
START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01")
COLUMNS = [
    "transaction_id", "timestamp", "user_id", "merchant_id", "merchant_category", "amount", "device",
    "country", "is_foreign", "user_age", "account_age_days", "is_fraud", "label_known_at",
]
CLICK_COLUMNS = ["impression_id", "timestamp", "user_id", "item_id", "position", "p_click", "clicked", "click_time"]


def within(observed, expected, se, k=4.0):
    """|observed - expected| <= k standard errors (k = 4: a false alarm about once in 16,000 checks)."""
    return abs(observed - expected) <= k * se


@pytest.fixture(scope="module")
def world():
    return make_transactions(N, random_state=0, return_entities=True)


@pytest.fixture(scope="module")
def tx(world):
    return world[0]


@pytest.fixture(scope="module")
def clicks():
    return make_click_log(100_000, random_state=0, return_entities=True)


# --- make_transactions: shape, types, determinism ------------------------------------------------


def test_columns_and_dtypes(tx):
    assert list(tx.columns) == COLUMNS
    assert len(tx) == N
    for c in ["transaction_id", "user_id", "merchant_id", "account_age_days", "is_fraud"]:
        assert tx[c].dtype == np.int64, c
    for c in ["timestamp", "label_known_at"]:
        assert tx[c].dtype == "datetime64[ns]", c
    assert tx["amount"].dtype == np.float64 and tx["user_age"].dtype == np.float64
    assert tx["is_foreign"].dtype == bool
    for c, cats in [("merchant_category", CATEGORIES), ("device", DEVICES), ("country", COUNTRIES)]:
        assert isinstance(tx[c].dtype, pd.CategoricalDtype), c
        assert tuple(tx[c].cat.categories) == cats, c  # the full fixed list, used or not
    assert set(tx["is_fraud"].unique()) == {0, 1}


def test_never_missing_columns(tx):
    missing = tx.isna().sum()
    assert missing.drop(["device", "user_age"]).sum() == 0
    assert missing["device"] > 0 and missing["user_age"] > 0


def test_same_seed_same_frame_other_seed_other_frame():
    a = make_transactions(3_000, random_state=7)
    pd.testing.assert_frame_equal(a, make_transactions(3_000, random_state=7))
    pd.testing.assert_frame_equal(
        make_transactions(3_000, random_state=np.random.default_rng(7)),
        make_transactions(3_000, random_state=np.random.default_rng(7)),
    )
    b = make_transactions(3_000, random_state=8)
    assert not a["amount"].equals(b["amount"])
    assert not a["timestamp"].equals(b["timestamp"])


def test_default_entity_counts(world):
    _, users, merchants = world
    assert len(users) == max(100, N // 20) and len(merchants) == max(20, N // 500)
    small = make_transactions(50, random_state=0, return_entities=True)
    assert len(small[1]) == 100 and len(small[2]) == 20


# --- time, users and merchants ------------------------------------------------------------------


def test_timestamps_sorted_in_period_and_ids_in_time_order(tx):
    assert tx["timestamp"].is_monotonic_increasing
    assert tx["timestamp"].min() >= START and tx["timestamp"].max() < END
    assert (tx["transaction_id"].to_numpy() == np.arange(N)).all()
    assert (tx["timestamp"].dt.nanosecond == 0).all() and (tx["timestamp"].dt.microsecond == 0).all()


def test_daily_cycle(tx):
    by_hour = tx["timestamp"].dt.hour.value_counts()
    # Intensity 1 + 0.7 cos(2 pi (h - 14) / 24): 14:00-15:00 vs 02:00-03:00 expected ratio ~5.5.
    assert by_hour.idxmax() in (13, 14, 15) and by_hour.idxmin() in (1, 2, 3)
    assert 4.5 < by_hour[14] / by_hour[2] < 6.5


def test_users_signed_up_before_their_transactions(world):
    tx, users, _ = world
    signed_up = users["signed_up_at"].to_numpy()[tx["user_id"]]
    assert (signed_up <= tx["timestamp"].to_numpy()).all()
    expected_age = (tx["timestamp"].to_numpy() - signed_up) // np.timedelta64(1, "D")
    assert (tx["account_age_days"].to_numpy() == expected_age).all()
    assert users["signed_up_at"].is_monotonic_increasing  # ids issued in sign-up order
    assert (users["signed_up_at"] >= START).mean() == pytest.approx(0.2, abs=1 / len(users))


def test_heavy_tailed_activity(tx, world):
    counts = tx["user_id"].value_counts()
    top = counts.nlargest(len(world[1]) // 100).sum() / N
    assert top > 0.1  # uniform activity would give ~1%


def test_merchants_open_before_their_transactions_and_new_ones_appear(world):
    tx, _, merchants = world
    opened = merchants["opened_at"].to_numpy()
    first_seen = tx.groupby("merchant_id")["timestamp"].min()
    assert (first_seen.to_numpy() >= opened[first_seen.index]).all()
    assert merchants["opened_at"].is_monotonic_increasing  # ids issued in opening order
    n_new = int(0.3 * len(merchants))
    assert (merchants["opened_at"] >= START).sum() == n_new
    assert (merchants["opened_at"] < END).all()
    # Distinct merchants seen so far grows month after month, and the newest ids show up late.
    month = tx["timestamp"].dt.month
    seen = [tx.loc[month <= m, "merchant_id"].nunique() for m in range(1, 7)]
    assert all(a < b for a, b in zip(seen, seen[1:]))
    assert tx.loc[month == 1, "merchant_id"].max() < tx.loc[month == 6, "merchant_id"].max()


def test_amounts_positive_cents(tx):
    cents = tx["amount"].to_numpy() * 100
    assert (tx["amount"] >= 0.01).all()
    assert np.allclose(cents, np.round(cents), atol=1e-6)
    by_cat = tx.groupby("merchant_category", observed=True)["amount"].median()
    assert by_cat["travel"] > by_cat["electronics"] > by_cat["grocery"] > by_cat["digital_goods"]


def test_foreign_means_not_home_country(world):
    tx, users, _ = world
    home = users["home_country"].to_numpy()[tx["user_id"]]
    assert ((tx["country"].to_numpy() != home) == tx["is_foreign"].to_numpy()).all()
    assert within(tx["is_foreign"].mean(), 0.04, np.sqrt(0.04 * 0.96 / N))


# --- fraud ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate, n, seed", [(0.01, N, 0), (0.05, 50_000, 1), (0.002, N, 2)])
def test_fraud_rate_within_sampling_error(rate, n, seed, tx):
    df = tx if (n, seed, rate) == (N, 0, 0.01) else make_transactions(n, fraud_rate=rate, random_state=seed)
    # E[is_fraud] = fraud_rate exactly; the binomial standard error bounds the sampling spread.
    assert within(df["is_fraud"].mean(), rate, np.sqrt(rate * (1 - rate) / n))


def test_fraud_rate_roughly_level_over_the_period(tx):
    by_month = tx.groupby(tx["timestamp"].dt.month)["is_fraud"].mean()
    # The mixture of two populations keeps the prior level; interpolating logits instead tripled it.
    assert by_month.max() / by_month.min() < 1.5


def test_fraud_pattern_drifts(tx):
    fraud = tx[tx["is_fraud"] == 1]
    month = fraud["timestamp"].dt.month
    first, last = fraud[month == 1], fraud[month == 6]
    card_testing = ["digital_goods", "gaming"]
    share_first = first["merchant_category"].isin(card_testing).mean()
    share_last = last["merchant_category"].isin(card_testing).mean()
    # ~330 frauds a month: a share's standard error is at most 0.5 / sqrt(330) ~ 0.03.
    assert share_last - share_first > 0.4
    big_ticket = ["electronics", "travel"]
    assert first["merchant_category"].isin(big_ticket).mean() - last["merchant_category"].isin(big_ticket).mean() > 0.3
    assert first["amount"].median() > 3 * last["amount"].median()
    assert first["is_foreign"].mean() > 2 * last["is_foreign"].mean()


def test_fraud_concentrates_on_new_accounts_and_risky_users(world):
    tx, users, _ = world
    new = tx["account_age_days"] < 30
    assert tx.loc[new, "is_fraud"].mean() > 3 * tx.loc[~new, "is_fraud"].mean()
    risk = users["risk"].to_numpy()[tx["user_id"]]
    assert tx.loc[risk > 1, "is_fraud"].mean() > 2 * tx.loc[risk < -1, "is_fraud"].mean()


# --- late labels ---------------------------------------------------------------------------------


def test_labels_arrive_late(tx):
    delay_days = (tx["label_known_at"] - tx["timestamp"]) / pd.Timedelta(days=1)
    assert (delay_days >= 0).all()
    legit = tx["is_fraud"] == 0
    assert (delay_days[legit] == 60).all()
    fraud_delay = delay_days[~legit]
    assert (fraud_delay > 0).all()
    # Gamma(2, 10): mean 20, sd sqrt(2) * 10.
    assert within(fraud_delay.mean(), 20.0, np.sqrt(2) * 10 / np.sqrt(len(fraud_delay)))
    late_share = (fraud_delay > 60).mean()
    p = np.exp(-6) * 7  # P(Gamma(2, 10) > 60)
    assert within(late_share, p, np.sqrt(p * (1 - p) / len(fraud_delay)))


def test_label_maturity_days_is_used():
    df = make_transactions(2_000, label_maturity_days=0, random_state=3)
    legit = df["is_fraud"] == 0
    assert (df.loc[legit, "label_known_at"] == df.loc[legit, "timestamp"]).all()


# --- missing values --------------------------------------------------------------------------------


def test_device_missing_at_random_by_country(tx):
    rate = tx["device"].isna().groupby(tx["country"], observed=True).agg(["mean", "size"])
    for country, (mean, size) in rate.iterrows():
        p = 0.15 if country in ("DE", "FR") else 0.02
        assert within(mean, p, np.sqrt(p * (1 - p) / size)), country


def test_user_age_missing_not_at_random(world):
    tx, users, _ = world
    missing = users["user_age"].isna()
    age = users["true_age"]
    assert age.notna().all() and age.between(18, 90).all()
    # The documented mechanism, checked on the users (the hidden truth):
    p = 0.05 + 0.45 * np.exp(-(age - 18) / 7)
    assert within(missing.mean(), p.mean(), np.sqrt((p * (1 - p)).sum()) / len(users))
    assert missing[age < 25].mean() > 2.5 * missing[age >= 40].mean()
    # Observed values are the truth where present, and a user's age is missing on all their rows.
    assert (users["user_age"][~missing] == age[~missing]).all()
    assert tx.groupby("user_id")["user_age"].nunique(dropna=False).max() == 1
    # MNAR shows in the data: the observed ages are older than the true ones.
    assert users["user_age"].mean() > age.mean()


# --- any valid input gives a valid frame ---------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
    n_users=st.none() | st.integers(1, 5),
    n_merchants=st.none() | st.integers(1, 5),
    fraud_rate=st.floats(0.001, 0.999),
    share=st.floats(0.0, 0.99),
    hours=st.integers(1, 24 * 60),
)
def test_any_valid_input_gives_a_valid_frame(n, seed, n_users, n_merchants, fraud_rate, share, hours):
    end = START + pd.Timedelta(hours=hours)
    df, users, merchants = make_transactions(
        n, start=START, end=end, n_users=n_users, n_merchants=n_merchants, fraud_rate=fraud_rate,
        new_merchant_share=share, random_state=seed, return_entities=True,
    )
    assert list(df.columns) == COLUMNS and len(df) == n
    assert df["timestamp"].is_monotonic_increasing
    assert df["timestamp"].min() >= START and df["timestamp"].max() < end
    assert df["user_id"].between(0, len(users) - 1).all() and df["merchant_id"].between(0, len(merchants) - 1).all()
    assert (merchants["opened_at"].to_numpy()[df["merchant_id"]] <= df["timestamp"].to_numpy()).all()
    assert (users["signed_up_at"].to_numpy()[df["user_id"]] <= df["timestamp"].to_numpy()).all()
    assert (df["label_known_at"] >= df["timestamp"]).all() and (df["amount"] > 0).all()
    assert df.drop(columns=["device", "user_age"]).notna().all().all()


def test_accepts_dates_of_several_types():
    ref = make_transactions(500, random_state=1)
    for start, end in [(dt.date(2024, 1, 1), dt.datetime(2024, 7, 1)), (np.datetime64("2024-01-01"), START.replace(month=7))]:
        pd.testing.assert_frame_equal(make_transactions(500, start=start, end=end, random_state=1), ref)


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, r"n must be >= 1; got 0"),
        ({"n": 10.0}, TypeError, r"n must be an integer; got 10.0"),
        ({"n": True}, TypeError, r"n must be an integer"),
        ({"fraud_rate": 0.0}, ValueError, r"fraud_rate must be in \(0.0, 1.0\); got 0.0"),
        ({"fraud_rate": 1.0}, ValueError, r"fraud_rate must be in \(0.0, 1.0\)"),
        ({"fraud_rate": "1%"}, TypeError, r"fraud_rate must be a real number"),
        ({"new_merchant_share": 1.0}, ValueError, r"new_merchant_share must be in \[0.0, 1.0\); got 1.0"),
        ({"new_merchant_share": -0.1}, ValueError, r"new_merchant_share must be in"),
        ({"start": "2024-07-01", "end": "2024-01-01"}, ValueError, r"end must be after start"),
        ({"start": "2024-01-01", "end": "2024-01-01"}, ValueError, r"end must be after start"),
        ({"start": "yesterday-ish"}, ValueError, r"start must be a parsable date .*got 'yesterday-ish'"),
        ({"end": "2024-13-45"}, ValueError, r"end must be a parsable date"),
        ({"end": 20240701}, TypeError, r"end must be a date string .*got 20240701 of type int"),
        ({"start": pd.Timestamp("2024-01-01", tz="UTC")}, ValueError, r"start must be timezone-naive"),
        ({"n_users": 0}, ValueError, r"n_users must be >= 1; got 0"),
        ({"n_merchants": 0}, ValueError, r"n_merchants must be >= 1; got 0"),
        ({"n_merchants": 2.5}, TypeError, r"n_merchants must be an integer"),
        ({"label_maturity_days": -1}, ValueError, r"label_maturity_days must be >= 0; got -1"),
        ({"random_state": -1}, ValueError, r"random_state must be a non-negative int seed; got -1"),
        ({"random_state": "seed"}, TypeError, r"random_state must be an int, a numpy.random.Generator or None"),
        ({"return_entities": "yes"}, TypeError, r"return_entities must be True or False"),
    ],
)
def test_make_transactions_bad_input(kwargs, error, match):
    kwargs = {"n": 100, **kwargs}
    with pytest.raises(error, match=match):
        make_transactions(**kwargs)


# --- make_click_log ------------------------------------------------------------------------------------


def test_click_log_columns_and_dtypes(clicks):
    log, users, items = clicks
    assert list(log.columns) == CLICK_COLUMNS and len(log) == 100_000
    for c in ["impression_id", "user_id", "item_id", "position", "clicked"]:
        assert log[c].dtype == np.int64, c
    assert log["timestamp"].dtype == "datetime64[ns]" and log["click_time"].dtype == "datetime64[ns]"
    assert log["p_click"].between(0, 1).all()
    assert set(log["position"].unique()) == set(range(5))
    assert len(users) == 500 and len(items) == 200
    assert log["user_id"].between(0, 499).all() and log["item_id"].between(0, 199).all()


def test_click_log_time(clicks):
    log = clicks[0]
    assert log["timestamp"].is_monotonic_increasing
    assert log["timestamp"].min() >= START and log["timestamp"].max() < START + pd.Timedelta(days=7)
    assert (log["impression_id"].to_numpy() == np.arange(len(log))).all()


def test_click_time_only_for_clicks_and_after_impression(clicks):
    log = clicks[0]
    assert ((log["clicked"] == 1) == log["click_time"].notna()).all()
    delay_min = (log["click_time"] - log["timestamp"]).dropna() / pd.Timedelta(minutes=1)
    assert (delay_min >= 0).all()
    # Exponential(mean 10 min): sd = mean.
    assert within(delay_min.mean(), 10.0, 10.0 / np.sqrt(len(delay_min)))


def test_clicks_match_true_probability(clicks):
    log = clicks[0]
    p = log["p_click"]
    assert within(log["clicked"].mean(), p.mean(), np.sqrt((p * (1 - p)).sum()) / len(log))
    for pos, g in log.groupby("position"):
        q = g["p_click"]
        assert within(g["clicked"].mean(), q.mean(), np.sqrt((q * (1 - q)).sum()) / len(g)), pos


def test_position_bias(clicks):
    log, users, items = clicks
    ctr = log.groupby("position")["clicked"].mean()
    assert ctr.is_monotonic_decreasing and ctr.iloc[0] > 2 * ctr.iloc[-1]
    # The documented model, recomputed from the hidden entities.
    taste = [f"taste_{k}" for k in range(4)]
    u, v = users[taste].to_numpy()[log["user_id"]], items[taste].to_numpy()[log["item_id"]]
    logit = (u * v).sum(axis=1) + users["bias"].to_numpy()[log["user_id"]] + items["bias"].to_numpy()[log["item_id"]]
    expected = 1 / (1 + np.exp(-logit)) * (1 + log["position"].to_numpy()) ** -0.7
    np.testing.assert_allclose(log["p_click"].to_numpy(), expected, rtol=1e-12)


def test_popular_items_shown_more(clicks):
    log, _, items = clicks
    shown = log["item_id"].value_counts().reindex(items["item_id"], fill_value=0).to_numpy()
    expected = items["popularity"] / items["popularity"].sum() * len(log)
    assert np.corrcoef(shown, expected)[0, 1] > 0.95
    top = items["popularity"].rank(ascending=False) <= 20  # top 10% of items
    assert shown[top.to_numpy()].sum() / len(log) > 0.3


def test_click_log_determinism_and_options():
    a = make_click_log(2_000, random_state=3)
    pd.testing.assert_frame_equal(a, make_click_log(2_000, random_state=3))
    assert not a["p_click"].equals(make_click_log(2_000, random_state=4)["p_click"])
    b = make_click_log(500, n_positions=1, days=0.5, click_delay_minutes=0.0, random_state=0)
    assert (b["position"] == 0).all() and b["timestamp"].max() < START + pd.Timedelta(hours=12)
    assert (b["click_time"].dropna() == b.loc[b["clicked"] == 1, "timestamp"]).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_impressions": 0}, ValueError, r"n_impressions must be >= 1; got 0"),
        ({"n_users": 0}, ValueError, r"n_users must be >= 1"),
        ({"n_items": 1.5}, TypeError, r"n_items must be an integer"),
        ({"n_positions": 0}, ValueError, r"n_positions must be >= 1"),
        ({"days": 0}, ValueError, r"days must be in \(0.0, 3650\]; got 0.0"),
        ({"days": "7"}, TypeError, r"days must be a real number"),
        ({"click_delay_minutes": -1}, ValueError, r"click_delay_minutes must be in \[0.0, 5256000\]; got -1.0"),
        ({"start": "soon"}, ValueError, r"start must be a parsable date"),
        ({"start": "2262-04-01", "days": 30}, ValueError, r"start \+ days must be a date before 2262"),
        ({"random_state": 1.5}, TypeError, r"random_state must be an int"),
    ],
)
def test_make_click_log_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_click_log(**{"n_impressions": 100, **kwargs})


# --- make_feed ----------------------------------------------------------------------------------------


def test_feed_outcomes_follow_the_documented_linear_story():
    from sklearn.linear_model import LinearRegression

    from mlsys_course.datasets import FEED_FEATURES, make_feed

    feed = make_feed(20_000, noise=0.5, random_state=1)
    X = feed[list(FEED_FEATURES)]
    quality = LinearRegression().fit(X, feed["quality"]).coef_
    engagement = LinearRegression().fit(X, feed["engagement"]).coef_
    # OLS coefficient standard error ~ noise / sqrt(n) = 0.0035; 0.02 is more than 5 of them.
    np.testing.assert_allclose(quality, [-0.8, 1.0, 0.5, 0, 0, 0], atol=0.02)
    np.testing.assert_allclose(engagement, [1.0, 0.4, 0, 0.6, 0, 0], atol=0.02)
    # Population correlation: cov = -0.8 + 0.4 = -0.4; var_q = 1.89 + .25, var_e = 1.52 + .25.
    expected = -0.4 / np.sqrt(2.14 * 1.77)
    assert abs(feed["quality"].corr(feed["engagement"]) - expected) < 4 / np.sqrt(20_000)


def test_feed_is_deterministic_and_validates():
    from mlsys_course.datasets import make_feed

    pd.testing.assert_frame_equal(make_feed(50, random_state=3), make_feed(50, random_state=3))
    assert not make_feed(50, random_state=3).equals(make_feed(50, random_state=4))
    with pytest.raises(ValueError, match="n_posts must be >= 1"):
        make_feed(0)
    with pytest.raises(ValueError, match="noise must be in"):
        make_feed(10, noise=-1.0)
    with pytest.raises(TypeError, match="random_state must be"):
        make_feed(10, random_state="seed")


def test_card_testing_bursts_make_fraud_fast_and_repeat_the_merchant():
    df = make_transactions(100_000, random_state=2)
    gap = df.groupby("user_id")["timestamp"].diff()
    fast = (gap <= pd.Timedelta("10min")).to_numpy()
    fraud = df["is_fraud"].to_numpy() == 1
    # 30% of fraud rows are follow-ups (a few within 10 minutes of the burst's start are counted too);
    # legitimate rows follow the same card's previous payment within 10 minutes under 1% of the time.
    assert 0.25 < fast[fraud].mean() < 0.40
    assert fast[~fraud].mean() < 0.015
    same_merchant = df["merchant_id"].to_numpy() == df.groupby("user_id")["merchant_id"].shift().to_numpy()
    assert same_merchant[fast & fraud].mean() > 0.9


def test_bursts_keep_the_expected_fraud_rate_and_row_count():
    for n in (1, 7, 1_000, 50_000):
        df = make_transactions(n, random_state=5)
        assert len(df) == n and df["transaction_id"].tolist() == list(range(n))
        assert df["timestamp"].is_monotonic_increasing
    df = make_transactions(200_000, fraud_rate=0.02, random_state=6)
    se = np.sqrt(0.02 * 0.98 / 200_000)
    assert abs(df["is_fraud"].mean() - 0.02) < 4 * se


# --- Generators keep their own story on extreme but accepted parameters (issue: reliability) ----------
def test_labels_are_never_known_before_the_payment_at_the_longest_accepted_maturity():
    df = make_transactions(500, label_maturity_days=3_650, random_state=0)
    assert (df["label_known_at"] >= df["timestamp"]).all()


def test_clicks_never_precede_impressions_at_the_longest_accepted_delay():
    log = make_click_log(2_000, click_delay_minutes=365 * 1_440, random_state=0)
    clicked = log["clicked"] == 1
    assert (log.loc[clicked, "click_time"] >= log.loc[clicked, "timestamp"]).all()


@pytest.mark.parametrize(
    "make, kwargs, match",
    [(make_transactions, {"n": 500, "label_maturity_days": 100_000}, "label_maturity_days must be <= 3650"),
     (make_transactions, {"n": 500, "start": "2255-01-01", "end": "2256-01-01", "label_maturity_days": 3_000},
      "label_maturity_days pushes label or click times past the year 2261"),
     (make_transactions, {"n": 10**9}, "n must be <= 20000000"),
     (make_click_log, {"n_impressions": 100, "click_delay_minutes": 1e9}, "click_delay_minutes must be in"),
     (make_click_log, {"n_impressions": 100, "start": "2250-01-01", "click_delay_minutes": 1_440 * 365},
      "click_delay_minutes pushes"),
     (make_app_usage, {"n_events": 10_000_000, "n_apps": 100}, "n_events \\* n_apps must be <= 50,000,000"),
     (make_feed, {"n_posts": 10**9}, "n_posts must be <= 20000000")],
)
def test_sizes_and_delays_have_stated_upper_bounds(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


def test_random_state_none_gives_fresh_worlds_and_an_int_the_same_world():
    assert not make_feed(50).equals(make_feed(50))
    pd.testing.assert_frame_equal(make_feed(50, random_state=3), make_feed(50, random_state=3))
