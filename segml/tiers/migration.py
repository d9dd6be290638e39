"""Tier migration between two dates: transition matrix, risers and fallers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.tiers._validate import check_unique_index, validate_tiers
from segml.tiers.pareto import tier_labels

__all__ = ["NEW", "GONE", "TierMigration", "tier_migration"]

#: Row label of customers tiered only at the later date.
NEW = "new"
#: Column label of customers tiered only at the earlier date.
GONE = "gone"

_MOVER_COLUMNS = ["customer_id", "before", "after", "steps"]


@dataclass(frozen=True)
class TierMigration:
    """Result of :func:`tier_migration`.

    Attributes
    ----------
    counts : DataFrame
        Customers per (before, after) pair; rows are the tiers then ``"new"``,
        columns the tiers then ``"gone"``.
    shares : DataFrame
        ``counts`` divided by row totals (NaN for an empty row).
    risers, fallers : DataFrame
        Customers tiered at both dates who moved to a better (worse) tier:
        ``customer_id``, ``before``, ``after`` and ``steps`` (tiers moved,
        positive), sorted by ``steps`` descending then ``customer_id``.
    """

    counts: pd.DataFrame
    shares: pd.DataFrame
    risers: pd.DataFrame
    fallers: pd.DataFrame


def _labels(before: pd.Series, after: pd.Series, tiers: Sequence[str] | None) -> list:
    if tiers is not None:
        labels = list(validate_tiers(tiers))
    else:
        labels = tier_labels(before)
        labels += [t for t in tier_labels(after) if t not in labels]
    seen = set(before.dropna().astype("str")) | set(after.dropna().astype("str"))
    unknown = sorted(seen - set(labels))
    if unknown:
        raise ValueError(f"tiers {unknown} are not among the tier labels {labels}")
    if NEW in labels or GONE in labels:
        raise ValueError(f"tier labels cannot be {NEW!r} or {GONE!r}")
    return labels


def _movers(frame: pd.DataFrame, mask: np.ndarray, steps: np.ndarray) -> pd.DataFrame:
    out = frame.loc[mask, ["customer_id", "before", "after"]].assign(steps=steps[mask])
    out = out.sort_values(["steps", "customer_id"], ascending=[False, True])
    return out.reset_index(drop=True)[_MOVER_COLUMNS]


def tier_migration(
    before: pd.Series, after: pd.Series, *, tiers: Sequence[str] | None = None
) -> TierMigration:
    """Who moved between tiers from one date to the next.

    Parameters
    ----------
    before, after : Series
        Tier per customer (index = ``customer_id``) at the earlier and the later
        date. A customer absent (or NaN) on one side is ``"new"`` or ``"gone"``.
    tiers : sequence of str, optional
        Tier labels best first; default: the categories of ``before`` (then any
        new ones of ``after``) when categorical, else the sorted labels.

    Returns
    -------
    TierMigration
        ``counts``, ``shares``, ``risers`` and ``fallers``.

    Examples
    --------
    >>> before = pd.Series(["A", "B", "C", "C"], index=["a", "b", "c", "d"])
    >>> after = pd.Series(["B", "B", "A", "C"], index=["a", "b", "c", "e"])
    >>> m = tier_migration(before, after)
    >>> m.counts
           A  B  C  gone
    before
    A      0  1  0     0
    B      0  1  0     0
    C      1  0  0     1
    new    0  0  1     0
    >>> m.risers
      customer_id before after  steps
    0           c      C     A      2
    """
    for name, s in (("before", before), ("after", after)):
        if not isinstance(s, pd.Series):
            raise ValueError(f"{name} must be a Series of tiers indexed by customer_id")
        check_unique_index(s.index, name)
    b, a = before.dropna(), after.dropna()
    labels = _labels(b, a, tiers)
    rows, cols = [*labels, NEW], [*labels, GONE]
    ids = b.index.union(a.index, sort=False)
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "before": b.astype("str").reindex(ids).fillna(NEW).to_numpy(),
            "after": a.astype("str").reindex(ids).fillna(GONE).to_numpy(),
        }
    )
    counts = pd.crosstab(
        pd.Categorical(frame["before"], categories=rows),
        pd.Categorical(frame["after"], categories=cols),
        dropna=False,
    ).astype("int64")
    counts.index = pd.Index(rows, name="before")
    counts.columns = pd.Index(cols, name=None)
    totals = counts.sum(axis=1).replace(0, np.nan)
    shares = counts.div(totals, axis=0)
    rank = {t: i for i, t in enumerate(labels)}
    both = frame["before"].isin(labels) & frame["after"].isin(labels)
    steps = np.zeros(len(frame), dtype="int64")
    steps[both.to_numpy()] = frame.loc[both, "before"].map(rank).to_numpy(
        dtype="int64"
    ) - frame.loc[both, "after"].map(rank).to_numpy(dtype="int64")
    risers = _movers(frame, steps > 0, steps)
    fallers = _movers(frame, steps < 0, -steps)
    return TierMigration(counts=counts, shares=shares, risers=risers, fallers=fallers)
