"""TierAssigner: learned thresholds, fresh cuts, composite reference ranks."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from segml.tiers import TierAssigner, assign_tiers

ABC = pd.CategoricalDtype(["A", "B", "C"], ordered=True)
CRITERIA = {"net_spend": 0.5, "orders": 0.25, "mean_days_late": 0.25}


@pytest.fixture
def last_year() -> pd.Series:
    return pd.Series(
        [900.0, 300.0, 100.0, 50.0, 0.0],
        index=pd.Index(list("abcde"), name="customer_id"),
        name="net_spend",
    )


def test_thresholds_are_lowest_value_of_each_upper_tier(last_year):
    est = TierAssigner(shares=(0.2, 0.4, 0.4)).fit(last_year)
    expected = pd.Series(
        [900.0, 100.0], index=pd.Index(["A", "B"], name="tier"), name="threshold"
    )
    pd.testing.assert_series_equal(est.thresholds_, expected)
    assert est.tiers_ == ("A", "B", "C")


def test_predict_cuts_a_later_period_with_learned_thresholds(last_year):
    est = TierAssigner(shares=(0.2, 0.4, 0.4)).fit(last_year)
    this_year = pd.Series([1000.0, 899.0, 100.0, 99.0, -5.0], index=list("afghi"))
    expected = pd.Series(
        ["A", "B", "B", "C", "C"], index=list("afghi"), name="tier", dtype=ABC
    )
    pd.testing.assert_series_equal(est.predict(this_year), expected)
    pd.testing.assert_frame_equal(est.transform(this_year), expected.to_frame())
    # cut afresh, the same period would give other tiers
    fresh = assign_tiers(this_year, shares=(0.2, 0.4, 0.4))
    assert fresh.tolist() == ["A", "B", "B", "C", "C"]


def test_fit_predict_is_the_fresh_cut(last_year):
    for rule in ("count", "value"):
        got = TierAssigner(rule=rule).fit_predict(last_year)
        pd.testing.assert_series_equal(got, assign_tiers(last_year, rule=rule))


def test_value_rule_thresholds(last_year):
    # total 1350: a 0 -> A, b 900 (66.7 %) -> A, c 1200 (88.9 %) -> B,
    # d 1300 (96.3 %) -> C
    est = TierAssigner(rule="value").fit(last_year)
    assert est.thresholds_.tolist() == [300.0, 100.0]
    assert est.predict(last_year).tolist() == ["A", "A", "B", "C", "C"]


def test_empty_upper_tier_threshold_is_inf():
    est = TierAssigner().fit(pd.Series([5.0, 3.0]))  # n=2: A and B empty
    assert est.thresholds_.tolist() == [np.inf, np.inf]
    assert est.predict(pd.Series([1e9])).tolist() == ["C"]


def test_ties_at_a_boundary_share_the_upper_tier_when_predicting():
    v = pd.Series([10.0, 10.0, 1.0], index=["a", "b", "c"])
    est = TierAssigner(shares=(1 / 3, 1 / 3, 1 / 3))
    assert est.fit_predict(v).tolist() == ["A", "B", "C"]
    assert est.predict(v).tolist() == ["A", "A", "C"]


def test_frame_input_uses_value_col_and_keeps_the_index(last_year):
    frame = last_year.to_frame().assign(orders=[9, 5, 3, 1, 0])
    est = TierAssigner(shares=(0.2, 0.4, 0.4)).fit(frame)
    got = est.predict(frame)
    assert got.index.equals(frame.index)
    assert est.n_features_in_ == 2
    assert list(est.feature_names_in_) == ["net_spend", "orders"]
    with pytest.raises(ValueError, match="value_col='spend' is not a column"):
        TierAssigner(value_col="spend").fit(frame)


def test_composite_estimator_ranks_new_rows_against_the_fitted_population():
    feats = pd.DataFrame(
        {
            "net_spend": [400.0, 100.0, 300.0, 0.0],
            "orders": [4, 1, 6, 0],
            "mean_days_late": [0.0, 30.0, 10.0, np.nan],
        },
        index=list("abcd"),
    )
    est = TierAssigner(rule="composite", criteria=CRITERIA, shares=(0.25, 0.25, 0.5))
    assert est.fit_predict(feats).tolist() == ["A", "C", "B", "C"]
    assert est.thresholds_.tolist() == pytest.approx(
        [0.9375, 0.5 * 0.75 + 0.25 + 1 / 6]
    )
    new = pd.DataFrame(
        {
            "net_spend": [500.0, 350.0, 0.0],
            "orders": [7, 5, 9],
            "mean_days_late": [0.0, 5.0, 0.0],
        },
        index=["x", "y", "z"],
    )
    # x: ranks 1, 1, 1 -> 1.0 (A); y: .75, .75, 2/3 -> .729 (C); z: no spend (C)
    assert est.predict(new).tolist() == ["A", "C", "C"]
    assert est.criteria_ == CRITERIA


def test_pickle_round_trip_and_idempotent_fit(last_year):
    est = TierAssigner(rule="value").fit(last_year)
    first = est.predict(last_year)
    again = pickle.loads(pickle.dumps(est)).predict(last_year)
    pd.testing.assert_series_equal(first, again)
    pd.testing.assert_series_equal(est.fit(last_year).predict(last_year), first)
    pd.testing.assert_series_equal(est.predict(last_year.iloc[::-1]), first.iloc[::-1])
    pd.testing.assert_series_equal(est.predict(last_year.iloc[1:3]), first.iloc[1:3])


def test_not_fitted_and_invalid_parameters(last_year):
    with pytest.raises(NotFittedError):
        TierAssigner().predict(last_year)
    with pytest.raises(ValueError, match="shares must sum to 1"):
        TierAssigner(shares=(0.5, 0.2, 0.2)).fit(last_year)
    with pytest.raises(ValueError, match="rule must be"):
        TierAssigner(rule="abc").fit(last_year)
    with pytest.raises(ValueError, match="cut must be"):
        TierAssigner(rule="composite", cut="abc").fit(last_year)
    with pytest.raises(ValueError, match="X is empty"):
        TierAssigner().fit(last_year.iloc[:0])


def test_get_feature_names_out(last_year):
    est = TierAssigner().fit(last_year)
    assert est.get_feature_names_out().tolist() == ["tier"]
