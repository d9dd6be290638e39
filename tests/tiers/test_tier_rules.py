"""Count and cumulative-value rules on hand-computed inputs, plus properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segml.tiers import assign_tiers, count_rule, cut_by_thresholds, value_rule

ABC = pd.CategoricalDtype(["A", "B", "C"], ordered=True)
ABCD = pd.CategoricalDtype(["A", "B", "C", "D"], ordered=True)


def tiers(mapping: dict[str, str], dtype=ABC) -> pd.Series:
    return pd.Series(
        list(mapping.values()), index=list(mapping), name="tier", dtype=dtype
    )


def values(mapping: dict[str, float]) -> pd.Series:
    return pd.Series(mapping, dtype="float64")


# --- count rule -----------------------------------------------------------------


def test_count_rule_default_shares_twenty_customers():
    ids = [f"c{i:02d}" for i in range(1, 21)]
    v = pd.Series(np.arange(20, 0, -1, dtype=float), index=ids)
    # n = 20: A = round(1.0) = 1, A+B = round(4.0) = 4
    expected = tiers(
        {i: "A" if k < 1 else "B" if k < 4 else "C" for k, i in enumerate(ids)}
    )
    pd.testing.assert_series_equal(assign_tiers(v), expected)


@pytest.mark.parametrize(
    ("n", "sizes"),
    [
        (10, [0, 2, 8]),  # 0.5 -> 0 (half to even), 2.0 -> 2
        (30, [2, 4, 24]),  # 1.5 -> 2, 6.0 -> 6
        (50, [2, 8, 40]),  # 2.5 -> 2, 10.0 -> 10
        (23570, [1178, 3536, 18856]),  # 1178.5 -> 1178, 4714.0
    ],
)
def test_count_rule_rounds_cumulative_shares_half_to_even(n, sizes):
    v = pd.Series(np.linspace(1000.0, 1.0, n))
    counts = assign_tiers(v, rule="count").value_counts(sort=False)
    assert counts.tolist() == sizes


def test_count_rule_ties_broken_by_customer_id_whatever_the_input_order():
    shares = (0.25, 0.25, 0.5)
    v = values({"c": 10.0, "b": 10.0, "a": 10.0, "d": 5.0})
    expected = tiers({"c": "C", "b": "B", "a": "A", "d": "C"})
    pd.testing.assert_series_equal(count_rule(v, shares=shares), expected)
    shuffled = v.iloc[[3, 1, 2, 0]]
    pd.testing.assert_series_equal(
        count_rule(shuffled, shares=shares), expected.iloc[[3, 1, 2, 0]]
    )


def test_count_rule_zero_and_negative_values_are_always_last_tier():
    v = values({"a": 0.0, "b": -5.0, "c": 3.0, "d": 1.0})
    # bounds (2, 3, 4): ranked c, d, a, b; a would be B by rank but has no value
    expected = tiers({"a": "C", "b": "C", "c": "A", "d": "A"})
    pd.testing.assert_series_equal(count_rule(v, shares=(0.5, 0.25, 0.25)), expected)


def test_count_rule_all_zero_and_nan_are_last_tier():
    v = pd.Series([0.0, np.nan, 0.0], index=["x", "y", "z"])
    expected = tiers({"x": "C", "y": "C", "z": "C"})
    pd.testing.assert_series_equal(assign_tiers(v, shares=(0.4, 0.3, 0.3)), expected)


def test_nan_value_counts_as_zero():
    v = values({"a": np.nan, "b": 5.0, "c": 1.0})
    expected = tiers({"a": "C", "b": "A", "c": "A"})
    pd.testing.assert_series_equal(count_rule(v, shares=(0.6, 0.2, 0.2)), expected)


def test_single_customer():
    one = values({"solo": 100.0})
    # count rule: round(0.05) = round(0.2) = 0 customers in A and B
    pd.testing.assert_series_equal(assign_tiers(one), tiers({"solo": "C"}))
    # value rule: the only customer crosses the 80 % threshold
    pd.testing.assert_series_equal(
        assign_tiers(one, rule="value"), tiers({"solo": "A"})
    )
    zero = values({"solo": 0.0})
    pd.testing.assert_series_equal(
        assign_tiers(zero, rule="value"), tiers({"solo": "C"})
    )


def test_count_rule_four_tiers():
    ids = list("abcdefghij")
    v = pd.Series(np.arange(10, 0, -1, dtype=float), index=ids)
    got = count_rule(v, shares=(0.1, 0.2, 0.3, 0.4), tiers=("A", "B", "C", "D"))
    labels = ["A", "B", "B", "C", "C", "C", "D", "D", "D", "D"]
    pd.testing.assert_series_equal(
        got, tiers(dict(zip(ids, labels, strict=True)), ABCD)
    )


def test_output_keeps_index_name_and_custom_labels():
    v = pd.Series([3.0, 2.0], index=pd.Index(["p", "q"], name="customer_id"))
    got = assign_tiers(v, shares=(0.5, 0.5), tiers=("gold", "silver"))
    assert got.index.name == "customer_id"
    assert list(got.cat.categories) == ["gold", "silver"]
    assert got.cat.ordered
    assert got.tolist() == ["gold", "silver"]


# --- value rule -----------------------------------------------------------------


def test_value_rule_customer_reaching_threshold_exactly_starts_next_tier():
    v = values({"a": 50.0, "b": 30.0, "c": 10.0, "d": 6.0, "e": 4.0})
    # before each: 0, 50, 80, 90, 96 against thresholds 80 and 95
    expected = tiers({"a": "A", "b": "A", "c": "B", "d": "B", "e": "C"})
    pd.testing.assert_series_equal(assign_tiers(v, rule="value"), expected)


def test_value_rule_crossing_customer_belongs_to_upper_tier():
    v = values({"a": 70.0, "b": 20.0, "c": 6.0, "d": 4.0})
    # b crosses 80 % (70 -> 90): A; c crosses 95 % (90 -> 96): B
    expected = tiers({"a": "A", "b": "A", "c": "B", "d": "C"})
    pd.testing.assert_series_equal(value_rule(v), expected)


def test_value_rule_ties_broken_by_customer_id():
    v = values({"d": 5.0, "c": 5.0, "b": 45.0, "a": 45.0})
    # a (0), b (45), c (90) -> B, d (95) -> C although c and d are tied
    expected = tiers({"d": "C", "c": "B", "b": "A", "a": "A"})
    pd.testing.assert_series_equal(value_rule(v), expected)


def test_value_rule_zero_and_negative_values_are_last_and_outside_the_total():
    v = values({"a": 60.0, "b": 0.0, "c": -10.0, "d": 40.0})
    # total of positive value = 100; d crosses 80 % so no one is B
    expected = tiers({"a": "A", "b": "C", "c": "C", "d": "A"})
    pd.testing.assert_series_equal(value_rule(v), expected)


def test_value_rule_four_tiers():
    v = values({"a": 50.0, "b": 25.0, "c": 15.0, "d": 10.0})
    got = value_rule(v, shares=(0.5, 0.25, 0.15, 0.1), tiers=("A", "B", "C", "D"))
    expected = tiers({"a": "A", "b": "B", "c": "C", "d": "D"}, ABCD)
    pd.testing.assert_series_equal(got, expected)


# --- thresholds -----------------------------------------------------------------


def test_cut_by_thresholds_ties_share_the_upper_tier():
    v = values({"a": 100.0, "b": 20.0, "c": 20.0, "d": -1.0, "e": 19.99})
    expected = tiers({"a": "A", "b": "B", "c": "B", "d": "C", "e": "C"})
    pd.testing.assert_series_equal(cut_by_thresholds(v, [100.0, 20.0]), expected)


def test_cut_by_thresholds_rejects_bad_thresholds():
    with pytest.raises(ValueError, match="thresholds has 1 entries"):
        cut_by_thresholds(values({"a": 1.0}), [1.0])
    with pytest.raises(ValueError, match="must not increase"):
        cut_by_thresholds(values({"a": 1.0}), [1.0, 2.0])


# --- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shares": (0.1, 0.2, 0.3)}, "shares must sum to 1"),
        ({"shares": (1.2, -0.1, -0.1)}, r"shares must each lie in \(0, 1\)"),
        ({"shares": (0.5, 0.5, 0.0)}, r"shares must each lie in \(0, 1\)"),
        ({"shares": (0.5, 0.5)}, "shares has 2 entries but tiers has 3"),
        ({"tiers": ("A", "B", "C", "D")}, "shares must be given"),
        ({"tiers": ("A",), "shares": (1.0,)}, "tiers needs at least two"),
        ({"tiers": ("A", "A", "B")}, "tiers must be unique"),
        ({"rule": "pareto"}, "rule must be"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        assign_tiers(values({"a": 1.0, "b": 2.0}), **kwargs)


@pytest.mark.parametrize(
    ("v", "match"),
    [
        (pd.Series([], dtype=float), "values is empty"),
        (pd.Series([1.0, 2.0], index=["a", "a"]), "repeated ids"),
        (pd.Series([1.0, np.inf]), "finite"),
        (pd.Series(["x", "y"]), "numeric"),
    ],
)
def test_invalid_values(v, match):
    with pytest.raises(ValueError, match=match):
        assign_tiers(v)


def test_composite_needs_a_frame():
    with pytest.raises(ValueError, match="feature DataFrame"):
        assign_tiers(values({"a": 1.0}), rule="composite")


def test_input_is_not_mutated():
    v = values({"a": np.nan, "b": 2.0})
    before = v.copy()
    assign_tiers(v, rule="value")
    pd.testing.assert_series_equal(v, before)


# --- properties -----------------------------------------------------------------

amounts = st.lists(
    st.floats(min_value=0.01, max_value=1e6, allow_nan=False), min_size=1, max_size=200
)
signed = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=-1e4, max_value=1e6, allow_nan=False)),
    min_size=1,
    max_size=200,
)


def _half_even(x: float) -> int:
    return int(np.rint(round(x, 9)))


@settings(max_examples=60, deadline=None)
@given(amounts)
def test_count_rule_sizes_match_shares_up_to_rounding(xs):
    n = len(xs)
    got = assign_tiers(pd.Series(xs)).value_counts(sort=False).tolist()
    a, ab = _half_even(0.05 * n), _half_even(0.20 * n)
    assert got == [a, ab - a, n - ab]


@settings(max_examples=60, deadline=None)
@given(signed, st.sampled_from(["count", "value"]))
def test_tiers_are_monotone_in_value(xs, rule):
    v = pd.Series(xs)
    codes = assign_tiers(v, rule=rule).cat.codes.to_numpy()
    order = np.argsort(-v.to_numpy(), kind="stable")
    assert np.all(np.diff(codes[order]) >= 0)
    assert np.all(codes[v.to_numpy() <= 0] == 2)


@settings(max_examples=60, deadline=None)
@given(signed)
def test_value_rule_shares_cross_each_threshold_with_their_last_member(xs):
    v = pd.Series(xs)
    codes = assign_tiers(v, rule="value").cat.codes.to_numpy()
    pos = v.to_numpy() > 0
    total = v[pos].sum()
    if total == 0:
        assert np.all(codes == 2)
        return
    for j, threshold in enumerate((0.80, 0.95)):
        members = v.to_numpy()[(codes <= j) & pos]
        share = members.sum() / total
        assert share >= threshold - 1e-9
        assert share - members.min() / total < threshold + 1e-9
