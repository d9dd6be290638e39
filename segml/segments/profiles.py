"""Cluster profiles: size, value share, medians, tier mix and lifecycle mix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["describe_effects", "distinguishing_features", "profile_clusters"]


def _mix(
    labels: pd.Series, clusters: pd.Series, prefix: str, order: list
) -> pd.DataFrame:
    """Share of each label within each cluster, one column per label."""
    table = pd.crosstab(clusters, labels.astype("str"), normalize="index")
    table = table.reindex(columns=[str(o) for o in order], fill_value=0.0)
    table.columns = [f"{prefix}{c}" for c in table.columns]
    return table


def profile_clusters(
    features: pd.DataFrame,
    clusters: pd.Series | np.ndarray,
    *,
    value_col: str = "net_spend",
    columns: Sequence[str] | None = None,
    tiers: pd.Series | Mapping[str, pd.Series] | None = None,
    lifecycle_col: str | None = "lifecycle_stage",
) -> pd.DataFrame:
    """One row per cluster describing who is in it.

    Parameters
    ----------
    features : DataFrame
        One row per customer.
    clusters : Series or array
        Cluster per row of ``features`` (a Series is aligned on the index).
    value_col : str
        Column whose sum gives each cluster's share of value.
    columns : sequence of str, optional
        Columns to take medians of (default: the numeric columns).
    tiers : Series or mapping of Series, optional
        Tier per customer (aligned on the index): adds ``tier_<label>`` shares.
        A mapping ``{rule: tiers}`` (e.g. ``{"count": ..., "value": ...}``)
        adds ``tier_<rule>_<label>`` shares for each rule.
    lifecycle_col : str or None
        When this column is in ``features``, adds ``stage_<stage>`` shares.

    Returns
    -------
    DataFrame
        Indexed by ``cluster`` (sorted): ``size``, ``customer_share``,
        ``value_share``, ``mean_<value_col>``, ``median_<col>`` per column, then
        the tier and lifecycle mixes (shares within the cluster).

    Examples
    --------
    >>> feats = pd.DataFrame({"net_spend": [500.0, 300.0, 20.0, 10.0],
    ...                       "orders": [9, 5, 1, 1]})
    >>> profile = profile_clusters(feats, [0, 0, 1, 1])
    >>> profile[["size", "customer_share", "value_share", "median_orders"]]
             size  customer_share  value_share  median_orders
    cluster
    0           2             0.5     0.963855            7.0
    1           2             0.5     0.036145            1.0
    """
    if value_col not in features.columns:
        raise ValueError(f"value_col {value_col!r} is not a column of the features")
    if isinstance(clusters, pd.Series):
        labels = clusters.reindex(features.index)
    else:
        labels = pd.Series(np.asarray(clusters), index=features.index)
    if len(labels) != len(features) or labels.isna().any():
        raise ValueError("clusters must give one cluster per row of features")
    labels = labels.rename("cluster")
    if columns is None:
        columns = [
            c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])
        ]
    value = features[value_col].astype("float64")
    grouped = features.groupby(labels.to_numpy(), sort=True)
    size = grouped.size()
    total = float(value.sum())
    sums = value.groupby(labels.to_numpy(), sort=True).sum()
    profile = pd.DataFrame(
        {
            "size": size.astype("int64"),
            "customer_share": size / len(features),
            "value_share": sums / total if total != 0 else np.nan,
            f"mean_{value_col}": value.groupby(labels.to_numpy(), sort=True).mean(),
        }
    )
    medians = grouped[list(columns)].median().add_prefix("median_")
    parts = [profile, medians]
    if tiers is not None:
        rules = tiers.items() if isinstance(tiers, Mapping) else [("", tiers)]
        for rule, given in rules:
            aligned = given.reindex(features.index)
            if aligned.isna().any():
                raise ValueError(
                    "tiers must give a tier for every customer of features"
                )
            order = (
                list(aligned.cat.categories)
                if isinstance(aligned.dtype, pd.CategoricalDtype)
                else sorted(aligned.astype("str").unique())
            )
            prefix = f"tier_{rule}_" if rule else "tier_"
            parts.append(_mix(aligned, labels, prefix, order))
    if lifecycle_col is not None and lifecycle_col in features.columns:
        raw = features[lifecycle_col]
        stage = raw.astype("object").where(raw.notna(), "unknown").astype("str")
        order = (
            [str(c) for c in raw.cat.categories]
            if isinstance(raw.dtype, pd.CategoricalDtype)
            else sorted(stage.unique())
        )
        if raw.isna().any() and "unknown" not in order:
            order.append("unknown")
        parts.append(_mix(stage, labels, "stage_", order))
    out = pd.concat([p.reindex(profile.index) for p in parts], axis=1)
    out.index = pd.Index(profile.index, name="cluster")
    return out


def distinguishing_features(
    coordinates: pd.DataFrame, clusters: np.ndarray
) -> pd.DataFrame:
    """How far each cluster sits from the other customers, feature by feature.

    The effect of a feature for a cluster is the mean of its members minus the
    mean of everyone else, in the scaled clustering coordinates (standard
    deviations of the training customers): ``+1.5`` means the cluster is one
    and a half standard deviations above the rest.

    Examples
    --------
    >>> coords = pd.DataFrame({"a": [1.0, 1.0, -1.0, -1.0], "b": [0.0, 1, 0, 1]})
    >>> distinguishing_features(coords, np.array([0, 0, 1, 1]))
               a    b
    cluster
    0        2.0  0.0
    1       -2.0  0.0
    """
    labels = np.asarray(clusters)
    rows = {}
    for c in np.unique(labels):
        inside = labels == c
        rest = coordinates[~inside].mean() if (~inside).any() else 0.0
        rows[c] = coordinates[inside].mean() - rest
    out = pd.DataFrame(rows).T.reindex(columns=coordinates.columns)
    out.index = pd.Index(out.index, name="cluster")
    return out


def describe_effects(effects: pd.DataFrame, *, min_effect: float = 0.5) -> pd.Series:
    """Each cluster's distinguishing features as text, strongest first.

    Every feature whose ``|effect|`` reaches ``min_effect`` is listed (as many
    as there are, not a fixed number); a cluster with none is ``""``.

    Examples
    --------
    >>> effects = pd.DataFrame({"a": [2.0, -0.2], "b": [-0.6, 0.1]})
    >>> describe_effects(effects).tolist()
    ['a +2.0, b -0.6', '']
    """
    texts = []
    for _, row in effects.iterrows():
        row = row.dropna()
        row = row[row.abs() >= min_effect]
        row = row.reindex(row.abs().sort_values(ascending=False, kind="stable").index)
        texts.append(", ".join(f"{f} {v:+.1f}" for f, v in row.items()))
    return pd.Series(texts, index=effects.index, name="distinguishing", dtype="str")
