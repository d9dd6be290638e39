"""Discounted customer lifetime value from BG/NBD and Gamma-Gamma, in currency.

The definition lifetimes (``customer_lifetime_value``) and pymc-marketing
(``customer_lifetime_value``) share, so that numbers carry over:

``CLV = sum_{k=1..months} E[purchases in month k] * E[spend per purchase]
/ (1 + d) ** k``

* a month is a fixed number of model periods: 30 days (``freq="D"``),
  4.345 weeks (``"W"``), 1 month (``"M"``) or 720 hours (``"H"``);
* ``E[purchases in month k]`` is BG/NBD's conditional expectation over
  ``(T + (k-1) m, T + k m]`` (the difference of two cumulative expectations);
* ``E[spend per purchase]`` is Gamma-Gamma's
  :meth:`~segml.btyd.GammaGamma.expected_spend` (the population mean for a
  customer without repeat purchases);
* ``d`` is the **monthly** discount rate, applied at the end of each month
  (lifetimes' default 0.01, i.e. 12.7 % a year). An annual rate is converted
  with ``(1 + annual) ** (1 / 12) - 1`` when ``rate_per="year"``.

Spend is what Gamma-Gamma was fitted on (revenue, or margin if the monetary
values were margins); the CLV is in that currency. Unlike lifetimes, each
cumulative expectation is computed once per distinct customer history.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from segml.btyd._common import ArrayLike, check_rfm, columns, wrap
from segml.btyd.bgnbd import BGNBD, _expected_if_alive
from segml.btyd.gamma_gamma import GammaGamma

__all__ = [
    "LIFETIME_COLUMNS",
    "MONTH_PERIODS",
    "customer_lifetime_value",
    "discount_factors",
    "lifetime_value",
    "lifetime_value_columns",
    "monthly_rate",
]

#: Columns :func:`lifetime_value_columns` adds, in order.
LIFETIME_COLUMNS: tuple[str, ...] = ("clv", "p_alive", "expected_purchases")

#: Model periods per month, by the unit of recency and T (lifetimes' factors).
MONTH_PERIODS: dict[str, float] = {"D": 30.0, "W": 4.345, "M": 1.0, "H": 720.0}

_RFM = ("frequency", "recency", "T", "monetary_value")


def monthly_rate(rate: float, rate_per: str = "month") -> float:
    """The monthly discount rate equivalent to ``rate`` per month or per year.

    Examples
    --------
    >>> round(monthly_rate(0.12682503013196977, "year"), 6)
    0.01
    >>> monthly_rate(0.01)
    0.01
    """
    if rate_per not in ("month", "year"):
        raise ValueError(f"rate_per must be 'month' or 'year', got {rate_per!r}")
    if not (np.isfinite(rate) and rate > -1.0):
        raise ValueError(f"discount_rate must be a number > -1, got {rate!r}")
    return float(rate) if rate_per == "month" else float((1.0 + rate) ** (1 / 12) - 1)


def discount_factors(
    months: int, discount_rate: float, rate_per: str = "month"
) -> np.ndarray:
    """``1 / (1 + d) ** k`` for months ``k = 1..months`` (end-of-month cash flows).

    Examples
    --------
    >>> discount_factors(3, 0.1).round(4)
    array([0.9091, 0.8264, 0.7513])
    """
    _check_months(months)
    d = monthly_rate(discount_rate, rate_per)
    return (1.0 + d) ** -np.arange(1, months + 1, dtype="float64")


def customer_lifetime_value(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    rfm: pd.DataFrame,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    rate_per: str = "month",
    freq: str = "D",
) -> pd.Series:
    """Discounted expected spend of each customer over the next ``months``.

    Parameters
    ----------
    bgnbd : BGNBD
        Fitted, in the time unit ``freq`` of ``rfm``.
    gamma_gamma : GammaGamma
        Fitted on the same customers' monetary values.
    rfm : DataFrame
        ``frequency``, ``recency``, ``T``, ``monetary_value`` per customer
        (:func:`segml.features.rfm_summary`).
    months : int, default 12
        Horizon in months (lifetimes' ``time``).
    discount_rate : float, default 0.01
        Discount rate per month (lifetimes' semantics), or per year with
        ``rate_per="year"``.
    rate_per : {"month", "year"}
        What ``discount_rate`` is per.
    freq : {"D", "W", "M", "H"}
        Unit of ``recency`` and ``T``: a month is 30 days, 4.345 weeks, 1
        month or 720 hours.

    Returns
    -------
    Series
        On ``rfm``'s index, named ``clv``, in the currency of the monetary
        values.

    Examples
    --------
    >>> rfm = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.43],
    ...                     "T": [38.86, 38.86], "monetary_value": [0.0, 22.35]},
    ...                    index=pd.Index(["a", "b"], name="customer_id"))
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    >>> customer_lifetime_value(bg, gg, rfm, months=12, freq="W").round(2)
    customer_id
    a     8.37
    b    36.29
    Name: clv, dtype: float64
    """
    if not isinstance(rfm, pd.DataFrame):
        raise TypeError(f"rfm must be a DataFrame, got {type(rfm).__name__}")
    (x, t_x, big_t, m), index = columns(rfm, (None, None, None), _RFM)
    check_rfm(x, t_x, big_t, index)  # errors name the customers, not positions
    values = lifetime_value(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        big_t,
        m,
        months=months,
        discount_rate=discount_rate,
        rate_per=rate_per,
        freq=freq,
    )
    return pd.Series(values, index=rfm.index, name="clv")


def lifetime_value(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    rate_per: str = "month",
    freq: str = "D",
) -> np.ndarray:
    """:func:`customer_lifetime_value` on separate columns, as an array.

    ``E[purchases in month k] = P(alive) * (c(k) - c(k-1))`` where ``c`` is
    the cumulative expectation given alive, which depends on the history only
    through ``(frequency, T)``. So ``c`` is computed once per distinct
    ``(frequency, T)`` at the ``months`` month ends, differenced, discounted,
    then multiplied by each customer's P(alive) and expected spend.
    """
    if freq not in MONTH_PERIODS:
        raise ValueError(f"freq must be one of {sorted(MONTH_PERIODS)}, got {freq!r}")
    factors = discount_factors(months, discount_rate, rate_per)
    (x, t_x, big_t, m), _ = columns(frequency, (recency, T, monetary_value), _RFM)
    check_rfm(x, t_x, big_t, None)
    spend = np.asarray(gamma_gamma.expected_spend(x, m), dtype="float64")
    alive = np.asarray(bgnbd.probability_alive(x, t_x, big_t), dtype="float64")
    # one hash pass over (x, T) as complex keys: cheaper than np.unique(axis=0)
    codes, keys = pd.factorize(x.ravel() + 1j * big_t.ravel())
    ends = np.arange(1, months + 1, dtype="float64")[:, None] * MONTH_PERIODS[freq]
    cumulative = _expected_if_alive(*bgnbd._params(), keys.real, keys.imag, ends)
    per_month = np.diff(cumulative, axis=0, prepend=0.0)  # (months, distinct)
    discounted = factors @ per_month
    values = discounted[codes].reshape(x.shape) * alive * spend
    return wrap(values, None, "clv")  # type: ignore[return-value]


def lifetime_value_columns(
    features: pd.DataFrame,
    fitted: object,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    rate_per: str = "month",
) -> pd.DataFrame:
    """:data:`LIFETIME_COLUMNS` of every row of a feature table (NaN for leads).

    Each row is summarised from its own catalogue columns
    (:func:`segml.btyd.features.rfm_from_features`, in days) and scored with
    the models of ``fitted``:

    * ``clv``: :func:`customer_lifetime_value` over ``months`` months of 30
      days, discounted at ``discount_rate`` per month (or per year);
    * ``p_alive``: :meth:`BGNBD.probability_alive` at the row's cutoff;
    * ``expected_purchases``: expected purchase days in the same ``months *
      30`` days (undiscounted).

    Parameters
    ----------
    features : DataFrame
        Rows of :func:`segml.features.build_features` (or a scoring frame with
        the columns of :data:`segml.btyd.features.RFM_SOURCE_COLUMNS`).
    fitted : BTYDFit
        BG/NBD and Gamma-Gamma fitted in days.
    months, discount_rate, rate_per
        As in :func:`customer_lifetime_value`.

    Returns
    -------
    DataFrame
        On ``features``' index; rows without a purchase are NaN.

    Examples
    --------
    >>> from segml.btyd.features import BTYDFit
    >>> fitted = BTYDFit(pd.Timestamp("2024-03-01"), pd.DataFrame(),
    ...                  BGNBD.from_params(r=0.25, alpha=33.5, a=0.72, b=2.16),
    ...                  GammaGamma.from_params(p=6.28, q=3.62, v=14.98))
    >>> f = pd.DataFrame({"order_days": [3, 0], "tenure_days": [200.0, None],
    ...                   "recency_days": [10.0, None], "net_spend": [90.0, 0.0],
    ...                   "first_order_value": [30.0, None]},
    ...                  index=pd.Index(["a", "lead"], name="customer_id"))
    >>> lifetime_value_columns(f, fitted, months=12).round(3)
                   clv  p_alive  expected_purchases
    customer_id
    a           62.027    0.799               2.122
    lead           NaN      NaN                 NaN
    """
    from segml.btyd.features import _buyers, rfm_from_features

    _check_months(months)
    rfm = rfm_from_features(features)
    out = np.full((len(features), len(LIFETIME_COLUMNS)), np.nan)
    if len(rfm):
        bg, gg = fitted.bgnbd, fitted.gamma_gamma  # type: ignore[attr-defined]
        rows = _buyers(features)
        try:
            out[rows, 0] = customer_lifetime_value(
                bg,
                gg,
                rfm,
                months=months,
                discount_rate=discount_rate,
                rate_per=rate_per,
            ).to_numpy()
        except ValueError as err:  # Gamma-Gamma q <= 1: no finite mean spend
            warnings.warn(
                f"clv is left NaN: {err} (p_alive and expected_purchases need "
                "only BG/NBD and are given)",
                UserWarning,
                stacklevel=2,
            )
        out[rows, 1] = np.asarray(bg.probability_alive(rfm), dtype="float64")
        days = float(months) * MONTH_PERIODS["D"]
        out[rows, 2] = np.asarray(bg.expected_purchases(days, rfm), dtype="float64")
    return pd.DataFrame(out, index=features.index, columns=list(LIFETIME_COLUMNS))


def _check_months(months: int) -> None:
    if isinstance(months, bool) or not float(months).is_integer() or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months!r}")
