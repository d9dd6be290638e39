"""RFM scores (1-5 by quantiles) and named RFM segments."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from segml.tiers._validate import check_X

__all__ = [
    "DEFAULT_SEGMENT_MAP",
    "OTHER",
    "RFMSegmenter",
    "rfm_scores",
    "rfm_segments",
    "segment_names",
]

#: The common 11-segment scheme on the (R, FM) grid, FM = mean of F and M
#: rounded half up. Keys are regular expressions over the two digits "R FM",
#: tried in order, first match wins; together they cover all 25 cells.
DEFAULT_SEGMENT_MAP: dict[str, str] = {
    "5[4-5]": "champions",
    "[3-4][4-5]": "loyal",
    "[4-5][2-3]": "potential loyalists",
    "51": "new",
    "41": "promising",
    "33": "need attention",
    "3[1-2]": "about to sleep",
    "[1-2][3-4]": "at risk",
    "[1-2]5": "cannot lose",
    "2[1-2]": "hibernating",
    "1[1-2]": "lost",
}
#: Segment of the cells a custom mapping leaves uncovered.
OTHER = "other"
_SCORES = ("R", "F", "M")


def _goodness(features: pd.DataFrame, cols: dict[str, str]) -> dict[str, pd.Series]:
    """Higher-is-better value per score; NaN is the worst value."""
    out = {}
    for score, col in cols.items():
        if col not in features.columns:
            raise ValueError(
                f"column {col!r} (for the {score} score) not found; "
                f"available: {list(features.columns)}"
            )
        try:
            x = features[col].astype("float64")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {col!r} must be numeric") from exc
        if np.isinf(x.to_numpy()).any():
            raise ValueError(f"column {col!r} must be finite")
        out[score] = (-x if score == "R" else x).fillna(-np.inf)
    return out


def _quantile_score(g: pd.Series, n_bins: int) -> np.ndarray:
    """Equal-frequency score 1..n_bins; among ties the smaller id ranks higher."""
    frame = pd.DataFrame({"g": g.to_numpy(), "id": g.index.to_numpy()})
    order = frame.sort_values(["g", "id"], ascending=[True, False], kind="stable").index
    position = np.empty(len(g), dtype="int64")
    position[order.to_numpy()] = np.arange(len(g))
    return 1 + np.floor(n_bins * (position + 0.5) / len(g)).astype("int64")


def _check_features(features: pd.DataFrame, n_bins: int) -> None:
    if not isinstance(features, pd.DataFrame):
        raise ValueError("features must be a DataFrame with one row per customer")
    if len(features) == 0:
        raise ValueError("features is empty: there is no customer to score")
    if not features.index.is_unique:
        raise ValueError("features must have one row per customer (unique index)")
    if not isinstance(n_bins, int | np.integer) or not 2 <= n_bins <= 9:
        raise ValueError(f"n_bins must be an integer in [2, 9], got {n_bins!r}")


def rfm_scores(
    features: pd.DataFrame,
    *,
    recency_col: str = "recency_days",
    frequency_col: str = "orders",
    monetary_col: str = "net_spend",
    n_bins: int = 5,
) -> pd.DataFrame:
    """R, F and M scores from 1 (worst) to ``n_bins`` (best) by quantiles.

    Customers are ranked on each criterion (R: lower recency is better) and
    split into ``n_bins`` equal-frequency groups, like ``qcut`` on ``rank(method=
    "first")``: with 0-based position ``p`` among ``n`` customers in ascending
    order, ``score = 1 + floor(n_bins * (p + 1/2) / n)``. Ties are broken by
    ``customer_id`` (the smaller id ranks higher), so the bins keep their sizes
    (within one customer) however many customers share a value. NaN is the worst
    value. A single customer scores in the middle bin.

    Examples
    --------
    >>> feats = pd.DataFrame({"recency_days": [5, 40, 200, 10, 90],
    ...                       "orders": [8, 3, 1, 1, 2],
    ...                       "net_spend": [900.0, 150.0, 20.0, 60.0, 80.0]},
    ...                      index=pd.Index(list("abcde"), name="customer_id"))
    >>> rfm_scores(feats)
                 R  F  M
    customer_id
    a            5  5  5
    b            3  4  4
    c            1  2  1
    d            4  1  2
    e            2  3  3
    """
    _check_features(features, n_bins)
    cols = dict(zip(_SCORES, (recency_col, frequency_col, monetary_col), strict=True))
    goodness = _goodness(features, cols)
    return pd.DataFrame(
        {s: _quantile_score(goodness[s], n_bins) for s in _SCORES},
        index=features.index,
    )


def segment_names(mapping: Mapping[str, str] | None, n_bins: int = 5) -> dict:
    """Validate ``mapping`` and return the segment of every (R, FM) cell.

    Examples
    --------
    >>> cells = segment_names({"5.": "best"}, n_bins=5)
    >>> cells[(5, 1)], cells[(4, 1)]
    ('best', 'other')
    """
    if mapping is None:
        if n_bins != 5:
            raise ValueError("mapping must be given when n_bins is not 5")
        mapping = DEFAULT_SEGMENT_MAP
    if not isinstance(mapping, Mapping) or not mapping:
        raise ValueError("mapping must be a non-empty mapping pattern -> segment")
    patterns = []
    for pattern, name in mapping.items():
        try:
            patterns.append((re.compile(str(pattern)), str(name)))
        except re.error as exc:
            raise ValueError(f"mapping key {pattern!r} is not a valid regex") from exc
    cells = {}
    for r in range(1, n_bins + 1):
        for fm in range(1, n_bins + 1):
            key = f"{r}{fm}"
            hit = next((n for p, n in patterns if p.fullmatch(key)), OTHER)
            cells[(r, fm)] = hit
    return cells


def _segment_frame(
    scores: pd.DataFrame, cells: dict, mapping: Mapping | None
) -> pd.DataFrame:
    fm = np.floor((scores["F"] + scores["M"]) / 2 + 0.5).astype("int64")
    names = [cells[(r, f)] for r, f in zip(scores["R"], fm, strict=True)]
    order = list(dict.fromkeys((mapping or DEFAULT_SEGMENT_MAP).values()))
    if OTHER in cells.values() and OTHER not in order:
        order.append(OTHER)
    segment = pd.Categorical(names, categories=order)
    return scores.assign(FM=fm, segment=segment)


def rfm_segments(
    features: pd.DataFrame,
    *,
    mapping: Mapping[str, str] | None = None,
    recency_col: str = "recency_days",
    frequency_col: str = "orders",
    monetary_col: str = "net_spend",
    n_bins: int = 5,
) -> pd.DataFrame:
    """RFM scores and a named segment per customer.

    The segment is looked up on the (R, FM) grid, where ``FM = floor((F + M) / 2
    + 1/2)``: the keys of ``mapping`` are regular expressions matched against
    the two digits ``f"{R}{FM}"`` in order, first match wins (default
    :data:`DEFAULT_SEGMENT_MAP`); cells no key matches get ``"other"``.

    Returns
    -------
    DataFrame
        ``R``, ``F``, ``M``, ``FM`` and ``segment`` (categorical, categories in
        mapping order), indexed like ``features``.

    Examples
    --------
    >>> feats = pd.DataFrame({"recency_days": [5, 40, 200, 10, 90],
    ...                       "orders": [8, 3, 1, 1, 2],
    ...                       "net_spend": [900.0, 150.0, 20.0, 60.0, 80.0]},
    ...                      index=pd.Index(list("abcde"), name="customer_id"))
    >>> rfm_segments(feats)["segment"].tolist()
    ['champions', 'loyal', 'lost', 'potential loyalists', 'at risk']
    """
    cells = segment_names(mapping, n_bins)
    scores = rfm_scores(
        features,
        recency_col=recency_col,
        frequency_col=frequency_col,
        monetary_col=monetary_col,
        n_bins=n_bins,
    )
    return _segment_frame(scores, cells, mapping)


class RFMSegmenter(TransformerMixin, BaseEstimator):
    """Learn RFM score edges on one population, score and segment others.

    ``fit`` stores ``edges_``: per score, the lowest (best-oriented) value of
    each bin from 2 up; ``transform`` scores new customers against those
    edges (tied values share the higher bin) and names their segments;
    ``fit_transform`` is :func:`rfm_segments` on the training frame.

    Parameters
    ----------
    mapping, recency_col, frequency_col, monetary_col, n_bins
        As for :func:`rfm_segments`.

    Examples
    --------
    >>> feats = pd.DataFrame({"recency_days": [5, 40, 200, 10, 90],
    ...                       "orders": [8, 3, 1, 1, 2],
    ...                       "net_spend": [900.0, 150.0, 20.0, 60.0, 80.0]})
    >>> seg = RFMSegmenter().fit(feats)
    >>> new = pd.DataFrame({"recency_days": [1], "orders": [9], "net_spend": [1e3]})
    >>> seg.predict(new).tolist()
    ['champions']
    """

    def __init__(
        self,
        *,
        mapping: Mapping[str, str] | None = None,
        recency_col: str = "recency_days",
        frequency_col: str = "orders",
        monetary_col: str = "net_spend",
        n_bins: int = 5,
    ) -> None:
        self.mapping = mapping
        self.recency_col = recency_col
        self.frequency_col = frequency_col
        self.monetary_col = monetary_col
        self.n_bins = n_bins

    def _cols(self) -> dict[str, str]:
        cols = (self.recency_col, self.frequency_col, self.monetary_col)
        return dict(zip(_SCORES, cols, strict=True))

    def fit(self, X: pd.DataFrame, y: object = None) -> RFMSegmenter:
        """Learn the score edges of ``X``; ``y`` is ignored."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X: pd.DataFrame, y: object = None) -> pd.DataFrame:
        """Fit and return :func:`rfm_segments` of ``X``."""
        frame = check_X(self, X, reset=True, allow_nan=True)
        self.cells_ = segment_names(self.mapping, self.n_bins)
        _check_features(frame, self.n_bins)
        goodness = _goodness(frame, self._cols())
        scores = pd.DataFrame(
            {s: _quantile_score(goodness[s], self.n_bins) for s in _SCORES},
            index=frame.index,
        )
        self.edges_ = {
            s: np.array(
                [goodness[s][scores[s] >= b].min() for b in range(2, self.n_bins + 1)]
            )
            for s in _SCORES
        }
        return _segment_frame(scores, self.cells_, self.mapping)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """``R``, ``F``, ``M``, ``FM`` and ``segment`` with the learned edges."""
        check_is_fitted(self, "edges_")
        frame = check_X(self, X, reset=False, allow_nan=True)
        _check_features(frame, self.n_bins)
        goodness = _goodness(frame, self._cols())
        scores = pd.DataFrame(
            {
                s: 1 + np.searchsorted(self.edges_[s], goodness[s].to_numpy(), "right")
                for s in _SCORES
            },
            index=frame.index,
        ).astype("int64")
        return _segment_frame(scores, self.cells_, self.mapping)

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """The segment of each row of ``X`` (categorical Series ``segment``)."""
        return self.transform(X)["segment"]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output columns of :meth:`transform`."""
        check_is_fitted(self, "edges_")
        return np.asarray([*_SCORES, "FM", "segment"], dtype=object)
