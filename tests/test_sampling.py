import math
import random
from collections import Counter
from decimal import Decimal, getcontext
from fractions import Fraction
from itertools import combinations, permutations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from sklearn.model_selection import train_test_split

from mlsys_course import sampling
from mlsys_course.lab.ch04a import inclusion_chisquare, inclusion_frequencies, naive_stream_sample
from mlsys_course.sampling import (
    effective_sample_size,
    importance_estimate,
    importance_weights,
    miss_probability,
    MAX_DRAWS,
    reservoir_sample_chunks,
    reservoir_sample_l,
    reservoir_sample_r,
    simple_random_sample,
    stratified_allocation,
    stratified_sample,
    weighted_sample,
)

# The reservoir samplers are tested with the chapter's own inclusion test (mlsys_course.lab.ch04a, itself
# tested against scipy in test_lab_ch04a.py); the naive sampler there is the biased sampler they must beat.
STREAM_SAMPLERS = [reservoir_sample_r, reservoir_sample_l]
UNIFORM_SAMPLERS = [reservoir_sample_r, reservoir_sample_l]
# A test of a correct sampler rejects with this probability (one seed each, so no flakiness either way).
ALPHA = 1e-3


def subset_counts(draw, n, k, runs):
    """How often each k-subset of range(n) came out of `draw(rng)` in `runs` seeded runs."""
    rng = np.random.default_rng(12345)
    counts = Counter(frozenset(int(x) for x in draw(rng)) for _ in range(runs))
    subsets = [frozenset(c) for c in combinations(range(n), k)]
    assert set(counts) <= set(subsets), "every sample is a k-subset"
    return np.array([counts[s] for s in subsets])


# --- simple random sampling ----------------------------------------------------------------------


def test_simple_random_sample_every_subset_equally_likely():
    counts = subset_counts(lambda rng: simple_random_sample(6, 2, random_state=rng), 6, 2, 15_000)
    assert stats.chisquare(counts).pvalue > ALPHA  # 15 subsets, multinomial counts under H0


def test_a_list_mixing_strings_and_numbers_keeps_its_items():
    """numpy reads ["a", 1] as the strings ["a", "1"]: a sample must hold the items themselves."""
    population = ["a", 1, 2.5, "b"]
    sample = simple_random_sample(population, 4, random_state=0)
    assert sorted(map(repr, sample.tolist())) == sorted(map(repr, population))
    assert set(map(type, weighted_sample(population, 20, [1, 1, 1, 1], random_state=0).tolist())) == {str, int, float}
    rows = simple_random_sample([["a", 1], ["b", 2]], 2, random_state=0)
    assert sorted(rows.tolist()) == [["a", 1], ["b", 2]]
    assert simple_random_sample(["a", "b"], 2, random_state=0).dtype.kind == "U"  # all strings: a string array


def test_simple_random_sample_population_kinds():
    arr = np.arange(40).reshape(20, 2)
    rows = simple_random_sample(arr, 5, random_state=0)
    assert rows.shape == (5, 2) and len({tuple(r) for r in rows}) == 5
    assert all(tuple(r) in {tuple(a) for a in arr} for r in rows)
    frame = pd.DataFrame({"x": range(20)}, index=[f"r{i}" for i in range(20)])
    sample = simple_random_sample(frame, 5, random_state=0)
    assert isinstance(sample, pd.DataFrame) and (sample["x"] == [int(i[1:]) for i in sample.index]).all()
    series = simple_random_sample(frame["x"], 20, random_state=0)
    assert sorted(series) == list(range(20))  # k = n: a permutation
    letters = simple_random_sample(list("abcdef"), 3, random_state=0)
    assert letters.tolist() == np.array(list("abcdef"))[simple_random_sample(6, 3, random_state=0)].tolist()


def test_simple_random_sample_is_reproducible_and_uses_the_generator():
    assert (simple_random_sample(100, 10, random_state=3) == simple_random_sample(100, 10, random_state=3)).all()
    rng = np.random.default_rng(3)
    first, second = simple_random_sample(100, 10, random_state=rng), simple_random_sample(100, 10, random_state=rng)
    assert (first == simple_random_sample(100, 10, random_state=3)).all()
    assert not (first == second).all()


def test_simple_random_sample_unusual_but_valid_inputs():
    expected = simple_random_sample(10, 3, random_state=5)
    np.testing.assert_array_equal(simple_random_sample(np.int64(10), np.int32(3), random_state=np.int64(5)), expected)
    np.testing.assert_array_equal(simple_random_sample(range(10), 3, random_state=5), expected)
    np.testing.assert_array_equal(simple_random_sample(np.arange(10, dtype=np.float32), 3, random_state=5), expected)
    series = pd.Series(np.arange(10) * 2, index=np.arange(10)[::-1] + 100)  # a non-default index is kept
    sample = simple_random_sample(series, 3, random_state=5)
    assert sample.tolist() == (expected * 2).tolist() and sample.index.tolist() == (109 - expected).tolist()


