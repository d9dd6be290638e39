"""RFM summary in the conventions of the buy-till-you-die literature."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.features.asof import to_as_of

__all__ = ["rfm_summary"]

_PERIODS = {"D": 1.0, "W": 7.0}


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    freq: str = "D",
) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer, as of a date.

    Follows lifetimes' ``summary_data_from_transaction_data`` and
    pymc-marketing's ``rfm_summary``: purchases are first summed per customer
    and period (day or week); ``frequency`` counts *repeat* periods (periods with
    a purchase, minus the first), ``recency`` is the time from the first to the
    last purchase period, ``T`` the time from the first purchase period to
    ``as_of``, and ``monetary_value`` the mean spend of the repeat periods (0
    when there are none). Rows after ``as_of`` are ignored.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``ts``, ``amount``).
    as_of : str, datetime or Timestamp
        End of the observation period (inclusive).
    freq : {"D", "W"}
        Period length: days, or weeks of 7 days counted from the epoch.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, sorted, with float columns ``frequency``,
        ``recency``, ``T`` and ``monetary_value``.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-11",
    ...                           "2024-01-05"]),
    ...     "amount": [5.0, 5.0, 30.0, 8.0]})
    >>> rfm_summary(tx, as_of="2024-01-21")
                 frequency  recency     T  monetary_value
    customer_id
    a                  1.0     10.0  20.0            30.0
    b                  0.0      0.0  16.0             0.0
    """
    if freq not in _PERIODS:
        raise ValueError(f"freq must be one of {sorted(_PERIODS)}, got {freq!r}")
    cutoff = to_as_of(as_of)
    days = _PERIODS[freq]
    visible = transactions.loc[
        transactions["ts"].to_numpy() <= cutoff.to_datetime64(),
        ["customer_id", "ts", "amount"],
    ]
    epoch_days = visible["ts"].to_numpy().astype("datetime64[D]").astype("int64")
    period = np.floor(epoch_days / days).astype("int64")
    per_period = (
        visible.assign(period=period)
        .groupby(["customer_id", "period"], sort=True)["amount"]
        .sum()
        .reset_index()
    )
    grouped = per_period.groupby("customer_id", sort=True)
    first = grouped["period"].min()
    last = grouped["period"].max()
    n_periods = grouped["period"].size()
    total = grouped["amount"].sum()
    first_spend = grouped["amount"].first()
    end_period = np.floor(
        cutoff.to_datetime64().astype("datetime64[D]").astype("int64") / days
    )
    frequency = (n_periods - 1).astype("float64")
    repeat_spend = total - first_spend
    monetary = (repeat_spend / frequency.where(frequency > 0)).fillna(0.0)
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).astype("float64"),
            "T": (end_period - first).astype("float64"),
            "monetary_value": monetary.astype("float64"),
        }
    )
    out.index.name = "customer_id"
    return out
