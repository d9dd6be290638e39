"""Label windows, cutoffs and stacked training sets, on hand-computed logs."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.features import build_features
from segml.training import (
    build_training_set,
    choose_cutoffs,
    future_value,
    past_value,
    window_value,
)

TX = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "b", "b", "c", "d"],
        "ts": pd.to_datetime(
            [
                "2024-01-05",
                "2024-02-01",  # exactly at the first cutoff: in its past
                "2024-02-15",
                "2024-01-10",
                "2024-03-02",  # exactly at the end of the first label window
                "2024-01-20",
                "2024-02-20",  # d's first purchase is after the first cutoff
            ]
        ),
        "amount": [10.0, 20.0, 40.0, 5.0, 100.0, 7.0, 3.0],
    }
)


def test_windows_are_open_at_the_start_and_closed_at_the_end():
    ids = pd.Index(["a", "b", "c", "z"], name="customer_id")
    got = window_value(TX, start="2024-02-01", end="2024-03-02", customers=ids)
    # a: 02-15 (40); 02-01 is the open start; b: 03-02 is the closed end
    assert got.tolist() == [40.0, 100.0, 0.0, 0.0]
    fut = future_value(TX, cutoff="2024-02-01", horizon_days=30, customers=ids)
    pd.testing.assert_series_equal(fut, got)
    past = past_value(TX, cutoff="2024-02-01", horizon_days=30, customers=ids)
    # (2024-01-02, 2024-02-01]: a 10 + 20, b 5, c 7
    assert past.tolist() == [30.0, 5.0, 7.0, 0.0]


def test_training_set_labels_by_hand():
    tset = build_training_set(
        TX,
        cutoffs=["2024-02-01", "2024-01-15"],  # any order
        horizon_days=30,
        rule="count",
        shares=(0.25, 0.25, 0.5),
    )
    X = tset.X
    assert X["cutoff"].is_monotonic_increasing
    first = X["cutoff"] == pd.Timestamp("2024-01-15")
    # at 01-15 only a and b have bought; (01-15, 02-14]: a 20, b 0
    assert X.loc[first, "customer_id"].tolist() == ["a", "b"]
    assert tset.future_value[first].tolist() == [20.0, 0.0]
    second = ~first
    # at 02-01: a, b, c known (d buys later); (02-01, 03-02]: a 40, b 100, c 0
    assert X.loc[second, "customer_id"].tolist() == ["a", "b", "c"]
    assert tset.future_value[second].tolist() == [40.0, 100.0, 0.0]
    assert tset.y[second].tolist() == ["B", "A", "C"]
    # persistence: (01-02, 02-01]: a 30, b 5, c 7
    assert tset.past_value[second].tolist() == [30.0, 5.0, 7.0]
    assert tset.persistence[second].tolist() == ["A", "C", "B"]
    # the features of a cutoff are those of the log cut at that cutoff
    cut = TX.loc[TX["ts"] <= pd.Timestamp("2024-02-01")]
    alone = build_features(cut, as_of="2024-02-01")
    stacked = X.loc[second].set_index("customer_id").drop(columns="cutoff")
    pd.testing.assert_frame_equal(
        stacked[alone.columns], alone, check_names=False, check_index_type=False
    )
    sub = tset.subset(second)
    assert sub.X.index.tolist() == [0, 1, 2]
    assert sub.y.tolist() == ["B", "A", "C"]


def test_cutoffs_step_back_from_the_last_complete_window():
    cuts = choose_cutoffs("2024-01-01", "2024-12-31", horizon_days=30, n_cutoffs=3)
    # latest = 12-31 - 30 days = 12-01, then every min(30, 90) = 30 days
    assert cuts == [pd.Timestamp(d) for d in ("2024-10-02", "2024-11-01", "2024-12-01")]
    with pytest.raises(ValueError, match="after the last day"):
        choose_cutoffs(
            "2024-01-01", "2024-12-31", horizon_days=30, cutoffs=["2024-12-15"]
        )
    with pytest.raises(ValueError, match="too short"):
        choose_cutoffs("2024-01-01", "2024-03-01", horizon_days=30)
