"""Argument checks shared by the tiering functions and estimators."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

__all__ = [
    "DEFAULT_TIERS",
    "as_values",
    "check_X",
    "check_unique_index",
    "validate_shares",
    "validate_tiers",
    "validate_weights",
]

#: Tier labels, best first.
DEFAULT_TIERS: tuple[str, ...] = ("A", "B", "C")

#: Sums of shares and weights must equal 1 within this tolerance.
SUM_TOL = 1e-9


def validate_tiers(tiers: Sequence[str], name: str = "tiers") -> tuple[str, ...]:
    """Return ``tiers`` as a tuple after checking it holds two or more unique labels."""
    if isinstance(tiers, str) or not isinstance(tiers, Sequence):
        raise ValueError(f"{name} must be a sequence of labels, got {tiers!r}")
    labels = tuple(tiers)
    if len(labels) < 2:
        raise ValueError(f"{name} needs at least two labels, got {labels!r}")
    if any(not isinstance(t, str) or not t for t in labels):
        raise ValueError(f"{name} must be non-empty strings, got {labels!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{name} must be unique, got {labels!r}")
    return labels


def validate_shares(
    shares: Sequence[float], n_tiers: int, name: str = "shares"
) -> np.ndarray:
    """Check one share per tier, each in (0, 1), summing to 1 within 1e-9."""
    if isinstance(shares, str | bytes) or not isinstance(shares, Sequence | np.ndarray):
        raise ValueError(f"{name} must be a sequence of numbers, got {shares!r}")
    values = np.asarray(shares, dtype=float)
    if values.ndim != 1 or len(values) != n_tiers:
        raise ValueError(
            f"{name} has {values.size} entries but tiers has {n_tiers}; "
            "give one share per tier, best tier first"
        )
    bad = [s for s in values if not 0.0 < s < 1.0]
    if bad:
        raise ValueError(f"{name} must each lie in (0, 1), got {list(shares)!r}")
    total = math.fsum(values)
    if abs(total - 1.0) > SUM_TOL:
        raise ValueError(f"{name} must sum to 1, got {list(shares)!r} (sum {total!r})")
    return values


def validate_weights(
    weights: Mapping[str, float], name: str = "criteria"
) -> dict[str, float]:
    """Check criterion weights: each in (0, 1], summing to 1 within 1e-9.

    A weight of exactly 1 is allowed so that a single criterion can be used.
    """
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(f"{name} must be a non-empty mapping column -> weight")
    out = {}
    for col, w in weights.items():
        w = float(w)
        if not 0.0 < w <= 1.0:
            raise ValueError(f"{name} weight of {col!r} must lie in (0, 1], got {w!r}")
        out[col] = w
    total = math.fsum(out.values())
    if abs(total - 1.0) > SUM_TOL:
        raise ValueError(f"{name} weights must sum to 1, got {out!r} (sum {total!r})")
    return out


def check_unique_index(index: pd.Index, name: str) -> None:
    """Raise when customer ids (the index) repeat."""
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"{name} must have one row per customer; repeated ids: {dup}")


def as_values(values: object, name: str = "values") -> pd.Series:
    """Return a float Series (NaN as 0) after checking it is non-empty and finite.

    One-dimensional array-likes are accepted and get a ``RangeIndex``.
    """
    if isinstance(values, pd.DataFrame):
        raise ValueError(
            f"{name} must be a Series of values indexed by customer_id; "
            "a DataFrame is only accepted by rule='composite'"
        )
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if len(series) == 0:
        raise ValueError(f"{name} is empty: there is no customer to tier")
    try:
        out = series.astype("float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got dtype {series.dtype}") from exc
    check_unique_index(out.index, name)
    arr = out.to_numpy()
    if np.isinf(arr).any():
        raise ValueError(f"{name} must be finite; found {int(np.isinf(arr).sum())} inf")
    return out.fillna(0.0)


def check_X(
    estimator: BaseEstimator, X: object, *, reset: bool, allow_nan: bool = False
) -> pd.DataFrame:
    """Validate estimator input and return it as a DataFrame.

    A Series (the value itself) becomes a one-column frame without feature-name
    checks. A DataFrame is kept as is (it may hold non-numeric columns the
    estimator does not use) and goes through scikit-learn's feature-name and
    ``n_features_in_`` checks only. Anything
    else goes through the full ``validate_data`` (2-D, numeric, dense, finite
    or NaN when ``allow_nan``) and gets columns ``x0``, ``x1``, ...
    """
    if isinstance(X, pd.Series):
        # a Series is the value itself, whatever its name or how fit was called
        if len(X) == 0:
            raise ValueError("X is empty: there is no customer")
        if reset:
            estimator.n_features_in_ = 1
            estimator.__dict__.pop("feature_names_in_", None)
        return X.to_frame(name=X.name if X.name is not None else "value")
    if isinstance(X, pd.DataFrame):
        validate_data(estimator, X, skip_check_array=True, reset=reset)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty (shape={X.shape}): no customer or no column")
        return X
    finite = "allow-nan" if allow_nan else True
    arr = validate_data(estimator, X, reset=reset, ensure_all_finite=finite)
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
