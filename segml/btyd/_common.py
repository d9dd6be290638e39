"""Input handling shared by the buy-till-you-die models.

Every public method takes either separate columns (numpy arrays, pandas Series or
scalars) or one RFM frame as returned by :func:`segml.features.rfm.rfm_summary`,
and gives back a Series on the input's index when the input had one.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

__all__ = ["ArrayLike", "ConvergenceWarning"]

#: What the public methods accept for one column of customers.
ArrayLike: TypeAlias = npt.ArrayLike | pd.Series


def columns(
    first: ArrayLike | pd.DataFrame,
    rest: Sequence[ArrayLike | None],
    names: Sequence[str],
) -> tuple[list[np.ndarray], pd.Index | None]:
    """Return the named columns as broadcast float arrays, plus an index if any.

    ``first`` may be a DataFrame holding every column in ``names`` (the other
    arguments must then be ``None``), or the first column itself. Each column
    is a scalar or 1-D (one value per customer): a 2-D array is refused rather
    than broadcast against the other columns, and complex values are refused
    rather than cast to their real part.

    Examples
    --------
    >>> columns([1, 2], (3.0,), ("frequency", "monetary_value"))[0]
    [array([1., 2.]), array([3., 3.])]
    >>> columns(np.ones((3, 2)), (None,), ("frequency", "monetary_value"))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: frequency must be 1-D (one value per customer), got shape (3, 2)...
    """
    if isinstance(first, pd.DataFrame):
        if any(value is not None for value in rest):
            raise TypeError(
                "pass either one RFM frame or separate columns, not both: "
                f"got a DataFrame and {', '.join(names[1:])}"
            )
        missing = [name for name in names if name not in first.columns]
        if missing:
            raise ValueError(
                f"the RFM frame lacks column(s) {missing}; it has "
                f"{list(first.columns)} (see segml.features.rfm.rfm_summary)"
            )
        values: list[ArrayLike] = [first[name] for name in names]
        arrays = [_column(name, v) for name, v in zip(names, values, strict=True)]
    else:
        given = [first, *rest]
        # each column given is checked first, so that a complex or 2-D column
        # is named even when another one is missing
        checked = {
            name: _column(name, v)
            for name, v in zip(names, given, strict=True)
            if v is not None
        }
        if len(checked) < len(names):
            absent = [n for n in names if n not in checked]
            raise TypeError(f"missing column(s) {absent}: pass them or an RFM frame")
        values = given  # type: ignore[assignment]
        arrays = [checked[name] for name in names]
    index = _common_index(values, names)
    try:
        arrays = [np.array(a) for a in np.broadcast_arrays(*arrays)]
    except ValueError as exc:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays, strict=True))
        raise ValueError(f"columns do not have matching shapes: {shapes}") from exc
    for name, array in zip(names, arrays, strict=True):
        bad = ~np.isfinite(array)
        if bad.any():
            raise ValueError(
                f"{name} must be finite; offending rows: {_rows(bad, index)}"
            )
    return arrays, index


def _column(name: str, value: ArrayLike) -> np.ndarray:
    """One column as a float array: a scalar or 1-D, real numbers only."""
    if sparse.issparse(value):
        raise TypeError(
            f"{name} is a sparse {type(value).__name__}: sparse input is not "
            "supported; pass a dense 1-D column"
        )
    raw = value if isinstance(value, pd.Series) else np.asarray(value)
    if np.iscomplexobj(raw):
        raise ValueError(
            f"Complex data not supported: {name} holds complex numbers; pass "
            "real values"
        )
    if raw.ndim > 1:
        detail = (
            f": a 2-D array of {raw.shape[1]} feature(s) per row"
            if raw.ndim == 2
            else ""
        )
        raise ValueError(
            f"{name} must be 1-D (one value per customer), got shape "
            f"{raw.shape}{detail}; pass each column on its own or an RFM frame"
        )
    try:
        return np.asarray(raw, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must hold numbers: {exc}") from exc


def check_rfm(
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    index: pd.Index | None,
) -> None:
    """Raise if the values break the BG/NBD conventions (0 <= recency <= T)."""
    rules = {
        "frequency must be >= 0": frequency < 0,
        "recency must be >= 0": recency < 0,
        "recency must be <= T": recency > T,
        "recency must be 0 when frequency is 0": (frequency == 0) & (recency != 0),
    }
    for message, bad in rules.items():
        if np.any(bad):
            raise ValueError(f"{message}; offending rows: {_rows(bad, index)}")


def wrap(values: np.ndarray, index: pd.Index | None, name: str) -> object:
    """A Series on ``index`` if there is one, a float for 0-d input, else the array."""
    if index is not None:
        return pd.Series(values, index=index, name=name)
    if values.ndim == 0:
        return float(values)
    return values


def positive_params(**params: float) -> np.ndarray:
    """The given model parameters as an array, each finite and positive.

    Examples
    --------
    >>> positive_params(p=1.0, q=2.0).tolist()
    [1.0, 2.0]
    """
    values = np.array(list(params.values()), dtype="float64")
    if not np.all(np.isfinite(values) & (values > 0)):
        names = ", ".join(params)
        raise ValueError(f"{names} must be positive, got {values.tolist()}")
    return values


def fit_log_params(
    objective,
    start: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    model: str,
) -> tuple[np.ndarray, object]:
    """Minimise ``objective(log_params) -> (value, gradient)`` with L-BFGS-B.

    Returns the fitted natural-scale parameters and scipy's result. A fit that
    stops short of a stationary point warns (:class:`ConvergenceWarning`,
    naming ``model``, pointing at the caller's caller) and keeps the best
    parameters found.
    """
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0)] * len(start),
        options={"maxiter": max_iter, "ftol": tol, "gtol": tol},
    )
    if not result.success and np.max(np.abs(result.jac)) > 1e-5:
        warnings.warn(
            f"{model} fit did not converge: {result.message}",
            ConvergenceWarning,
            stacklevel=3,
        )
    return np.exp(result.x), result


def unique_rows(*arrays: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the stacked columns and how often each occurs."""
    stacked = np.column_stack([a.ravel() for a in arrays])
    distinct, counts = np.unique(stacked, axis=0, return_counts=True)
    return [distinct[:, j] for j in range(distinct.shape[1])], counts.astype("float64")


def _common_index(values: Sequence[ArrayLike], names: Sequence[str]) -> pd.Index | None:
    indexes = [v.index for v in values if isinstance(v, pd.Series)]
    if not indexes:
        return None
    for other in indexes[1:]:
        if not other.equals(indexes[0]):
            raise ValueError(f"the Series passed as {', '.join(names)} are not aligned")
    return indexes[0]


def _rows(bad: np.ndarray, index: pd.Index | None, limit: int = 5) -> str:
    positions = np.flatnonzero(np.atleast_1d(bad))
    labels = positions if index is None else index[positions]
    shown = ", ".join(map(str, labels[:limit]))
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return f"[{shown}]{more}"


def beta_nodes(n: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature nodes and weights (summing to 1) for p ~ Beta(a, b).

    Golub-Welsch on the Jacobi recurrence, so that it works for the very large
    ``b`` of heavy buyers, where :func:`scipy.special.roots_jacobi` overflows.
    """
    al, be = b - 1.0, a - 1.0  # Jacobi weight (1-u)^al (1+u)^be, p = (1+u)/2
    k = np.arange(n, dtype="float64")
    s = 2.0 * k + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = (be**2 - al**2) / (s * (s + 2.0))
    if abs(al + be) < 1e-12:  # the k = 0 term is 0/0 there; its limit
        diag[0] = (be - al) / (al + be + 2.0)
    k1, s1 = k[1:], s[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        off2 = 4.0 * k1 * (k1 + al) * (k1 + be) * (k1 + al + be)
        off2 /= s1**2 * (s1 + 1.0) * (s1 - 1.0)
    # k = 1: (k + al + be) / (s - 1) is 1 (0/0 when al + be = -1).
    if n > 1:
        off2[0] = (
            4.0 * (1.0 + al) * (1.0 + be) / ((2.0 + al + be) ** 2 * (3.0 + al + be))
        )
    off = np.sqrt(off2)
    nodes, vectors = eigh_tridiagonal(diag, off)
    weights = vectors[0] ** 2
    return (1.0 + nodes) / 2.0, weights / weights.sum()


def parameter_summary(
    objective,
    params: np.ndarray,
    n: float,
    names: Sequence[str],
    *,
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standard errors and confidence intervals of ML estimates, from the Hessian.

    ``objective(log_params) -> (value, gradient)`` is the mean negative
    log-likelihood (plus penalty) the fit minimised. Its Hessian in the
    log-parameters is taken by central differences of the analytic gradient
    (step 1e-5), so ``cov(log params) = H^-1 / n``. The natural-scale
    covariance follows by the delta method, ``cov_ij * p_i * p_j``, whose
    diagonal gives ``se`` (what lifetimes' ``summary`` reports as ``se(coef)``).
    The interval is Wald on the log scale, ``p * exp(+-z se_log)``: it stays
    positive and is asymmetric, unlike lifetimes' ``coef +- 1.96 se``. Where
    the Hessian is not positive definite (a flat or boundary optimum) the
    standard errors and bounds are NaN.

    Returns
    -------
    (summary, covariance)
        ``summary``: ``coef``, ``se``, ``lower``, ``upper`` per parameter;
        ``covariance``: natural-scale covariance matrix.
    """
    from scipy.stats import norm

    log_params = np.log(params)
    k = len(params)
    step = 1e-5
    hessian = np.empty((k, k))
    for j in range(k):
        shift = np.zeros(k)
        shift[j] = step
        up = objective(log_params + shift)[1]
        down = objective(log_params - shift)[1]
        hessian[:, j] = (np.asarray(up) - np.asarray(down)) / (2.0 * step)
    hessian = (hessian + hessian.T) / 2.0
    if np.all(np.isfinite(hessian)) and np.linalg.eigvalsh(hessian).min() > 0:
        log_cov = np.linalg.inv(hessian) / n
    else:
        log_cov = np.full((k, k), np.nan)
    se_log = np.sqrt(np.diag(log_cov))
    z = float(norm.ppf(0.5 + level / 2.0))
    summary = pd.DataFrame(
        {
            "coef": params,
            "se": params * se_log,
            "lower": params * np.exp(-z * se_log),
            "upper": params * np.exp(z * se_log),
        },
        index=pd.Index(list(names), name="parameter"),
    )
    covariance = pd.DataFrame(
        log_cov * np.outer(params, params), index=list(names), columns=list(names)
    )
    return summary, covariance