@pytest.mark.parametrize(
    "population, k, kwargs, error, words",
    [
        (10, 11, {}, ValueError, r"k must be <= the number of rows of population \(10\); got 11"),
        (10, 0, {}, ValueError, "k must be >= 1"),
        (10**18 + 1, 1, {}, ValueError, "population must be <= 1000000000000000000"),
        (10**30, 1, {}, ValueError, "population must be <= 1000000000000000000"),  # numpy: OverflowError
        (10**12, MAX_DRAWS + 1, {}, ValueError, "k must be <= MAX_DRAWS = 10,000,000 when population is an int"),
        (10**9, 10**6, {}, None, None),  # fine: numpy's Floyd draw holds only the k positions
        (2 * 10**8, 4 * 10**6 + 1, {}, ValueError, r"k must be <= population // 50 = 4,000,000 when population is an int above"),
        (10, 2.0, {}, TypeError, "k must be an integer"),
        (0, 1, {}, ValueError, "population must be >= 1"),
        ([], 1, {}, ValueError, "population must have at least 1"),
        ("abc", 1, {}, TypeError, "population must be an int, an array-like"),
        ({1, 2, 3}, 1, {}, TypeError, "population must be an int, an array-like .*got \\{1, 2, 3\\} of type set"),
        ((i for i in range(3)), 1, {}, TypeError, "of type generator"),
        (None, 1, {}, TypeError, "population must be an int, an array-like"),
        ([[1, 2], [3]], 1, {}, ValueError, "population must be rectangular"),
        (True, 1, {}, TypeError, "population must be an int, an array-like"),
        (pd.DataFrame({"x": []}), 1, {}, ValueError, "population must have at least 1 row"),
        (10, 2, {"random_state": -1}, ValueError, "random_state must be a non-negative int seed"),
        (10, 2, {"random_state": "seed"}, TypeError, "random_state must be an int, a numpy.random.Generator or None"),
        (10, 2, {"random_state": 1.5}, TypeError, "random_state must be"),
    ],
)
def test_simple_random_sample_bad_input(population, k, kwargs, error, words):
    if error is None:
        assert len(simple_random_sample(population, k, random_state=0, **kwargs)) == k
        return
    with pytest.raises(error, match=words):
        simple_random_sample(population, k, **kwargs)


# --- missing a rare group ------------------------------------------------------------------------


def test_miss_probability_of_the_lesson():
    p = miss_probability(100_000, 10, 1_000)
    assert p == pytest.approx(stats.hypergeom.pmf(0, 100_000, 10, 1_000), rel=1e-12)
    assert p == pytest.approx(0.904, abs=5e-4)
    assert p == pytest.approx(0.99**10, abs=1e-3)  # the binomial approximation


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_miss_probability_equals_hypergeometric(case):
    n, r, k = case
    exact = math.comb(n - r, k) / math.comb(n, k)  # 0 when k > n - r
    assert miss_probability(n, r, k) == pytest.approx(exact, rel=1e-9, abs=1e-300)
    assert miss_probability(n, r, k) == pytest.approx(stats.hypergeom.pmf(0, n, r, k), rel=1e-7, abs=1e-12)


def test_miss_probability_edges():
    assert miss_probability(50, 0, 50) == 1.0
    assert miss_probability(50, 1, 50) == 0.0
    assert miss_probability(50, 10, 41) == 0.0
    assert miss_probability(10**9, 10**5, 10**5) == pytest.approx(stats.hypergeom.pmf(0, 10**9, 10**5, 10**5), rel=1e-6)


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((0, 0, 1), ValueError, "n_population must be >= 1"),
        ((10, 11, 1), ValueError, r"n_rare must be <= n_population \(10\); got 11"),
        ((10**18 + 1, 1, 1), ValueError, "n_population must be <= 1000000000000000000"),
        ((10, -1, 1), ValueError, "n_rare must be >= 0"),
        ((10, 1, 0), ValueError, "k must be >= 1"),
        ((10, 1, 11), ValueError, r"k must be <= n_population \(10\); got 11"),
        ((10.0, 1, 1), TypeError, "n_population must be an integer"),
    ],
)
def test_miss_probability_bad_input(args, error, words):
    with pytest.raises(error, match=words):
        miss_probability(*args)


def exact_miss_probability(n, r, k):
    """C(n - r, k) / C(n, k) as a sum of 50-digit logs: slow, independent of the function under test."""
    getcontext().prec = 50
    small, large = sorted((r, k))
    return float(sum((Decimal(n - large - i) / Decimal(n - i)).ln() for i in range(small)).exp())


@pytest.mark.parametrize("n, r, k", [(10**9, 20_000, 20_000), (10**6, 20_000, 20_000), (10**7, 12_000, 400_000)])
def test_miss_probability_with_many_factors_is_exact(n, r, k):
    assert miss_probability(n, r, k) == pytest.approx(exact_miss_probability(n, r, k), rel=1e-10)


def test_miss_probability_midpoint_rule_equals_the_sum_of_logs():
    """Beyond 10**7 factors the sum of logs is taken by the midpoint rule: compare with the plain sum."""
    n, small, large = 10**14, 12_000_000, 100_000_000
    plain = math.fsum(
        float(np.sum(np.log1p(-large / (n - np.arange(a, min(a + 10**6, small), dtype=np.float64)))))
        for a in range(0, small, 10**6)
    )
    assert miss_probability(n, small, large) == pytest.approx(math.exp(plain), rel=1e-12)
    assert miss_probability(n, large, small) == miss_probability(n, small, large)  # symmetric in n_rare and k
    assert miss_probability(10**18, 10**9, 10**9) == pytest.approx(math.exp(-1.0), rel=1e-8)  # ~ exp(-r k / N)


