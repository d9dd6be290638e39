"""How customer features become clustering coordinates: impute, transform, scale.

Every clustering feature is turned into one column of a matrix in which no
feature dominates because of its unit or its tail:

1. **Impute** a missing value with the rule of its feature: ``recency_ratio``
   (undefined below two order days) becomes ``recency_days`` over the median
   gap of the training customers (how many typical gaps since the one order);
   ``gap_cv`` (undefined below three order days) becomes 1, the regularity of
   buying at random (a Poisson process); anything else the training median.
2. **Shrink** per-order shares (``*_share``, ``return_rate``) towards the
   training mean by :data:`SHRINK_ORDERS` pseudo-orders when ``orders`` is
   among the inputs: one order's coin flip (discounted or not) is weak
   evidence, and unshrunk it makes a segment of its own.
3. **Transform**: shares, ratios bounded in [-1, 1] and ``gap_cv`` stay as
   they are; everything else (money, counts, days, ``recency_ratio``) gets
   :func:`signed_log1p`.
4. **Scale** each column to mean 0, standard deviation 1 on the training
   customers, then clip to ±:data:`CLIP` standard deviations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CLIP",
    "SHRINK_ORDERS",
    "Coordinates",
    "fit_coordinates",
    "is_bounded",
    "signed_log1p",
]

#: Scaled values are clipped to ± this many standard deviations.
CLIP = 4.0
#: Pseudo-orders at the training mean added to every per-order share.
SHRINK_ORDERS = 2.0
#: Features kept on their own scale (bounded shares and ratios).
BOUNDED = frozenset(
    {
        "discount_share",
        "main_channel_share",
        "return_rate",
        "repeat_rate",
        "active_month_share",
        "spend_share",
        "share_paid_late",
        "spend_trend",
        "orders_trend",
        "gap_cv",
    }
)


def signed_log1p(frame: pd.DataFrame) -> pd.DataFrame:
    """``sign(x) * log1p(|x|)``: tames heavy tails, keeps sign (refunds) and 0.

    Examples
    --------
    >>> signed_log1p(pd.DataFrame({"x": [0.0, np.e - 1, -(np.e - 1)]}))["x"].tolist()
    [0.0, 1.0, -1.0]
    """
    arr = frame.to_numpy(dtype=float)
    return pd.DataFrame(
        np.sign(arr) * np.log1p(np.abs(arr)), index=frame.index, columns=frame.columns
    )


def is_bounded(name: str) -> bool:
    """Whether a feature is used on its own scale (no log)."""
    return name in BOUNDED or name.endswith("_share")


def _is_share(name: str) -> bool:
    return name.endswith("_share") and name != "spend_share" or name == "return_rate"


@dataclass(frozen=True)
class Coordinates:
    """The fitted imputation, shrinkage, transform and scaling of the features.

    ``features`` are the clustering features (the matrix columns), ``inputs``
    the columns read (the features, then ``orders`` or ``recency_days`` when a
    rule needs them and they are not features).
    """

    features: tuple[str, ...]
    inputs: tuple[str, ...]
    fill: np.ndarray
    prior: np.ndarray
    gap: float
    mean: np.ndarray
    scale: np.ndarray

    def matrix(self, values: np.ndarray) -> np.ndarray:
        """Scaled coordinates of a float matrix of the ``inputs`` columns."""
        scaled = (self.transformed(values) - self.mean) / self.scale
        return np.clip(scaled, -CLIP, CLIP)

    def transformed(self, values: np.ndarray) -> np.ndarray:
        """Imputed, shrunk and log-transformed features, before scaling."""
        raw = np.array(values[:, : len(self.features)], dtype="float64", copy=True)
        column = {name: j for j, name in enumerate(self.inputs)}
        for j, name in enumerate(self.features):
            x = raw[:, j]
            missing = np.isnan(x)
            if missing.any():
                x[missing] = self._fill(name, j, values, column)[missing]
            if _is_share(name) and "orders" in column and np.isfinite(self.prior[j]):
                orders = np.nan_to_num(values[:, column["orders"]], nan=0.0)
                orders = np.maximum(orders, 0.0)
                x[:] = (x * orders + SHRINK_ORDERS * self.prior[j]) / (
                    orders + SHRINK_ORDERS
                )
            if not is_bounded(name):
                x[:] = np.sign(x) * np.log1p(np.abs(x))
        return raw

    def _fill(self, name, j, values, column) -> np.ndarray:
        n = len(values)
        if name == "recency_ratio" and "recency_days" in column and self.gap > 0:
            days = values[:, column["recency_days"]]
            return np.where(np.isnan(days), self.fill[j], days / self.gap)
        if name == "gap_cv":
            return np.ones(n)
        return np.full(n, self.fill[j])


def fit_coordinates(frame: pd.DataFrame, features: Sequence[str]) -> Coordinates:
    """Learn the imputation, shrinkage and scaling of ``features`` on ``frame``.

    ``frame`` holds the training customers (leads excluded). A feature that is
    missing for every customer cannot be learned: the caller drops it first.

    Examples
    --------
    >>> frame = pd.DataFrame({"orders": [1.0, 3.0, 9.0],
    ...                       "discount_share": [1.0, 0.0, np.nan]})
    >>> coords = fit_coordinates(frame, ["orders", "discount_share"])
    >>> coords.inputs
    ('orders', 'discount_share')
    >>> coords.matrix(frame.to_numpy()).round(2).tolist()  # logged, shrunk
    [[-1.16, 1.09], [-0.11, -1.32], [1.28, 0.23]]
    """
    features = tuple(features)
    needs = {
        "orders": any(_is_share(f) for f in features),
        "recency_days": "recency_ratio" in features,
    }
    extra = [
        c
        for c, needed in needs.items()
        if needed and c in frame.columns and c not in features
    ]
    inputs = (*features, *extra)
    data = frame[list(inputs)].to_numpy(dtype="float64", na_value=np.nan)
    fill = np.array(
        [np.nanmedian(data[:, j]) for j in range(len(features))], dtype="float64"
    )
    gap = float("nan")
    if "recency_ratio" in features and "recency_days" in inputs:
        ratio = data[:, inputs.index("recency_ratio")]
        days = data[:, inputs.index("recency_days")]
        ok = np.isfinite(ratio) & np.isfinite(days) & (ratio > 0)
        gap = float(np.median(days[ok] / ratio[ok])) if ok.any() else float("nan")
    prior = np.array(
        [
            np.nanmean(data[:, j]) if _is_share(f) else np.nan
            for j, f in enumerate(features)
        ]
    )
    ones = np.ones(len(features))
    unscaled = Coordinates(features, inputs, fill, prior, gap, 0 * ones, ones)
    raw = unscaled.transformed(data)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    return Coordinates(features, inputs, fill, prior, gap, mean, scale)
