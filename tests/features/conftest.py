"""A tiny hand-written world: four known customers at 2024-07-01.

``a`` is a regular buyer with a return, ``b`` is new (two orders on one day),
``c`` is a lead (signed up, never bought), ``d`` signs up after the cutoff and
must not appear, ``e`` has an old purchase but no row in the customers table.
Rows dated after the cutoff are there to be ignored.
"""

from __future__ import annotations

import pandas as pd
import pytest

AS_OF = "2024-07-01"


def _ts(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601")).astype("M8[us]")


def make_transactions() -> pd.DataFrame:
    rows = [
        # customer, ts, order, amount, cost, discount, product, cat, channel, qty
        ("a", "2024-01-10 10:00", "o1", 100.0, 60.0, 0.0, "p1", "X", "web", 1.0),
        ("a", "2024-01-10 10:00", "o1", 50.0, 20.0, 0.1, "p2", "Y", "web", 2.0),
        ("a", "2024-02-20 12:00", "o2", 80.0, 40.0, 0.0, "p1", "X", "store", 1.0),
        ("a", "2024-03-05 09:00", "o3", -30.0, -15.0, 0.0, "p1", "X", "store", -1.0),
        ("a", "2024-05-01 00:00", "o4", 200.0, 120.0, 0.2, "p3", "Z", "web", 4.0),
        ("a", "2024-08-01 00:00", "o5", 999.0, 1.0, 0.5, "p9", "Q", "fax", 9.0),
        ("b", "2024-06-10 08:00", "o6", 40.0, 30.0, 0.0, "p2", "Y", "phone", 1.0),
        ("b", "2024-06-10 18:00", "o7", 60.0, 35.0, 0.0, "p2", "Y", "phone", 1.0),
        ("d", "2024-09-01 00:00", "o9", 70.0, 35.0, 0.0, "p2", "Y", "web", 1.0),
        ("e", "2023-01-01 00:00", "o8", 20.0, 10.0, 0.0, "p1", "X", "web", 1.0),
    ]
    cols = [
        "customer_id",
        "ts",
        "order_id",
        "amount",
        "cost",
        "discount",
        "product_id",
        "category",
        "channel",
        "quantity",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    frame["ts"] = _ts(frame["ts"].tolist())
    for c in ("customer_id", "order_id", "product_id", "category", "channel"):
        frame[c] = frame[c].astype("str")
    return frame


def make_customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(["a", "b", "c", "d"], dtype="str"),
            "signup_ts": _ts(["2023-01-01", "2024-06-01", "2024-06-15", "2024-08-01"]),
            "region": pd.Categorical(["north", "south", "north", "south"]),
            "size": [10, 3, 5, 8],
        }
    )


def make_events() -> pd.DataFrame:
    rows = [
        ("a", "2024-03-06", "complaint", None),
        ("a", "2024-03-07", "support_ticket", None),
        ("a", "2024-02-01", "nps", 6.0),
        ("a", "2024-06-01", "nps", 9.0),
        ("a", "2024-01-20", "payment", 0.0),
        ("a", "2024-02-25", "payment", 5.0),
        ("a", "2024-05-10", "payment", -2.0),
        ("a", "2024-01-10 15:00", "web_visit", None),
        ("a", "2024-01-11", "web_visit", None),
        ("a", "2024-08-01", "web_visit", None),
        ("a", "2024-08-02", "nps", 0.0),
        ("b", "2024-06-09", "web_visit", None),
        ("b", "2024-06-20", "complaint", None),
        ("c", "2024-06-20", "web_visit", None),
        ("c", "2024-06-25", "nps", 7.0),
        ("f", "2024-06-25", "complaint", None),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "kind", "value"])
    frame["ts"] = _ts(frame["ts"].tolist())
    frame["value"] = frame["value"].astype("float64")
    for c in ("customer_id", "kind"):
        frame[c] = frame[c].astype("str")
    return frame


@pytest.fixture(scope="session")
def world() -> dict[str, pd.DataFrame]:
    return {
        "transactions": make_transactions(),
        "customers": make_customers(),
        "events": make_events(),
    }


@pytest.fixture(scope="session")
def features(world) -> pd.DataFrame:
    from segml.features import build_features

    return build_features(
        world["transactions"], world["customers"], world["events"], as_of=AS_OF
    )


def expected(columns: dict[str, list]) -> pd.DataFrame:
    """A frame indexed like the tiny world's output (a, b, c, e)."""
    index = pd.Index(["a", "b", "c", "e"], dtype="str", name="customer_id")
    return pd.DataFrame(columns, index=index)