def test_miss_probability_of_huge_populations():
    """These used to loop over 10**9 factors in Python; now the logs are added in numpy blocks."""
    assert miss_probability(10**12, 10**9, 10**9) == 0.0  # about exp(-10**6): below the smallest double
    assert miss_probability(10**18, 3 * 10**7, 3 * 10**7) == pytest.approx(math.exp(-9e-4), rel=1e-6)
    assert miss_probability(np.int64(100_000), np.int32(10), np.uint16(1_000)) == miss_probability(100_000, 10, 1_000)


# --- stratified sampling -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=8), st.data())
def test_allocation_keeps_proportions_exactly_where_possible(counts, data):
    total = sum(counts)
    k = data.draw(st.integers(1, total))
    alloc = stratified_allocation(counts, k)
    assert alloc.sum() == k and np.all(alloc <= counts) and np.all(alloc >= 0)
    quota = [Fraction(k * c, total) for c in counts]
    for a, q in zip(alloc, quota):
        assert a in (math.floor(q), math.ceil(q))  # the quota, rounded down or up
        if q.denominator == 1:
            assert a == q  # exact whenever the share is a whole number
    # Largest remainder: a stratum rounded up never has a smaller fractional part than one rounded down.
    up = [q - math.floor(q) for a, q in zip(alloc, quota) if a > math.floor(q)]
    down = [q - math.floor(q) for a, q in zip(alloc, quota) if a == math.floor(q) and q.denominator > 1]
    if up and down:
        assert min(up) >= max(down)


def test_allocation_matches_scikit_learn_stratified_split():
    rng = np.random.default_rng(0)
    checked = 0
    while checked < 40:
        counts = rng.integers(2, 40, size=rng.integers(2, 6))
        total = int(counts.sum())
        k = int(rng.integers(len(counts), total - len(counts) + 1))
        remainders = (k * counts) % total
        if len(set(remainders[remainders > 0].tolist())) < int(np.sum(remainders > 0)):
            continue  # scikit-learn breaks ties at random
        labels = np.repeat(np.arange(len(counts)), counts)
        _, test = train_test_split(labels, test_size=k, stratify=labels, random_state=0)
        np.testing.assert_array_equal(stratified_allocation(counts, k), np.bincount(test, minlength=len(counts)))
        checked += 1


def test_allocation_ties_and_minimum_per_stratum():
    assert stratified_allocation([6, 3, 1], 5).tolist() == [3, 2, 0]  # tie 0.5 vs 0.5: the larger stratum
    assert stratified_allocation([1, 3, 3], 2).tolist() == [0, 1, 1]  # tie: the earlier stratum
    assert stratified_allocation([99_990, 10], 1_000).tolist() == [1_000, 0]
    assert stratified_allocation([99_990, 10], 1_000, min_per_stratum=1).tolist() == [999, 1]
    # Proportional: 7.84, 0.16, 0.08, 3.92 -> 8, 0, 0, 4. The two small strata get their floor (all
    # their rows: 2 and 1), and the other 9 rows are split 100 : 50 -> 6, 3 (3 meets the floor).
    assert stratified_allocation([100, 2, 1, 50], 12).tolist() == [8, 0, 0, 4]
    assert stratified_allocation([100, 2, 1, 50], 12, min_per_stratum=3).tolist() == [6, 2, 1, 3]
    assert stratified_allocation([5, 5], 10, min_per_stratum=7).tolist() == [5, 5]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.integers(0, 5), st.data())
def test_allocation_with_minimum_property(counts, m, data):
    floors = [min(m, c) for c in counts]
    k = data.draw(st.integers(max(1, sum(floors)), sum(counts)))
    alloc = stratified_allocation(counts, k, min_per_stratum=m)
    assert alloc.sum() == k and np.all(alloc >= floors) and np.all(alloc <= counts)
    if m == 0:
        np.testing.assert_array_equal(alloc, stratified_allocation(counts, k))


@pytest.mark.parametrize(
    "counts, k, kwargs, error, words",
    [
        ([3, 0], 1, {}, ValueError, "counts must all be >= 1"),
        ([3, 2], 6, {}, ValueError, r"k must be <= the total of counts \(5\); got 6"),
        ([2**63, 1], 1, {}, ValueError, "counts must all be <= MAX_POPULATION = 1e\\+18"),
        (np.array([1e30, 1.0]), 1, {}, ValueError, "counts must all be <= MAX_POPULATION"),
        ([3, 2], 0, {}, ValueError, "k must be >= 1"),
        ([3.5, 2], 1, {}, TypeError, "counts must hold integers"),
        ([], 1, {}, ValueError, "counts must have at least 1"),
        ([3, 2, 1], 2, {"min_per_stratum": 1}, ValueError, "min_per_stratum=1 needs 3 rows"),
        ([3, 2], 2, {"min_per_stratum": -1}, ValueError, "min_per_stratum must be >= 0"),
    ],
)
def test_allocation_bad_input(counts, k, kwargs, error, words):
    with pytest.raises(error, match=words):
        stratified_allocation(counts, k, **kwargs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=60), st.data())
