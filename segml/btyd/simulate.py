"""Draw future spend from fitted BG/NBD and Gamma-Gamma models.

The closed forms of :mod:`segml.btyd.bgnbd` and :mod:`segml.btyd.gamma_gamma`
give expectations; tiers, however, are cut on *realised* values, whose spread
decides how many customers a cumulative value rule puts in each tier and how
well any ranking can match them. This module draws realised values per
customer from the models' posteriors, so that such quantities can be
estimated for a horizon that no training window covers.

Given a customer's history ``(x, t_x, T)`` and repeat mean spend ``m``:

* alive at ``T`` with probability :meth:`BGNBD.p_alive`;
* if alive, the purchase rate is ``lambda ~ Gamma(r + x, alpha + T)`` and the
  dropout probability ``p ~ Beta(a, b + x)``; purchases in ``(T, T + t]`` are
  ``min(Poisson(lambda t), Geometric(p))`` (the customer drops out right after
  the ``K``-th purchase, ``K ~ Geometric(p)``);
* each purchase spends ``Gamma(p_gg, nu)`` with ``nu ~ Gamma(q + p_gg x,
  v + x m)``, so ``N`` purchases spend ``Gamma(N p_gg, nu)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.btyd.bgnbd import BGNBD
from segml.btyd.gamma_gamma import GammaGamma

__all__ = ["simulate_future_value"]

_RFM = ("frequency", "recency", "T", "monetary_value")


def simulate_future_value(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    rfm: pd.DataFrame,
    horizon: float,
    *,
    n_draws: int = 100,
    random_state: int | np.random.Generator | None = 0,
    return_purchases: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Realised spend of every customer in the next ``horizon`` periods, drawn.

    Parameters
    ----------
    bgnbd : BGNBD
        Fitted, in the time unit of ``rfm`` and ``horizon``.
    gamma_gamma : GammaGamma
        Fitted; ``q`` must exceed 1.
    rfm : DataFrame
        ``frequency``, ``recency``, ``T``, ``monetary_value`` per customer
        (:func:`segml.features.rfm_summary`).
    horizon : float
        Length of the future window, > 0.
    n_draws : int
        Number of independent draws of the whole population.
    random_state : int, Generator or None
        Seed of :func:`numpy.random.default_rng`.
    return_purchases : bool
        Also return the drawn numbers of purchases.

    Returns
    -------
    ndarray or (ndarray, ndarray)
        Spend, shape ``(n_draws, len(rfm))``, columns in the order of ``rfm``;
        with ``return_purchases``, also the purchase counts (same shape).

    Examples
    --------
    >>> rfm = pd.DataFrame({"frequency": [0.0, 6.0], "recency": [0.0, 35.0],
    ...                     "T": [40.0, 40.0], "monetary_value": [0.0, 20.0]})
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    >>> spend = simulate_future_value(bg, gg, rfm, 39, n_draws=4000)
    >>> spend.shape
    (4000, 2)
    >>> bool(spend[:, 1].mean() > spend[:, 0].mean())
    True
    """
    if not isinstance(rfm, pd.DataFrame):
        raise TypeError(f"rfm must be a DataFrame, got {type(rfm).__name__}")
    missing = [c for c in _RFM if c not in rfm.columns]
    if missing:
        raise ValueError(f"rfm lacks column(s) {missing}")
    if not (np.isfinite(horizon) and horizon > 0):
        raise ValueError(f"horizon must be a finite number > 0, got {horizon!r}")
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws!r}")
    if gamma_gamma.q_ <= 1.0:
        raise ValueError(f"Gamma-Gamma q = {gamma_gamma.q_:.4g} <= 1: infinite spend")
    x, t_x, big_t, m = (rfm[c].to_numpy(dtype="float64") for c in _RFM)
    alive_p = np.asarray(bgnbd.p_alive(x, t_x, big_t), dtype="float64")
    rng = np.random.default_rng(random_state)
    n = len(x)
    spend = np.zeros((n_draws, n))
    counts = np.zeros((n_draws, n))
    if n == 0:
        return (spend, counts) if return_purchases else spend
    shape_rate = bgnbd.r_ + x, bgnbd.alpha_ + big_t
    spend_shape = gamma_gamma.q_ + gamma_gamma.p_ * x
    spend_rate = gamma_gamma.v_ + x * np.where(x > 0, m, 0.0)
    for k in range(n_draws):
        alive = rng.random(n) < alive_p
        rate = rng.gamma(shape_rate[0], 1.0 / shape_rate[1])
        dropout = rng.beta(bgnbd.a_, bgnbd.b_ + x)
        purchases = np.minimum(rng.poisson(rate * horizon), rng.geometric(dropout))
        purchases = np.where(alive, purchases, 0)
        nu = rng.gamma(spend_shape, 1.0 / spend_rate)
        bought = purchases > 0
        total = np.zeros(n)
        total[bought] = rng.gamma(purchases[bought] * gamma_gamma.p_, 1.0 / nu[bought])
        spend[k] = total
        counts[k] = purchases
    return (spend, counts) if return_purchases else spend
