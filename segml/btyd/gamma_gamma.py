"""Gamma-Gamma: what a customer spends per purchase, shrunk toward the population.

Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis", *Journal of Marketing Research*
42(4), 415-430; Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma Model
of Monetary Value", http://brucehardie.com/notes/025/. Each spend is
Gamma(p, nu); nu varies across customers as Gamma(q, v); spend is assumed
independent of the purchase process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from segml.btyd._common import (
    ArrayLike,
    columns,
    fit_log_params,
    parameter_summary,
    positive_params,
    wrap,
)
from segml.btyd.bgnbd import BGNBD

__all__ = ["GammaGamma", "expected_value", "gamma_gamma_log_likelihood"]

_COLUMNS = ("frequency", "monetary_value")
_PARAMS = ("p", "q", "v")


def gamma_gamma_log_likelihood(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    *,
    p: float,
    q: float,
    v: float,
) -> np.ndarray:
    """Log-density of each customer's mean spend given x purchases (Fader-Hardie).

    ``f(m | p, q, v, x) = Gamma(px + q) / (Gamma(px) Gamma(q))
    * v^q m^(px - 1) x^(px) / (v + m x)^(px + q)``, for x > 0 and m > 0.

    Examples
    --------
    >>> ll = gamma_gamma_log_likelihood([1, 4], [20.0, 35.5], p=6.25, q=3.74, v=15.44)
    >>> ll.round(4)
    array([-3.5942, -4.0743])
    """
    x, m = (np.asarray(a, dtype="float64") for a in (frequency, monetary_value))
    return _log_likelihood_terms(p, q, v, x, m)[0]


def _log_likelihood_terms(p, q, v, x, m):
    """Per-customer log-likelihood and its gradient w.r.t. log(p, q, v)."""
    px = p * x
    log_vmx = np.log(v + m * x)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_vmx
    )
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m * x) - log_vmx)
    d_q = digamma(px + q) - digamma(q) + np.log(v) - log_vmx
    d_v = q / v - (px + q) / (v + m * x)
    return ll, np.stack([d_p * p, d_q * q, d_v * v])


class GammaGamma(BaseEstimator):
    """Gamma-Gamma model of average spend per purchase, fitted by ML.

    The estimator counterpart of lifetimes' ``GammaGammaFitter``. ``fit`` uses
    only the customers with ``frequency > 0`` and ``monetary_value > 0`` (the
    model describes the mean of the *repeat* purchases) and maximises
    :func:`gamma_gamma_log_likelihood` over log-parameters with L-BFGS-B.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (p**2 + q**2 + v**2)`` added to the mean
        negative log-likelihood, as in lifetimes.
    max_iter : int, default 1000
        Iteration limit of the optimiser.
    tol : float, default 1e-10
        ``ftol`` and ``gtol`` of L-BFGS-B.

    Attributes
    ----------
    p_, q_, v_ : float
        Fitted parameters; ``v_`` is in the currency unit.
    params_ : Series
        The three parameters by name.
    log_likelihood_ : float
        Total (unpenalised) log-likelihood of the customers used.
    n_customers_ : int
        Number of customers used (frequency > 0 and monetary value > 0).
    n_iter_ : int
        Optimiser iterations.
    summary_ : DataFrame
        ``coef``, ``se``, ``lower``, ``upper`` (95 %) per parameter, from the
        Hessian of the fitted objective, as in :class:`~segml.btyd.BGNBD`.
    covariance_ : DataFrame
        Covariance matrix of the parameters (delta method).

    Examples
    --------
    With the parameters Fader and Hardie report for CDNOW, a customer whose 2
    repeat purchases averaged $20 is expected to spend, per future purchase,
    between $20 and the population mean p v / (q - 1):

    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    >>> rfm = pd.DataFrame({"frequency": [0, 2, 20],
    ...                     "monetary_value": [0.0, 20.0, 20.0]})
    >>> gg.expected_spend(rfm).round(2).tolist()
    [35.22, 22.74, 20.33]
    """

    def __init__(
        self, *, penalizer: float = 0.0, max_iter: int = 1000, tol: float = 1e-10
    ):
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol

    @classmethod
    def from_params(cls, *, p: float, q: float, v: float) -> GammaGamma:
        """A fitted model with the given parameters (e.g. published ones)."""
        model = cls()
        model._set_params(positive_params(p=p, q=q, v=v))
        return model

    def fit(
        self,
        frequency: ArrayLike | pd.DataFrame,
        monetary_value: ArrayLike | None = None,
    ) -> GammaGamma:
        """Fit p, q, v on the customers with repeat purchases.

        Parameters
        ----------
        frequency : array-like or DataFrame
            Repeat purchase periods, or an RFM frame with ``frequency`` and
            ``monetary_value`` (:func:`segml.features.rfm.rfm_summary`).
        monetary_value : array-like, optional
            Mean spend of the repeat purchases. Omit when passing a frame.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If a column is 2-D (each is 1-D, one value per customer, or a
            scalar; a matrix is not read by position), complex or not finite,
            or fewer than 3 customers have repeat purchases.
        """
        if not self.penalizer >= 0:
            raise ValueError(f"penalizer must be >= 0, got {self.penalizer!r}")
        (x, m), _ = columns(frequency, (monetary_value,), _COLUMNS)
        used = (x > 0) & (m > 0)
        x, m = x[used], m[used]
        if x.size < 3:
            raise ValueError(
                "Gamma-Gamma needs customers with frequency > 0 and "
                f"monetary_value > 0; got {x.size}"
            )
        penalizer = float(self.penalizer)

        def objective(log_params):
            params = np.exp(log_params)
            ll, grad = _log_likelihood_terms(*params, x, m)
            value = -ll.mean() + penalizer * (params @ params)
            gradient = -grad.mean(axis=1) + 2.0 * penalizer * params**2
            return value, gradient

        # p = q = 1 and v = mean spend: a point on the right currency scale.
        start = np.log([1.0, 1.0, float(m.mean())])
        params, result = fit_log_params(
            objective, start, max_iter=self.max_iter, tol=self.tol, model="Gamma-Gamma"
        )
        self._set_params(params)
        self.summary_, self.covariance_ = parameter_summary(
            objective, params, float(x.size), _PARAMS
        )
        self.log_likelihood_ = float(_log_likelihood_terms(*params, x, m)[0].sum())
        self.n_customers_ = int(x.size)
        self.n_iter_ = int(result.nit)
        return self

    def expected_spend(
        self,
        frequency: ArrayLike | pd.DataFrame,
        monetary_value: ArrayLike | None = None,
    ) -> pd.Series | np.ndarray:
        """Expected spend per future purchase given the history.

        ``E[M | x, m] = (q - 1) / (p x + q - 1) * p v / (q - 1)
        + p x / (p x + q - 1) * m``: a weighted average of the population mean
        ``p v / (q - 1)`` and the customer's own mean ``m``, with more weight on
        ``m`` the more purchases it rests on. A customer without repeat
        purchases (x = 0) gets the population mean, whatever ``m`` says.

        Parameters
        ----------
        frequency, monetary_value : array-like or DataFrame
            As in :meth:`fit`.

        Returns
        -------
        Series or ndarray
            Expected spend, on the input's index when it had one.
        """
        (x, m), index = columns(frequency, (monetary_value,), _COLUMNS)
        p, q, v = self._params()
        if np.any(x < 0) or np.any((x > 0) & (m < 0)):
            raise ValueError("frequency and monetary_value must be >= 0")
        m = np.where(x > 0, m, 0.0)
        values = p * (v + m * x) / (p * x + q - 1.0)
        return wrap(values, index, "expected_spend")

    def customer_lifetime_value(
        self,
        transaction_prediction_model: BGNBD,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str = "D",
    ) -> pd.Series | np.ndarray:
        """Discounted CLV with lifetimes' signature and semantics.

        The same as lifetimes' ``GammaGammaFitter.customer_lifetime_value``:
        ``time`` months of 30 days (for ``freq="D"``), a *monthly*
        ``discount_rate``, each month's expected purchases times the expected
        spend, discounted by ``(1 + discount_rate) ** month``. See
        :func:`segml.btyd.clv.customer_lifetime_value` for the frame-based
        function (and annual rates).

        Examples
        --------
        >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
        >>> gg.customer_lifetime_value(bg, [0, 2], [0, 30.43], [38.86, 38.86],
        ...                            [0, 22.35], time=12, freq="W").round(2)
        array([ 8.37, 36.29])
        """
        from segml.btyd.clv import lifetime_value

        (x, t_x, big_t, m), index = columns(
            frequency,
            (recency, T, monetary_value),
            ("frequency", "recency", "T", "monetary_value"),
        )
        values = lifetime_value(
            transaction_prediction_model,
            self,
            x,
            t_x,
            big_t,
            m,
            months=time,
            discount_rate=discount_rate,
            freq=freq,
        )
        return wrap(values, index, "clv")

    @property
    def population_mean_(self) -> float:
        """Mean spend per purchase across customers, p v / (q - 1) (inf if q <= 1)."""
        p, q, v = self._params()
        return p * v / (q - 1.0) if q > 1.0 else float("inf")

    def _params(self) -> tuple[float, float, float]:
        check_is_fitted(self, ("p_", "q_", "v_"))
        if self.q_ <= 1.0:
            raise ValueError(
                f"q = {self.q_:.4g} <= 1: the population mean spend is infinite"
            )
        return self.p_, self.q_, self.v_

    def _set_params(self, params: np.ndarray) -> None:
        self.p_, self.q_, self.v_ = (float(p) for p in params)
        self.params_ = pd.Series(params, index=list(_PARAMS), name="GammaGamma")


def expected_value(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    rfm: pd.DataFrame,
    horizon: float,
) -> pd.Series:
    """Expected spend in the next ``horizon`` periods, undiscounted.

    Expected purchases (BG/NBD) times expected spend per purchase (Gamma-Gamma),
    which assumes spend independent of the purchase process. A baseline for
    ranking customers by future value, not a discounted CLV.

    Parameters
    ----------
    bgnbd : BGNBD
        Fitted on periods of the same unit as ``horizon``.
    gamma_gamma : GammaGamma
        Fitted.
    rfm : DataFrame
        ``frequency``, ``recency``, ``T``, ``monetary_value`` per customer.
    horizon : float
        Length of the future window, in the unit of ``recency`` and ``T``.

    Returns
    -------
    Series
        On ``rfm``'s index, named ``expected_value``.

    Examples
    --------
    >>> rfm = pd.DataFrame({"frequency": [0.0, 2.0], "recency": [0.0, 30.43],
    ...                     "T": [38.86, 38.86], "monetary_value": [0.0, 20.0]},
    ...                    index=pd.Index(["a", "b"], name="customer_id"))
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    >>> expected_value(bg, gg, rfm, horizon=39).round(2)
    customer_id
    a     6.87
    b    27.88
    Name: expected_value, dtype: float64
    """
    if not isinstance(rfm, pd.DataFrame):
        raise TypeError(f"rfm must be a DataFrame, got {type(rfm).__name__}")
    purchases = bgnbd.expected_purchases(horizon, rfm)
    spend = gamma_gamma.expected_spend(rfm)
    return (purchases * spend).rename("expected_value")
