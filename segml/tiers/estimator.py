"""TierAssigner: learn tier cut-offs on one period, apply them to another."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from segml.tiers._validate import (
    DEFAULT_TIERS,
    check_X,
    validate_shares,
    validate_tiers,
)
from segml.tiers.composite import composite_score, resolve_criteria
from segml.tiers.rules import (
    assign_tiers,
    cut_by_thresholds,
    default_shares,
    has_positive_value,
    learn_thresholds,
)

__all__ = ["TierAssigner"]


class TierAssigner(TransformerMixin, BaseEstimator):
    """Tier customers and remember the cut-offs, in value units.

    ``fit_predict`` cuts afresh (exactly :func:`~segml.tiers.assign_tiers`);
    ``fit`` learns ``thresholds_``, the lowest value of each upper tier, so that
    ``predict`` can cut a later period with the same yardstick ("who would be A
    by last year's standard?"). With learned thresholds tied values always
    share the upper tier.

    Parameters
    ----------
    rule : {"count", "value", "composite"}
        See :func:`~segml.tiers.assign_tiers`.
    shares : sequence of float, optional
        One share per tier, best first (defaults depend on ``rule``).
    tiers : sequence of str
        Tier labels, best first.
    criteria, higher_is_better : mapping, optional
        Composite rule: weights and directions per column.
    cut : {"count", "value"}
        Composite rule: how the score is cut.
    value_col : str or None
        Column holding the value when ``X`` is a frame of several columns
        (a Series or a one-column frame is used as is). For the composite rule,
        customers with a value <= 0 in this column are in the last tier.

    Attributes
    ----------
    thresholds_ : Series
        Lowest value (composite: score) of each tier but the last.
    tiers_ : tuple of str
    shares_ : ndarray
    criteria_ : dict
        Composite rule: resolved weights.
    reference_ : DataFrame
        Composite rule: the fitted criteria, against which ranks are taken.

    Examples
    --------
    >>> last_year = pd.Series([900.0, 300.0, 100.0, 50.0, 0.0], index=list("abcde"))
    >>> est = TierAssigner(rule="count", shares=(0.2, 0.4, 0.4)).fit(last_year)
    >>> est.thresholds_.tolist()
    [900.0, 100.0]
    >>> est.predict(pd.Series([1000.0, 120.0, 60.0], index=list("afg"))).tolist()
    ['A', 'B', 'C']
    """

    def __init__(
        self,
        *,
        rule: str = "count",
        shares: Sequence[float] | None = None,
        tiers: Sequence[str] = DEFAULT_TIERS,
        criteria: Mapping[str, float] | None = None,
        higher_is_better: Mapping[str, bool] | None = None,
        cut: str = "count",
        value_col: str | None = "net_spend",
    ) -> None:
        self.rule = rule
        self.shares = shares
        self.tiers = tiers
        self.criteria = criteria
        self.higher_is_better = higher_is_better
        self.cut = cut
        self.value_col = value_col

    def _values(self, frame: pd.DataFrame) -> pd.Series:
        if self.value_col is not None and self.value_col in frame.columns:
            col = self.value_col
        elif frame.shape[1] == 1:
            col = frame.columns[0]
        else:
            raise ValueError(
                f"value_col={self.value_col!r} is not a column and X has "
                f"{frame.shape[1]} columns; pass a Series or set value_col"
            )
        try:
            return frame[col].astype("float64")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {col!r} must be numeric") from exc

    def _scores(self, frame: pd.DataFrame) -> pd.Series:
        score = composite_score(
            frame, self.criteria_, self.higher_is_better, reference=self.reference_
        )
        return score.where(has_positive_value(frame, self.value_col), 0.0)

    def _check(self, X: object, *, reset: bool) -> pd.DataFrame:
        return check_X(self, X, reset=reset, allow_nan=True)

    def fit(self, X: pd.Series | pd.DataFrame, y: object = None) -> TierAssigner:
        """Cut ``X`` afresh and learn ``thresholds_``; ``y`` is ignored."""
        self._fit_tiers(X)
        return self

    def fit_predict(self, X: pd.Series | pd.DataFrame, y: object = None) -> pd.Series:
        """Fit and return the fresh cut of ``X`` (ties split by customer id)."""
        return self._fit_tiers(X)

    def _fit_tiers(self, X: object) -> pd.Series:
        frame = self._check(X, reset=True)
        self.tiers_ = validate_tiers(self.tiers)
        if self.rule not in ("count", "value", "composite"):
            raise ValueError(
                f"rule must be 'count', 'value' or 'composite', got {self.rule!r}"
            )
        cut = self.cut if self.rule == "composite" else self.rule
        if cut not in ("count", "value"):
            raise ValueError(f"cut must be 'count' or 'value', got {self.cut!r}")
        shares = (
            default_shares(cut, len(self.tiers_))
            if self.shares is None
            else self.shares
        )
        self.shares_ = validate_shares(shares, len(self.tiers_))
        if self.rule == "composite":
            self.criteria_ = resolve_criteria(frame, self.criteria)
            self.reference_ = frame[list(self.criteria_)].copy()
            values = self._scores(frame)
        else:
            values = self._values(frame)
        tiers = assign_tiers(values, rule=cut, shares=self.shares_, tiers=self.tiers_)
        thresholds = learn_thresholds(values, tiers)
        self.thresholds_ = thresholds
        return tiers

    def predict(self, X: pd.Series | pd.DataFrame) -> pd.Series:
        """Tier ``X`` with the learned ``thresholds_``.

        Returns an ordered categorical Series ``tier`` indexed like ``X``.
        """
        check_is_fitted(self, "thresholds_")
        frame = self._check(X, reset=False)
        values = (
            self._scores(frame) if self.rule == "composite" else self._values(frame)
        )
        return cut_by_thresholds(values, self.thresholds_, tiers=self.tiers_)

    def transform(self, X: pd.Series | pd.DataFrame) -> pd.DataFrame:
        """The learned-threshold tiers as a one-column DataFrame ``tier``."""
        return self.predict(X).to_frame()

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """The single output column, ``tier``."""
        check_is_fitted(self, "thresholds_")
        return np.asarray(["tier"], dtype=object)
