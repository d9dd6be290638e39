"""Loyalty features of the tiny world, computed by hand (see conftest)."""

import math

import numpy as np
import pandas as pd

from conftest import expected

NAN = np.nan


def test_loyalty_features_by_hand(features):
    gaps = [41.0, 14.0, 57.0]
    mean = sum(gaps) / 3
    std = math.sqrt(sum((g - mean) ** 2 for g in gaps) / 2)
    want = expected(
        {
            "is_repeat": [True, False, False, False],
            "repeat_rate": [3 / 4, 0.0, NAN, 0.0],
            # a: January, February, March, May
            "active_months": [4.0, 1.0, 0.0, 1.0],
            # a: 2024-01..2024-07 = 7 months; b: June, July; e: 2023-01..2024-07
            "active_month_share": [4 / 7, 1 / 2, NAN, 1 / 19],
            "longest_streak_months": [3.0, 1.0, 0.0, 1.0],
            "gap_cv": [std / mean, NAN, NAN, NAN],
            # a's NPS 0 on 2024-08-02 is after the cutoff
            "nps_last": [9.0, NAN, 7.0, NAN],
            "nps_mean": [7.5, NAN, 7.0, NAN],
            "mean_days_late": [(0 + 5 - 2) / 3, NAN, NAN, NAN],
            "share_paid_late": [1 / 3, NAN, NAN, NAN],
        }
    )
    pd.testing.assert_frame_equal(features[list(want.columns)], want)
