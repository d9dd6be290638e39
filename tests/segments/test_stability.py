"""A fitted Segmenter applied at later cutoffs: who keeps their segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.datasets import make_crm
from segml.features import build_features
from segml.segments import Segmenter, segment_stability

FEATURES = ["net_spend", "orders", "recency_days", "tenure_days"]


def test_unchanged_customers_keep_their_segment(blobs):
    X = blobs.drop(columns=["region", "group"]).assign(has_history=True)
    seg = Segmenter(features=FEATURES, k=3).fit(X)
    later = X.copy()
    # two top customers collapse to the bottom group's behaviour, one lead
    # signs up, everyone else is unchanged
    top = X.index[seg.labels_ == 0][:2]
    bottom = X.loc[X.index[seg.labels_ == 2][0], FEATURES]
    later.loc[top, FEATURES] = bottom.to_numpy()
    lead = pd.DataFrame(
        {"net_spend": [0.0], "orders": [0.0], "has_history": [False]},
        index=pd.Index(["new"], name=X.index.name),
    )
    later = pd.concat([later, lead])
    result = segment_stability(seg, {"jan": X, "feb": later})
    row = result.summary.iloc[0]
    assert row["customers"] == 300  # the new lead is not in both snapshots
    assert row["kept_share"] == pytest.approx(298 / 300)
    assert row["unmoved"] == 298
    assert row["unmoved_kept_share"] == 1.0 and row["unmoved_ari"] == 1.0
    assert row["moved_kept_share"] == 0.0
    names = seg.names_.tolist()
    t = result.transitions
    assert t.index.tolist() == [*names, "lead"] == t.columns.tolist()
    assert t.loc[names[0], names[2]] == 2
    assert t.loc[names[0], names[0]] == 98
    assert np.diag(t).sum() == 298 and t.to_numpy().sum() == 300
    assert result.segments.loc["new", "feb"] == "lead"
    assert np.isnan(result.segments.loc["new", "jan"]) or pd.isna(
        result.segments.loc["new", "jan"]
    )


def test_later_cutoff_on_make_crm():
    crm = make_crm(2000, seed=4)
    tables = (crm.transactions, crm.customers, crm.events)
    cutoffs = [pd.Timestamp("2024-05-31"), pd.Timestamp("2024-06-30")]
    snaps = {c: build_features(*tables, as_of=c) for c in cutoffs}
    seg = Segmenter(repeats=4).fit(snaps[cutoffs[0]])
    result = segment_stability(seg, snaps)
    row = result.summary.iloc[0]
    # tenure and recency move for everyone, but over a month most customers
    # barely move in the scaled space, and nearly all of those stay put
    assert row["unmoved"] > 0.5 * row["customers"]
    assert row["unmoved_kept_share"] > 0.95
    assert row["kept_share"] > 0.8
