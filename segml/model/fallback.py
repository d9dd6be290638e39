"""The obvious answers a route can ship instead of its LightGBM model.

``segml train`` compares each route's model with what a user would do without
segml, on an out-of-time cutoff before its test, and when a baseline wins the
route ships that baseline (see :mod:`segml.app.choice`). Each fallback scores
rows the way the route's model does — a tier code, tier probabilities and a
reason per row — so the predict contract is the same whatever answered; the
``model`` column of the output says which.

- :class:`MajorityFallback`: the most common tier of the route's training
  labels for every row; probabilities are the label frequencies.
- :class:`PersistenceFallback` (history route): the tier of the customer's value
  over the last ``horizon`` days (a ``spend_<h>d`` feature column), cut with
  value thresholds learned on a reference population; probabilities are the
  training frequencies of each true tier given the persistence tier.
- :class:`LogisticFallback` (cold-start route): the one-hot logistic
  regression on the sign-up attributes
  (:class:`~segml.evaluation.LogisticColdStart`).
- :class:`BTYDFallback` (history route, with ``model.decision: value``): the
  BG/NBD + Gamma-Gamma expected value over the horizon, computed from each
  row's own feature columns, cut with value thresholds learned on a reference
  population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.model.route import rank_thresholds

__all__ = [
    "BTYDFallback",
    "Fallback",
    "LogisticFallback",
    "MajorityFallback",
    "PersistenceFallback",
    "conditional_proba",
    "value_thresholds",
]


@dataclass
class Fallback:
    """Base of the fallbacks: a ``kind`` and per-row codes, probabilities, reasons."""

    kind: str = field(init=False, default="fallback")

    def predict_rows(
        self, frame: pd.DataFrame, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tier codes (0 = best), probabilities and the number each tier was
        cut on (NaN when none) of the rows at ``rows``."""
        raise NotImplementedError

    def reasons(self, frame: pd.DataFrame, rows: np.ndarray) -> list[str]:
        """One reason text per row."""
        raise NotImplementedError


@dataclass
class MajorityFallback(Fallback):
    """The most common training tier; ties go to the better tier.

    Examples
    --------
    >>> fb = MajorityFallback.fit(np.array([2, 2, 1, 0, 2]), 3)
    >>> codes, proba, _ = fb.predict_rows(pd.DataFrame({"x": [1, 2]}), np.arange(2))
    >>> codes.tolist(), proba[0].round(2).tolist()
    ([2, 2], [0.2, 0.2, 0.6])
    """

    proba: np.ndarray = field(default_factory=lambda: np.ones(1))
    kind: str = field(init=False, default="majority")

    @classmethod
    def fit(cls, codes: np.ndarray, n_classes: int) -> MajorityFallback:
        counts = np.bincount(np.asarray(codes, dtype=int), minlength=n_classes)
        total = counts.sum()
        proba = counts / total if total else np.full(n_classes, 1.0 / n_classes)
        return cls(proba=proba.astype(float))

    def predict_rows(self, frame, rows):
        n = len(rows)
        code = int(np.argmax(self.proba))
        return (
            np.full(n, code, dtype=int),
            np.tile(self.proba, (n, 1)),
            np.full(n, np.nan),
        )

    def reasons(self, frame, rows):
        return ["majority: the most common tier of the training labels"] * len(rows)


