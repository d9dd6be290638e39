"""Standard errors and intervals of the BTYD fits (``summary_``, ``covariance_``).

Checked three ways: the arithmetic on a quadratic objective with a known
Hessian, the observed information computed independently by second
differences of the log-likelihood, and the spread of estimates over data
simulated with known parameters. The pin against lifetimes' ``se(coef)`` on
CDNOW is in test_clv.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from segml.btyd import BGNBD, GammaGamma, bgnbd_log_likelihood
from segml.btyd._common import parameter_summary
from segml.btyd.gamma_gamma import gamma_gamma_log_likelihood

_BG = {"r": 0.5, "alpha": 20.0, "a": 0.8, "b": 2.5}
_GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def simulate_bgnbd(n: int, T: float, rng: np.random.Generator) -> pd.DataFrame:
    """BG/NBD histories: K ~ Poisson(lambda T) purchases after the first, the
    customer drops out right after the D-th, D ~ Geom(p); x = min(K, D) and the
    x-th of K uniform purchase times is T * Beta(x, K - x + 1)."""
    lam = rng.gamma(_BG["r"], 1.0 / _BG["alpha"], n)
    p = rng.beta(_BG["a"], _BG["b"], n)
    k = rng.poisson(lam * T)
    x = np.minimum(k, rng.geometric(p))
    recency = np.where(x > 0, T * rng.beta(np.maximum(x, 1), k - x + 1), 0.0)
    return pd.DataFrame({"frequency": x * 1.0, "recency": recency, "T": T})


def simulate_spend(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Gamma-Gamma: nu ~ Gamma(q, rate v); the mean of x Gamma(p, rate nu)
    spends is Gamma(p x, rate nu x)."""
    x = rng.integers(1, 8, n).astype(float)
    nu = rng.gamma(_GG["q"], 1.0 / _GG["v"], n)
    m = rng.gamma(_GG["p"] * x, 1.0 / (nu * x))
    return pd.DataFrame({"frequency": x, "monetary_value": m})


def test_parameter_summary_on_a_quadratic_with_known_hessian():
    # objective(theta) = 0.5 (theta - c)' A (theta - c): minimum at c, Hessian A
    a = np.array([[4.0, 1.0], [1.0, 2.0]])
    c = np.log([2.0, 5.0])

    def objective(theta):
        d = theta - c
        return 0.5 * d @ a @ d, a @ d

    summary, cov = parameter_summary(objective, np.exp(c), 50.0, ["u", "w"])
    log_cov = np.linalg.inv(a) / 50.0  # [[2, -1], [-1, 4]] / 7 / 50
    np.testing.assert_allclose(log_cov, np.array([[2, -1], [-1, 4]]) / 350)
    se_log = np.sqrt(np.diag(log_cov))
    np.testing.assert_allclose(summary["coef"], [2.0, 5.0])
    np.testing.assert_allclose(summary["se"], [2.0, 5.0] * se_log, rtol=1e-8)
    np.testing.assert_allclose(
        summary["lower"], [2.0, 5.0] * np.exp(-norm.ppf(0.975) * se_log), rtol=1e-8
    )
    np.testing.assert_allclose(
        summary["upper"], [2.0, 5.0] * np.exp(norm.ppf(0.975) * se_log), rtol=1e-8
    )
    np.testing.assert_allclose(
        cov.to_numpy(), log_cov * np.outer([2.0, 5.0], [2.0, 5.0]), rtol=1e-8
    )
    assert list(summary.columns) == ["coef", "se", "lower", "upper"]
    assert list(summary.index) == ["u", "w"]


def test_flat_objective_gives_nan_not_a_number_that_looks_valid():
    def flat(theta):
        return 0.0, np.zeros_like(theta)

    summary, cov = parameter_summary(flat, np.array([1.0, 2.0]), 10.0, ["u", "w"])
    assert summary["se"].isna().all() and summary["lower"].isna().all()
    assert cov.isna().all().all()
    np.testing.assert_array_equal(summary["coef"], [1.0, 2.0])


def _observed_information_se(loglik, params: np.ndarray, rel: float = 1e-4):
    """se from the inverse of -d2 loglik / d params2, by second differences of
    the total log-likelihood (values only, natural scale)."""
    k = len(params)
    h = rel * params
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            hess[i, j] = (
                loglik(params + ei + ej)
                - loglik(params + ei - ej)
                - loglik(params - ei + ej)
                + loglik(params - ei - ej)
            ) / (4 * h[i] * h[j])
    return np.sqrt(np.diag(np.linalg.inv(-hess)))


