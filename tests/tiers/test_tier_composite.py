"""Composite score: percentile ranks, weights, directions, and its tier cuts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.tiers import assign_tiers, composite_score, percentile_rank
from segml.tiers.composite import resolve_criteria

ABC = pd.CategoricalDtype(["A", "B", "C"], ordered=True)
CRITERIA = {"net_spend": 0.5, "orders": 0.25, "mean_days_late": 0.25}


@pytest.fixture
def feats() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "net_spend": [400.0, 100.0, 300.0, 0.0],
            "orders": [4, 1, 6, 0],
            "mean_days_late": [0.0, 30.0, 10.0, np.nan],
            "region": ["n", "s", "n", "e"],
        },
        index=pd.Index(list("abcd"), name="customer_id"),
    )


def test_percentile_rank_both_directions_and_nan():
    x = pd.Series([0.0, 30.0, 10.0, np.nan])
    pd.testing.assert_series_equal(
        percentile_rank(x), pd.Series([1 / 3, 1.0, 2 / 3, 0.5])
    )
    pd.testing.assert_series_equal(
        percentile_rank(x, higher_is_better=False), pd.Series([1.0, 1 / 3, 2 / 3, 0.5])
    )


def test_percentile_rank_against_a_reference():
    ref = pd.Series([10.0, 20.0, 30.0, 40.0])
    got = percentile_rank(pd.Series([5.0, 20.0, 99.0]), ref)
    pd.testing.assert_series_equal(got, pd.Series([0.0, 0.5, 1.0]))


def test_composite_score_hand_computed(feats):
    # net_spend ranks 1, .5, .75, .25; orders .75, .5, 1, .25;
    # mean_days_late (lower is better) 1, 1/3, 2/3, NaN -> .5
    expected = pd.Series(
        [
            0.5 * 1 + 0.25 * 0.75 + 0.25 * 1,
            0.5 * 0.5 + 0.25 * 0.5 + 0.25 / 3,
            0.5 * 0.75 + 0.25 * 1 + 0.25 * 2 / 3,
            0.5 * 0.25 + 0.25 * 0.25 + 0.25 * 0.5,
        ],
        index=feats.index,
        name="score",
    )
    pd.testing.assert_series_equal(composite_score(feats, CRITERIA), expected)


def test_higher_is_better_can_be_overridden(feats):
    plain = composite_score(feats, {"mean_days_late": 1.0})
    flipped = composite_score(
        feats, {"mean_days_late": 1.0}, higher_is_better={"mean_days_late": True}
    )
    assert plain.tolist() == [1.0, 1 / 3, 2 / 3, 0.5]
    assert flipped.tolist() == [1 / 3, 1.0, 2 / 3, 0.5]


def test_composite_count_cut(feats):
    # scores a .9375, c .79, b .46, d .31; d has no spend -> last tier
    got = assign_tiers(
        feats, rule="composite", criteria=CRITERIA, shares=(0.25, 0.25, 0.5)
    )
    expected = pd.Series(
        ["A", "C", "B", "C"], index=feats.index, name="tier", dtype=ABC
    )
    pd.testing.assert_series_equal(got, expected)


def test_composite_value_cut(feats):
    # d's score is set to 0 (no spend); total 2.1875, thresholds 1.09375 and 1.75:
    # a before 0 -> A, c before .9375 -> A, b before 1.729 -> B
    got = assign_tiers(
        feats,
        rule="composite",
        criteria=CRITERIA,
        cut="value",
        shares=(0.5, 0.3, 0.2),
    )
    expected = pd.Series(
        ["A", "B", "A", "C"], index=feats.index, name="tier", dtype=ABC
    )
    pd.testing.assert_series_equal(got, expected)


def test_composite_without_value_col_does_not_force(feats):
    got = assign_tiers(
        feats,
        rule="composite",
        criteria={"orders": 1.0},
        shares=(0.25, 0.25, 0.5),
        value_col=None,
    )
    assert got.tolist() == ["B", "C", "A", "C"]


def test_default_criteria_skip_absent_columns_with_a_warning(feats):
    with pytest.warns(UserWarning, match=r"\['margin', 'spend_trend'\]"):
        weights = resolve_criteria(feats, None)
    assert weights == pytest.approx(
        {"net_spend": 0.5, "orders": 1 / 3, "mean_days_late": 1 / 6}
    )
    with pytest.warns(UserWarning, match="margin"):
        score = composite_score(feats)
    assert score.between(0, 1).all()


def test_all_nan_default_criterion_is_skipped_too(feats):
    # segml's feature builder leaves margin NaN when no cost is recorded
    with_margin = feats.assign(margin=np.nan, spend_trend=[1.0, 0.5, -0.2, 0.0])
    with pytest.warns(UserWarning, match=r"\['margin'\] are absent or all NaN"):
        weights = resolve_criteria(with_margin, None)
    assert "margin" not in weights
    with pytest.raises(ValueError, match=r"\['margin'\] hold no value"):
        resolve_criteria(with_margin, {"margin": 1.0})


def test_explicit_missing_criterion_is_an_error(feats):
    with pytest.raises(ValueError, match=r"criteria column\(s\) \['margin'\]"):
        composite_score(feats, {"net_spend": 0.5, "margin": 0.5})


def test_no_default_criterion_present_is_an_error():
    with pytest.raises(ValueError, match="none of the default criteria"):
        composite_score(pd.DataFrame({"x": [1.0]}))


@pytest.mark.parametrize(
    ("criteria", "match"),
    [
        ({"net_spend": 0.5, "orders": 0.4}, "weights must sum to 1"),
        ({"net_spend": 1.5, "orders": -0.5}, r"lie in \(0, 1\]"),
        ({}, "non-empty mapping"),
    ],
)
def test_invalid_weights(feats, criteria, match):
    with pytest.raises(ValueError, match=match):
        composite_score(feats, criteria)


def test_non_numeric_criterion_and_empty_frame(feats):
    with pytest.raises(ValueError, match="'region' must be numeric"):
        composite_score(feats, {"region": 1.0})
    with pytest.raises(ValueError, match="features is empty"):
        composite_score(feats.iloc[:0], CRITERIA)


def test_single_customer_composite():
    one = pd.DataFrame({"net_spend": [10.0], "orders": [2]}, index=["solo"])
    score = composite_score(one, {"net_spend": 0.5, "orders": 0.5})
    assert score.tolist() == [1.0]
    got = assign_tiers(one, rule="composite", criteria={"net_spend": 1.0}, cut="value")
    assert got.tolist() == ["A"]
