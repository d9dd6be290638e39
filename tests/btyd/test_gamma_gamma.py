"""Tests of segml.btyd.gamma_gamma: Gamma-Gamma on CDNOW, by hand and by integration.

The published parameters of Fader & Hardie's note are pinned in test_bgnbd.py,
beside the ids of the CDNOW sample they were fitted on.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from segml.btyd import BGNBD, GammaGamma, expected_value, gamma_gamma_log_likelihood
from segml.btyd.gamma_gamma import _log_likelihood_terms
from segml.datasets import load_cdnow
from segml.features.rfm import rfm_summary


@pytest.fixture(scope="module")
def rfm_daily() -> pd.DataFrame:
    """CDNOW calibration period: every purchase up to 1997-09-30, in days."""
    return rfm_summary(load_cdnow(), as_of="1997-09-30")


@pytest.fixture(scope="module")
def gg_daily(rfm_daily) -> GammaGamma:
    return GammaGamma().fit(rfm_daily)


def test_cdnow_daily_fit_matches_golden_numbers(rfm_daily, gg_daily):
    repeaters = (rfm_daily["frequency"] > 0) & (rfm_daily["monetary_value"] > 0)
    assert gg_daily.n_customers_ == repeaters.sum() == 9450
    assert gg_daily.p_ == pytest.approx(6.275, rel=5e-3)
    assert gg_daily.q_ == pytest.approx(3.625, rel=5e-3)
    assert gg_daily.v_ == pytest.approx(14.98, rel=5e-3)


def test_fit_on_columns_equals_fit_on_frame(rfm_daily, gg_daily):
    gg = GammaGamma().fit(rfm_daily["frequency"], rfm_daily["monetary_value"])
    np.testing.assert_allclose(gg.params_, gg_daily.params_, rtol=1e-10)


def _integrated_density(x, m, p, q, v):
    """Mean of x Gamma(p, nu) spends, integrated over nu ~ Gamma(q, v)."""

    def given(nu):
        # mean of x iid Gamma(shape p, rate nu) is Gamma(shape p x, rate nu x)
        log_mean = (
            p * x * math.log(nu * x)
            + (p * x - 1) * math.log(m)
            - nu * x * m
            - math.lgamma(p * x)
        )
        log_prior = q * math.log(v) + (q - 1) * math.log(nu) - v * nu - math.lgamma(q)
        return math.exp(log_mean + log_prior)

    value, _ = integrate.quad(given, 0, np.inf, epsabs=0, epsrel=1e-11, limit=200)
    return value


def test_log_likelihood_matches_numerical_integration():
    params = {"p": 2.5, "q": 3.0, "v": 12.0}
    x, m = np.array([1.0, 3.0, 12.0]), np.array([18.0, 40.5, 9.25])
    expected = [
        math.log(_integrated_density(xi, mi, **params))
        for xi, mi in zip(x, m, strict=True)
    ]
    ll = gamma_gamma_log_likelihood(x, m, **params)
    np.testing.assert_allclose(ll, expected, rtol=1e-8)


def test_log_likelihood_gradient_matches_finite_differences():
    x, m = np.array([1.0, 3.0, 12.0]), np.array([18.0, 40.5, 9.25])
    log_params = np.log([2.5, 3.0, 12.0])
    for i in range(3):

        def f(lp, i=i):
            return _log_likelihood_terms(*np.exp(lp), x, m)[0][i]

        grad = _log_likelihood_terms(*np.exp(log_params), x, m)[1][:, i]
        numeric = optimize.approx_fprime(log_params, f, 1e-7)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_expected_spend_shrinks_toward_the_population_mean(gg_daily):
    population = gg_daily.p_ * gg_daily.v_ / (gg_daily.q_ - 1)
    assert gg_daily.population_mean_ == pytest.approx(population)
    x = np.repeat([1.0, 2.0, 5.0, 20.0, 80.0], 3)
    m = np.tile([5.0, population, 200.0], 5)
    spend = gg_daily.expected_spend(x, m)
    low, high = np.minimum(m, population), np.maximum(m, population)
    assert np.all((spend >= low - 1e-9) & (spend <= high + 1e-9))
    # more purchases, more weight on the customer's own mean
    distance = np.abs(spend - m).reshape(5, 3)[:, [0, 2]]
    assert np.all(np.diff(distance, axis=0) < 0)


def test_expected_spend_by_hand_and_for_no_repeat_purchases():
    gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    population = 6.25 * 15.44 / 2.74
    spend = gg.expected_spend([0.0, 0.0, 3.0], [0.0, 99.0, 30.0])
    weight = 6.25 * 3 / (6.25 * 3 + 3.74 - 1)
    np.testing.assert_allclose(
        spend, [population, population, weight * 30.0 + (1 - weight) * population]
    )


def test_expected_value_is_purchases_times_spend(rfm_daily, gg_daily):
    bg = BGNBD.from_params(r=0.252, alpha=33.52, a=0.723, b=2.161)
    head = rfm_daily.head(50)
    value = expected_value(bg, gg_daily, head, horizon=273)
    assert value.name == "expected_value"
    assert value.index.equals(head.index)
    np.testing.assert_allclose(
        value,
        bg.expected_purchases(273, head) * gg_daily.expected_spend(head),
        rtol=1e-12,
    )
    assert np.all(np.isfinite(value)) and np.all(value > 0)


def test_invalid_input_and_unfitted():
    with pytest.raises(NotFittedError):
        GammaGamma().expected_spend([1.0], [10.0])
    with pytest.raises(ValueError, match="frequency > 0"):
        GammaGamma().fit([0.0, 0.0, 1.0], [0.0, 0.0, 5.0])
    with pytest.raises(ValueError, match="infinite"):
        GammaGamma.from_params(p=1.0, q=0.9, v=1.0).expected_spend([1.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        GammaGamma().fit([1.0, 2.0, 3.0], [1.0, np.nan, 3.0])


def test_non_convergence_warns(rfm_daily):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GammaGamma(max_iter=2).fit(rfm_daily)
