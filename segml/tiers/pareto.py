"""Pareto table: how customers and value split across tiers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.tiers._validate import as_values

__all__ = ["align_tiers", "pareto_table", "tier_labels"]

PARETO_COLUMNS = [
    "customers",
    "customer_share",
    "value",
    "value_share",
    "cum_customer_share",
    "cum_value_share",
]


def tier_labels(tiers: pd.Series) -> list[str]:
    """Tier labels best first: the categories of a categorical, else sorted labels."""
    if isinstance(tiers.dtype, pd.CategoricalDtype):
        return [str(c) for c in tiers.cat.categories]
    return sorted(str(t) for t in tiers.dropna().unique())


def align_tiers(values: object, tiers: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Check ``values`` and ``tiers`` cover the same customers; align on ``values``."""
    v = as_values(values)
    if not isinstance(tiers, pd.Series):
        raise ValueError("tiers must be a Series indexed by customer_id")
    if len(tiers) != len(v) or not tiers.index.isin(v.index).all():
        extra = tiers.index.difference(v.index)[:5].tolist()
        missing = v.index.difference(tiers.index)[:5].tolist()
        raise ValueError(
            "values and tiers must hold the same customers; "
            f"only in tiers: {extra}, only in values: {missing}"
        )
    aligned = tiers.reindex(v.index)
    if aligned.isna().any():
        raise ValueError("tiers has missing labels; every customer needs a tier")
    return v, aligned


def pareto_table(values: pd.Series, tiers: pd.Series) -> pd.DataFrame:
    """Customers and value per tier, with shares and cumulative shares.

    Parameters
    ----------
    values : Series
        Value per customer (index = ``customer_id``); NaN counts as 0.
    tiers : Series
        Tier per customer, same customers as ``values`` (any order). Tiers are
        listed best first: in category order for a categorical, else sorted.

    Returns
    -------
    DataFrame
        Indexed by ``tier``, one row per tier (empty tiers included), with
        ``customers``, ``customer_share``, ``value`` (sum), ``value_share`` (of
        the total value, so refunds can make a share negative; NaN when the
        total is not positive), ``cum_customer_share`` and ``cum_value_share``.

    Examples
    --------
    >>> values = pd.Series([60.0, 25.0, 10.0, 5.0], index=list("abcd"))
    >>> tiers = pd.Series(["A", "A", "B", "C"], index=list("abcd"))
    >>> table = pareto_table(values, tiers)
    >>> table[["customers", "customer_share", "value", "value_share"]]
          customers  customer_share  value  value_share
    tier
    A             2            0.50   85.0         0.85
    B             1            0.25   10.0         0.10
    C             1            0.25    5.0         0.05
    >>> table["cum_value_share"].tolist()
    [0.85, 0.95, 1.0]
    """
    v, t = align_tiers(values, tiers)
    labels = tier_labels(t)
    key = t.astype("str")
    counts = key.value_counts().reindex(labels, fill_value=0).astype("int64")
    sums = v.groupby(key.to_numpy()).sum().reindex(labels, fill_value=0.0)
    total = float(v.sum())
    n = len(v)
    value_share = sums / total if total > 0 else pd.Series(np.nan, index=labels)
    table = pd.DataFrame(
        {
            "customers": counts.to_numpy(),
            "customer_share": counts.to_numpy() / n,
            "value": sums.to_numpy(dtype=float),
            "value_share": value_share.to_numpy(dtype=float),
        },
        index=pd.Index(labels, name="tier"),
    )
    table["cum_customer_share"] = table["customer_share"].cumsum()
    table["cum_value_share"] = table["value_share"].cumsum()
    return table[PARETO_COLUMNS]
