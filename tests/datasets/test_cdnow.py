"""The shipped CDNOW log: pinned to the published row and customer counts."""

from __future__ import annotations

import pandas as pd

from segml.datasets import load_cdnow


def test_cdnow_counts_and_span():
    tx = load_cdnow()
    # Fader, Hardie & Lee (2005): 23,570 customers, 69,659 purchase records.
    assert len(tx) == 69_659
    assert tx["customer_id"].nunique() == 23_570
    assert tx["ts"].min() == pd.Timestamp("1997-01-01")
    assert tx["ts"].max() == pd.Timestamp("1998-06-30")
    assert (tx["amount"] == 0).sum() == 80


def test_cdnow_is_canonical():
    tx = load_cdnow()
    assert list(tx.columns) == ["customer_id", "ts", "amount", "quantity"]
    assert tx["customer_id"].dtype == "str"
    assert str(tx["ts"].dtype) == "datetime64[us]"
    assert tx["customer_id"].str.len().eq(5).all()
    assert round(tx["amount"].sum(), 2) == 2_500_315.63
