"""Stable tiers: hysteresis around the tier thresholds.

A rule recomputed every period flips customers who sit right at a threshold
back and forth (A in March, B in April, A in May) although nothing about them
changed. With a hysteresis ``margin`` a customer who had a tier last period
keeps it unless this period's measure (value, or the composite score) crosses
a threshold by more than ``margin`` times that threshold:

* **up**: a customer last in tier ``k`` whom the rule now puts higher rises
  only to the best tier ``j < k`` whose threshold they beat by the margin,
  ``value >= t_j * (1 + margin)`` (never higher than the rule says);
* **down**: a customer last in tier ``k`` whom the rule now puts lower keeps
  ``k`` while ``value >= t_k * (1 - margin)``; otherwise they fall to the
  best tier whose threshold they still meet within the margin (never lower
  than the rule says);
* customers without a tier last period (new ones) and customers whose
  measure is zero, negative or NaN get the rule's tier, as always.

``t_j`` is the threshold of tier ``j`` this period: the lowest measure among
the rule's tiers ``0..j`` (:func:`~segml.tiers.learn_thresholds`). The shares
of customers (count rule) or of value (value rule) therefore drift from the
rule's shares; ``benchmarks/tiers.py`` measures by how much on CDNOW.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from segml.tiers._validate import as_values
from segml.tiers.rules import _as_tiers, learn_thresholds

__all__ = ["apply_hysteresis", "check_margin"]


def check_margin(margin: float, name: str = "margin") -> float:
    """Return ``margin`` as a float after checking ``0 <= margin < 1``.

    Examples
    --------
    >>> check_margin(0.1)
    0.1
    """
    try:
        value = float(margin)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number in [0, 1), got {margin!r}") from exc
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {margin!r}")
    return value


def apply_hysteresis(
    values: pd.Series,
    fresh: pd.Series,
    previous: pd.Series,
    *,
    margin: float,
    thresholds: Sequence[float] | pd.Series | None = None,
) -> pd.Series:
    """Tiers that keep last period's tier unless a threshold is crossed by a margin.

    Parameters
    ----------
    values : Series
        This period's measure per customer (index = ``customer_id``): the value
        for the count and value rules, the composite score for the composite
        rule. NaN counts as 0.
    fresh : Series
        This period's tiers by the rule (ordered categorical, best first),
        indexed like ``values``.
    previous : Series
        Last period's tiers (any labels of ``fresh``'s categories, or NaN);
        customers absent from it get their fresh tier.
    margin : float
        In ``[0, 1)``: the fraction of a threshold a customer must cross it by
        to change tier. ``0`` still keeps a customer whom the rule moved only
        because of a tie at a threshold.
    thresholds : sequence or Series, optional
        One threshold per tier but the last, not increasing; default
        :func:`~segml.tiers.learn_thresholds` of ``values`` and ``fresh``.

    Returns
    -------
    Series
        Ordered categorical ``tier`` with ``fresh``'s categories, indexed like
        ``values``.

    Examples
    --------
    Thresholds 100 (A) and 50 (B), margin 10 %: ``a`` was A and fell to 95,
    within 10 % of 100, so stays A; ``b`` was B and rose to 105, not 10 %
    above 100, so stays B; ``c`` was C and rose to 120, so becomes A.

    >>> values = pd.Series([95.0, 105.0, 120.0, 20.0], index=list("abcd"))
    >>> fresh = pd.Series(pd.Categorical(["B", "A", "A", "C"],
    ...     categories=["A", "B", "C"], ordered=True), index=values.index)
    >>> previous = pd.Series(["A", "B", "C"], index=list("abc"))
    >>> apply_hysteresis(values, fresh, previous, margin=0.1,
    ...                  thresholds=[100.0, 50.0]).tolist()
    ['A', 'B', 'A', 'C']
    """
    m = check_margin(margin)
    v = as_values(values)
    if not isinstance(fresh, pd.Series) or not isinstance(
        fresh.dtype, pd.CategoricalDtype
    ):
        raise ValueError("fresh must be a categorical Series of tiers (best first)")
    if not fresh.index.equals(v.index):
        raise ValueError("fresh must be indexed like values (the same customers)")
    labels = list(fresh.cat.categories)
    last = len(labels) - 1
    if thresholds is None:
        thresholds = learn_thresholds(v, fresh)
    thr = np.asarray(thresholds, dtype=float)
    if thr.shape != (last,):
        raise ValueError(
            f"thresholds has {thr.size} entries; {last} expected (one per tier "
            f"but the last of {labels!r})"
        )
    if not isinstance(previous, pd.Series):
        raise ValueError("previous must be a Series of tiers indexed by customer_id")
    prev = previous.dropna().astype("str")
    unknown = sorted(set(prev.unique()) - set(labels))
    if unknown:
        raise ValueError(f"previous holds tiers {unknown} not among {labels}")
    rank = {t: i for i, t in enumerate(labels)}
    k = prev.map(rank).reindex(v.index).fillna(-1).to_numpy(dtype="int64")
    c = fresh.cat.codes.to_numpy(dtype="int64")
    arr = v.to_numpy()
    # thresholds do not increase down the tiers, so "meets t_j" holds from the
    # first tier it holds for onwards: the tier by raised / lowered thresholds
    with np.errstate(invalid="ignore"):
        up = (arr[:, None] < thr[None, :] * (1.0 + m)).sum(axis=1)
        keep = (arr[:, None] < thr[None, :] * (1.0 - m)).sum(axis=1)
    codes = c.copy()
    rises = (k >= 0) & (c < k)
    codes[rises] = np.maximum(c, np.minimum(up, k))[rises]
    falls = (k >= 0) & (c > k)
    codes[falls] = np.minimum(c, np.maximum(keep, k))[falls]
    codes[arr <= 0] = last
    return _as_tiers(codes, v.index, labels)
