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