def test_bgnbd_se_equals_the_observed_information_by_second_differences():
    rfm = simulate_bgnbd(3000, 52.0, np.random.default_rng(0))
    model = BGNBD().fit(rfm)
    cols = [rfm[c].to_numpy() for c in ("frequency", "recency", "T")]

    def loglik(theta):
        r, alpha, a, b = theta
        return bgnbd_log_likelihood(*cols, r=r, alpha=alpha, a=a, b=b).sum()

    expected = _observed_information_se(loglik, model.params_.to_numpy())
    np.testing.assert_allclose(model.summary_["se"], expected, rtol=2e-3)
    np.testing.assert_allclose(
        np.sqrt(np.diag(model.covariance_)), model.summary_["se"], rtol=1e-12
    )


def test_gamma_gamma_se_equals_the_observed_information_by_second_differences():
    data = simulate_spend(2000, np.random.default_rng(0))
    model = GammaGamma().fit(data)
    x, m = data["frequency"].to_numpy(), data["monetary_value"].to_numpy()

    def loglik(theta):
        p, q, v = theta
        return gamma_gamma_log_likelihood(x, m, p=p, q=q, v=v).sum()

    expected = _observed_information_se(loglik, model.params_.to_numpy())
    np.testing.assert_allclose(model.summary_["se"], expected, rtol=2e-3)


def test_bgnbd_se_matches_the_spread_of_estimates_on_simulated_data():
    # 40 data sets of 5,000 customers with known parameters: the standard
    # deviation of the log-estimates (the scale of the Wald approximation) is
    # what se / coef claims, roughly, and the 95 % intervals cover the truth
    # about 95 % of the time. (On the natural scale a and b are skewed: at
    # 2,000 customers their spread is 2.5x the median se.)
    rng = np.random.default_rng(42)
    truth = np.array(list(_BG.values()))
    estimates, ses, covered = [], [], []
    for _ in range(40):
        model = BGNBD().fit(simulate_bgnbd(5000, 78.0, rng))
        s = model.summary_
        estimates.append(np.log(s["coef"].to_numpy()))
        ses.append((s["se"] / s["coef"]).to_numpy())
        covered.append(((s["lower"] <= truth) & (truth <= s["upper"])).to_numpy())
    ratio = np.std(estimates, axis=0, ddof=1) / np.median(ses, axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    coverage = np.mean(covered, axis=0)
    assert np.all(coverage >= 0.85), coverage


def test_gamma_gamma_se_matches_the_spread_of_estimates_on_simulated_data():
    rng = np.random.default_rng(7)
    estimates, ses = [], []
    for _ in range(40):
        s = GammaGamma().fit(simulate_spend(1500, rng)).summary_
        estimates.append(np.log(s["coef"].to_numpy()))
        ses.append((s["se"] / s["coef"]).to_numpy())
    ratio = np.std(estimates, axis=0, ddof=1) / np.median(ses, axis=0)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio


def test_sixteen_copies_of_the_data_shrink_the_standard_errors_by_four():
    rfm = simulate_bgnbd(2000, 52.0, np.random.default_rng(3))
    once = BGNBD().fit(rfm).summary_
    copies = BGNBD().fit(pd.concat([rfm] * 16)).summary_
    np.testing.assert_allclose(copies["coef"], once["coef"], rtol=1e-6)
    np.testing.assert_allclose(once["se"] / copies["se"], 4.0, rtol=1e-4)


def test_models_from_published_parameters_have_no_summary():
    model = BGNBD.from_params(**_BG)
    assert not hasattr(model, "summary_")


def test_btyd_fit_flattens_the_summaries_into_metrics():
    from segml.btyd.features import BTYDFit, fit_btyd_rfm

    rfm = simulate_bgnbd(3000, 52.0, np.random.default_rng(5))
    spend = simulate_spend(3000, np.random.default_rng(6))["monetary_value"]
    rfm = rfm.assign(monetary_value=np.where(rfm["frequency"] > 0, spend, 0.0))
    fitted = fit_btyd_rfm(rfm, as_of="2024-01-01")
    metrics = fitted.summary_metrics()
    assert len(metrics) == 7 * 4  # r, alpha, a, b, p, q, v x coef, se, lower, upper
    s = fitted.bgnbd.summary_
    assert metrics["btyd/bgnbd/alpha"] == s.loc["alpha", "coef"]
    assert metrics["btyd/bgnbd/alpha_se"] == s.loc["alpha", "se"]
    assert (
        metrics["btyd/gamma_gamma/q_upper"]
        == fitted.gamma_gamma.summary_.loc["q", "upper"]
    )
    # an undefined standard error is left out, not logged as NaN
    published = BTYDFit(fitted.as_of, rfm, BGNBD.from_params(**_BG), fitted.gamma_gamma)
    assert not any(k.startswith("btyd/bgnbd/") for k in published.summary_metrics())
    slim = fitted.without_rfm()
    assert len(slim.rfm) == 0 and slim.bgnbd is fitted.bgnbd
    assert list(slim.rfm.columns) == list(rfm.columns)