def test_stratified_sample_draws_the_allocation_from_each_stratum(labels, data):
    labels = np.array(labels)
    k = data.draw(st.integers(1, len(labels)))
    positions = stratified_sample(len(labels), k, strata=labels, random_state=data.draw(st.integers(0, 99)))
    assert len(positions) == k and len(np.unique(positions)) == k
    assert np.all(np.diff(positions) > 0), "population order"
    values, counts = np.unique(labels, return_counts=True)
    got = [np.sum(labels[positions] == v) for v in values]
    np.testing.assert_array_equal(got, stratified_allocation(counts, k))


def test_stratified_sample_is_uniform_within_strata():
    labels = np.array([0] * 4 + [1] * 2)  # k = 3: two of four zeros, one of two ones; each row p = 1/2
    runs = 4_000
    freq = np.zeros(6)
    rng = np.random.default_rng(1)
    for _ in range(runs):
        freq[stratified_sample(6, 3, strata=labels, random_state=rng)] += 1 / runs
    assert np.max(np.abs(freq - 0.5)) < 4 * math.sqrt(0.25 / runs)


def test_stratified_sample_frames_and_fractions():
    frame = pd.DataFrame({"y": [0] * 90 + [1] * 10, "x": range(100)}, index=range(100, 200))
    sample = stratified_sample(frame, frac=0.2, strata="y", random_state=0)
    assert isinstance(sample, pd.DataFrame) and len(sample) == 20
    assert (sample["y"] == 1).sum() == 2 and sample.index.is_monotonic_increasing
    assert (sample.index - 100 == sample["x"]).all()
    assert len(stratified_sample(frame, frac=0.005, strata="y", random_state=0)) == 1  # 0.5 rounds up
    assert len(stratified_sample(frame, frac=0.001, strata="y", random_state=0)) == 1  # at least one row
    assert len(stratified_sample(frame["y"], frac=1.0, random_state=0)) == 100
    same = stratified_sample(frame, 10, strata=frame["y"].to_numpy(), random_state=0)
    assert same.equals(stratified_sample(frame, 10, strata="y", random_state=0))


