"""Drift: PSI computed by hand on tiny data, tier changes, near thresholds."""

import math

import numpy as np
import pandas as pd
import pytest

from segml.monitor import (
    BinnedReference,
    near_threshold,
    psi,
    psi_table,
    reference_bins,
    reference_profile,
    tier_change,
)


def test_psi_by_hand_on_a_median_split():
    # reference median 2.5 -> bins (-inf, 2.5], (2.5, inf), missing: 0.5 / 0.5 / 0
    # current 0.75 / 0.25 / 0 -> 0.25 ln 1.5 + (-0.25) ln 0.5 (missing: eps vs eps)
    expected = 0.25 * math.log(1.5) + 0.25 * math.log(2.0)
    got = psi(pd.Series([1.0, 2.0, 3.0, 4.0]), pd.Series([1, 1, 1, 4.0]), bins=2)
    assert got == pytest.approx(expected, abs=1e-12)


def test_identical_distributions_have_zero_psi():
    x = pd.Series(np.arange(100.0))
    assert psi(x, x.sample(frac=1.0, random_state=0)) == pytest.approx(0.0)


def test_missing_values_are_a_bin_of_their_own():
    ref = pd.Series([1.0, 2.0, np.nan, np.nan])  # median of 1, 2: 1.5
    bins = reference_bins(ref, bins=2)
    assert bins.edges == (1.5,) and bins.shares == (0.25, 0.25, 0.5)
    # current: no missing value: 0.5 / 0.5 / 0 -> empty bin counts as eps = 1e-4
    cur = pd.Series([1.0, 2.0, 1.0, 2.0])
    expected = 2 * (0.5 - 0.25) * math.log(0.5 / 0.25) + (1e-4 - 0.5) * math.log(
        1e-4 / 0.5
    )
    assert psi(bins, cur) == pytest.approx(expected, rel=1e-12)


def test_repeated_quantiles_are_merged():
    # 60 % zeros: deciles 0 .. 0, 1, 2, 3, 4 collapse to edges 0, .., 4 unique
    ref = pd.Series([0.0] * 6 + [1.0, 2.0, 3.0, 4.0])
    bins = reference_bins(ref, bins=10)
    assert bins.edges[0] == 0.0 and len(set(bins.edges)) == len(bins.edges)
    assert bins.shares[0] == pytest.approx(0.6)  # every zero in (-inf, 0]
    assert sum(bins.shares) == pytest.approx(1.0)


def test_categorical_bins_with_an_unseen_category():
    ref = pd.Series(["a", "a", "b", "b"])
    bins = reference_bins(ref, bins=10)
    assert bins.kind == "categorical" and bins.labels == ["a", "b", "other", "missing"]
    cur = pd.Series(["a", "a", "c", None])
    # shares a .5/.5, b .5/0 (eps), other 0 (eps)/.25, missing 0 (eps)/.25
    e = 1e-4
    expected = 0.0 + (e - 0.5) * math.log(e / 0.5) + 2 * (0.25 - e) * math.log(0.25 / e)
    assert psi(bins, cur) == pytest.approx(expected, rel=1e-12)


def test_profile_round_trips_through_json():
    frame = pd.DataFrame({"x": [1.0, 5.0, np.nan, 7.0], "c": ["u", "v", "u", None]})
    profile = reference_profile(frame, bins=3)
    again = {k: BinnedReference.from_dict(v.to_dict()) for k, v in profile.items()}
    assert again == profile
    now = pd.DataFrame({"x": [9.0, 9.0, 9.0, 1.0], "c": ["v", "v", "v", "u"]})
    assert psi_table(again, now).equals(psi_table(frame, now, bins=3))


def test_psi_table_is_sorted_and_counts_missing():
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 3.0, np.nan]})
    cur = pd.DataFrame({"x": [1.0, 1.0, 1.0, 4.0], "y": [1.0, 2.0, 3.0, 4.0]})
    table = psi_table(ref, cur, bins=2)
    assert table["feature"].tolist() == ["y", "x"]
    assert table["psi"].iloc[1] == pytest.approx(0.25 * math.log(3.0), rel=1e-12)
    assert table.set_index("feature").loc["y", "reference_missing"] == 0.25
    assert table.set_index("feature").loc["y", "current_missing"] == 0.0


def test_psi_table_names_a_missing_column():
    with pytest.raises(ValueError, match=r"column\(s\) \['z'\] missing"):
        psi_table(
            pd.DataFrame({"z": [1.0, 2.0]}), pd.DataFrame({"x": [1.0]}), columns=["z"]
        )


def test_tier_change_counts_only_customers_in_both():
    before = pd.Series(
        pd.Categorical(["A", "B", "C", "C"], categories=list("ABC"), ordered=True),
        index=list("abcd"),
    )
    after = pd.Series(["B", "B", "A", "C", "A"], index=list("abcde"))
    change = tier_change(before, after)
    assert (change.customers, change.changed, change.up, change.down) == (4, 2, 1, 1)
    assert change.share == 0.5


def test_tier_change_with_nobody_in_common():
    change = tier_change(pd.Series(["A"], index=["a"]), pd.Series(["A"], index=["b"]))
    assert change.customers == 0 and math.isnan(change.share)


def test_near_threshold_by_hand():
    values = pd.Series([105.0, 94.0, 52.0, 10.0, 0.0], index=list("abcde"))
    out = near_threshold(values, {"A": 100.0, "B": 50.0}, within=0.05)
    assert out["near"].tolist() == [True, False, True, False, False]
    # 0 is 100 % below both: a tie goes to the better tier
    assert out["threshold"].tolist() == ["A", "A", "B", "B", "A"]
    assert out["gap"].round(6).tolist() == [0.05, -0.06, 0.04, -0.8, -1.0]


def test_near_threshold_ignores_empty_tiers():
    out = near_threshold(pd.Series([5.0]), {"A": np.inf, "B": 5.0}, within=0.01)
    assert out["near"].tolist() == [True] and out["threshold"].tolist() == ["B"]
