"""Tiers of customers with history by expected value over the scoring horizon.

The ``decision="value"`` path of :class:`segml.model.TierPredictor`: a
:class:`~segml.model.value_ranker.ValueRanker` (trained on windows as long as
the history allows) ranks customers by the value it expects over the *scoring*
horizon, and fixed value thresholds cut that ranking into tiers. The
thresholds are learned once, on a reference population scored at that horizon
(the latest snapshot), so a single row gets the tier it would get in a batch.

The BG/NBD + Gamma-Gamma offset of each row is computed from its own feature
columns (:func:`segml.btyd.features.with_btyd_features`) with the models
fitted at the snapshot, so a scoring frame needs nothing beyond the feature
catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.btyd.features import BTYDFit, with_btyd_features

__all__ = ["ValueDecision", "expected_value"]


@dataclass(frozen=True, eq=False)
class ValueDecision:
    """A fitted value ranking and the value thresholds that cut it into tiers.

    Build it with :meth:`fit_cut`.

    Attributes
    ----------
    ranker : ValueRanker
        Fitted; predicts a row's value over ``horizon_days``.
    btyd : BTYDFit
        BG/NBD and Gamma-Gamma fitted at the reference date (its RFM table is
        dropped: rows are summarised from their own features).
    horizon_days : float
        The scoring horizon the values are about.
    thresholds : ndarray
        Lowest expected value of each tier but the last, best first.
    shares : tuple of float
        Share of reference rows per tier the thresholds reproduce.
    """

    ranker: object
    btyd: BTYDFit
    horizon_days: float
    thresholds: np.ndarray
    shares: tuple[float, ...]

    @classmethod
    def fit_cut(
        cls,
        ranker: object,
        reference: pd.DataFrame,
        *,
        btyd: BTYDFit,
        horizon_days: float,
        shares: Sequence[float],
    ) -> ValueDecision:
        """Thresholds that give ``shares`` of ``reference``'s rows per tier.

        Parameters
        ----------
        ranker : ValueRanker
            Fitted.
        reference : DataFrame
            Feature rows of customers with history at the reference date.
        btyd : BTYDFit
            BTYD models fitted at that date.
        horizon_days : float
            Scoring horizon.
        shares : sequence of float
            Share of rows per tier, best first (summing to 1).

        Examples
        --------
        A ranker that trusts the BTYD expectation, on four customers:

        >>> from segml.btyd.features import fit_btyd
        >>> from segml.features import build_features
        >>> class Offset:
        ...     def predict(self, X):
        ...         return X["btyd_expected_value"]
        >>> tx = pd.DataFrame({
        ...     "customer_id": list("aaabbbccd"),
        ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-02-25",
        ...                           "2024-01-05", "2024-01-09", "2024-01-30",
        ...                           "2024-01-02", "2024-02-01", "2024-01-15"]),
        ...     "amount": [10.0, 12.0, 14.0, 50.0, 40.0, 45.0, 5.0, 6.0, 20.0]})
        >>> fitted = fit_btyd(tx, as_of="2024-03-01", penalizer=0.01)
        >>> X = build_features(tx, as_of="2024-03-01")
        >>> cut = ValueDecision.fit_cut(Offset(), X, btyd=fitted, horizon_days=30,
        ...                             shares=(0.25, 0.25, 0.5))
        >>> value = cut.expected_value(X).round(2)
        >>> dict(zip(X.index, cut.codes(X).tolist()))
        {'a': 2, 'b': 0, 'c': 2, 'd': 1}
        >>> bool(value[1] > value[3] > max(value[0], value[2]))
        True
        """
        expected = expected_value(ranker, reference, btyd, horizon_days)
        wanted = np.asarray(shares, dtype="float64")
        if len(expected) == 0:
            raise ValueError("the reference population has no customer with history")
        if wanted.ndim != 1 or len(wanted) < 2 or not np.isclose(wanted.sum(), 1.0):
            raise ValueError(f"shares must sum to 1 over the tiers, got {shares!r}")
        ordered = np.sort(expected)[::-1]
        ends = np.rint(np.cumsum(wanted)[:-1] * len(ordered)).astype(int)
        # A tier that gets no reference row gets no row at predict either.
        thresholds = np.array([ordered[end - 1] if end > 0 else np.inf for end in ends])
        slim = BTYDFit(btyd.as_of, btyd.rfm.iloc[:0], btyd.bgnbd, btyd.gamma_gamma)
        return cls(
            ranker,
            slim,
            float(horizon_days),
            thresholds,
            tuple(float(s) for s in wanted),
        )

    def expected_value(self, X: pd.DataFrame) -> np.ndarray:
        """Expected value of each row over ``horizon_days`` (rows with history)."""
        return expected_value(self.ranker, X, self.btyd, self.horizon_days)

    def codes(self, X: pd.DataFrame) -> np.ndarray:
        """Tier code of each row (0 = best): how many thresholds it is below."""
        expected = self.expected_value(X)
        return (expected[:, None] < self.thresholds[None, :]).sum(axis=1)


def expected_value(
    ranker: object, X: pd.DataFrame, btyd: BTYDFit, horizon_days: float
) -> np.ndarray:
    """A fitted ranker's expected value of each row of ``X`` over the horizon.

    The BTYD offset of each row comes from its own feature columns.
    """
    rows = with_btyd_features(X, btyd, horizon_days)
    return ranker.predict(rows).to_numpy(dtype="float64")  # type: ignore[attr-defined]
