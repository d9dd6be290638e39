"""The ``model.decision: value`` steps of a training run (no MLflow here).

* :func:`add_btyd` — the BG/NBD + Gamma-Gamma columns of every training row,
  the models refitted at each row's cutoff on that cutoff's features (point in
  time), about the row's own label window;
* :func:`set_value_cut` — fit the BTYD models at the reference date, draw
  futures over the scoring horizon, choose the tier shares of the ranking
  (:func:`~segml.model.value_ranker.simulated_rank_shares`) and hand the
  thresholds to the predictor.

The BTYD baseline itself (expected value over the scoring horizon, cut with the
rule) is :class:`segml.model.fallback.BTYDFallback`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from segml.btyd.features import (
    BTYDFit,
    fit_btyd_rfm,
    rfm_from_features,
    with_btyd_features,
)

__all__ = ["add_btyd", "fit_reference_btyd", "set_value_cut"]


def fit_reference_btyd(
    features: pd.DataFrame, *, as_of: pd.Timestamp, penalizer: float
) -> BTYDFit:
    """BG/NBD and Gamma-Gamma fitted on the RFM summary of a feature table."""
    with warnings.catch_warnings():
        # A fit that stops short of convergence keeps its best parameters.
        warnings.filterwarnings("ignore", message=".*converge.*")
        return fit_btyd_rfm(
            rfm_from_features(features), as_of=as_of, penalizer=penalizer
        )


def add_btyd(X: pd.DataFrame, *, horizon_days: float, penalizer: float) -> pd.DataFrame:
    """``X`` (stacked cutoffs, a ``cutoff`` column) with BTYD columns per cutoff."""
    parts = []
    for stamp, rows in X.groupby("cutoff", sort=False):
        fitted = fit_reference_btyd(rows, as_of=stamp, penalizer=penalizer)
        parts.append(with_btyd_features(rows, fitted, horizon_days))
    return pd.concat(parts).loc[X.index]


def set_value_cut(
    predictor: object,
    reference: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    horizon_days: float,
    rule: str,
    shares: Sequence[float],
    tiers: Sequence[str],
    n_draws: int,
    penalizer: float,
    seed: int,
) -> tuple[BTYDFit, tuple[float, ...]]:
    """Learn the predictor's value thresholds on ``reference`` (features at ``as_of``).

    Returns the BTYD fit and the shares of customers with history per tier
    the ranking is cut with.
    """
    from segml.model.value_decision import expected_value
    from segml.model.value_ranker import simulated_rank_shares

    history = reference["has_history"].to_numpy(dtype=bool)
    buyers = reference.loc[history]
    btyd = fit_reference_btyd(buyers, as_of=as_of, penalizer=penalizer)
    ranker = predictor.value_ranker_  # type: ignore[attr-defined]
    score = pd.Series(expected_value(ranker, buyers, btyd, horizon_days))
    draws = btyd.simulate(horizon_days, n_draws=n_draws, random_state=seed)
    picked = simulated_rank_shares(score, draws, rule=rule, shares=shares, tiers=tiers)
    predictor.set_value_cut(  # type: ignore[attr-defined]
        reference, btyd=btyd, horizon_days=horizon_days, shares=picked.shares
    )
    return btyd, picked.shares
