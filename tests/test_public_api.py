"""Every public recipe on any input a user can give: a clear error for bad input, a result for valid input.

Cases live in tests/api_cases/<module>.py (one small valid call per public name, the bad inputs it must
refuse, the unusual valid inputs it must accept). On top of the listed cases, a bounded hypothesis search
replaces each argument of the valid call with values from ``GENERIC_BAD``: the call must either work
(the value was acceptable) or raise a ValueError/TypeError naming the argument; a raw library exception,
a vague message, a hang or a memory blow-up fails. Unusual-but-valid forms of the valid call's own
arguments (numpy scalars, arrays, lists, Series with a non-default index) must work.
"""

import inspect
import numbers

import numpy as np
import pandas as pd
import pytest
from api_cases import GENERIC_BAD, all_cases, outcome, public_names, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CASES = all_cases()
NAMES = sorted(CASES)


def test_every_public_name_has_cases():
    missing = sorted(set(public_names()) - set(CASES))
    assert not missing, f"public names with no case in tests/api_cases: {missing}"


def _target(name):
    obj, case = CASES[name]
    return case.fn or obj


@pytest.mark.parametrize("name", NAMES)
def test_the_valid_call_works(name):
    kind, exc, _ = run(_target(name), CASES[name][1].call())
    assert kind == "ok", f"{name}: the valid call gave {kind}: {exc!r}"


BAD = [(n, arg, i) for n in NAMES for arg, values in CASES[n][1].bad.items() for i in range(len(values))]


@pytest.mark.parametrize("name, argument, i", BAD, ids=[f"{n}-{a}-{i}" for n, a, i in BAD])
def test_listed_bad_inputs_get_a_clear_error(name, argument, i):
    case = CASES[name][1]
    value = case.bad[argument][i]
    kind, message = outcome(_target(name), {**case.call(), argument: value}, argument)
    assert kind == "clear", f"{name}({argument}={value!r}) gave {kind}: {message}"


def _one_dimensional(value):
    try:
        return np.ndim(value) == 1
    except ValueError:  # a ragged list
        return False


def _variants(value):
    """Unusual but valid forms of a valid argument."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, numbers.Integral):
        return [np.int64(value), np.int32(value)]
    if isinstance(value, numbers.Real):
        return [np.float64(value)]
    if isinstance(value, (list, np.ndarray, pd.Series)) and _one_dimensional(value) and 0 < len(value) <= 100_000:
        values = list(value) if not isinstance(value, pd.Series) else value.tolist()
        out = [np.asarray(values), values]
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            out.append(pd.Series(values, index=np.arange(len(values)) + 1_000))
        return out
    return []


VALID = []
for _n in NAMES:
    _case = CASES[_n][1]
    for _arg, _values in _case.valid.items():
        VALID += [(_n, _arg, "listed", _i) for _i in range(len(_values))]
    for _arg, _value in _case.call().items():
        if _arg not in _case.skip:
            VALID += [(_n, _arg, "auto", _i) for _i in range(len(_variants(_value)))]


@pytest.mark.parametrize("name, argument, source, i", VALID, ids=[f"{n}-{a}-{s}{i}" for n, a, s, i in VALID])
def test_unusual_valid_inputs_work(name, argument, source, i):
    case = CASES[name][1]
    kwargs = case.call()
    value = case.valid[argument][i] if source == "listed" else _variants(kwargs[argument])[i]
    kind, exc, _ = run(_target(name), {**kwargs, argument: value})
    assert kind == "ok", f"{name}({argument}={value!r}) is valid but gave {kind}: {exc!r}"


def _fuzzable(name):
    case = CASES[name][1]
    return [a for a in case.call() if a not in case.skip]


FUZZ = [n for n in NAMES if _fuzzable(n)]


@pytest.mark.parametrize("name", FUZZ)
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_any_other_value_works_or_gets_a_clear_error(name, data):
    case = CASES[name][1]
    argument = data.draw(st.sampled_from(_fuzzable(name)), label="argument")
    value = data.draw(st.sampled_from(GENERIC_BAD), label="value")
    kind, message = outcome(_target(name), {**case.call(), argument: value}, argument)
    assert kind in ("ok", "clear"), f"{name}({argument}={value!r}) gave {kind}: {message}"


def test_cases_call_real_parameters():
    """A case's keyword arguments are parameters of what it calls (a typo would test nothing)."""
    for name in NAMES:
        target = _target(name)
        try:
            parameters = inspect.signature(target).parameters
        except (TypeError, ValueError):
            continue
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            continue
        case = CASES[name][1]
        for argument in {*case.call(), *case.bad, *case.valid}:
            assert argument in parameters, f"{name}: case argument {argument!r} is not a parameter"
