"""mlsys_course.skew: the train-serving skew report, against hand-built frames and numpy.isclose."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_course.datasets import make_transactions
from mlsys_course.features import transaction_features
from mlsys_course.skew import REPORT_COLUMNS, SkewReport, assert_no_skew, skew_report


def _frames():
    offline = pd.DataFrame({"id": [10, 11, 12, 13], "a": [1.0, 2.0, np.nan, 4.0], "b": [1, 2, 3, 4],
                            "c": ["x", "y", None, "z"]})
    online = pd.DataFrame({"id": [13, 12, 11, 10], "a": [4.5, np.nan, 2.0, 1.0], "b": [4.0, 3.0, 2.0, 1.0],
                           "c": pd.Categorical(["z", None, "y", "w"])})
    return offline, online


def test_hand_built_frames_give_the_counted_mismatches():
    offline, online = _frames()
    report = skew_report(offline, online, key="id")
    f = report.features
    assert list(f.columns) == list(REPORT_COLUMNS) and list(f.index) == ["a", "b", "c"]
    assert report.n_rows == 4 and f["rows"].tolist() == [4, 4, 4]
    # a: key 13 differs by 0.5, NaN == NaN matches
    assert f.loc["a", "mismatches"] == 1 and f.loc["a", "share"] == 0.25 and f.loc["a", "max_abs_diff"] == 0.5
    assert f.loc["a", "example_key"] == 13 and f.loc["a", "offline_value"] == 4.0 and f.loc["a", "online_value"] == 4.5
    # b: int64 against float64 of equal value matches; the dtypes stay visible
    assert f.loc["b", "mismatches"] == 0 and f.loc["b", "max_abs_diff"] == 0.0 and f.loc["b", "example_key"] is None
    assert (f.loc["b", "offline_dtype"], f.loc["b", "online_dtype"]) == ("int64", "float64")
    # c: category against str compares values; missing equals missing; "x" vs "w" mismatches
    assert f.loc["c", "mismatches"] == 1 and f.loc["c", "example_key"] == 10 and np.isnan(f.loc["c", "max_abs_diff"])
    assert (f.loc["c", "offline_value"], f.loc["c", "online_value"]) == ("x", "w")
    assert f.loc["c", "online_dtype"] == "category"
    assert report.n_mismatches == 2 and not report.ok
    text = str(report)
    assert "'a': 1 of 4 rows (25.0%)" in text and "e.g. key 13: offline 4, online 4.5" in text
    assert "'b': values match; dtypes differ (int64 offline, float64 online)" in text


def test_row_order_does_not_matter_and_identical_frames_pass():
    offline, _ = _frames()
    shuffled = offline.sample(frac=1.0, random_state=0)
    report = skew_report(offline, shuffled, key="id")
    assert report.ok and report.n_mismatches == 0 and report.n_rows == 4
    assert assert_no_skew(offline, shuffled, key="id").ok


def test_example_key_is_the_first_mismatch_in_offline_row_order():
    offline = pd.DataFrame({"id": [5, 3, 9, 1], "v": [0.0, 1.0, 2.0, 3.0]})
    online = pd.DataFrame({"id": [1, 3, 5, 9], "v": [9.0, 9.0, 0.0, 9.0]})
    assert skew_report(offline, online, key="id").features.loc["v", "example_key"] == 3


def test_nan_against_a_number_is_a_mismatch_but_not_a_difference():
    offline = pd.DataFrame({"id": [1, 2, 3], "v": [np.nan, 1.0, 2.0]})
    online = pd.DataFrame({"id": [1, 2, 3], "v": [0.0, np.nan, 2.0]})
    row = skew_report(offline, online, key="id").features.loc["v"]
    assert row["mismatches"] == 2 and row["max_abs_diff"] == 0.0  # only key 3 has both values
    only_nan = skew_report(offline.iloc[:2], online.iloc[:2], key="id").features.loc["v"]
    assert only_nan["mismatches"] == 2 and np.isnan(only_nan["max_abs_diff"])


def test_infinities_match_themselves_only():
    offline = pd.DataFrame({"id": [1, 2, 3], "v": [np.inf, -np.inf, 1.0]})
    online = pd.DataFrame({"id": [1, 2, 3], "v": [np.inf, np.inf, np.inf]})
    row = skew_report(offline, online, key="id").features.loc["v"]
    assert row["mismatches"] == 2 and row["max_abs_diff"] == np.inf


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data())
def test_numeric_mismatches_follow_numpy_isclose_with_offline_as_reference(data):
    n = data.draw(st.integers(1, 40), label="n")
    finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    values = st.one_of(finite, st.just(np.nan), st.just(np.inf))
    x = np.array(data.draw(st.lists(values, min_size=n, max_size=n), label="offline"))
    noise = np.array(data.draw(st.lists(st.floats(-1e-3, 1e-3), min_size=n, max_size=n), label="noise"))
    y = np.where(np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="perturb")), x * (1 + noise), x)
    y = np.where(np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="blank")), np.nan, y)
    rtol = data.draw(st.sampled_from([0.0, 1e-9, 1e-4]), label="rtol")
    atol = data.draw(st.sampled_from([0.0, 1e-6, 1.0]), label="atol")
    ids = np.arange(n)
    report = skew_report(pd.DataFrame({"id": ids, "v": x}), pd.DataFrame({"id": ids, "v": y}), key="id", rtol=rtol, atol=atol)
    expected = ~np.isclose(y, x, rtol=rtol, atol=atol, equal_nan=True)
    row = report.features.loc["v"]
    assert row["mismatches"] == int(expected.sum())
    both = ~np.isnan(x) & ~np.isnan(y)
    with np.errstate(invalid="ignore"):
        diff = np.where(x[both] == y[both], 0.0, np.abs(y[both] - x[both]))
    if diff.size:
        assert row["max_abs_diff"] == diff.max()
    else:  # no pair of numbers to compare (all missing on one side or the other): no difference to report
        assert np.isnan(row["max_abs_diff"])
    if expected.any():
        assert row["example_key"] == int(np.argmax(expected))


def test_relative_tolerance_is_taken_from_the_offline_value():
    # |online - offline| <= rtol * |offline|: offline 100, online 111 differ by 11 > 10% of 100 (mismatch), while
    # offline 111, online 100 differ by 11 <= 10% of 111 (match)
    a = skew_report(pd.DataFrame({"id": [1], "v": [100.0]}), pd.DataFrame({"id": [1], "v": [111.0]}), key="id", rtol=0.1)
    b = skew_report(pd.DataFrame({"id": [1], "v": [111.0]}), pd.DataFrame({"id": [1], "v": [100.0]}), key="id", rtol=0.1)
    assert a.features.loc["v", "mismatches"] == 1 and b.features.loc["v", "mismatches"] == 0


def test_dtype_rules():
    ids = [1, 2, 3]
    offline = pd.DataFrame({"id": ids, "flag": [True, False, True], "n": pd.array([1, None, 3], dtype="Int64"),
                            "text_num": [1.0, 2.0, 3.0], "when": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
                            "cat": pd.Categorical(["a", "b", "a"]), "level": pd.Categorical([1, None, 3])})
    online = pd.DataFrame({"id": ids, "flag": [1, 0, 1], "n": [1.0, np.nan, 3.0], "text_num": ["1.0", "2.0", None],
                           "when": pd.to_datetime(["2024-01-01", None, "2024-01-04"]), "cat": ["a", "b", "b"],
                           "level": [1.0, np.nan, 3.5]})
    f = skew_report(offline, online, key="id").features
    assert f.loc["flag", "mismatches"] == 0              # bool True equals 1
    assert f.loc["n", "mismatches"] == 0                 # nullable Int64 with pd.NA against float NaN
    assert f.loc["text_num", "mismatches"] == 3          # a number never equals its text; NaN vs "None" missing on one side
    assert f.loc["when", "mismatches"] == 1 and f.loc["when", "example_key"] == 3 and np.isnan(f.loc["when", "max_abs_diff"])
    assert f.loc["cat", "mismatches"] == 1 and f.loc["cat", "online_value"] == "b"
    assert f.loc["level", "mismatches"] == 1 and f.loc["level", "max_abs_diff"] == 0.5  # a categorical of numbers: numbers


def test_one_sided_keys_and_columns_are_reported_not_dropped():
    offline = pd.DataFrame({"id": [1, 2, 3], "v": [1.0, 2.0, 3.0], "only_off": [0, 0, 0]})
    online = pd.DataFrame({"id": [2, 3, 4], "v": [2.0, 3.0, 4.0], "only_on": [0, 0, 0]})
    report = skew_report(offline, online, key="id")
    assert report.n_rows == 2 and report.features.loc["v", "mismatches"] == 0
    assert report.offline_only_keys.tolist() == [1] and report.online_only_keys.tolist() == [4]
    assert report.offline_only_columns == ("only_off",) and report.online_only_columns == ("only_on",)
    assert not report.ok
    text = str(report)
    assert "1 key(s) only offline, e.g. 1" in text and "columns only online: ['only_on']" in text
    chosen = skew_report(offline, online, key="id", columns=["v"])
    assert list(chosen.features.index) == ["v"] and chosen.offline_only_columns == () and not chosen.ok  # keys still differ
    with pytest.raises(AssertionError, match="key\\(s\\) only offline"):
        assert_no_skew(offline, online, key="id", columns=["v"])
    assert assert_no_skew(offline, online, key="id", columns=["v"], allow_unmatched_keys=True).n_rows == 2
    with pytest.raises(AssertionError, match="columns only offline"):
        assert_no_skew(offline, online, key="id", allow_unmatched_keys=True)


def test_no_common_key_compares_nothing_and_fails_even_when_keys_may_differ():
    report = skew_report(pd.DataFrame({"id": [1], "v": [1.0]}), pd.DataFrame({"id": [2], "v": [1.0]}), key="id")
    assert report.n_rows == 0 and report.features.loc["v", "rows"] == 0 and np.isnan(report.features.loc["v", "share"])
    assert "nothing was compared" in str(report)
    with pytest.raises(AssertionError, match="nothing was compared"):
        assert_no_skew(pd.DataFrame({"id": [1], "v": [1.0]}), pd.DataFrame({"id": [2], "v": [1.0]}), key="id",
                       allow_unmatched_keys=True)


def test_composite_keys_match_across_int_float_and_category_str():
    offline = pd.DataFrame({"card": [1, 1, 2], "day": ["mon", "tue", "mon"], "v": [1.0, 2.0, 3.0]})
    online = pd.DataFrame({"card": [2.0, 1.0, 1.0], "day": pd.Categorical(["mon", "tue", "mon"]), "v": [3.0, 2.5, 1.0]})
    report = skew_report(offline, online, key=["card", "day"])
    assert report.n_rows == 3 and report.features.loc["v", "example_key"] == (1, "tue")
    assert "e.g. key (1, 'tue')" in str(report)


def test_the_case_studys_feature_function_is_the_same_on_one_row_and_on_a_frame():
    events = make_transactions(600, random_state=3)
    offline = transaction_features(events).assign(transaction_id=events["transaction_id"])
    rows = [transaction_features(pd.DataFrame([event])) for event in events.head(40).to_dict("records")]
    online = pd.concat(rows, ignore_index=True).assign(transaction_id=events["transaction_id"].head(40).to_numpy())
    report = assert_no_skew(offline, online, key="transaction_id", allow_unmatched_keys=True)
    assert report.n_rows == 40 and len(report.offline_only_keys) == 560
    skewed = online.assign(log_account_age_days=np.log1p(24 * events["account_age_days"].head(40).to_numpy()))
    with pytest.raises(AssertionError, match="'log_account_age_days': 40 of 40 rows"):  # a unit slip is caught
        assert_no_skew(offline, skewed, key="transaction_id", allow_unmatched_keys=True)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"offline": [1, 2]}, TypeError, "offline must be a pandas DataFrame"),
    ({"online": pd.DataFrame({"id": []})}, ValueError, "online must have at least 1 row"),
    ({"key": "nope"}, ValueError, "key must name columns of both frames; offline lacks"),
    ({"key": None}, TypeError, "key must be a column name"),
    ({"key": []}, ValueError, "key must name at least one column"),
    ({"key": ["id", "id"]}, ValueError, "key must not repeat"),
    ({"key": {"id"}}, TypeError, "key must be a column name"),
    ({"columns": "a"}, TypeError, "columns must be a list"),
    ({"columns": []}, ValueError, "columns must name at least one"),
    ({"columns": ["zzz"]}, ValueError, "columns must be columns of offline or online"),
    ({"columns": ["a", "a"]}, ValueError, "columns must not repeat"),
    ({"columns": ["id"]}, ValueError, "columns must not include the key"),
    ({"rtol": -1.0}, ValueError, "rtol must be in"),
    ({"atol": np.nan}, ValueError, "atol must be finite"),
    ({"rtol": "0"}, TypeError, "rtol must be a real number"),
])
def test_bad_input_names_the_argument(kwargs, error, message):
    offline, online = _frames()
    with pytest.raises(error, match=message):
        skew_report(**({"offline": offline, "online": online, "key": "id"} | kwargs))


def test_bad_keys_are_refused_with_the_side_named():
    offline, online = _frames()
    with pytest.raises(ValueError, match="key must identify one row of online; got 1 repeated key"):
        skew_report(offline, pd.concat([online, online.iloc[:1]]), key="id")
    with pytest.raises(ValueError, match="key column 'id' of offline must have no missing values"):
        skew_report(offline.assign(id=[1.0, np.nan, 3.0, 4.0]), online, key="id")
    with pytest.raises(TypeError, match="key column 'id' must hold the same kind of value on both sides"):
        skew_report(offline, online.assign(id=online["id"].astype(str)), key="id")
    with pytest.raises(TypeError, match="allow_unmatched_keys must be True or False"):
        assert_no_skew(offline, online, key="id", allow_unmatched_keys="yes")


def test_report_record_validates_its_fields():
    offline, online = _frames()
    report = skew_report(offline, online, key="id")
    fields = {"key": report.key, "n_rows": report.n_rows, "features": report.features,
              "offline_only_keys": report.offline_only_keys, "online_only_keys": report.online_only_keys,
              "offline_only_columns": (), "online_only_columns": ()}
    assert SkewReport(**fields).n_mismatches == 2
    for name, value in [("key", "id"), ("n_rows", -1), ("n_rows", True), ("features", pd.DataFrame({"rows": []})),
                        ("offline_only_keys", [1]), ("online_only_columns", ["x"])]:
        with pytest.raises((TypeError, ValueError), match=name):
            SkewReport(**(fields | {name: value}))