def test_stratified_sample_unusual_but_valid_strata():
    frame = pd.DataFrame({"y": [0] * 8 + [1] * 4}, index=np.arange(12) * 3)
    expected = stratified_sample(frame, 6, strata="y", random_state=1)
    for strata in (frame["y"], frame["y"].to_numpy(), frame["y"].astype(np.float32).to_numpy(), [0] * 8 + [1] * 4):
        pd.testing.assert_frame_equal(stratified_sample(frame, np.int64(6), strata=strata, random_state=1), expected)
    positions = stratified_sample(12, 6, strata=pd.Series(frame["y"].to_numpy(), index=np.arange(12) + 50), random_state=1)
    assert positions.tolist() == (expected.index // 3).tolist()  # an int population: strata by position
    assert len(stratified_sample(frame, frac=np.float32(0.5), strata="y", random_state=1)) == 6
    numbered = frame.rename(columns={"y": 0})  # a column name that is not a string
    pd.testing.assert_frame_equal(stratified_sample(numbered, 6, strata=0, random_state=1), expected.rename(columns={"y": 0}))


def test_stratified_sample_and_the_rare_rows():
    labels = np.zeros(100_000, dtype=int)
    labels[:10] = 1
    assert labels[stratified_sample(labels.size, frac=0.01, strata=labels, random_state=0)].sum() == 0
    sample = stratified_sample(labels.size, frac=0.01, strata=labels, min_per_stratum=1, random_state=0)
    assert len(sample) == 1_000 and labels[sample].sum() == 1


@pytest.mark.parametrize(
    "population, k, kwargs, error, words",
    [
        ([0, 1, 1], None, {}, ValueError, "give exactly one of k and frac"),
        ([0, 1, 1], 2, {"frac": 0.5}, ValueError, "give exactly one of k and frac"),
        ([0, 1, 1], None, {"frac": 0.0}, ValueError, r"frac must be in \(0.0, 1.0\]"),
        ([0, 1, 1], None, {"frac": 1.5}, ValueError, "frac must be in"),
        ([0, 1, 1], 4, {}, ValueError, r"k must be <= the number of rows of population \(3\); got 4"),
        (3, 2, {}, ValueError, "strata must be given when population is an int"),
        (3, 2, {"strata": [0, 1]}, ValueError, r"strata must have one label per row of population \(3\)"),
        (pd.DataFrame({"y": [0, 1]}), 1, {}, ValueError, "strata must name a column"),
        (pd.DataFrame({"y": [0, 1]}), 1, {"strata": "z"}, ValueError, "strata must be a column of population"),
        (np.zeros((3, 2)), 1, {}, ValueError, "strata must be given when population is not 1-d"),
        ([0, 1, 2], 2, {"min_per_stratum": 1}, ValueError, "min_per_stratum=1 needs 3 rows"),
        ([0.0, np.nan, 1.0], 2, {}, ValueError,
         r"population \(its values are the strata when strata=None\) must have no missing labels; got 1 missing"),
        (["a", 1, "b", 1], 2, {}, TypeError, r"population \(its values .*\) must hold labels of one kind.*\['number', 'str'\]"),
        (4, 2, {"strata": ["a", 1, "a", 1]}, TypeError, r"strata must hold labels of one kind.*\['number', 'str'\]"),
        (3, 2, {"strata": ["a", None, "b"]}, ValueError, "strata must have no missing labels"),
        (3, 2, {"strata": np.array(["a", 1, "b"], dtype=object)}, TypeError, r"strata must hold labels of one kind.*\['number', 'str'\]"),
        (pd.DataFrame({"y": [0, 1, 1]}), 2, {"strata": pd.Series([0, 1, 1], index=[5, 6, 7])}, ValueError,
         "strata must have the same index as population"),
        (pd.DataFrame({0: [0, 1, 1]}), 2, {"strata": 1}, ValueError, r"strata must be a column of population; got 1"),
    ],
)
def test_stratified_sample_bad_input(population, k, kwargs, error, words):
    with pytest.raises(error, match=words):
        stratified_sample(population, k, **kwargs)


# --- weighted sampling ---------------------------------------------------------------------------


def test_weighted_sample_with_replacement_draws_in_proportion():
    w = np.array([1.0, 0.0, 2.0, 3.0, 4.0])
    draws = weighted_sample(5, 20_000, w, random_state=0)
    counts = np.bincount(draws, minlength=5)
    assert counts[1] == 0  # a zero weight is never drawn
    keep = w > 0
    assert stats.chisquare(counts[keep], 20_000 * w[keep] / w.sum()).pvalue > ALPHA


def successive_inclusion(w, k):
    """Exact inclusion probabilities of successive weighted sampling, by enumerating the draw sequences."""
    w = np.asarray(w, dtype=float)
    incl = np.zeros(len(w))
    for seq in permutations(range(len(w)), k):
        prob, left = 1.0, w.sum()
        for i in seq:
            prob *= w[i] / left
            left -= w[i]
        incl[list(seq)] += prob
    return incl


def test_weighted_sample_without_replacement_is_successive_sampling():
    w, k, runs = [1.0, 2.0, 3.0, 4.0], 2, 20_000
    rng = np.random.default_rng(2)
    freq = np.zeros(4)
    for _ in range(runs):
        sample = weighted_sample(4, k, w, replace=False, random_state=rng)
        assert len(set(sample.tolist())) == k
        freq[sample] += 1 / runs
    exact = successive_inclusion(w, k)
    assert exact.sum() == pytest.approx(k)
    assert np.all(np.abs(freq - exact) < 4 * np.sqrt(exact * (1 - exact) / runs))
    assert not np.allclose(exact, k * np.array(w) / sum(w), atol=0.02)  # not proportional to the weights


def test_weighted_sample_rows_and_limits():
    frame = pd.DataFrame({"x": [10, 20, 30]}, index=["a", "b", "c"])
    sample = weighted_sample(frame, 2, [0.0, 1.0, 1.0], replace=False, random_state=0)
    assert sorted(sample.index) == ["b", "c"]
    assert weighted_sample(["u", "v"], 3, [0, 5], random_state=0).tolist() == ["v", "v", "v"]
    tiny = weighted_sample(3, 100, [1e-300, 1e-300, 0.0], random_state=0)
    assert set(tiny.tolist()) <= {0, 1}
    huge = weighted_sample(3, 100, [1e308, 1e308, 1e308], random_state=0)
    assert set(huge.tolist()) == {0, 1, 2}


@pytest.mark.parametrize(
    "k, weights, kwargs, error, words",
    [
        (2, [1.0, -1.0, 1.0], {}, ValueError, "weights must be non-negative; got 1 negative"),
        (2, [1.0, np.nan, 1.0], {}, ValueError, r"weights must be finite \(no NaN or inf\)"),
        (2, [1.0, np.inf, 1.0], {}, ValueError, "weights must be finite"),
        (2, [0.0, 0.0, 0.0], {}, ValueError, "weights must not all be zero"),
        (2, [1.0, 1.0], {}, ValueError, r"weights must have one value per row of population \(3\); got length 2"),
        (2, [[1.0, 1.0, 1.0]], {}, ValueError, "weights must have 1 dimension"),
        (2, ["a", "b", "c"], {}, TypeError, "weights must be numeric"),
        (0, [1.0, 1.0, 1.0], {}, ValueError, "k must be >= 1"),
        (3, [1.0, 0.0, 1.0], {"replace": False}, ValueError, r"positive weight \(2\) when replace=False; got 3"),
        (2, [1.0, 1.0, 1.0], {"replace": "no"}, TypeError, "replace must be True or False"),
        (2, [1.0, 1.0, 1.0], {"random_state": -3}, ValueError, "random_state must be"),
        (10**12, [1.0, 1.0, 1.0], {}, ValueError, "k must be <= MAX_DRAWS = 10,000,000 draws with replacement"),
    ],
)
def test_weighted_sample_bad_input(k, weights, kwargs, error, words):
    with pytest.raises(error, match=words):
        weighted_sample(3, k, weights, **kwargs)


def test_weighted_sample_pairs_pandas_weights_with_rows_by_index():
    frame = pd.DataFrame({"x": [10, 20, 30]}, index=[7, 8, 9])
    weights = pd.Series([0.0, 0.0, 1.0], index=[7, 8, 9])
    assert weighted_sample(frame, 2, weights, random_state=0)["x"].tolist() == [30, 30]
    assert weighted_sample(frame, 2, weights.astype(np.float32).to_numpy(), random_state=0)["x"].tolist() == [30, 30]
    with pytest.raises(ValueError, match="weights must have the same index as population"):
        weighted_sample(frame, 2, weights.reset_index(drop=True), random_state=0)


# --- reservoir sampling --------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", UNIFORM_SAMPLERS)
def test_reservoir_every_position_has_probability_k_over_n(sampler):
    n, k, runs = 20, 5, 20_000
    freq = inclusion_frequencies(sampler, n, k, runs, random_state=0)
    assert freq.sum() == pytest.approx(k)
    assert inclusion_chisquare(freq, runs).pvalue > ALPHA
    # The plain Pearson test (conservative here, see inclusion_chisquare) agrees.
    assert stats.chisquare(np.round(freq * runs)).pvalue > ALPHA


@pytest.mark.parametrize("sampler", UNIFORM_SAMPLERS)
def test_reservoir_every_subset_equally_likely(sampler):
    counts = subset_counts(lambda rng: sampler(iter(range(6)), 2, random_state=rng), 6, 2, 15_000)
    assert stats.chisquare(counts).pvalue > ALPHA


def chunked_sampler(stream, k, random_state):
    """reservoir_sample_chunks on the stream cut into arrays of 3 rows."""
    items = np.fromiter(stream, dtype=np.int64)
    return reservoir_sample_chunks((items[i : i + 3] for i in range(0, len(items), 3)), k, random_state=random_state)


def test_chunked_reservoir_every_position_has_probability_k_over_n():
    n, k, runs = 20, 5, 20_000
    freq = inclusion_frequencies(chunked_sampler, n, k, runs, random_state=1)
    assert inclusion_chisquare(freq, runs).pvalue > ALPHA


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=25), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_chunked_reservoir_is_algorithm_l_whatever_the_chunks(sizes, k, seed):
    assume(sum(sizes) > 0)
    bounds = np.cumsum([0] + sizes)
    rows = np.arange(bounds[-1]) * 10
    chunks = [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]  # empty chunks included
    sample = reservoir_sample_chunks(iter(chunks), k, random_state=seed)
    assert isinstance(sample, np.ndarray) and len(sample) == min(k, len(rows))
    assert sample.tolist() == reservoir_sample_l(rows.tolist(), k, random_state=seed)


