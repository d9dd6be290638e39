"""Composite importance score: weighted percentile ranks over several criteria."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from segml.tiers._validate import check_unique_index, validate_weights

__all__ = [
    "DEFAULT_CRITERIA",
    "DEFAULT_HIGHER_IS_BETTER",
    "composite_score",
    "percentile_rank",
    "resolve_criteria",
]

#: Default criteria (segml feature names) and weights: spend, profit,
#: frequency, payment punctuality and growth.
DEFAULT_CRITERIA: dict[str, float] = {
    "net_spend": 0.30,
    "margin": 0.25,
    "orders": 0.20,
    "mean_days_late": 0.10,
    "spend_trend": 0.15,
}
#: Direction of the default criteria; any other criterion defaults to True.
DEFAULT_HIGHER_IS_BETTER: dict[str, bool] = {"mean_days_late": False}


def resolve_criteria(
    features: pd.DataFrame, criteria: Mapping[str, float] | None
) -> dict[str, float]:
    """Validate ``criteria`` against the columns of ``features``.

    Explicit criteria must all be columns holding at least one value
    (``ValueError`` naming the offending ones). With ``criteria=None`` the
    :data:`DEFAULT_CRITERIA` are used; those absent from ``features`` or
    entirely NaN (segml's feature builder leaves ``margin`` NaN when the
    business records no cost, ``mean_days_late`` when it logs no payments) are
    skipped with a ``UserWarning`` and the remaining weights rescaled to sum
    to 1.

    Examples
    --------
    >>> feats = pd.DataFrame({"net_spend": [5.0, 1.0], "margin": [np.nan, np.nan]})
    >>> resolve_criteria(feats, {"net_spend": 1.0})
    {'net_spend': 1.0}
    """
    usable = [c for c in features.columns if features[c].notna().any()]
    if criteria is not None:
        weights = validate_weights(criteria)
        missing = [c for c in weights if c not in features.columns]
        if missing:
            raise ValueError(
                f"criteria column(s) {missing} not found in the features; "
                f"available: {list(features.columns)}"
            )
        empty = [c for c in weights if c not in usable]
        if empty:
            raise ValueError(f"criteria column(s) {empty} hold no value (all NaN)")
        return weights
    present = {c: w for c, w in DEFAULT_CRITERIA.items() if c in usable}
    if not present:
        raise ValueError(
            f"none of the default criteria {list(DEFAULT_CRITERIA)} is a column "
            "of the features with values; pass criteria={column: weight}"
        )
    skipped = [c for c in DEFAULT_CRITERIA if c not in present]
    if skipped:
        warnings.warn(
            f"composite score: default criteria {skipped} are absent or all NaN "
            f"and are skipped; weights rescaled over {list(present)}",
            UserWarning,
            stacklevel=3,
        )
    total = sum(present.values())
    return {c: w / total for c, w in present.items()}


def percentile_rank(
    x: pd.Series, reference: pd.Series | None = None, *, higher_is_better: bool = True
) -> pd.Series:
    """Share of reference customers that ``x`` equals or beats, in [0, 1].

    With ``higher_is_better`` the rank of ``x`` is the share of reference
    values ``<= x`` (the empirical CDF), otherwise the share ``>= x``; so the
    best customer of the reference gets 1 and ties share a rank. NaN in ``x``
    gets the neutral rank 0.5; NaN in the reference is ignored. The reference
    defaults to ``x`` itself.

    Examples
    --------
    >>> percentile_rank(pd.Series([10.0, 20.0, 20.0, 40.0])).tolist()
    [0.25, 0.75, 0.75, 1.0]
    """
    ref = x if reference is None else reference
    ref_sorted = np.sort(pd.to_numeric(ref).dropna().to_numpy(dtype=float))
    values = pd.to_numeric(x).to_numpy(dtype=float, na_value=np.nan)
    if len(ref_sorted) == 0:
        return pd.Series(0.5, index=x.index, name=x.name)
    if higher_is_better:
        hits = np.searchsorted(ref_sorted, values, side="right")
    else:
        hits = len(ref_sorted) - np.searchsorted(ref_sorted, values, side="left")
    rank = np.where(np.isnan(values), 0.5, hits / len(ref_sorted))
    return pd.Series(rank, index=x.index, name=x.name)


def composite_score(
    features: pd.DataFrame,
    criteria: Mapping[str, float] | None = None,
    higher_is_better: Mapping[str, bool] | None = None,
    *,
    reference: pd.DataFrame | None = None,
) -> pd.Series:
    """Weighted sum of per-criterion percentile ranks, in [0, 1].

    ``score = sum_c w_c * rank_c`` where ``rank_c`` is the
    :func:`percentile_rank` of criterion ``c`` (1 = best customer). Criteria
    where lower is better (``mean_days_late`` by default: payment punctuality)
    are ranked in reverse.

    Parameters
    ----------
    features : DataFrame
        One row per customer (index = ``customer_id``).
    criteria : mapping column -> weight, optional
        Weights in (0, 1] summing to 1. Default :data:`DEFAULT_CRITERIA`, see
        :func:`resolve_criteria` for how absent or all-NaN default columns are
        skipped.
    higher_is_better : mapping column -> bool, optional
        Direction per criterion; unlisted criteria follow
        :data:`DEFAULT_HIGHER_IS_BETTER` and otherwise count higher as better.
    reference : DataFrame, optional
        Population the ranks are taken in (default: ``features``); lets a new
        period be scored against the customers a cut was learned on.

    Returns
    -------
    Series
        ``score`` indexed like ``features``.

    Examples
    --------
    >>> feats = pd.DataFrame(
    ...     {"net_spend": [300.0, 100.0, 50.0], "mean_days_late": [0.0, 12.0, 3.0]},
    ...     index=pd.Index(["a", "b", "c"], name="customer_id"))
    >>> composite_score(feats, {"net_spend": 0.5, "mean_days_late": 0.5})
    customer_id
    a    1.000000
    b    0.500000
    c    0.500000
    Name: score, dtype: float64
    """
    if not isinstance(features, pd.DataFrame):
        raise ValueError("features must be a DataFrame with one row per customer")
    if len(features) == 0:
        raise ValueError("features is empty: there is no customer to score")
    check_unique_index(features.index, "features")
    weights = resolve_criteria(features, criteria)
    ref = features if reference is None else reference
    missing = [c for c in weights if c not in ref.columns]
    if missing:
        raise ValueError(f"reference lacks the criteria column(s) {missing}")
    directions = {**DEFAULT_HIGHER_IS_BETTER, **(higher_is_better or {})}
    score = np.zeros(len(features))
    for col, weight in weights.items():
        if not pd.api.types.is_numeric_dtype(features[col]):
            raise ValueError(f"criteria column {col!r} must be numeric")
        rank = percentile_rank(
            features[col], ref[col], higher_is_better=directions.get(col, True)
        )
        score += weight * rank.to_numpy()
    return pd.Series(np.clip(score, 0.0, 1.0), index=features.index, name="score")
