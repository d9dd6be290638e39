"""ABC tier rules: count, cumulative value (Pareto) and composite score.

All rules share three conventions:

* customers are ranked by value, highest first, ties broken by ``customer_id``
  ascending (the index of ``values``), so the same input always gives the same
  tiers, and tied customers at a boundary may land in different tiers;
* customers whose value is zero or negative (NaN counts as 0) are always in the
  last tier, whatever the rule would otherwise say;
* the result is an ordered ``Categorical`` Series named ``tier``, indexed like
  ``values``, whose categories are the tier labels best first (so ``"A" < "B"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from segml.tiers._validate import (
    DEFAULT_TIERS,
    as_values,
    validate_shares,
    validate_tiers,
)
from segml.tiers.composite import composite_score

__all__ = [
    "COUNT_SHARES",
    "VALUE_SHARES",
    "assign_tiers",
    "count_rule",
    "cut_by_thresholds",
    "default_shares",
    "has_positive_value",
    "learn_thresholds",
    "rank_order",
    "value_rule",
]

Rule = Literal["count", "value", "composite"]

#: Default shares of customers per tier for the count rule (A, B, C).
COUNT_SHARES: tuple[float, ...] = (0.05, 0.15, 0.80)
#: Default shares of value per tier for the cumulative value rule (A, B, C).
VALUE_SHARES: tuple[float, ...] = (0.80, 0.15, 0.05)

#: Relative tolerance when comparing a cumulative value with a threshold.
_VALUE_TOL = 1e-9


def default_shares(rule: str, n_tiers: int) -> tuple[float, ...]:
    """Default shares of ``rule`` ("count" or "value"); only defined for 3 tiers.

    Examples
    --------
    >>> default_shares("value", 3)
    (0.8, 0.15, 0.05)
    """
    if n_tiers != 3:
        raise ValueError(
            f"shares must be given when there are {n_tiers} tiers "
            "(defaults exist only for three tiers)"
        )
    return COUNT_SHARES if rule == "count" else VALUE_SHARES


def rank_order(values: pd.Series) -> np.ndarray:
    """Positions of ``values`` sorted by value descending, then index ascending.

    Examples
    --------
    >>> rank_order(pd.Series([5.0, 9.0, 5.0], index=["z", "y", "a"])).tolist()
    [1, 2, 0]
    """
    frame = pd.DataFrame({"value": values.to_numpy(), "id": values.index.to_numpy()})
    ranked = frame.sort_values(["value", "id"], ascending=[False, True], kind="stable")
    return ranked.index.to_numpy()


def _as_tiers(codes: np.ndarray, index: pd.Index, tiers: Sequence[str]) -> pd.Series:
    dtype = pd.CategoricalDtype(list(tiers), ordered=True)
    cat = pd.Categorical.from_codes(codes.astype("int64"), dtype=dtype)
    return pd.Series(cat, index=index, name="tier")


def count_rule(
    values: pd.Series,
    *,
    shares: Sequence[float] = COUNT_SHARES,
    tiers: Sequence[str] = DEFAULT_TIERS,
) -> pd.Series:
    """Cut by shares of customers: the top ``shares[0]`` are the first tier, etc.

    With ``n`` customers the first ``b_j`` ranked customers are in tiers ``0..j``,
    where ``b_j = round(n * (shares[0] + ... + shares[j]))`` rounded half to even
    (Python's ``round``; the cumulative product is first rounded to 9 decimals
    to absorb float noise). Rounding cumulative shares keeps the sizes summing
    to ``n``: with 23,570 customers and (0.05, 0.15, 0.80), ``b = (1178, 4714)``,
    so A has 1,178 customers, B 3,536 and C 18,856.

    Examples
    --------
    >>> values = pd.Series([50.0, 0.0, 10.0, 30.0], index=["a", "b", "c", "d"])
    >>> count_rule(values, shares=(0.25, 0.25, 0.5)).tolist()
    ['A', 'C', 'C', 'B']
    """
    labels = validate_tiers(tiers)
    props = validate_shares(shares, len(labels))
    v = as_values(values)
    n = len(v)
    bounds = np.rint(np.round(np.cumsum(props) * n, 9)).astype("int64")
    bounds[-1] = n
    position = np.empty(n, dtype="int64")
    position[rank_order(v)] = np.arange(n)
    codes = np.searchsorted(bounds, position, side="right")
    codes[v.to_numpy() <= 0] = len(labels) - 1
    return _as_tiers(codes, v.index, labels)


def value_rule(
    values: pd.Series,
    *,
    shares: Sequence[float] = VALUE_SHARES,
    tiers: Sequence[str] = DEFAULT_TIERS,
) -> pd.Series:
    """Cut by cumulative share of value (ABC / Pareto analysis).

    Customers with positive value are ranked; with ``T_j = shares[0] + ... +
    shares[j]`` a customer is in the first tier whose ``T_j`` the value of
    the customers ranked *before* them has not yet reached, so the customer
    who crosses a threshold belongs to the upper tier. The total is the sum of
    positive values; comparisons allow a relative tolerance of 1e-9.

    Examples
    --------
    >>> values = pd.Series([60.0, 25.0, 10.0, 5.0, -3.0], index=list("abcde"))
    >>> value_rule(values).tolist()
    ['A', 'A', 'B', 'C', 'C']
    """
    labels = validate_tiers(tiers)
    props = validate_shares(shares, len(labels))
    v = as_values(values)
    codes = np.full(len(v), len(labels) - 1, dtype="int64")
    positive = np.flatnonzero(v.to_numpy() > 0)
    if len(positive):
        pv = v.iloc[positive]
        order = rank_order(pv)
        sorted_v = pv.to_numpy()[order]
        total = sorted_v.sum()
        before = np.concatenate([[0.0], np.cumsum(sorted_v)[:-1]])
        cuts = np.cumsum(props)[:-1] * total - _VALUE_TOL * total
        codes[positive[order]] = (before[:, None] >= cuts[None, :]).sum(axis=1)
    return _as_tiers(codes, v.index, labels)


def learn_thresholds(values: pd.Series, tiers: pd.Series) -> pd.Series:
    """Lowest value of each upper tier and of all tiers above it, in value units.

    The result is indexed by every tier label but the last; a tier with no
    positive-valued member gets the threshold of the tier above it (``inf`` for
    the first tier), so thresholds never increase down the tiers.

    Examples
    --------
    >>> v = pd.Series([9.0, 5.0, 1.0], index=list("abc"))
    >>> learn_thresholds(v, count_rule(v, shares=(0.4, 0.3, 0.3))).tolist()
    [9.0, 5.0]
    """
    v = as_values(values)
    codes = tiers.reindex(v.index).cat.codes.to_numpy()
    labels = list(tiers.cat.categories)
    arr = v.to_numpy()
    out = []
    for j in range(len(labels) - 1):
        members = arr[(codes >= 0) & (codes <= j) & (arr > 0)]
        out.append(members.min() if len(members) else np.inf)
    return pd.Series(out, index=pd.Index(labels[:-1], name="tier"), name="threshold")


def cut_by_thresholds(
    values: pd.Series,
    thresholds: Sequence[float] | pd.Series,
    *,
    tiers: Sequence[str] = DEFAULT_TIERS,
) -> pd.Series:
    """Tier values with fixed thresholds (e.g. from :func:`learn_thresholds`).

    A value is in the first tier whose threshold it reaches (``>=``); values
    below every threshold, zero, negative or NaN are in the last tier. Tied
    values always share a tier here.

    Examples
    --------
    >>> values = pd.Series([150.0, 20.0, 5.0, 0.0])
    >>> cut_by_thresholds(values, [100.0, 20.0]).tolist()
    ['A', 'B', 'C', 'C']
    """
    labels = validate_tiers(tiers)
    thr = np.asarray(thresholds, dtype=float)
    if thr.shape != (len(labels) - 1,):
        raise ValueError(
            f"thresholds has {thr.size} entries; {len(labels) - 1} expected "
            f"(one per tier but the last of {labels!r})"
        )
    if np.any(thr[1:] > thr[:-1]) or np.isnan(thr).any():
        raise ValueError(f"thresholds must not increase down the tiers, got {thr!r}")
    v = as_values(values)
    arr = v.to_numpy()
    codes = (arr[:, None] < thr[None, :]).sum(axis=1)
    codes[arr <= 0] = len(labels) - 1
    return _as_tiers(codes, v.index, labels)


def assign_tiers(
    values: pd.Series | pd.DataFrame,
    *,
    rule: Rule = "count",
    shares: Sequence[float] | None = None,
    tiers: Sequence[str] = DEFAULT_TIERS,
    criteria: Mapping[str, float] | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
    cut: Literal["count", "value"] = "count",
    value_col: str | None = "net_spend",
) -> pd.Series:
    """Assign tiers afresh with the count, cumulative value or composite rule.

    Parameters
    ----------
    values : Series or DataFrame
        Value per customer (index = ``customer_id``); NaN counts as 0. With
        ``rule="composite"``, the customer feature frame instead.
    rule : {"count", "value", "composite"}
        ``count``: shares of customers (:func:`count_rule`); ``value``: shares of
        cumulative value (:func:`value_rule`); ``composite``: a weighted
        percentile-rank score (:func:`~segml.tiers.composite.composite_score`)
        cut by the ``cut`` rule.
    shares : sequence of float, optional
        One share per tier, best first, each in (0, 1), summing to 1. Defaults:
        (0.05, 0.15, 0.80) of customers for ``count``, (0.80, 0.15, 0.05) of
        value for ``value``; only three tiers have defaults.
    tiers : sequence of str
        Tier labels, best first.
    criteria, higher_is_better : mapping, optional
        Composite rule only: weights per column and their direction.
    cut : {"count", "value"}
        Composite rule only: how the score is cut.
    value_col : str or None
        Composite rule only: when this column is in the frame, customers whose
        value there is zero, negative or NaN are put in the last tier.

    Returns
    -------
    Series
        Ordered categorical ``tier``, indexed like ``values``.

    Examples
    --------
    >>> spend = pd.Series([500.0, 120.0, 80.0, 0.0], index=["c1", "c2", "c3", "c4"])
    >>> assign_tiers(spend, rule="value", shares=(0.7, 0.2, 0.1))
    c1    A
    c2    B
    c3    B
    c4    C
    Name: tier, dtype: category
    Categories (3, str): ['A' < 'B' < 'C']
    """
    labels = validate_tiers(tiers)
    if rule not in ("count", "value", "composite"):
        raise ValueError(f"rule must be 'count', 'value' or 'composite', got {rule!r}")
    if rule == "composite":
        if cut not in ("count", "value"):
            raise ValueError(f"cut must be 'count' or 'value', got {cut!r}")
        if not isinstance(values, pd.DataFrame):
            raise ValueError("values must be a feature DataFrame for rule='composite'")
        score = composite_score(values, criteria, higher_is_better)
        score = score.where(has_positive_value(values, value_col), 0.0)
        return assign_tiers(score, rule=cut, shares=shares, tiers=labels)
    props = default_shares(rule, len(labels)) if shares is None else shares
    fn = count_rule if rule == "count" else value_rule
    return fn(values, shares=props, tiers=labels)


def has_positive_value(frame: pd.DataFrame, value_col: str | None) -> pd.Series:
    """True where the customer has positive value (all True without the column)."""
    if value_col is None or value_col not in frame.columns:
        return pd.Series(True, index=frame.index)
    return pd.to_numeric(frame[value_col]).fillna(0.0) > 0
