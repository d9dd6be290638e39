"""Value features of the tiny world, computed by hand (see conftest)."""

import numpy as np
import pandas as pd

from conftest import AS_OF, expected
from segml.features import build_features

NAN = np.nan


def test_value_features_by_hand(features):
    total = 400.0 + 100.0 + 0.0 + 20.0  # net spend of a, b, c, e
    want = expected(
        {
            # a: orders o1 150, o2 80, o3 -30 (a return), o4 200
            "gross_spend": [430.0, 100.0, 0.0, 20.0],
            "net_spend": [400.0, 100.0, 0.0, 20.0],
            "returns_value": [30.0, 0.0, 0.0, 0.0],
            # a: (100-60)+(50-20) + (80-40) + (-30+15) + (200-120)
            "margin": [175.0, 35.0, 0.0, 10.0],
            "avg_order_value": [100.0, 50.0, NAN, 20.0],
            "max_order_value": [200.0, 60.0, NAN, 20.0],
            # (2024-04-02, 2024-07-01]: a's o4 only; e bought in 2023
            "spend_90d": [200.0, 100.0, 0.0, 0.0],
            "spend_365d": [400.0, 100.0, 0.0, 0.0],
            "spend_share": [400 / total, 100 / total, 0.0, 20 / total],
        }
    )
    pd.testing.assert_frame_equal(features[list(want.columns)], want)


def test_margin_is_nan_without_cost(world):
    tx = world["transactions"].drop(columns=["cost"])
    out = build_features(tx, as_of=AS_OF)
    assert out["margin"].isna().all()


def test_margin_column_wins_over_cost(world):
    tx = world["transactions"].assign(margin=1.0)
    out = build_features(tx, as_of=AS_OF)
    assert out.loc["a", "margin"] == 5.0  # five lines of a up to the cutoff


def test_custom_windows(world):
    out = build_features(world["transactions"], as_of=AS_OF, windows=(30,))
    assert "spend_30d" in out and "spend_90d" not in out
    assert out.loc["b", "spend_30d"] == 100.0
    assert out.loc["a", "spend_30d"] == 0.0
