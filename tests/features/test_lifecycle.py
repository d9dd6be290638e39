"""Lifecycle features of the tiny world, computed by hand (see conftest)."""

import numpy as np
import pandas as pd
import pytest

from conftest import AS_OF, expected
from segml.features import build_features

NAN = np.nan


def test_lifecycle_features_by_hand(features):
    want = expected(
        {
            "has_history": [True, True, False, True],
            # a: 2024-01-10 10:00 -> 2024-07-01 is 173 days minus 10 hours
            "tenure_days": [173 - 10 / 24, 21 - 8 / 24, NAN, 547.0],
            # a: 2024-05-01 -> 07-01 is 61 days; b: 06-10 18:00 -> 20.25 days
            "recency_days": [61.0, 20.25, NAN, 547.0],
            "recency_ratio": [61.0 / (112 / 3), NAN, NAN, NAN],
            # a: gross 200 in (04-02, 07-01] vs 150 + 80 in (01-03, 04-02]
            "spend_trend": [(200 - 230) / 430, 1.0, NAN, 0.0],
            "orders_trend": [(1 - 3) / 4, 1.0, NAN, 0.0],
            # 2023-01-01 -> 2024-07-01: 365 + 182 days; e has no signup
            "days_since_signup": [547.0, 30.0, 16.0, NAN],
            "first_order_value": [150.0, 100.0, NAN, 20.0],
            "lifecycle_stage": pd.Categorical(
                ["active", "new", "prospect", "churned"],
                categories=["prospect", "new", "active", "at_risk", "churned"],
            ),
        }
    )
    pd.testing.assert_frame_equal(features[list(want.columns)], want)


def test_customer_signed_up_after_cutoff_is_absent(features):
    assert "d" not in features.index


def test_stage_thresholds(world):
    out = build_features(
        world["transactions"],
        as_of=AS_OF,
        stage_thresholds={"at_risk_days": 60, "churned_days": 600},
    )
    assert out.loc["a", "lifecycle_stage"] == "at_risk"  # 61 days since last
    assert out.loc["e", "lifecycle_stage"] == "at_risk"
    with pytest.raises(ValueError, match="unknown stage threshold"):
        build_features(world["transactions"], as_of=AS_OF, stage_thresholds={"x": 1})
