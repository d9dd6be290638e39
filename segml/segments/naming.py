"""Readable, deterministic and unique names for clusters, from their profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DESCRIPTORS", "level", "name_clusters", "name_segments"]

#: Percentile cut-offs between "low", "mid" and "high".
LOW, HIGH = 1 / 3, 2 / 3


def level(median: float, population: pd.Series) -> float:
    """Mid-percentile of ``median`` among the population, in [0, 1].

    ``(share of values < median + share of values <= median) / 2``; NaN when
    the population has no values.

    Examples
    --------
    >>> level(20.0, pd.Series([10.0, 20.0, 30.0, 40.0]))
    0.375
    """
    ref = pd.to_numeric(population).dropna().to_numpy(dtype=float)
    if len(ref) == 0 or not np.isfinite(median):
        return float("nan")
    return float(((ref < median).mean() + (ref <= median).mean()) / 2)


def _words(row: pd.Series, features: pd.DataFrame, cols: dict[str, str]) -> dict:
    """Descriptors of one cluster: recency, value, frequency and tenure words."""

    def pct(key: str) -> float:
        col = cols[key]
        name = f"median_{col}"
        if col not in features.columns or name not in row.index:
            return float("nan")
        return level(float(row[name]), features[col])

    words = {"recency": "", "value": "", "frequency": "", "tenure": ""}
    p = pct("recency")
    if p >= HIGH:
        words["recency"] = "lapsed"
    elif p <= LOW:
        words["recency"] = "recent"
    p = pct("value")
    if np.isfinite(p):
        words["value"] = (
            "high-value" if p >= HIGH else "mid-value" if p >= LOW else "low-value"
        )
    p = pct("frequency")
    if np.isfinite(p):
        freq = float(row[f"median_{cols['frequency']}"])
        words["frequency"] = (
            "one-off" if freq <= 1 else "frequent" if p >= HIGH else "occasional"
        )
    p = pct("tenure")
    if p >= HIGH:
        words["tenure"] = "long-standing"
    elif p <= LOW:
        words["tenure"] = "new"
    return words


def name_clusters(
    profiles: pd.DataFrame,
    features: pd.DataFrame,
    *,
    value_col: str = "net_spend",
    frequency_col: str = "orders",
    recency_col: str = "recency_days",
    tenure_col: str = "tenure_days",
) -> pd.Series:
    """Name each cluster after where its medians sit among all customers.

    Each ``median_<col>`` of a profile is placed among the customers of
    ``features`` (:func:`level`): in the top third it is high, in the bottom
    third low. The name joins, when the columns exist, a recency word
    (``lapsed`` / ``recent``), a value word (``high-value`` / ``mid-value`` /
    ``low-value``) and a frequency word (``one-off`` when the median customer
    ordered at most once, else ``frequent`` / ``occasional``), e.g.
    ``"lapsed low-value one-off"``. Clusters whose names collide get a tenure
    word (``new`` / ``long-standing``) in front; names still shared get
    `` (2)``, `` (3)``, ... in cluster order. A cluster with no descriptor is
    ``"cluster <i>"``.

    Returns
    -------
    Series
        ``name`` indexed like ``profiles``.

    Examples
    --------
    >>> feats = pd.DataFrame({"net_spend": [900.0, 700.0, 30.0, 20.0, 10.0, 5.0],
    ...                       "orders": [12, 9, 1, 1, 2, 1],
    ...                       "recency_days": [3, 10, 300, 250, 200, 400]})
    >>> profiles = pd.DataFrame({"median_net_spend": [800.0, 7.5],
    ...                          "median_orders": [10.5, 1.0],
    ...                          "median_recency_days": [6.5, 350.0]})
    >>> name_clusters(profiles, feats).tolist()
    ['recent high-value frequent', 'lapsed low-value one-off']
    """
    cols = {
        "value": value_col,
        "frequency": frequency_col,
        "recency": recency_col,
        "tenure": tenure_col,
    }
    words = [_words(row, features, cols) for _, row in profiles.iterrows()]
    names = [
        " ".join(w for w in (d["recency"], d["value"], d["frequency"]) if w)
        for d in words
    ]
    counts = pd.Series(names).value_counts()
    names = [
        f"{d['tenure']} {n}".strip() if counts[n] > 1 and d["tenure"] else n
        for n, d in zip(names, words, strict=True)
    ]
    names = [n or f"cluster {c}" for n, c in zip(names, profiles.index, strict=True)]
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return pd.Series(unique, index=profiles.index, name="name", dtype="str")


#: Words for a segment far below / above the others on a clustering feature.
DESCRIPTORS: dict[str, tuple[str, str]] = {
    "avg_order_value": ("small-basket", "big-basket"),
    "max_order_value": ("small-basket", "big-basket"),
    "net_spend": ("low-spend", "high-spend"),
    "gross_spend": ("low-spend", "high-spend"),
    "orders": ("one-off", "frequent"),
    "order_days": ("one-off", "frequent"),
    "orders_per_active_month": ("light", "heavy"),
    "active_month_share": ("sporadic", "steady"),
    "recency_days": ("recent", "lapsed"),
    "recency_ratio": ("on-cycle", "lapsed"),
    "gap_cv": ("regular", "irregular"),
    "discount_share": ("full-price", "discount-driven"),
    "main_channel_share": ("multichannel", "single-channel"),
    "distinct_channels": ("single-channel", "multichannel"),
    "return_rate": ("keeper", "returner"),
    "spend_trend": ("declining", "growing"),
    "orders_trend": ("declining", "growing"),
    "tenure_days": ("new", "long-standing"),
}


def _descriptor(feature: str, effect: float) -> str:
    low, high = DESCRIPTORS.get(feature, (f"low-{feature}", f"high-{feature}"))
    return high if effect > 0 else low


def name_segments(
    effects: pd.DataFrame,
    value_levels: pd.Series,
    *,
    min_effect: float = 0.5,
    words: int = 2,
) -> pd.Series:
    """Unique names from each segment's value level and distinguishing features.

    A name is the value word (``high-value`` / ``mid-value`` / ``low-value``
    from ``value_levels``, a percentile as :func:`level` gives) followed by the
    words (:data:`DESCRIPTORS`) of the ``words`` features that most distinguish
    the segment (largest ``|effect|`` of at least ``min_effect``, strongest
    first), e.g. ``"low-value discount-driven small-basket"``. Segments whose
    names collide take their next distinguishing word, one at a time; names
    still shared get `` (2)``, `` (3)``, ... in segment order. A word already
    in the name is not repeated.

    Parameters
    ----------
    effects : DataFrame
        One row per segment, one column per feature: how far the segment's mean
        sits from the other customers' in standard deviations
        (:func:`~segml.segments.profiles.distinguishing_features`).
    value_levels : Series
        Percentile of each segment's median value among all customers.

    Examples
    --------
    >>> effects = pd.DataFrame({"discount_share": [2.0, -0.4, -0.1],
    ...                         "avg_order_value": [-1.0, 1.5, 0.2]})
    >>> levels = pd.Series([0.2, 0.9, 0.5])
    >>> name_segments(effects, levels).tolist()
    ['low-value discount-driven small-basket', 'high-value big-basket', 'mid-value']
    """
    ranked = []
    for seg in effects.index:
        row = effects.loc[seg].dropna()
        row = row[row.abs() >= min_effect]
        order = row.abs().sort_values(ascending=False, kind="stable").index
        found: list[str] = []
        for feature in order:
            word = _descriptor(str(feature), float(row[feature]))
            if word not in found:
                found.append(word)
        ranked.append(found)
    bases = []
    for seg in effects.index:
        p = float(value_levels.get(seg, np.nan))
        bases.append(
            ""
            if not np.isfinite(p)
            else "high-value"
            if p >= HIGH
            else "mid-value"
            if p >= LOW
            else "low-value"
        )
    used = [min(words, len(r)) for r in ranked]

    def compose(i: int) -> str:
        name = " ".join(w for w in (bases[i], *ranked[i][: used[i]]) if w)
        return name or f"segment {effects.index[i]}"

    for _ in range(max((len(r) for r in ranked), default=0)):
        names = [compose(i) for i in range(len(ranked))]
        counts = pd.Series(names).value_counts()
        grow = [
            i for i, n in enumerate(names) if counts[n] > 1 and used[i] < len(ranked[i])
        ]
        if not grow:
            break
        for i in grow:
            used[i] += 1
    seen: dict[str, int] = {}
    unique = []
    for i in range(len(ranked)):
        n = compose(i)
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return pd.Series(unique, index=effects.index, name="name", dtype="str")
