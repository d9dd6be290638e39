"""The tie rule of the rank cut, on hand-made scores."""

import numpy as np
import pytest

from segml.model.route import rank_thresholds


def tiers_of(score, cuts):
    return (np.asarray(score)[:, None] < cuts[None, :]).sum(axis=1)


def test_all_tied_rows_go_to_the_lower_tier():
    # 20 rows with one score, 5/15/80: putting them all in A would give A 100 %
    score = np.full(20, 0.7)
    cuts = rank_thresholds(score, np.zeros(20, int), 3, (0.05, 0.15, 0.80))
    assert tiers_of(score, cuts).tolist() == [2] * 20


def test_tied_block_goes_where_the_share_stays_closest():
    # 10 rows, 30/70: the top 3 are wanted in A. Scores: 1 row at 0.9 and a
    # block of 4 at 0.6. Cutting below the block gives A 5 rows (|5-3| = 2),
    # above it 1 row (|1-3| = 2): equal distance -> the lower tier.
    score = np.array([0.9, 0.6, 0.6, 0.6, 0.6, 0.2, 0.2, 0.1, 0.1, 0.1])
    cuts = rank_thresholds(score, np.zeros(10, int), 2, (0.3, 0.7))
    assert tiers_of(score, cuts).tolist() == [0] + [1] * 9
    # a block of 3 at 0.6 (A would get 4, |4-3| = 1, vs 1, |1-3| = 2): upper tier
    score = np.array([0.9, 0.6, 0.6, 0.6, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    cuts = rank_thresholds(score, np.zeros(10, int), 2, (0.3, 0.7))
    assert tiers_of(score, cuts).tolist() == [0, 0, 0, 0] + [1] * 6


def test_without_ties_the_shares_are_exact():
    rng = np.random.default_rng(0)
    score = rng.random(1000)
    cuts = rank_thresholds(score, np.zeros(1000, int), 3, (0.05, 0.15, 0.80))
    counts = np.bincount(tiers_of(score, cuts), minlength=3)
    assert counts.tolist() == [50, 150, 800]


@pytest.mark.parametrize("n_values", [2, 3, 5])
def test_few_distinct_scores_never_give_a_tier_more_than_its_rule_plus_a_block(
    n_values,
):
    rng = np.random.default_rng(n_values)
    score = rng.integers(0, n_values, 500) / n_values
    cuts = rank_thresholds(score, np.zeros(500, int), 3, (0.05, 0.15, 0.80))
    tiers = tiers_of(score, cuts)
    top_share = (tiers == 0).mean()
    block = max(np.bincount((score * n_values).astype(int))) / 500
    # the top tier is either empty or within one tied block of 5 %
    assert top_share <= 0.05 + block / 2 + 1e-9
