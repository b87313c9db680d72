import numpy as np
import pytest
from scipy.stats import loguniform, ttest_rel
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from mlsys_course.search import budget_grid, is_gain_real, search_comparison


def test_budget_is_equalised():
    X, y = make_classification(900, random_state=0)
    t = search_comparison(LogisticRegression(), {"C": loguniform(1e-3, 1e2)}, X, y, budget=8, cv=3,
                          X_test=X[:100], y_test=y[:100]).set_index("strategy")
    assert t.loc["grid", "candidates"] <= 8 and t.loc["random", "candidates"] == 8
    for s in t.index:
        assert t.loc[s, "fit_equivalents"] == pytest.approx(24, rel=0.1)
    assert t.loc["halving", "candidates"] > 8
    assert t["test_score"].notna().all()


def test_budget_grid_size():
    g = budget_grid({"a": [1, 2, 3, 4, 5], "b": loguniform(1, 10)}, 9)
    assert len(g["a"]) * len(g["b"]) <= 9 and len(g["a"]) == 3


def test_is_gain_real_against_scipy():
    a = np.array([0.80, 0.83, 0.78, 0.81, 0.82])
    b = a + np.array([0.01, -0.02, 0.03, 0.0, 0.01])
    r = is_gain_real(a, b)
    assert r["p_value"] == pytest.approx(ttest_rel(b, a).pvalue)
    assert r["mean_gain"] == pytest.approx(0.006) and not r["real"]


def test_bad_input():
    with pytest.raises(ValueError, match="paired"):
        is_gain_real([1, 2, 3], [1, 2])
    with pytest.raises(TypeError, match="param_space"):
        budget_grid({"C": 3}, 4)
