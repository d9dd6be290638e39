"""Score a frame with a fitted TierPredictor as arrays, without per-route copies.

:func:`score_rows` is what :meth:`TierPredictor.predict_frame` computes (tier,
probabilities, route, reasons), returned as numpy arrays so that the caller
builds its output frame once. Each route encodes only its own rows straight
from the input's columns, in blocks (:meth:`Route.predict_rows`), and its
boosters run compiled when the batch is large (:mod:`segml.model.compiled`).

Only the decisions it knows (``"rank"``, ``"argmax"`` and ``"value"``) are
scored here; for any other decision :func:`score_rows` returns None and the caller uses
``TierPredictor.predict_frame``. Tests check both give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from segml.model.predictor import COLD_START, HISTORY
from segml.model.route import expected_score

__all__ = ["Scores", "score_rows"]

_DECISIONS = ("rank", "argmax", "value")
#: Rows up to which a route converts its rows to objects once (see
#: :meth:`CategoryEncoder.values`) instead of encoding column by column.
SMALL_ROWS = 256


@dataclass(frozen=True)
class Scores:
    """Arrays of a scored frame, one entry per input row, in order.

    Attributes
    ----------
    codes : ndarray of int
        Tier position (0 = best tier).
    proba : ndarray of float, shape (n_rows, n_tiers)
        Tier probabilities.
    history : ndarray of bool
        True where the history route scored the row, False for cold start.
    reasons : list of ndarray of object
        ``n_reasons`` arrays of reason texts (``""`` when none).
    score : ndarray of float
        The number each row's tier was cut on: the expected tier score in
        [0, 1] for the rank decision, the expected value over the horizon for
        the value decision, the past value for persistence, the top
        probability for argmax and logistic, NaN for majority.
    """

    codes: np.ndarray
    proba: np.ndarray
    history: np.ndarray
    reasons: list[np.ndarray]
    score: np.ndarray | None = None


def score_rows(
    predictor: object,
    frame: pd.DataFrame,
    history: np.ndarray,
    *,
    reasons: bool = True,
) -> Scores | None:
    """Score every row of ``frame``; ``history`` picks the route of each row.

    Returns None when the predictor's ``decision`` is not one of ``"rank"``,
    ``"argmax"`` and ``"value"`` (use ``predictor.predict_frame`` then).

    Examples
    --------
    >>> from segml.model import TierPredictor
    >>> X = pd.DataFrame({"has_history": [True] * 30 + [False] * 30,
    ...                   "orders": np.tile([0.0, 2.0, 5.0], 20),
    ...                   "region": np.tile(["n", "s"], 30)})
    >>> y = np.tile(["C", "B", "A"], 20)
    >>> model = TierPredictor(attributes=["region"], n_estimators=5).fit(X, y)
    >>> rows = X.iloc[[0, 1, 45]]
    >>> scores = score_rows(model, rows, rows["has_history"].to_numpy())
    >>> scores.proba.shape, scores.history.tolist()
    ((3, 3), [True, True, False])
    >>> expected = model.predict_frame(rows)
    >>> bool((model.classes_[scores.codes] == expected["tier"].astype(str)).all())
    True
    """
    check_is_fitted(predictor, "routes_")
    if predictor.decision not in _DECISIONS:
        return None
    n = len(frame)
    history = np.asarray(history, dtype=bool)
    n_classes = len(predictor.classes_)
    proba = np.zeros((n, n_classes))
    codes = np.zeros(n, dtype=int)
    n_reasons = predictor.n_reasons if reasons else 0
    texts = [np.full(n, "", dtype=object) for _ in range(predictor.n_reasons)]
    cut_on = np.full(n, np.nan)
    fallbacks = getattr(predictor, "fallbacks_", {})
    for name, mask in ((HISTORY, history), (COLD_START, ~history)):
        rows = np.flatnonzero(mask)
        if len(rows) == 0:
            continue
        if name in fallbacks:
            fallback = fallbacks[name]
            codes[rows], proba[rows], cut_on[rows] = fallback.predict_rows(frame, rows)
            if n_reasons > 0:
                texts[0][rows] = fallback.reasons(frame, rows)
            continue
        route = predictor.routes_[name]
        values = matrix = None
        if route.encoder is not None and len(rows) <= SMALL_ROWS:
            # one conversion of the frame, shared by probabilities and reasons
            values = route.encoder.values(frame, rows)
            matrix = route.encoder.matrix_of_values(values, frame)
        part = route.predict_rows(frame, rows, matrix)
        if predictor.decision == "argmax":
            picked = part.argmax(axis=1)
            cut_on[rows] = part.max(axis=1)
        elif predictor.decision == "value" and name == HISTORY:
            decision = getattr(predictor, "value_decision_", None)
            if decision is None:
                picked = predictor.value_codes(frame.iloc[rows])  # raises
            expected = decision.expected_value(frame.iloc[rows])
            picked = (expected[:, None] < decision.thresholds[None, :]).sum(axis=1)
            cut_on[rows] = expected
        else:
            score = expected_score(part)
            picked = (score[:, None] < route.thresholds[None, :]).sum(axis=1)
            cut_on[rows] = score
        proba[rows] = part
        codes[rows] = picked
        if n_reasons > 0:
            found = route.reasons_rows(
                frame, rows, picked, n_reasons, values=values, matrix=matrix
            )
            for k, column in enumerate(texts):
                column[rows] = [t[k] if k < len(t) else "" for t in found]
    return Scores(
        codes=codes, proba=proba, history=history, reasons=texts, score=cut_on
    )
