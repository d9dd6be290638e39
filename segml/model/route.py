"""One route of the tier predictor: a LightGBM model on a fixed set of columns.

A route owns its column encoder, its (optionally calibrated) classifier, the
score thresholds of the rank decision and the per-row reasons. The
:class:`~segml.model.predictor.TierPredictor` holds two of them (history and
cold start) and sends each row to one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import KFold

from segml.model.compiled import booster_predict, compile_booster, lightgbm_only
from segml.model.contrib import class_contributions
from segml.model.encoding import CategoryEncoder, gather

__all__ = ["Route", "expected_score", "rank_thresholds"]

MIN_ROWS = 20
MIN_CALIBRATION_ROWS = 50
#: Rows encoded and predicted at a time by :meth:`Route.predict_rows`.
CHUNK_ROWS = 65_536


@dataclass
class Route:
    """A fitted route (internal; build it with :meth:`Route.fit`)."""

    name: str
    columns: list[str]
    n_classes: int
    encoder: CategoryEncoder | None = None
    model: lgb.LGBMClassifier | None = None
    calibrator: CalibratedClassifierCV | None = None
    prior: np.ndarray | None = None
    thresholds: np.ndarray = field(default_factory=lambda: np.array([]))
    classes: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))

    @classmethod
    def fit(
        cls,
        name: str,
        X: pd.DataFrame,
        codes: np.ndarray,
        *,
        n_classes: int,
        calibration_mask: np.ndarray | None,
        calibration: str | None,
        shares: Sequence[float] | None,
        lgbm_params: Mapping[str, object],
        class_weight: str | Mapping | None,
        random_state: int,
    ) -> Route:
        """Fit on ``X`` (already restricted to this route's rows and columns)."""
        route = cls(name=name, columns=list(X.columns), n_classes=n_classes)
        counts = np.bincount(codes, minlength=n_classes).astype(float)
        route.prior = (counts + 1.0) / (counts.sum() + n_classes)
        if len(codes) < MIN_ROWS or np.count_nonzero(counts) < 2 or not X.shape[1]:
            # too few rows, one tier, or no column to learn from: the prior
            route.thresholds = rank_thresholds(
                np.full(len(codes), 0.5), codes, n_classes, shares
            )
            return route
        route.encoder = CategoryEncoder().fit(X)
        encoded = route.encoder.transform(X)
        use_cal = (
            calibration is not None
            and calibration_mask is not None
            and calibration_mask.sum() >= MIN_CALIBRATION_ROWS
            and (~calibration_mask).sum() >= MIN_ROWS
            and len(np.unique(codes[~calibration_mask])) >= 2
        )
        train = ~calibration_mask if use_cal else np.ones(len(codes), dtype=bool)
        # One thread unless asked: measured on 2 shared cores, a fit took 4.3 s
        # single-threaded and 45 s with OpenMP's default (see BENCHMARKS.md).
        params = {
            "verbose": -1,
            "random_state": random_state,
            "n_jobs": 1,
            **lgbm_params,
        }
        route.model = lgb.LGBMClassifier(class_weight=class_weight, **params)
        route.model.fit(encoded.loc[train], codes[train])
        route.classes = route.model.classes_.astype(int)
        slice_mask = calibration_mask if use_cal else train
        slice_counts = np.bincount(codes[slice_mask], minlength=n_classes)
        # every class of the model needs two rows in the slice (one per fold),
        # and the slice may hold no class the model never saw
        seen = np.flatnonzero(slice_counts)
        if (
            use_cal
            and (slice_counts[route.classes] >= 2).all()
            and np.isin(seen, route.classes).all()
        ):
            # The base model is frozen: the folds only decide which rows are
            # predicted when, so any split gives the same calibrator.
            route.calibrator = CalibratedClassifierCV(
                FrozenEstimator(route.model), method=calibration, cv=KFold(2)
            )
            route.calibrator.fit(encoded.loc[slice_mask], codes[slice_mask])
        # LightGBM's own scores: the compiled forest (used when a cache file
        # of this booster exists) differs in the last bits, and the cut-offs
        # of the same fit would depend on what earlier processes compiled
        with lightgbm_only():
            proba = route.predict_proba(X.loc[slice_mask])
        route.thresholds = rank_thresholds(
            expected_score(proba), codes[slice_mask], n_classes, shares
        )
        return route

    @property
    def threads(self) -> int:
        """Threads for the booster's predictions (the fit's ``n_jobs``).

        Passed explicitly on every call: measured on a single row, a call
        without ``num_threads`` took 8 ms and one with it 0.04 ms. Read once
        (``get_params`` inspects signatures: ~0.3 ms a call).
        """
        cached = self.__dict__.get("_threads")
        if cached is None:
            n_jobs = self.model.get_params().get("n_jobs") if self.model else 1
            cached = int(n_jobs) if n_jobs and n_jobs > 0 else 0
            self.__dict__["_threads"] = cached
        return cached

    @property
    def _margins(self) -> bool:
        """Whether the booster's raw margins (not probabilities) are needed.

        scikit-learn calibrates ``decision_function`` (raw margins) when the
        estimator has one, as LightGBM's classifier does.
        """
        return self.calibrator is not None and hasattr(self.model, "decision_function")

    def compile(self) -> bool:
        """Compile the booster now (or load it from the cache), not on a batch.

        Returns whether the compiled forest is ready (see
        :mod:`segml.model.compiled`; False without a model or without lleaves).
        """
        if self.model is None:
            return False
        return compile_booster(self.model.booster_, raw_score=self._margins)

    def matrix(self, X: pd.DataFrame) -> np.ndarray | None:
        """This route's columns of ``X`` as the booster's float matrix."""
        if self.encoder is None:
            return None
        return self.encoder.matrix(X)

    def predict_proba(
        self, X: pd.DataFrame, matrix: np.ndarray | None = None
    ) -> np.ndarray:
        """Class probabilities, shape ``(n_rows, n_classes)``, rows sum to 1."""
        if self.model is None:
            return np.tile(self.prior, (len(X), 1))
        if matrix is None:
            matrix = self.matrix(X)
        return self._proba(matrix, len(matrix), lambda: X)

    def predict_rows(
        self,
        frame: pd.DataFrame,
        rows: np.ndarray,
        matrix: np.ndarray | None = None,
    ) -> np.ndarray:
        """:meth:`predict_proba` of the rows at positions ``rows`` of ``frame``.

        Encodes and predicts blocks of :data:`CHUNK_ROWS` rows straight from the
        frame's columns (no copy of the selected rows, no full-size matrix).
        ``matrix``: those rows already encoded.
        """
        n = len(rows)
        if self.model is None:
            return np.tile(self.prior, (n, 1))
        if matrix is not None or n <= CHUNK_ROWS:
            if matrix is None:
                matrix = self.encoder.matrix(frame, rows)
            return self._proba(matrix, n, lambda: frame.iloc[rows])
        arrays = self.encoder.arrays(frame)
        out = np.empty((n, self.n_classes))
        for start in range(0, n, CHUNK_ROWS):
            part = rows[start : start + CHUNK_ROWS]
            out[start : start + len(part)] = self._proba(
                gather(arrays, part), n, lambda part=part: frame.iloc[part]
            )
        return out

    def _proba(
        self,
        matrix: np.ndarray,
        batch_rows: int,
        frame: Callable[[], pd.DataFrame],
    ) -> np.ndarray:
        """Probabilities of the encoded rows ``matrix`` (``frame``: the same rows)."""
        n = len(matrix)
        booster = self.model.booster_
        raw = booster_predict(
            booster,
            matrix,
            raw_score=self._margins,
            num_threads=self.threads,
            batch_rows=batch_rows,
        )
        columns = self.classes
        if self.calibrator is not None:
            calibrated = _calibrate(self.calibrator, raw)
            if calibrated is None:
                rows = frame().reindex(columns=self.columns)
                calibrated = self.calibrator.predict_proba(self.encoder.transform(rows))
            raw, columns = calibrated, self.calibrator.classes_.astype(int)
        elif raw.ndim == 1:
            raw = np.column_stack([1.0 - raw, raw])
        proba = np.zeros((n, self.n_classes))
        proba[:, columns] = raw
        total = proba.sum(axis=1, keepdims=True)
        return np.divide(
            proba, total, out=np.full_like(proba, 1 / self.n_classes), where=total > 0
        )

    def reasons(
        self,
        X: pd.DataFrame,
        predicted: np.ndarray,
        n_reasons: int,
        matrix: np.ndarray | None = None,
    ) -> list[list[str]]:
        """Top feature contributions (LightGBM SHAP) toward each row's tier.

        Each reason reads ``feature=value (+0.42)``: the feature's contribution
        to the log-odds of the row's predicted tier, largest magnitude first.
        """
        if self.model is None or len(X) == 0:
            return [["prior: too little training data"] for _ in range(len(X))]
        if matrix is None:
            matrix = self.matrix(X)

        def values(column: str, picked: np.ndarray) -> np.ndarray:
            if column not in X.columns:
                return np.full(len(picked), np.nan, dtype=object)
            return X[column].take(picked).to_numpy(dtype=object)

        return self._reasons(matrix, predicted, n_reasons, values)

    def reasons_rows(
        self,
        frame: pd.DataFrame,
        rows: np.ndarray,
        predicted: np.ndarray,
        n_reasons: int,
        values: np.ndarray | None = None,
        matrix: np.ndarray | None = None,
    ) -> list[list[str]]:
        """:meth:`reasons` of the rows at positions ``rows`` of ``frame``.

        ``values`` and ``matrix``: those rows' :meth:`CategoryEncoder.values`
        and their encoding, when already computed.
        """
        if self.model is None or len(rows) == 0:
            return [["prior: too little training data"] for _ in range(len(rows))]

        def column_values(column: str, picked: np.ndarray) -> np.ndarray:
            if values is not None:
                return values[picked, self.columns.index(column)]
            if column not in frame.columns:
                return np.full(len(picked), np.nan, dtype=object)
            return frame[column].take(rows[picked]).to_numpy(dtype=object)

        if matrix is None:
            matrix = self.encoder.matrix(frame, rows)
        return self._reasons(matrix, predicted, n_reasons, column_values)

    def _reasons(
        self,
        matrix: np.ndarray,
        predicted: np.ndarray,
        n_reasons: int,
        values: Callable[[str, np.ndarray], np.ndarray],
    ) -> list[list[str]]:
        """Reason texts from the SHAP contributions; ``values(column, rows)``."""
        n = len(matrix)
        pos = np.searchsorted(self.classes, predicted).clip(0, len(self.classes) - 1)
        known = self.classes[pos] == predicted
        rows = self._contributions(matrix, pos)
        top = np.argsort(-np.abs(rows), axis=1, kind="stable")[:, :n_reasons]
        shown = np.take_along_axis(rows, top, axis=1)
        # the input values of only the columns that are shown
        text = np.empty(top.shape, dtype=object)
        for j in np.unique(top):
            at = top == j
            picked = np.flatnonzero(at.any(axis=1))
            column = self.columns[j]
            raw = values(column, picked)
            lookup = dict(zip(picked.tolist(), raw, strict=True))
            for i, k in zip(*np.nonzero(at), strict=True):
                text[i, k] = f"{column}={_fmt(lookup[i])} ({shown[i, k]:+.2f})"
        out = []
        for i in range(n):
            if not known[i]:
                out.append([])
                continue
            out.append([text[i, k] for k in range(top.shape[1]) if shown[i, k] != 0])
        return out

    def _contributions(self, matrix: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """SHAP contributions of each feature to the margin of class ``pos``.

        Multiclass: only the trees of each row's class are explained
        (:func:`~segml.model.contrib.class_contributions`; equal to the slice
        of the full ``pred_contrib``, measured 2.3x faster with three tiers).
        """
        booster = self.model.booster_
        if len(self.classes) == 2:
            contrib = booster.predict(
                matrix, pred_contrib=True, num_threads=self.threads
            )
            sign = np.where(pos == 1, 1.0, -1.0)[:, None]
            return contrib[:, : len(self.columns)] * sign
        return class_contributions(booster, matrix, pos, num_threads=self.threads)


def _calibrate(
    calibrator: CalibratedClassifierCV, response: np.ndarray
) -> np.ndarray | None:
    """``calibrator.predict_proba`` computed from the base model's response.

    ``response`` is what scikit-learn feeds the calibrators: the margins of
    ``decision_function`` (one column for a binary model) or else the class
    probabilities.

    Mirrors scikit-learn's one-vs-rest sigmoid/isotonic calibration (then
    normalisation) without handing a DataFrame through the frozen estimator;
    returns None for other methods. A test checks it equals ``predict_proba``.
    """
    if calibrator.method not in ("sigmoid", "isotonic"):
        return None
    if response.ndim == 1:
        response = response[:, None]
    n_rows = response.shape[0]
    total = np.zeros((n_rows, len(calibrator.classes_)))
    for pair in calibrator.calibrated_classifiers_:
        n_classes = len(pair.classes)
        preds = response if response.shape[1] != 2 else response[:, 1:2]
        proba = np.zeros((n_rows, n_classes))
        positions = np.searchsorted(np.sort(pair.classes), pair.estimator.classes_)
        for idx, pred, fitted in zip(
            positions, preds.T, pair.calibrators, strict=False
        ):
            proba[:, idx + 1 if n_classes == 2 else idx] = _calibrator_predict(
                fitted, pred
            )
        if n_classes == 2:
            proba[:, 0] = 1.0 - proba[:, 1]
        else:
            denominator = proba.sum(axis=1, keepdims=True)
            proba = np.divide(
                proba,
                denominator,
                out=np.full_like(proba, 1 / n_classes),
                where=denominator != 0,
            )
        total += proba
    return total / len(calibrator.calibrated_classifiers_)


def _calibrator_predict(fitted: object, response: np.ndarray) -> np.ndarray:
    """``fitted.predict(response)``; a sigmoid is computed here directly.

    Same formula as scikit-learn's ``_SigmoidCalibration.predict``, without its
    input validation (~0.1 ms a call, three calls a row).
    """
    if type(fitted).__name__ == "_SigmoidCalibration":
        return expit(-(fitted.a_ * np.asarray(response, dtype=float) + fitted.b_))
    return fitted.predict(response)


def expected_score(proba: np.ndarray) -> np.ndarray:
    """Probability-weighted tier rank in [0, 1]: 1 = surely the top tier.

    Examples
    --------
    >>> expected_score(np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]))
    array([1.  , 0.25])
    """
    k = proba.shape[1]
    weights = np.arange(k - 1, -1, -1) / max(k - 1, 1)
    return proba @ weights


def rank_thresholds(
    score: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    shares: Sequence[float] | None,
) -> np.ndarray:
    """Score cut-offs so that the tiers' shares of rows match ``shares``.

    ``shares`` defaults to the label shares in ``codes``. Returns ``n_classes - 1``
    descending thresholds: a row with score ≥ ``thresholds[j]`` (and below the
    previous one) gets tier ``j``.

    **Ties never inflate a tier.** Rows that share the score at a cut all land on
    the same side of it, so the cut goes either just above the tied score (they
    all go to the lower tier) or at it (they all go to the upper tier),
    whichever leaves the upper tiers' share of rows closest to the rule; an
    equal distance goes to the lower tier. Many rows with the same attributes
    (one score) therefore never flood a higher tier.

    Examples
    --------
    >>> rank_thresholds(np.array([0.9, 0.8, 0.5, 0.1]), np.array([0, 1, 2, 2]), 3, None)
    array([0.9, 0.8])

    Ten rows with one score and a 10/20/70 rule: every row is tied, so all of
    them go to the last tier rather than all to the first.

    >>> cuts = rank_thresholds(np.full(10, 0.5), np.zeros(10, int), 3, (0.1, 0.2, 0.7))
    >>> bool((0.5 < cuts).all())
    True
    """
    if shares is None:
        counts = np.bincount(codes, minlength=n_classes).astype(float)
        shares = counts / max(counts.sum(), 1.0)
    cumulative = np.cumsum(np.asarray(shares, dtype=float))[:-1]
    if len(score) == 0:
        return np.full(n_classes - 1, np.inf)
    ordered = np.sort(np.asarray(score, dtype=float))[::-1]
    ascending = ordered[::-1]
    n = len(ordered)
    out = []
    for share in cumulative:
        target = share * n
        n_top = int(np.round(target))
        if n_top == 0:
            out.append(np.inf)
            continue
        cut = ordered[min(n_top, n) - 1]
        # rows strictly above the tied score, and rows at or above it
        above = n - int(np.searchsorted(ascending, cut, side="right"))
        at_or_above = n - int(np.searchsorted(ascending, cut, side="left"))
        if abs(at_or_above - target) < abs(above - target):
            out.append(cut)
        else:  # the tied rows go to the lower tier
            out.append(np.nextafter(cut, np.inf))
    return np.asarray(out)


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "nan" if np.isnan(value) else f"{value:.4g}"
    return str(value)
