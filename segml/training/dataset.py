"""Training sets over time: features at each cutoff, labels from the window after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segml.features.asof import to_as_of
from segml.training.windows import future_value, past_value

__all__ = ["TrainingSet", "build_training_set", "label_tiers"]


@dataclass(frozen=True)
class TrainingSet:
    """Stacked rows of several cutoffs (rolling origins).

    Attributes
    ----------
    X : DataFrame
        ``cutoff``, ``customer_id`` and the features of every customer known at
        each cutoff (RangeIndex).
    y : Series
        The tier of the customer's value in ``(cutoff, cutoff + horizon]``.
    future_value, past_value : Series
        Net value in the label window and in the horizon before the cutoff.
    persistence : Series
        The same rule applied to ``past_value``: the persistence baseline.
    """

    X: pd.DataFrame
    y: pd.Series
    future_value: pd.Series
    past_value: pd.Series
    persistence: pd.Series

    @property
    def cutoff(self) -> pd.Series:
        """Each row's cutoff."""
        return self.X["cutoff"]

    def subset(self, mask: pd.Series | np.ndarray) -> TrainingSet:
        """The rows of ``mask`` (boolean, aligned with ``X``), re-indexed 0..n-1."""
        keep = np.asarray(mask, dtype=bool)

        def pick(values: pd.Series | pd.DataFrame):
            return values.loc[keep].reset_index(drop=True)

        return TrainingSet(
            X=pick(self.X),
            y=pick(self.y),
            future_value=pick(self.future_value),
            past_value=pick(self.past_value),
            persistence=pick(self.persistence),
        )

    def split_latest(self) -> tuple[pd.Series, pd.Series]:
        """Boolean masks (train, test): the latest cutoff is the out-of-time test."""
        latest = self.cutoff == self.cutoff.max()
        return ~latest, latest


def label_tiers(
    values: pd.Series,
    *,
    rule: str = "count",
    shares: Sequence[float] | None = None,
    tiers: Sequence[str] = ("A", "B", "C"),
) -> pd.Series:
    """Tier of each customer's value under a count or value rule (labels).

    Examples
    --------
    >>> v = pd.Series([100.0, 10.0, 5.0, 0.0], index=list("abcd"))
    >>> label_tiers(v, rule="count", shares=(0.25, 0.25, 0.5)).tolist()
    ['A', 'B', 'C', 'C']
    """
    from segml.tiers import assign_tiers

    tiered = assign_tiers(values, rule=rule, shares=shares, tiers=tiers)
    return tiered.astype("str")


def build_training_set(
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    cutoffs: Sequence[object],
    horizon_days: int,
    rule: str = "count",
    shares: Sequence[float] | None = None,
    tiers: Sequence[str] = ("A", "B", "C"),
    feature_params: Mapping[str, Any] | None = None,
) -> TrainingSet:
    """Features at every cutoff (one engine pass) and each row's future tier.

    The population of a cutoff is every customer known at it (buyers and leads
    who signed up by then); tiers are cut over that population. Only rows at or
    before a cutoff reach its features; only ``(cutoff, cutoff + horizon]``
    reaches its labels.
    """
    from segml.features import build_features_many

    stamps = sorted({to_as_of(c) for c in cutoffs})
    features = build_features_many(
        transactions,
        customers,
        events,
        as_ofs=stamps,
        **dict(feature_params or {}),
    )
    frame = features.reset_index().sort_values(
        ["cutoff", "customer_id"], kind="stable", ignore_index=True
    )
    parts_y, parts_future, parts_past, parts_persist = [], [], [], []
    for stamp, rows in frame.groupby("cutoff", sort=True):
        ids = pd.Index(rows["customer_id"], name="customer_id")
        fut = future_value(
            transactions, cutoff=stamp, horizon_days=horizon_days, customers=ids
        )
        past = past_value(
            transactions, cutoff=stamp, horizon_days=horizon_days, customers=ids
        )
        parts_future.append(fut.to_numpy())
        parts_past.append(past.to_numpy())
        kwargs = {"rule": rule, "shares": shares, "tiers": tiers}
        parts_y.append(label_tiers(fut, **kwargs).to_numpy())
        parts_persist.append(label_tiers(past, **kwargs).to_numpy())

    def stack(parts: list, name: str, dtype: str) -> pd.Series:
        values = np.concatenate(parts) if parts else np.array([])
        return pd.Series(values, index=frame.index, name=name, dtype=dtype)

    return TrainingSet(
        X=frame,
        y=stack(parts_y, "tier", "str"),
        future_value=stack(parts_future, "future_value", "float64"),
        past_value=stack(parts_past, "past_value", "float64"),
        persistence=stack(parts_persist, "persistence", "str"),
    )