def test_chunked_reservoir_rows_and_dtypes():
    frame_rows = np.arange(20).reshape(10, 2)
    sample = reservoir_sample_chunks([frame_rows[:4], frame_rows[4:]], 3, random_state=0)
    assert sample.shape == (3, 2) and all(row.tolist() in frame_rows.tolist() for row in sample)
    widened = reservoir_sample_chunks([np.arange(3, dtype=np.int32), np.arange(3, 100, dtype=np.int16)], 2, random_state=0)
    assert widened.dtype == np.int32
    assert reservoir_sample_chunks([[1, 2], [], [3]], 5, random_state=0).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "chunks, k, error, words",
    [
        ([], 2, ValueError, "chunks must hold at least one row; got an empty stream"),
        ([[], []], 2, ValueError, "got an empty stream"),
        ([[1, 2], 3], 1, TypeError, "chunks must yield array-likes of rows; got chunk 1 = 3"),
        ([np.arange(3), np.linspace(0, 1, 1000)], 2, TypeError, "cast safely to the dtype of the first rows"),
        (7, 2, TypeError, "chunks must be an iterable"),
        ([[1, 2]], 0, ValueError, "k must be >= 1"),
        ([np.zeros((2, 2)), np.zeros((3, 3))], 1, ValueError, r"rows of the same shape \(2,\); got chunk 1 with rows of shape \(3,\)"),
        ([np.zeros((2, 2)), np.zeros(3)], 5, ValueError, r"rows of the same shape \(2,\); got chunk 1 with rows of shape \(\)"),
        ([[[1.0], [1.0, 2.0]]], 1, ValueError, "chunks must yield rectangular array-likes of rows; got a ragged chunk 0"),
        # numpy would concatenate these first rows into the strings '0', '1', '2', 'x': refused, not stringified.
        ([np.arange(3), np.array(["x", "y"])], 5, TypeError,
         r"chunks must all hold one kind of value \(numbers, as the first\); got chunk 1 of dtype <U1"),
        ([np.array(["x"]), np.arange(8)], 5, TypeError,
         r"one kind of value \(strings, as the first\); got chunk 1 of dtype int64"),
    ],
)
def test_chunked_reservoir_bad_input(chunks, k, error, words):
    with pytest.raises(error, match=words):
        reservoir_sample_chunks(chunks, k, random_state=0)


def test_algorithms_r_and_l_have_the_same_distribution():
    r = subset_counts(lambda rng: reservoir_sample_r(range(7), 3, random_state=rng), 7, 3, 14_000)
    l_ = subset_counts(lambda rng: reservoir_sample_l(range(7), 3, random_state=rng), 7, 3, 14_000)
    assert stats.chi2_contingency(np.vstack([r, l_])).pvalue > ALPHA
    # A biased sampler's subset distribution is told apart by the same test (the lesson's naive sampler).
    naive = subset_counts(lambda rng: naive_stream_sample(range(7), 3, random_state=rng), 7, 3, 14_000)
    assert stats.chi2_contingency(np.vstack([r, naive])).pvalue < 1e-6


class CountingRandom(random.Random):
    draws = 0

    def random(self):
        CountingRandom.draws += 1
        return super().random()

    def randrange(self, *args):
        CountingRandom.draws += 1
        return super().randrange(*args)

    def getrandbits(self, k):  # defined, so that randrange keeps using it instead of random()
        return super().getrandbits(k)