@dataclass
class _ValueCut(Fallback):
    """A fallback that tiers rows by a value: ``thresholds`` are descending
    cut-offs (a row with value ≥ ``thresholds[j]`` gets tier ``j`` or better), a
    value of 0 or less is always the last tier, and ``proba[i]`` is the
    distribution of true tiers among training rows this fallback put in tier
    ``i``. Subclasses say where a row's value comes from (``_values``)."""

    thresholds: np.ndarray = field(default_factory=lambda: np.array([]))
    proba: np.ndarray = field(default_factory=lambda: np.ones((1, 1)))

    def _values(self, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_rows(self, frame, rows):
        values = self._values(frame, rows)
        codes = (values[:, None] < self.thresholds[None, :]).sum(axis=1)
        codes[values <= 0] = len(self.thresholds)
        return codes.astype(int), self.proba[codes], values


def value_thresholds(
    values: np.ndarray, codes: np.ndarray, n_classes: int
) -> np.ndarray:
    """Value cut-offs that reproduce the tiers ``codes`` of ``values``.

    The rank cut's tie rule applies (:func:`~segml.model.route.rank_thresholds`),
    and no cut-off admits a value of 0 or less.

    Examples
    --------
    >>> value_thresholds(np.array([9.0, 5.0, 5.0, 0.0]), np.array([0, 1, 1, 2]), 3)
    array([9., 5.])
    """
    values = np.nan_to_num(np.asarray(values, dtype=float))
    codes = np.asarray(codes, dtype=int)
    counts = np.bincount(codes, minlength=n_classes).astype(float)
    thresholds = rank_thresholds(values, codes, n_classes, counts / counts.sum())
    positive = values > 0
    smallest = values[positive].min() if positive.any() else np.inf
    return np.maximum(thresholds, smallest)


@dataclass
class PersistenceFallback(_ValueCut):
    """Last period's tier: the rule applied to the value of the last ``h`` days.

    ``thresholds`` are descending value cut-offs (a row with value ≥
    ``thresholds[j]`` gets tier ``j`` or better); a value of 0 or less is always
    the last tier. ``proba[i]`` is the distribution of true tiers among training
    rows whose persistence tier was ``i``.

    Examples
    --------
    >>> ref = pd.Series([100.0, 50.0, 10.0, 0.0])
    >>> fb = PersistenceFallback.fit(
    ...     "spend_90d", ref, np.array([0, 1, 2, 2]), np.array([0, 1, 2, 2]),
    ...     np.array([0, 2, 2, 2]), 3)
    >>> frame = pd.DataFrame({"spend_90d": [120.0, 60.0, 0.0]})
    >>> fb.predict_rows(frame, np.arange(3))[0].tolist()
    [0, 1, 2]
    """

    column: str = ""
    kind: str = field(init=False, default="persistence")

    @classmethod
    def fit(
        cls,
        column: str,
        reference_values: pd.Series | np.ndarray,
        reference_codes: np.ndarray,
        train_persistence: np.ndarray,
        train_truth: np.ndarray,
        n_classes: int,
    ) -> PersistenceFallback:
        """Thresholds from a reference population's values and tiers; the
        probabilities from training rows' persistence tiers and true tiers."""
        return cls(
            column=column,
            thresholds=value_thresholds(reference_values, reference_codes, n_classes),
            proba=conditional_proba(train_persistence, train_truth, n_classes),
        )

    def _values(self, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        if self.column not in frame.columns:
            return np.zeros(len(rows))
        series = frame[self.column]
        if series.dtype.kind not in "fiub":
            series = pd.to_numeric(series, errors="coerce")
        values = series.to_numpy(dtype="float64", na_value=np.nan)[rows]
        return np.nan_to_num(values)

    def reasons(self, frame, rows):
        values = self._values(frame, rows)
        return [f"persistence: {self.column}={v:.4g}" for v in values]


@dataclass
class LogisticFallback(Fallback):
    """The one-hot logistic regression on the sign-up attributes."""

    model: object = None
    kind: str = field(init=False, default="logistic")

    def predict_rows(self, frame, rows):
        X = frame.iloc[rows]
        proba = self.model.predict_proba(X).to_numpy(dtype=float)
        return proba.argmax(axis=1).astype(int), proba, proba.max(axis=1)

    def reasons(self, frame, rows):
        columns = ", ".join(
            self.model.categorical_columns_ + self.model.numeric_columns_
        )
        return [f"logistic regression on {columns}"] * len(rows)


@dataclass
class BTYDFallback(_ValueCut):
    """BG/NBD + Gamma-Gamma expected value over ``horizon_days``, cut by value.

    ``btyd`` is a :class:`~segml.btyd.features.BTYDFit` (kept without its RFM
    table); a row's expected value comes from its own catalogue columns
    (:func:`~segml.btyd.features.with_btyd_features`), so one row scores as in
    a batch. Thresholds and probabilities work as in
    :class:`PersistenceFallback`.
    """

    btyd: object = None
    horizon_days: float = 0.0
    kind: str = field(init=False, default="btyd")

    @classmethod
    def fit(
        cls,
        btyd: object,
        horizon_days: float,
        reference: pd.DataFrame,
        reference_codes_of: object,
        train_codes: np.ndarray,
        train_truth: np.ndarray,
        n_classes: int,
    ) -> BTYDFallback:
        """Thresholds from ``reference`` (feature rows at the BTYD fit's date),
        tiered by ``reference_codes_of(values) -> codes`` (the run's rule); the
        probabilities from training rows' BTYD tiers and true tiers."""
        from segml.btyd.features import BTYDFit

        slim = BTYDFit(btyd.as_of, btyd.rfm.iloc[:0], btyd.bgnbd, btyd.gamma_gamma)
        out = cls(btyd=slim, horizon_days=float(horizon_days))
        values = out._values(reference, np.arange(len(reference)))
        codes = np.asarray(reference_codes_of(values), dtype=int)
        out.thresholds = value_thresholds(values, codes, n_classes)
        out.proba = conditional_proba(train_codes, train_truth, n_classes)
        return out

    def _values(self, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        from segml.btyd.features import with_btyd_features

        part = frame.iloc[rows]
        if "has_history" in part.columns:
            part = part.assign(has_history=part["has_history"].fillna(False))
        expected = with_btyd_features(part, self.btyd, self.horizon_days)
        values = expected["btyd_expected_value"].to_numpy(dtype=float)
        return np.nan_to_num(values)

    def reasons(self, frame, rows):
        values = self._values(frame, rows)
        return [f"BG/NBD + Gamma-Gamma expected value {v:.4g}" for v in values]


def conditional_proba(
    predicted: Sequence[int] | np.ndarray,
    truth: Sequence[int] | np.ndarray,
    n_classes: int,
) -> np.ndarray:
    """``out[i, j]``: share of rows with true tier ``j`` among those predicted ``i``.

    Add-one smoothing keeps every probability above 0.

    Examples
    --------
    >>> conditional_proba([0, 0, 1], [0, 1, 1], 2).round(2).tolist()
    [[0.5, 0.5], [0.33, 0.67]]
    """
    counts = np.ones((n_classes, n_classes))
    np.add.at(counts, (np.asarray(predicted, int), np.asarray(truth, int)), 1.0)
    return counts / counts.sum(axis=1, keepdims=True)
