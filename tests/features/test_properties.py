"""Property: rows dated after the cutoff never change a feature."""

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segml.features import build_features

AS_OF = pd.Timestamp("2024-07-01")
IDS = ["a", "b", "c", "d"]
KINDS = ["complaint", "support_ticket", "nps", "payment", "web_visit"]

minutes_before = st.integers(min_value=0, max_value=400 * 24 * 60)
minutes_after = st.integers(min_value=1, max_value=400 * 24 * 60)
amounts = st.floats(min_value=-50, max_value=200, allow_nan=False).map(
    lambda x: round(x, 2)
)


def _tx(rows, sign):
    frame = pd.DataFrame(
        rows, columns=["customer_id", "minutes", "amount", "order", "channel"]
    )
    ts = AS_OF + sign * pd.to_timedelta(frame["minutes"], unit="min")
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("str"),
            "ts": ts.astype("M8[us]"),
            "amount": frame["amount"].astype("float64"),
            "order_id": ("o" + frame["order"].astype(str)).astype("str"),
            "channel": frame["channel"].astype("str"),
        }
    )


def _events(rows, sign):
    frame = pd.DataFrame(rows, columns=["customer_id", "minutes", "kind", "value"])
    ts = AS_OF + sign * pd.to_timedelta(frame["minutes"], unit="min")
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("str"),
            "ts": ts.astype("M8[us]"),
            "kind": frame["kind"].astype("str"),
            "value": frame["value"].astype("float64"),
        }
    )


def tx_rows(minutes):
    return st.tuples(
        st.sampled_from(IDS),
        minutes,
        amounts,
        st.integers(0, 30),
        st.sampled_from(["web", "store"]),
    )


def event_rows(minutes):
    return st.tuples(
        st.sampled_from(IDS),
        minutes,
        st.sampled_from(KINDS),
        st.integers(-3, 10).map(float),
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    before=st.lists(tx_rows(minutes_before), min_size=1, max_size=12),
    after=st.lists(tx_rows(minutes_after), min_size=1, max_size=8),
    ev_before=st.lists(event_rows(minutes_before), min_size=1, max_size=8),
    ev_after=st.lists(event_rows(minutes_after), max_size=6),
    late_signups=st.lists(minutes_after, max_size=3),
)
def test_rows_after_as_of_change_nothing(
    before, after, ev_before, ev_after, late_signups
):
    # order ids of later rows are fresh: a later line of an earlier order is
    # a later order by definition of the data contract (one ts per order line)
    after = [(c, m, a, o + 1000, ch) for c, m, a, o, ch in after]
    customers = pd.DataFrame(
        {
            "customer_id": pd.Series(["a", "b", "x"], dtype="str"),
            "signup_ts": pd.Series(
                pd.to_datetime(["2023-01-01", "2024-03-01", "2024-06-30"])
            ).astype("M8[us]"),
            "region": pd.Categorical(["n", "s", "n"]),
        }
    )
    extra_customers = pd.DataFrame(
        {
            "customer_id": pd.Series(
                [f"late{i}" for i in range(len(late_signups))], dtype="str"
            ),
            "signup_ts": (
                AS_OF + pd.to_timedelta(pd.Series(late_signups, dtype="int64"), "min")
            ).astype("M8[us]"),
            "region": pd.Categorical(["s"] * len(late_signups), categories=["n", "s"]),
        }
    )
    tx, ev = _tx(before, -1), _events(ev_before, -1)
    base = build_features(tx, customers, ev, as_of=AS_OF)
    grown = build_features(
        pd.concat([tx, _tx(after, 1)], ignore_index=True),
        pd.concat([customers, extra_customers], ignore_index=True),
        pd.concat([ev, _events(ev_after, 1)], ignore_index=True) if ev_after else ev,
        as_of=AS_OF,
    )
    pd.testing.assert_frame_equal(grown, base, check_exact=False, rtol=1e-9)