@pytest.mark.parametrize("n, k", [(100_000, 10), (50_000, 100)])
def test_algorithm_l_draws_far_fewer_random_numbers(monkeypatch, n, k):
    monkeypatch.setattr(sampling, "_python_rng", lambda rng: CountingRandom(int(rng.integers(2**63))))
    CountingRandom.draws = 0
    reservoir_sample_r(range(n), k, random_state=0)
    assert CountingRandom.draws == n - k
    CountingRandom.draws = 0
    reservoir_sample_l(range(n), k, random_state=0)
    # Li (1994): about k (1 + ln(n/k)) replacements, three draws each.
    expected = 3 * k * (1 + math.log(n / k))
    assert 0.5 * expected < CountingRandom.draws < 1.5 * expected


streams = st.tuples(st.integers(1, 60), st.integers(1, 15), st.sampled_from(["list", "generator", "tuple"]))


@settings(max_examples=150, deadline=None)
@given(streams, st.integers(0, 2**32 - 1), st.sampled_from(STREAM_SAMPLERS))
def test_stream_samplers_property(case, seed, sampler):
    n, k, kind = case
    items = [("item", i) for i in range(n)]
    stream = {"list": items, "tuple": tuple(items), "generator": (x for x in items)}[kind]
    sample = sampler(stream, k, random_state=seed)
    assert isinstance(sample, list) and len(sample) == min(k, n)
    assert all(x in items for x in sample)
    assert len({x[1] for x in sample}) == len(sample), "no position twice"
    if n <= k:
        assert sample == items  # the whole stream, in order
    assert sampler(list(items), k, random_state=seed) == sampler(iter(items), k, random_state=seed)


@pytest.mark.parametrize("sampler", STREAM_SAMPLERS)
def test_stream_samplers_take_numpy_scalars_and_arrays(sampler):
    expected = sampler(range(100), 4, random_state=9)
    assert sampler(np.arange(100), np.int64(4), random_state=np.int64(9)) == expected
    assert sampler(pd.Series(range(100), index=range(500, 600)), 4, random_state=9) == expected  # a Series yields values


@pytest.mark.parametrize("sampler", STREAM_SAMPLERS)
def test_stream_samplers_read_the_whole_stream_once(sampler):
    gen = (i for i in range(1_000))
    sampler(gen, 10, random_state=0)
    assert next(gen, None) is None
    # The last item can be sampled (positions near the end are not skipped).
    hits = sum(999 in sampler(range(1_000), 10, random_state=s) for s in range(2_000))
    assert hits > 0


@pytest.mark.parametrize("sampler", STREAM_SAMPLERS)
@pytest.mark.parametrize(
    "stream, k, kwargs, error, words",
    [
        ([], 3, {}, ValueError, "stream must yield at least one item; got an empty stream"),
        ((x for x in []), 3, {}, ValueError, "got an empty stream"),
        ([1, 2], 0, {}, ValueError, "k must be >= 1"),
        ([1, 2], 1.5, {}, TypeError, "k must be an integer"),
        (5, 2, {}, TypeError, "stream must be an iterable"),
        ([1, 2], 1, {"random_state": "0"}, TypeError, "random_state must be"),
    ],
)
def test_stream_samplers_bad_input(sampler, stream, k, kwargs, error, words):
    with pytest.raises(error, match=words):
        sampler(stream, k, **kwargs)


# --- importance sampling -------------------------------------------------------------------------

P, Q = stats.norm(1.0, 1.0), stats.norm(0.0, 1.5)


def f(x):
    return x**2


def test_truth_by_quadrature():
    truth, _ = integrate.quad(lambda x: f(x) * P.pdf(x), -np.inf, np.inf)
    assert truth == pytest.approx(2.0)  # E[X^2] = var + mean^2


def test_importance_estimate_is_unbiased_over_seeds():
    truth = 2.0
    estimates = []
    for seed in range(200):
        x = Q.rvs(size=500, random_state=np.random.default_rng(seed))
        estimates.append(importance_estimate(f(x), importance_weights(P.pdf(x), Q.pdf(x))))
    estimates = np.array(estimates)
    se = estimates.std(ddof=1) / math.sqrt(len(estimates))
    assert abs(estimates.mean() - truth) < 4 * se
    # Without the weights, the mean of f over Q's samples estimates E_Q[f] = 2.25, not E_P[f].
    naive = np.mean([f(Q.rvs(size=500, random_state=np.random.default_rng(s))).mean() for s in range(200)])
    assert abs(naive - truth) > 10 * se


def test_self_normalized_estimate_needs_p_only_up_to_a_constant():
    x = Q.rvs(size=100_000, random_state=np.random.default_rng(9))
    w = importance_weights(P.pdf(x), Q.pdf(x))
    est = importance_estimate(f(x), w, self_normalized=True)
    assert est == pytest.approx(np.average(f(x), weights=w))
    assert importance_estimate(f(x), w) == pytest.approx(np.mean(w * f(x)))
    se = math.sqrt(np.sum(w**2 * (f(x) - est) ** 2)) / w.sum()  # delta-method standard error
    assert abs(est - 2.0) < 4 * se
    w7 = importance_weights(7 * P.pdf(x), Q.pdf(x))  # unnormalized target
    assert importance_estimate(f(x), w7, self_normalized=True) == pytest.approx(est)
    assert importance_estimate(f(x), w7) == pytest.approx(7 * importance_estimate(f(x), w))


