"""mlsys_course.interleaving: team-draft against the paper's algorithm, click credit, the sign test against scipy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from mlsys_course.interleaving import credit, preference_test, team_draft


def _paper_team_draft(a, b, coins, length):
    """Radlinski, Kurup & Joachims (2008), Algorithm 2, written as in the paper; ``coins`` are the RandBit()
    values, one per round (a round starts whenever the teams are level), stopped at ``length`` slots."""
    shown, team_a, team_b, teams = [], [], [], []
    coins = iter(coins)
    while any(x not in shown for x in a) and any(x not in shown for x in b) and len(shown) < length:
        if len(team_a) < len(team_b) or (len(team_a) == len(team_b) and next(coins)):
            k = next(x for x in a if x not in shown)
            team_a.append(k)
            teams.append("a")
        else:
            k = next(x for x in b if x not in shown)
            team_b.append(k)
            teams.append("b")
        shown.append(k)
    return shown, teams


def _random_rankings(rng, n, k, n_items):
    return (np.argsort(rng.random((n, n_items)), axis=1)[:, :k], np.argsort(rng.random((n, n_items)), axis=1)[:, :k])


@pytest.mark.parametrize("seed", range(5))
def test_team_draft_is_the_papers_algorithm_row_by_row(seed):
    rng = np.random.default_rng(100 + seed)
    a, b = _random_rankings(rng, 300, 6, 9)  # many shared items, so the "not yet in the list" rule matters
    for length in (1, 4, 6):
        shown, team = team_draft(a, b, length=length, random_state=seed)
        # the coin of each round, drawn as team_draft documents: one per round per row, True = A picks first
        coins = np.random.default_rng(seed).random((len(a), (length + 1) // 2)) < 0.5
        for i in range(len(a)):
            ref_shown, ref_team = _paper_team_draft(a[i].tolist(), b[i].tolist(), coins[i], length)
            assert shown[i].tolist() == ref_shown and team[i].tolist() == ref_team


def test_team_draft_hand_built_example():
    # A = 1 2 3 4, B = 3 1 5 6. Coin says A first: A takes 1, B takes 3; next round B first: B's best unused is 5,
    # then A's best unused is 2. Only two interleavings can start with A: [1, 3, 2, 5] and [1, 3, 5, 2].
    seen = {}
    for seed in range(200):
        shown, team = team_draft([1, 2, 3, 4], [3, 1, 5, 6], random_state=seed)
        seen[tuple(shown.tolist())] = tuple(team.tolist())
    assert seen == {(1, 3, 2, 5): ("a", "b", "a", "b"), (1, 3, 5, 2): ("a", "b", "b", "a"),
                    (3, 1, 2, 5): ("b", "a", "a", "b"), (3, 1, 5, 2): ("b", "a", "b", "a")}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(0, 10**6), st.integers(1, 8), st.integers(1, 8), st.integers(8, 14))
def test_team_draft_invariants(seed, k_a, k_b, n_items):
    rng = np.random.default_rng(seed)
    a = np.argsort(rng.random((20, n_items)), axis=1)[:, :k_a]
    b = np.argsort(rng.random((20, n_items)), axis=1)[:, :k_b]
    shown, team = team_draft(a, b, random_state=seed)
    assert shown.shape == team.shape == (20, min(k_a, k_b))
    for i in range(20):
        row, t = shown[i].tolist(), team[i]
        assert len(set(row)) == len(row)  # no item twice
        for name, ranking in (("a", a[i].tolist()), ("b", b[i].tolist())):
            mine = [x for x, s in zip(row, t, strict=True) if s == name]
            # a team's items appear in its ranking's relative order, and each is its best not taken before
            assert [ranking.index(x) for x in mine] == sorted(ranking.index(x) for x in mine)
            for x in mine:
                before = row[:row.index(x)]
                assert x == next(y for y in ranking if y not in before)
        sizes = np.cumsum(t == "a") - np.cumsum(t == "b")
        assert np.all(np.abs(sizes) <= 1)  # team sizes differ by at most one in every prefix


def test_identical_rankings_give_the_ranking_and_a_fair_coin():
    ranking = np.array([7, 3, 9, 1, 4])
    shown, team = team_draft(np.tile(ranking, (4_000, 1)), np.tile(ranking, (4_000, 1)), random_state=0)
    assert (shown == ranking).all()
    # who picks first is a fair coin: 4,000 rows, standard error 0.0079
    assert abs((team[:, 0] == "a").mean() - 0.5) < 4 * 0.0079
    # in each round the second pick goes to the other team
    assert (team[:, 1] != team[:, 0]).all() and (team[:, 3] != team[:, 2]).all()
    one, _ = team_draft(list(ranking), list(ranking), random_state=1)
    assert one.tolist() == ranking.tolist()


def test_team_draft_strings_lengths_and_seeds():
    shown, team = team_draft(["x", "y", "z"], ["y", "w", "x", "v"], length=2, random_state=3)
    assert shown.dtype.kind == "U" and len(shown) == 2 and set(team) == {"a", "b"}
    assert team_draft([1, 2, 3], [3, 2, 1], random_state=5)[0].tolist() == team_draft([1, 2, 3], [3, 2, 1], random_state=5)[0].tolist()
    assert len(team_draft([1, 2, 3, 4, 5], [6, 7], random_state=0)[0]) == 2  # None: min(k_a, k_b)
    assert team_draft(np.array([1, 2], dtype=np.int16), np.array([2, 1], dtype=np.int64), random_state=0)[0].dtype == np.int64


def test_team_draft_refuses_bad_rankings_and_lengths():
    with pytest.raises(ValueError, match="ranking_a must not repeat an item.*got 2 twice"):
        team_draft([1, 2, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=r"ranking_b must not repeat an item.*\(row 1\)"):
        team_draft([[1, 2], [3, 4]], [[1, 2], [5, 5]])
    with pytest.raises(TypeError, match="ranking_a must hold item ids of one type"):
        team_draft(["a", 1], ["a", "b"])
    with pytest.raises(TypeError, match="ranking_a and ranking_b must hold item ids of the same kind"):
        team_draft([1, 2], ["a", "b"])
    with pytest.raises(TypeError, match="ranking_a must hold integer or string item ids"):
        team_draft([1.0, 2.0], [1, 2])
    with pytest.raises(TypeError, match="ranking_b must hold integer or string item ids"):
        team_draft([1, 2], [True, False])
    with pytest.raises(ValueError, match="ranking_a must hold at least one item"):
        team_draft([], [1])
    with pytest.raises(ValueError, match="ranking_a and ranking_b must both be one ranking"):
        team_draft([[1, 2], [2, 1]], [[1, 2]])
    with pytest.raises(ValueError, match="ranking_a must be rectangular"):
        team_draft([[1, 2], [3]], [[1, 2], [3, 4]])
    with pytest.raises(TypeError, match="ranking_a must be a ranking"):
        team_draft("abc", ["a"])
    with pytest.raises(ValueError, match="length must be <= 2"):
        team_draft([1, 2, 3], [4, 5], length=3)
    with pytest.raises(ValueError, match="length must be >= 1"):
        team_draft([1, 2, 3], [4, 5], length=0)
    with pytest.raises(TypeError, match="length must be an integer"):
        team_draft([1, 2, 3], [4, 5], length=2.0)
    with pytest.raises(TypeError, match="random_state must be"):
        team_draft([1, 2], [2, 1], random_state="seed")


def test_credit_counts_clicks_per_impression_on_hand_built_pages():
    team = [["a", "b", "a", "b"],
            ["b", "a", "b", "a"],
            ["a", "b", "b", "a"],
            ["b", "a", "a", "b"],
            ["a", "b", "a", "b"]]
    clicked = [[1, 0, 0, 0],   # A's item clicked: A wins
               [1, 0, 1, 1],   # B 2 clicks, A 1: B wins
               [1, 1, 0, 0],   # 1 each: tie
               [0, 0, 0, 0],   # no click: tie
               [0, 1, 0, 1]]   # B wins
    assert credit(team, clicked) == (1, 2)
    assert credit(team, np.array(clicked, dtype=bool)) == (1, 2)
    assert credit(team[1], clicked[1]) == (0, 1)  # one impression
    assert credit(np.array(team, dtype=object), clicked) == (1, 2)
    # credit follows the team labels, not the slots: swapping the labels swaps the wins
    swapped = np.where(np.array(team) == "a", "b", "a")
    assert credit(swapped, clicked) == (2, 1)


def test_credit_refuses_bad_input():
    with pytest.raises(ValueError, match="team must hold only 'a' and 'b'"):
        credit(["a", "c"], [0, 1])
    with pytest.raises(ValueError, match=r"clicked must have the shape of team, \(2,\)"):
        credit(["a", "b"], [0, 1, 1])
    with pytest.raises(ValueError, match="clicked must hold only 0 and 1"):
        credit(["a", "b"], [0, 2])
    with pytest.raises(TypeError, match="clicked must hold 0/1 or bool"):
        credit(["a", "b"], ["0", "1"])
    with pytest.raises(ValueError, match="team must be a non-empty"):
        credit([], [])
    with pytest.raises(TypeError, match="team must be an array"):
        credit("ab", [0, 1])


def test_preference_test_equals_scipys_binomial_test():
    for wins_a in range(0, 41, 3):
        for wins_b in range(0, 41, 4):
            if wins_a + wins_b == 0:
                continue
            expected = binomtest(wins_a, wins_a + wins_b, 0.5).pvalue
            assert preference_test(wins_a, wins_b) == pytest.approx(expected, rel=1e-9, abs=1e-15)
    big = preference_test(5_230, 5_000)
    assert big == pytest.approx(binomtest(5_230, 10_230, 0.5).pvalue, rel=1e-9)
    assert preference_test(0, 0) == 1.0 and preference_test(7, 7) == 1.0
    wa, wb = np.array([60, 5, 0, 3]), np.array([40, 5, 0, 12])
    p = preference_test(wa, wb)
    assert p.shape == (4,) and p[0] == pytest.approx(binomtest(60, 100).pvalue) and p[2] == 1.0
    assert preference_test(np.int64(3), np.int32(9)) == pytest.approx(binomtest(3, 12).pvalue)


def test_preference_test_refuses_bad_counts():
    with pytest.raises(ValueError, match="wins_a must be >= 0"):
        preference_test(-1, 3)
    with pytest.raises(TypeError, match="wins_b must be an integer"):
        preference_test(3, 2.5)
    with pytest.raises(TypeError, match="wins_a must hold integer counts"):
        preference_test(np.array([1.0, 2.0]), np.array([1, 2]))
    with pytest.raises(ValueError, match="wins_b must hold counts >= 0"):
        preference_test(np.array([1, 2]), np.array([1, -2]))
    with pytest.raises(ValueError, match="wins_a and wins_b must have the same shape"):
        preference_test([1, 2], [1, 2, 3])


def test_interleaving_keeps_its_false_positive_rate_and_finds_a_better_ranker():
    """Two equally good rankers (one is the other with two items swapped, both equally relevant): the sign test
    rejects at about alpha; a ranker with a better top item wins significantly."""
    rng = np.random.default_rng(0)
    n_exp, n_users = 1_000, 200
    a = np.tile([0, 1, 2, 3, 4], (n_exp * n_users, 1))
    b = np.tile([1, 0, 2, 3, 4], (n_exp * n_users, 1))
    relevance = np.array([0.3, 0.3, 0.2, 0.1, 0.1, 0.6])
    shown, team = team_draft(a, b, random_state=rng)
    clicked = rng.random(shown.shape) < relevance[shown]
    team, clicked = team.reshape(n_exp, n_users, 5), clicked.reshape(n_exp, n_users, 5)
    wins = np.array([credit(team[i], clicked[i]) for i in range(n_exp)])
    rate = (preference_test(wins[:, 0], wins[:, 1]) < 0.05).mean()
    assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / n_exp)  # the exact sign test is conservative, never above alpha
    better = np.tile([5, 0, 2, 3, 4], (n_users * 5, 1))  # item 5 is the most relevant
    shown, team = team_draft(a[: n_users * 5], better, random_state=rng)
    wins_a, wins_b = credit(team, rng.random(shown.shape) < relevance[shown])
    assert wins_b > wins_a and preference_test(wins_a, wins_b) < 1e-6
