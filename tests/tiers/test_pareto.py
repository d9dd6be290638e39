"""Pareto table on hand-computed inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.tiers import pareto_table


def test_pareto_table_hand_computed():
    values = pd.Series([60.0, 25.0, 10.0, 5.0], index=list("abcd"))
    tiers = pd.Series(["C", "A", "B", "A"], index=list("dacb"))  # any order
    expected = pd.DataFrame(
        {
            "customers": [2, 1, 1],
            "customer_share": [0.5, 0.25, 0.25],
            "value": [85.0, 10.0, 5.0],
            "value_share": [0.85, 0.10, 0.05],
            "cum_customer_share": [0.5, 0.75, 1.0],
            "cum_value_share": [0.85, 0.95, 1.0],
        },
        index=pd.Index(["A", "B", "C"], name="tier"),
    )
    pd.testing.assert_frame_equal(pareto_table(values, tiers), expected)


def test_categorical_order_empty_tier_and_negative_value():
    values = pd.Series([80.0, 30.0, -10.0, np.nan], index=list("abcd"))
    dtype = pd.CategoricalDtype(["A", "B", "C", "D"], ordered=True)
    tiers = pd.Series(["A", "C", "C", "D"], index=list("abcd"), dtype=dtype)
    got = pareto_table(values, tiers)
    assert got.index.tolist() == ["A", "B", "C", "D"]
    assert got["customers"].tolist() == [1, 0, 2, 1]
    assert got["value"].tolist() == [80.0, 0.0, 20.0, 0.0]
    assert got["value_share"].tolist() == pytest.approx([0.8, 0.0, 0.2, 0.0])


def test_single_customer():
    got = pareto_table(pd.Series([5.0], index=["s"]), pd.Series(["A"], index=["s"]))
    assert got.loc["A"].tolist() == [1, 1.0, 5.0, 1.0, 1.0, 1.0]


def test_mismatched_customers_are_an_error():
    values = pd.Series([1.0, 2.0], index=["a", "b"])
    with pytest.raises(ValueError, match=r"only in tiers: \['z'\]"):
        pareto_table(values, pd.Series(["A", "B"], index=["a", "z"]))
    with pytest.raises(ValueError, match="missing labels"):
        pareto_table(values, pd.Series(["A", None], index=["a", "b"]))