def test_importance_weights_are_density_ratios():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(importance_weights(P.pdf(x), Q.pdf(x)), np.exp(P.logpdf(x) - Q.logpdf(x)))
    np.testing.assert_allclose(importance_weights(P.pdf(x), P.pdf(x)), 1.0)
    assert importance_weights([0.0, 1.0], [1.0, 2.0]).tolist() == [0.0, 0.5]


def test_effective_sample_size_formula():
    assert effective_sample_size(np.full(250, 3.7)) == pytest.approx(250)
    assert effective_sample_size([0.0, 0.0, 5.0]) == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    w = rng.exponential(size=1_000)
    assert effective_sample_size(w) == pytest.approx(w.sum() ** 2 / np.sum(w**2))
    assert effective_sample_size(1e200 * w) == pytest.approx(effective_sample_size(w))  # no overflow
    assert 1 <= effective_sample_size(w) <= len(w)


def test_effective_sample_size_of_a_shifted_normal():
    # P = N(mu, 1), Q = N(0, 1): E_Q[w] = 1, E_Q[w^2] = exp(mu^2), so ESS / n -> exp(-mu^2).
    # E_Q[w^4] = exp(6 mu^2) is finite: the relative error of the ratio is about 0.3% at n = 200k.
    mu, n = 0.5, 200_000
    x = np.random.default_rng(6).normal(size=n)
    w = importance_weights(stats.norm(mu, 1).pdf(x), stats.norm(0, 1).pdf(x))
    assert effective_sample_size(w) / n == pytest.approx(math.exp(-(mu**2)), rel=0.02)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: importance_weights([1.0, 2.0], [1.0, 0.0]), ValueError, "q_density must be > 0"),
        (lambda: importance_weights([1.0, -2.0], [1.0, 1.0]), ValueError, "p_density must be >= 0"),
        (lambda: importance_weights([1.0, np.nan], [1.0, 1.0]), ValueError, "p_density must be finite"),
        (lambda: importance_weights([1.0, 2.0], [1.0]), ValueError, "same length"),
        (lambda: importance_weights([1e300], [1e-300]), ValueError, "p_density / q_density must be finite"),
        (lambda: importance_estimate([1.0, np.nan], [1.0, 1.0]), ValueError, "values must be finite"),
        (lambda: importance_estimate([1.0, 2.0], [1.0, -1.0]), ValueError, "weights must be non-negative"),
        (lambda: importance_estimate([1.0, 2.0], [0.0, 0.0]), ValueError, "weights must not all be zero"),
        (lambda: importance_estimate([1.0, 2.0], [1.0]), ValueError, "same length"),
        (lambda: importance_estimate([1.0], [1.0], self_normalized=1), TypeError, "self_normalized must be True or False"),
        (lambda: effective_sample_size([]), ValueError, "weights must have at least 1"),
        (lambda: effective_sample_size([1.0, np.inf]), ValueError, "weights must be finite"),
        (lambda: effective_sample_size([0.0, 0.0]), ValueError, "weights must not all be zero"),
    ],
)
def test_importance_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_importance_estimate_redoes_overflowing_sums_on_scaled_values():
    values, weights = [1e308, 1e308, 1e308], [0.5, 1.0, 2.0]  # w * f overflows; the mean does not
    exact = Fraction(10**308) * Fraction(7, 2) / 3
    assert importance_estimate(values, weights) == pytest.approx(float(exact), rel=1e-15)
    assert importance_estimate(values, weights, self_normalized=True) == pytest.approx(1e308, rel=1e-15)
    # sum(w) overflows while sum(w * f) does not: the self-normalized mean is still f, not 0.
    assert importance_estimate([1e-10, 1e-10, 1e-10], [1e308] * 3, self_normalized=True) == pytest.approx(1e-10, rel=1e-15)
    with pytest.raises(ValueError, match="values and weights give an estimate beyond the float range"):
        importance_estimate([1e308, 1e308], [1e308, 1e308])


def test_importance_helpers_pair_pandas_objects_by_index_only_when_equal():
    p = pd.Series([0.2, 0.8], index=[1, 2])
    with pytest.raises(ValueError, match="q_density must have the same index as p_density"):
        importance_weights(p, pd.Series([0.5, 0.5], index=[2, 1]))
    with pytest.raises(ValueError, match="weights must have the same index as values"):
        importance_estimate(p, pd.Series([1.0, 2.0], index=[5, 6]))
    assert importance_weights(p, pd.Series([0.4, 0.4], index=[1, 2])).tolist() == [0.5, 2.0]
    assert importance_estimate(p, np.array([1.0, 1.0])) == pytest.approx(0.5)  # an array pairs by position


def test_importance_helpers_take_series_and_float32():
    p = pd.Series([0.2, 0.3, 0.5], index=[9, 4, 1], dtype=np.float32)
    q = np.array([0.4, 0.3, 0.25], dtype=np.float32)
    w = importance_weights(p, q)
    np.testing.assert_allclose(w, [0.5, 1.0, 2.0], rtol=1e-6)
    assert importance_estimate(pd.Series([1.0, 2.0, 3.0], index=[2, 1, 0]), w, self_normalized=np.bool_(True)) == pytest.approx(17 / 7)
    assert effective_sample_size(w.astype(np.float32)) == pytest.approx(3.5**2 / 5.25)
