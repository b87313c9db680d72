import datetime as dt

import numpy as np
import pandas as pd
import pytest

from mlsys_course._validation import check_duration


def test_durations_in_every_accepted_form():
    expected = pd.Timedelta(minutes=10)
    for value in ("10min", expected, dt.timedelta(minutes=10), np.timedelta64(600, "s")):
        assert check_duration("window", value) == expected


@pytest.mark.parametrize(
    "value, error, match",
    [(10, TypeError, "window must be a duration"), ("ten minutes", ValueError, "window must be a duration such as"),
     ("0s", ValueError, "window must be a positive duration"), ("-1h", ValueError, "window must be a positive duration")],
)
def test_bad_durations_name_the_argument(value, error, match):
    with pytest.raises(error, match=match):
        check_duration("window", value)


def test_check_choice_refuses_arrays_and_non_strings_clearly():
    import numpy as np

    from mlsys_course._validation import check_choice

    assert check_choice("engine", "sqlite", ("sqlite", "duckdb")) == "sqlite"
    assert check_choice("k", np.int64(1), (1, 2)) == 1
    with pytest.raises(TypeError, match="engine must be one of 'sqlite', 'duckdb'; got array"):
        check_choice("engine", np.array(["sqlite"]), ("sqlite", "duckdb"))
    with pytest.raises(ValueError, match="k must be one of 1, 2; got True"):
        check_choice("k", True, (1, 2))
    with pytest.raises(ValueError, match="k must be one of 1, 2; got \\[1\\]"):
        check_choice("k", [1], (1, 2))


def test_check_labels_refuses_missing_and_mixed_kinds():
    from mlsys_course._validation import check_labels

    assert check_labels("y", ["a", "b"]).tolist() == ["a", "b"]
    with pytest.raises(TypeError, match="y must hold labels of one type"):
        check_labels("y", ["a", 1])
    with pytest.raises(ValueError, match="y must not contain missing"):
        check_labels("y", [1.0, float("nan")])


def test_check_time_column_refuses_times_that_nanoseconds_would_wrap():
    import numpy as np
    import pandas as pd

    from mlsys_course._validation import check_time_column

    ok = pd.DataFrame({"t": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    assert check_time_column("df", ok, "t").tolist() == ok["t"].dt.as_unit("ns").to_numpy().view(np.int64).tolist()
    far = pd.DataFrame({"t": pd.Series(np.array(["2423-01-01"], dtype="datetime64[s]"))})
    assert far["t"].to_numpy("datetime64[ns]").astype(int)[0] < 0  # what numpy alone would do: wrap to 1839
    with pytest.raises(ValueError, match=r"df\['t'\] \(the time column\) must hold times between 1678 and 2261"):
        check_time_column("df", far, "t", "time")
    with pytest.raises(TypeError, match=r"df\['x'\] must have a datetime64 dtype"):
        check_time_column("df", pd.DataFrame({"x": [1]}), "x")
    with pytest.raises(ValueError, match="must have no missing times; got 1 NaT"):
        check_time_column("df", pd.DataFrame({"t": pd.to_datetime(["2024-01-01", None])}), "t")
