"""The segmenter of a run's config, fitted the same way wherever segml fits one.

``segml train`` (on its latest snapshot), ``segml segments`` and the report
all call :func:`fit_segmenter`, so the same config and data give the same
segments everywhere.
"""

from __future__ import annotations

import pandas as pd

from segml.config import Config
from segml.segments import Segmenter

__all__ = ["fit_segmenter", "tier_mixes"]


def fit_segmenter(
    cfg: Config, features: pd.DataFrame, value: pd.Series
) -> Segmenter | None:
    """Fit ``segments.*`` on ``features`` (leads included: they are labelled).

    ``value`` is each customer's value for the tier mixes of the profiles
    (both the count and the value rule). Returns None when fewer than three
    customers with history per segment are there (``3 * (k or k_min)``).

    Examples
    --------
    >>> from segml.datasets import make_crm
    >>> from segml.features import build_features
    >>> crm = make_crm(600, seed=1)
    >>> f = build_features(crm.transactions, crm.customers, as_of="2024-12-31")
    >>> cfg = Config.model_validate({"segments": {"k": 3}})
    >>> fit_segmenter(cfg, f, f["net_spend"]).k_
    3
    """
    s = cfg.segments
    buyers = int(features["has_history"].to_numpy(dtype=bool).sum())
    if buyers < 3 * (s.k or s.k_min):
        return None
    k_max = max(s.k_min, min(s.k_max, buyers // 3))
    mixes = tier_mixes(cfg, value.reindex(features.index).fillna(0.0))
    # the Segmenter picks its clustering features and labels the leads
    return Segmenter(
        k=s.k,
        k_range=(s.k_min, k_max),
        criterion=s.criterion,
        threshold=s.threshold,
        sample_size=s.sample_size,
        random_state=s.seed,
    ).fit(features, tiers=mixes)


def tier_mixes(cfg: Config, value: pd.Series) -> dict[str, pd.Series]:
    """Each customer's tier under the count and the value rule, on one value:
    what a segment profile's tier mixes are computed from.

    Examples
    --------
    >>> value = pd.Series([900.0, 100.0, 50.0, 5.0], index=list("abcd"))
    >>> mixes = tier_mixes(Config(), value)
    >>> mixes["value"].astype(str).tolist()  # c starts at 94.8 % of value: B
    ['A', 'B', 'B', 'C']
    """
    from segml.tiers import assign_tiers

    labels = tuple(cfg.tiers.labels)
    return {
        rule: assign_tiers(value, rule=rule, shares=tuple(shares), tiers=labels)
        for rule, shares in (
            ("count", cfg.tiers.count_shares),
            ("value", cfg.tiers.value_shares),
        )
    }
