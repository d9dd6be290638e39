"""Customer value inside a time window: the raw material of tier labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.features.asof import to_as_of

__all__ = ["future_value", "past_value", "window_value"]


def window_value(
    transactions: pd.DataFrame,
    *,
    start: object,
    end: object,
    customers: pd.Index | None = None,
) -> pd.Series:
    """Net amount per customer with ``start < ts <= end``.

    Customers in ``customers`` without a purchase in the window get 0; when
    ``customers`` is omitted, only customers with rows in the window appear.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-20"]),
    ...     "amount": [5.0, 7.0, 3.0]})
    >>> window_value(tx, start="2024-01-01", end="2024-01-31",
    ...              customers=pd.Index(["a", "b", "c"])).tolist()
    [7.0, 3.0, 0.0]
    """
    lo = to_as_of(start).to_datetime64()
    hi = to_as_of(end).to_datetime64()
    ts = transactions["ts"].to_numpy()
    mask = (ts > lo) & (ts <= hi)
    sums = (
        transactions.loc[mask, ["customer_id", "amount"]]
        .groupby("customer_id", sort=True)["amount"]
        .sum()
    )
    if customers is not None:
        sums = sums.reindex(customers, fill_value=0.0)
    sums.index.name = "customer_id"
    return sums.astype(np.float64).rename("value")


def future_value(
    transactions: pd.DataFrame,
    *,
    cutoff: object,
    horizon_days: int,
    customers: pd.Index | None = None,
) -> pd.Series:
    """Net amount per customer in the label window ``(cutoff, cutoff + horizon]``."""
    start = to_as_of(cutoff)
    return window_value(
        transactions,
        start=start,
        end=start + pd.Timedelta(days=horizon_days),
        customers=customers,
    )


def past_value(
    transactions: pd.DataFrame,
    *,
    cutoff: object,
    horizon_days: int,
    customers: pd.Index | None = None,
) -> pd.Series:
    """Net amount per customer in ``(cutoff - horizon, cutoff]`` (persistence)."""
    end = to_as_of(cutoff)
    return window_value(
        transactions,
        start=end - pd.Timedelta(days=horizon_days),
        end=end,
        customers=customers,
    )
