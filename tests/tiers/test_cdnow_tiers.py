"""Golden numbers on CDNOW (Fader, Hardie & Lee 2005; shipped as load_cdnow()).

Customers: everyone with a purchase by 1997-09-30 (all 23,570 first-quarter
cohort customers). Value: their spend from 1997-10-01 to 1998-06-30, 0 for those
who did not buy again (16,512 of them).
"""

from __future__ import annotations

import pandas as pd
import pytest

from segml.datasets import load_cdnow
from segml.tiers import TierAssigner, assign_tiers, pareto_table


@pytest.fixture(scope="module")
def later_spend() -> pd.Series:
    tx = load_cdnow()
    known = tx.loc[tx["ts"] <= "1997-09-30", "customer_id"].unique()
    window = tx[(tx["ts"] >= "1997-10-01") & (tx["ts"] <= "1998-06-30")]
    spend = window.groupby("customer_id")["amount"].sum()
    return spend.reindex(pd.Index(known, name="customer_id"), fill_value=0.0)


def test_population(later_spend):
    assert len(later_spend) == 23_570
    assert int((later_spend > 0).sum()) == 7_058


def test_count_rule_golden_sizes(later_spend):
    counts = assign_tiers(later_spend, rule="count").value_counts(sort=False)
    assert counts.to_dict() == {"A": 1_178, "B": 3_536, "C": 18_856}


def test_value_rule_shares_within_one_customer(later_spend):
    tiers = assign_tiers(later_spend, rule="value")
    table = pareto_table(later_spend, tiers)
    total = later_spend.sum()
    for tier, target in (("A", 0.80), ("B", 0.95)):
        members = later_spend[tiers <= tier]  # this tier and the ones above
        cum = table.loc[tier, "cum_value_share"]
        last = members.min() / total  # the member that crossed the threshold
        assert target <= cum < target + last
    shares = table["value_share"]
    largest = later_spend.max() / total
    for tier, target in zip("ABC", (0.80, 0.15, 0.05), strict=True):
        assert abs(shares[tier] - target) <= largest


def test_value_rule_sizes_regression(later_spend):
    # segml's own output (not from a publication): guards the rule against drift
    counts = assign_tiers(later_spend, rule="value").value_counts(sort=False)
    assert counts.to_dict() == {"A": 2_700, "B": 2_276, "C": 18_594}


def test_learned_thresholds_reproduce_the_fresh_cut(later_spend):
    est = TierAssigner(rule="count")
    fresh = est.fit_predict(later_spend)
    again = est.predict(later_spend)
    # only customers tied with the lowest member of an upper tier may move up
    moved = fresh != again
    assert moved.sum() <= 5
    assert (later_spend[moved].isin(est.thresholds_.to_numpy())).all()
