"""Lab code of notebook 08b's section "What should we log per prediction?": the replayed day's planted bugs."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mlsys_course.datasets import make_transactions
from mlsys_course.features import transaction_features
from mlsys_course.lab.ch08b import plog_plot, plog_traffic

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def day():
    tx = make_transactions(2_000, start="2024-02-28", end="2024-02-29", random_state=0)
    tx = tx.sample(frac=1.0, random_state=1)  # out of order: the traffic comes back sorted by time
    return tx, transaction_features(tx)


def test_traffic_plants_the_two_bugs_where_and_only_where_asked(day):
    tx, X = day
    rows, incidents = plog_traffic(tx, X, cents_from="2024-02-28 12:00", malformed_from="2024-02-28 06:00",
                                   malformed_to="2024-02-28 09:00")
    order = np.argsort(tx["timestamp"].to_numpy(), kind="stable")
    tx, X = tx.iloc[order], X.iloc[order]
    assert len(rows) == len(tx) and incidents["timestamp"].is_monotonic_increasing
    hour = tx["timestamp"].dt.hour.to_numpy()
    cents = (hour >= 12) & (tx["device"] == "mobile").to_numpy()
    malformed = (hour >= 6) & (hour < 9) & (tx["device"] == "desktop").to_numpy()
    assert (incidents["cents"].to_numpy() == cents).all() and (incidents["malformed"].to_numpy() == malformed).all()
    assert cents.sum() > 100 and malformed.sum() > 20
    log_amount = np.array([r["log_amount"] for r in rows])
    np.testing.assert_allclose(log_amount[cents], np.log1p(100 * tx["amount"].to_numpy()[cents]), rtol=1e-12)
    np.testing.assert_array_equal(log_amount[~cents], X["log_amount"].to_numpy()[~cents])
    kinds = np.array([type(r["is_foreign"]) for r in rows])
    assert (kinds[malformed] == bool).all() and (kinds[~malformed] == float).all()
    for i in np.flatnonzero(~cents & ~malformed)[:50]:  # everything else is the feature row unchanged
        assert rows[i] == X.iloc[i].to_dict()


def test_traffic_bad_input(day):
    tx, X = day
    with pytest.raises(ValueError, match="features must have the index of transactions"):
        plog_traffic(tx, X.iloc[::-1].reset_index(drop=True), cents_from="2024-02-28", malformed_from="2024-02-28",
                     malformed_to="2024-02-28")
    with pytest.raises(TypeError, match="cents_from"):
        plog_traffic(tx, X, cents_from=12, malformed_from="2024-02-28", malformed_to="2024-02-28")


def test_plot_draws_both_views():
    table = pd.DataFrame({"start": pd.date_range("2024-02-29", periods=8, freq="3h"),
                          "error_rate": [0, 0, .5, 0, 0, 0, 0, 0], "out_of_range_share": [0, 0, 0, 0, .3, .3, .2, .4],
                          "ks_log_amount": [.2, .1, .2, .1, .6, .6, .4, .6]})
    fig = plog_plot(table, window="3h", cents_from="2024-02-29 12:00",
                    malformed=("2024-02-29 06:00", "2024-02-29 09:00"))
    top, bottom = fig.axes
    assert [p.get_height() for p in top.patches if hasattr(p, "get_height")][:8] == table["error_rate"].tolist()
    assert len(bottom.get_lines()) == 2
    matplotlib.pyplot.close(fig)
