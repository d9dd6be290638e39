"""Tier migration between two dates, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.tiers import tier_migration


@pytest.fixture
def moves():
    before = pd.Series(["A", "B", "C", "C", "B", "A"], index=list("abcdfg"))
    # a A->B, b B->B, c C->A, d C->gone, f B->C, g A->C, h new->A, e new->B
    after = pd.Series(["B", "B", "A", "C", "C", "A", "B"], index=list("abcfghe"))
    return before, after


def test_counts_and_shares(moves):
    m = tier_migration(*moves)
    expected = pd.DataFrame(
        [[0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [1, 1, 0, 0]],
        index=pd.Index(["A", "B", "C", "new"], name="before"),
        columns=["A", "B", "C", "gone"],
        dtype="int64",
    )
    pd.testing.assert_frame_equal(m.counts, expected)
    pd.testing.assert_frame_equal(
        m.shares, expected.div(expected.sum(axis=1), axis=0).astype(float)
    )


def test_risers_and_fallers(moves):
    m = tier_migration(*moves)
    risers = pd.DataFrame(
        {"customer_id": ["c"], "before": ["C"], "after": ["A"], "steps": [2]}
    )
    fallers = pd.DataFrame(
        {
            "customer_id": ["g", "a", "f"],
            "before": ["A", "A", "B"],
            "after": ["C", "B", "C"],
            "steps": [2, 1, 1],
        }
    )
    pd.testing.assert_frame_equal(m.risers, risers, check_dtype=False)
    pd.testing.assert_frame_equal(m.fallers, fallers, check_dtype=False)
    assert m.risers["steps"].dtype == "int64"


def test_empty_row_share_is_nan_and_tier_order_from_categories():
    dtype = pd.CategoricalDtype(["A", "B", "C", "D"], ordered=True)
    before = pd.Series(["D"], index=["x"], dtype=dtype)
    after = pd.Series(["A"], index=["x"], dtype=dtype)
    m = tier_migration(before, after)
    assert m.counts.index.tolist() == ["A", "B", "C", "D", "new"]
    assert m.counts.columns.tolist() == ["A", "B", "C", "D", "gone"]
    assert m.counts.loc["D", "A"] == 1
    assert np.isnan(m.shares.loc["A", "A"])
    assert m.risers["steps"].tolist() == [3]


def test_nan_tier_counts_as_absent():
    before = pd.Series(["A", None], index=["a", "b"])
    after = pd.Series(["A", "B"], index=["a", "b"])
    m = tier_migration(before, after)
    assert m.counts.loc["new", "B"] == 1


def test_explicit_tiers_and_errors():
    before = pd.Series(["A", "B"], index=["a", "b"])
    after = pd.Series(["B", "A"], index=["a", "b"])
    m = tier_migration(before, after, tiers=("B", "A"))  # B is best here
    assert m.risers["customer_id"].tolist() == ["a"]
    with pytest.raises(ValueError, match=r"\['Z'\] are not among"):
        tier_migration(before, pd.Series(["Z"], index=["a"]), tiers=("A", "B"))
    with pytest.raises(ValueError, match="repeated ids"):
        tier_migration(pd.Series(["A", "A"], index=["a", "a"]), after)
    with pytest.raises(ValueError, match="before must be a Series"):
        tier_migration(["A"], after)
