"""Behaviour features of the tiny world, computed by hand (see conftest)."""

import math

import numpy as np
import pandas as pd

from conftest import AS_OF, expected
from segml.features import build_features

NAN = np.nan


def test_behaviour_features_by_hand(features):
    # a's order days: 2024-01-10, 02-20, 03-05, 05-01 -> gaps 41, 14, 57 days
    gaps = [41.0, 14.0, 57.0]
    mean = sum(gaps) / 3
    std = math.sqrt(sum((g - mean) ** 2 for g in gaps) / 2)
    want = expected(
        {
            "orders": [4.0, 2.0, 0.0, 1.0],
            "order_days": [4.0, 1.0, 0.0, 1.0],
            "orders_90d": [1.0, 2.0, 0.0, 0.0],
            "orders_365d": [4.0, 2.0, 0.0, 0.0],
            "items": [7.0, 2.0, 0.0, 1.0],
            # a: 4 orders in 4 active months; b: 2 orders in June
            "orders_per_active_month": [1.0, 2.0, NAN, 1.0],
            "mean_gap_days": [mean, NAN, NAN, NAN],
            "std_gap_days": [std, NAN, NAN, NAN],
            "distinct_products": [3.0, 1.0, 0.0, 1.0],
            "distinct_categories": [3.0, 1.0, 0.0, 1.0],
            "distinct_channels": [2.0, 1.0, 0.0, 1.0],
            # a: web 100 + 50 + 200 of 430 gross
            "main_channel_share": [350 / 430, 1.0, NAN, 1.0],
            # a: discounted lines 50 + 200 of 430 gross
            "discount_share": [250 / 430, 0.0, NAN, 0.0],
            "return_rate": [30 / 430, 0.0, NAN, 0.0],
            # events after the cutoff and of unknown customer f are ignored
            "complaints": [1.0, 1.0, 0.0, 0.0],
            "support_tickets": [1.0, 0.0, 0.0, 0.0],
            "web_visits": [2.0, 1.0, 1.0, 0.0],
            # a visited on 01-10 (bought that day) and 01-11
            "web_visits_without_purchase": [1.0, 1.0, 1.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(features[list(want.columns)], want)


def test_orders_without_order_id_are_distinct_timestamps(world):
    tx = world["transactions"].drop(columns=["order_id"])
    out = build_features(tx, as_of=AS_OF)
    # a's two lines at 2024-01-10 10:00 form one order
    assert out.loc["a", "orders"] == 4.0
    assert out.loc["b", "orders"] == 2.0


def test_event_features_are_nan_without_event_log(world):
    out = build_features(world["transactions"], as_of=AS_OF)
    assert out[["complaints", "web_visits", "nps_mean"]].isna().all().all()


def test_optional_columns_missing_give_nan(world):
    tx = world["transactions"][["customer_id", "ts", "amount"]]
    out = build_features(tx, as_of=AS_OF)
    for name in ("items", "distinct_products", "distinct_channels", "discount_share"):
        assert out[name].isna().all(), name
    assert out.loc["a", "orders"] == 4.0
