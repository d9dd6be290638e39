"""The blend of persistence and BG/NBD: ranks, cut, serving, and its place
among the candidates (shipped, never a baseline)."""

import numpy as np
import pandas as pd
import pytest

from segml.app.baselines import run_baselines
from segml.model.blend import BlendFallback, blend_codes, percentile_ranks
from segml.model.fallback import MajorityFallback, PersistenceFallback


def _part(column):
    return PersistenceFallback(
        column=column, thresholds=np.array([5.0, 1.0]), proba=np.eye(3)
    )


def _reference():
    # ten customers; spend_90d and spend_30d disagree about who is best
    return pd.DataFrame(
        {
            "spend_90d": [50.0, 40, 30, 20, 10, 5, 0, 0, 0, 0],
            "spend_30d": [0.0, 40, 45, 20, 1, 0, 3, 0, 0, 0],
        }
    )


def test_percentile_ranks_by_hand():
    ref = np.sort(np.array([0.0, 0, 0, 4, 8]))
    # 0: 3 tied at the bottom -> (0 + 3) / 10; 4: (3 + 4) / 10; 9: above all
    assert percentile_ranks(ref, np.array([0.0, 4.0, 9.0, -1.0])).tolist() == [
        0.3,
        0.7,
        1.0,
        0.0,
    ]


def test_blend_cuts_the_reference_into_its_tier_counts_by_mean_rank():
    ref = _reference()
    codes = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2, 2])  # 1 A, 3 B, 6 C
    fb = BlendFallback.fit(
        (_part("spend_90d"), _part("spend_30d")), ref, codes, codes, codes, 3
    )
    got, proba, value = fb.predict_rows(ref, np.arange(10))
    # mean ranks by hand (ref sorted per column, mid-rank for ties):
    # spend_90d: 0 -> .2, 5 -> .45, 10 -> .55, 20 -> .65, 30 -> .75, 40 -> .85,
    #            50 -> .95; spend_30d: 0 -> .25, 1 -> .55, 3 -> .65,
    #            20 -> .75, 40 -> .85, 45 -> .95
    expected = np.array(
        [(0.95 + 0.25), (0.85 + 0.85), (0.75 + 0.95), (0.65 + 0.75),
         (0.55 + 0.55), (0.45 + 0.25), (0.2 + 0.65), 0.45, 0.45, 0.45]
    ) / 2  # fmt: skip
    np.testing.assert_allclose(value, expected)
    # customers 1 and 2 tie at the top (0.85) for the one A place: both in A
    # or both out is one row off the rule either way, so by the tie rule both
    # go to the lower tier; B then ends where the rule says, after 4 rows
    # (1, 2, then 3 at .7 and 0 at .6)
    assert got.tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 2, 2]
    assert proba.shape == (10, 3)


def test_a_row_scored_alone_gets_its_batch_tier():
    ref = _reference()
    codes = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2, 2])
    fb = BlendFallback.fit(
        (_part("spend_90d"), _part("spend_30d")), ref, codes, codes, codes, 3
    )
    batch = fb.predict_rows(ref, np.arange(10))[0]
    alone = [fb.predict_rows(ref.iloc[[i]], np.arange(1))[0][0] for i in range(10)]
    assert alone == batch.tolist()
    # new rows are ranked against the reference, not against each other
    new = pd.DataFrame({"spend_90d": [100.0], "spend_30d": [100.0]})
    assert fb.predict_rows(new, np.arange(1))[0].tolist() == [0]


def test_blend_codes_ties_go_to_the_lower_tier():
    a = np.array([4.0, 3, 2, 1])
    b = np.array([1.0, 4, 3, 2])
    # mean ranks .5, .75, .5, .25: rows 0 and 2 tie for the one B place
    assert blend_codes([a, b], np.array([1, 1, 2])).tolist() == [2, 0, 2, 2]
    assert blend_codes([a, b], np.array([1, 2, 1])).tolist() == [1, 0, 1, 2]


def test_the_blend_is_shipped_but_never_measured_as_a_baseline():
    ref = _reference()
    codes = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2, 2])
    blend = BlendFallback.fit(
        (_part("spend_90d"), _part("spend_30d")), ref, codes, codes, codes, 3
    )
    fallbacks = {
        "history": {
            "majority": MajorityFallback.fit(codes, 3),
            "persistence": _part("spend_90d"),
            "blend": blend,
        }
    }
    X = ref.assign(has_history=True)
    truth = pd.Series(np.array(list("ABC"))[codes])
    tables, found = run_baselines(
        truth, X, np.full(10, "history", dtype=object), fallbacks, ("A", "B", "C")
    )
    assert set(tables) == set(found) == {"majority", "persistence"}


@pytest.mark.parametrize("counts", [np.array([0, 0, 0]), np.array([2, 0, 0])])
def test_cut_rescales_reference_counts(counts):
    values = [np.arange(10.0), np.arange(10.0)]
    got = blend_codes(values, counts)
    assert len(got) == 10
    if counts.sum() == 0:
        assert set(got.tolist()) == {2}
    else:
        assert set(got.tolist()) == {0}


def test_a_large_reference_is_kept_as_quantiles_with_the_same_tiers():
    from segml.model import blend

    rng = np.random.default_rng(0)
    n = 3 * blend.REFERENCE_POINTS
    ref = pd.DataFrame(
        {
            "spend_90d": np.where(rng.random(n) < 0.6, 0.0, rng.gamma(1.0, 50.0, n)),
            "spend_30d": rng.gamma(0.5, 20.0, n),
        }
    )
    codes = np.repeat([0, 1, 2], [n // 20, 3 * n // 20, n - n // 5])
    fb = BlendFallback.fit(
        (_part("spend_90d"), _part("spend_30d")), ref, codes, codes, codes, 3
    )
    assert all(len(r) == blend.REFERENCE_POINTS for r in fb.references)
    got = fb.predict_rows(ref, np.arange(n))[0]
    exact = blend_codes([ref["spend_90d"], ref["spend_30d"]], np.bincount(codes))
    # ranks move by at most 1/100,000: a handful of rows at the cuts change
    assert (got != exact).mean() < 0.001
