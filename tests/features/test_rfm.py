"""rfm_summary against values computed by hand (lifetimes conventions)."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segml.errors import SegmlDataError
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


def test_rfm_names_a_missing_column():
    with pytest.raises(SegmlDataError, match="transactions.*amount"):
        rfm_summary(_tx().drop(columns="amount"), as_of="2024-01-21")


def _reference(tx: pd.DataFrame, as_of: str, days: int) -> pd.DataFrame:
    """The lifetimes conventions spelled out in pandas, customer by customer."""
    cut = pd.Timestamp(as_of)
    seen = tx[tx["ts"] <= cut]
    end = (cut.normalize() - pd.Timestamp(0)).days // days
    rows = {}
    for cid, g in seen.groupby("customer_id"):
        period = (g["ts"].dt.normalize() - pd.Timestamp(0)).dt.days // days
        spend = g["amount"].groupby(period.to_numpy()).sum().sort_index()
        repeat = spend.iloc[1:]
        rows[cid] = {
            "frequency": float(len(repeat)),
            "recency": float(spend.index[-1] - spend.index[0]),
            "T": float(end - spend.index[0]),
            "monetary_value": float(repeat.mean()) if len(repeat) else 0.0,
        }
    out = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    out.index.name = "customer_id"
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(0, 60 * 24 * 3),  # minutes over 60 days
            st.integers(-50, 400),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([("D", 1), ("W", 7)]),
)
def test_rfm_equals_the_conventions_spelled_out(rows, freq):
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype="str"),
            "ts": pd.Timestamp("2024-01-01")
            + pd.to_timedelta([r[1] * 20 for r in rows], unit="min"),
            "amount": [r[2] / 4 for r in rows],
        }
    )
    as_of = "2024-02-10 12:00"
    want = _reference(tx, as_of, freq[1])
    got = rfm_summary(tx, as_of=as_of, freq=freq[0])
    if want.empty:
        assert got.empty
        return
    pd.testing.assert_frame_equal(got, want, check_index_type=False, rtol=1e-9)
