"""rfm_summary against values computed by hand (lifetimes conventions)."""

import pandas as pd
import pytest

from segml.features import rfm_summary


def _tx():
    return pd.DataFrame(
        {
            "customer_id": pd.Series(["a", "a", "a", "a", "b", "c", "c"], dtype="str"),
            "ts": pd.Series(
                pd.to_datetime(
                    [
                        "2024-01-01 09:00",
                        "2024-01-01 17:00",  # same day: one period of 15
                        "2024-01-04",
                        "2024-01-11",
                        "2024-01-06",
                        "2024-01-02",
                        "2024-02-01",  # after the cutoff
                    ],
                    format="ISO8601",
                )
            ).astype("M8[us]"),
            "amount": [5.0, 10.0, 20.0, 40.0, 8.0, 3.0, 99.0],
        }
    )


def test_rfm_daily_by_hand():
    out = rfm_summary(_tx(), as_of="2024-01-21")
    want = pd.DataFrame(
        {
            # a: days 01-01 (15), 01-04 (20), 01-11 (40): two repeat days
            "frequency": [2.0, 0.0, 0.0],
            "recency": [10.0, 0.0, 0.0],
            "T": [20.0, 15.0, 19.0],
            # mean of the repeat days only: (20 + 40) / 2
            "monetary_value": [30.0, 0.0, 0.0],
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(out, want, check_index_type=False)


def test_rfm_weekly_by_hand():
    # 7-day periods counted from 1970-01-01: 2024-01-01 is day 19723 (period
    # 2817), 01-04 day 19726 (2818), 01-11 day 19733 (2819), 01-21 (2820)
    out = rfm_summary(_tx(), as_of="2024-01-21", freq="W")
    assert out.loc["a"].tolist() == [2.0, 2.0, 3.0, 30.0]


def test_rfm_rejects_unknown_freq():
    with pytest.raises(ValueError, match="freq"):
        rfm_summary(_tx(), as_of="2024-01-21", freq="M")
