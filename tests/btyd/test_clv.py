"""Tests of segml.btyd.clv and the BG/NBD predictions around it.

The CLV is pinned against lifetimes 0.11.3 (a test-only dependency of the dev
extra; it imports and fits with numpy 2 / pandas 3) on CDNOW, each library
fitting BG/NBD and Gamma-Gamma on the same daily RFM summary, and on lifetimes'
own weekly CDNOW sample. Everything else is checked by hand or by definition.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segml.btyd import BGNBD, GammaGamma
from segml.btyd.clv import (
    customer_lifetime_value,
    discount_factors,
    lifetime_value,
    monthly_rate,
)
from segml.datasets import load_cdnow
from segml.features.rfm import rfm_summary

# The dev extra's test-only pin, imported (not skipped) so that make test cannot
# pass without it. lifetimes 0.11.3 sets pandas' deprecated
# mode.chained_assignment option on import (a Pandas4Warning, an error here).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
    import lifetimes


@pytest.fixture(scope="module")
def rfm_daily() -> pd.DataFrame:
    """CDNOW calibration period: every purchase up to 1997-09-30, in days."""
    return rfm_summary(load_cdnow(), as_of="1997-09-30")


@pytest.fixture(scope="module")
def ours(rfm_daily) -> tuple[BGNBD, GammaGamma]:
    return BGNBD().fit(rfm_daily), GammaGamma().fit(rfm_daily)


@pytest.fixture(scope="module")
def theirs(rfm_daily):
    """lifetimes' fitters on the same customers (Gamma-Gamma: x > 0 and m > 0,
    the customers segml's Gamma-Gamma uses; lifetimes refuses m <= 0)."""
    bg = lifetimes.BetaGeoFitter().fit(
        rfm_daily["frequency"], rfm_daily["recency"], rfm_daily["T"]
    )
    used = rfm_daily[(rfm_daily["frequency"] > 0) & (rfm_daily["monetary_value"] > 0)]
    gg = lifetimes.GammaGammaFitter().fit(used["frequency"], used["monetary_value"])
    return bg, gg


def _with_params(fitter, params: pd.Series):
    """A lifetimes fitter evaluated at segml's parameters (the CLV arithmetic
    alone, without the optimisers' last-digit differences)."""
    fitter.params_ = pd.Series(params.to_numpy(), index=params.index)
    return fitter


# --- pinned against lifetimes ---------------------------------------------------


def test_fits_equal_lifetimes_to_four_significant_digits(ours, theirs):
    bg, gg = ours
    lt_bg, lt_gg = theirs
    np.testing.assert_allclose(
        bg.params_, lt_bg.params_[["r", "alpha", "a", "b"]], rtol=1e-4
    )
    np.testing.assert_allclose(gg.params_, lt_gg.params_[["p", "q", "v"]], rtol=1e-4)


def test_standard_errors_equal_lifetimes(ours, theirs):
    # lifetimes: autograd's exact Hessian; segml: central differences of the
    # analytic gradient. Same definition (delta method on log-parameters).
    bg, gg = ours
    lt_bg, lt_gg = theirs
    np.testing.assert_allclose(
        bg.summary_["se"], lt_bg.summary["se(coef)"].to_numpy(), rtol=1e-4
    )
    np.testing.assert_allclose(
        gg.summary_["se"], lt_gg.summary["se(coef)"].to_numpy(), rtol=1e-4
    )


@pytest.mark.parametrize(
    ("months", "discount_rate"), [(12, 0.01), (3, 0.0), (24, 0.05), (1, 0.01)]
)
def test_clv_equals_lifetimes_on_cdnow_daily(
    rfm_daily, ours, theirs, months, discount_rate
):
    bg, gg = ours
    lt_bg, lt_gg = theirs
    got = customer_lifetime_value(
        bg, gg, rfm_daily, months=months, discount_rate=discount_rate, freq="D"
    )
    lt_args = (
        rfm_daily["frequency"],
        rfm_daily["recency"],
        rfm_daily["T"],
        rfm_daily["monetary_value"],
    )
    kwargs = {"time": months, "discount_rate": discount_rate, "freq": "D"}
    # each library with its own fit: equal to 4 significant digits
    own = lt_gg.customer_lifetime_value(lt_bg, *lt_args, **kwargs)
    assert got.index.equals(own.index) and got.name == "clv"
    np.testing.assert_allclose(got, own, rtol=1e-4)
    # the same parameters in both: equal to 4 decimals of currency
    same = _with_params(lt_gg, gg.params_).customer_lifetime_value(
        _with_params(lt_bg, bg.params_), *lt_args, **kwargs
    )
    np.testing.assert_allclose(got, same, rtol=0, atol=1e-4)
    assert got.max() > 500  # heavy buyers are in the comparison


def test_clv_equals_lifetimes_on_its_weekly_sample():
    # lifetimes' weekly summary of FHL's 2,357-customer sample, read from the
    # package's file (lifetimes.datasets needs pkg_resources, which modern
    # environments no longer ship)
    path = Path(lifetimes.__file__).parent / "datasets"
    data = pd.read_csv(path / "cdnow_customers_summary_with_transactions.csv")
    data.columns = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    rfm = data.set_index("customer_id").astype("float64")
    bg, gg = BGNBD().fit(rfm), GammaGamma().fit(rfm)
    lt_bg = lifetimes.BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    repeat = rfm[rfm["frequency"] > 0]
    lt_gg = lifetimes.GammaGammaFitter().fit(
        repeat["frequency"], repeat["monetary_value"]
    )
    got = gg.customer_lifetime_value(
        bg,
        rfm["frequency"],
        rfm["recency"],
        rfm["T"],
        rfm["monetary_value"],
        time=6,
        discount_rate=0.02,
        freq="W",
    )
    expected = _with_params(lt_gg, gg.params_).customer_lifetime_value(
        _with_params(lt_bg, bg.params_),
        rfm["frequency"],
        rfm["recency"],
        rfm["T"],
        rfm["monetary_value"],
        time=6,
        discount_rate=0.02,
        freq="W",
    )
    assert isinstance(got, pd.Series) and got.index.equals(rfm.index)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)


def test_predictions_equal_lifetimes(rfm_daily, ours, theirs):
    bg, _ = ours
    lt_bg = _with_params(theirs[0], bg.params_)
    cols = [rfm_daily[c] for c in ("frequency", "recency", "T")]
    np.testing.assert_allclose(
        bg.probability_alive(rfm_daily),
        lt_bg.conditional_probability_alive(*cols),
        rtol=0,
        atol=1e-10,
    )
    for t in (1.0, 30.0, 365.0):
        np.testing.assert_allclose(
            bg.expected_purchases(t, rfm_daily),
            lt_bg.conditional_expected_number_of_purchases_up_to_time(t, *cols),
            rtol=1e-7,
        )
    # a customer just acquired: FHL eq. 8, lifetimes' unconditional P(X(t) = n)
    for t in (7.0, 90.0, 500.0):
        for n in range(6):
            assert bg.probability_of_n_purchases(n, t, 0, 0, 0) == pytest.approx(
                lt_bg.probability_of_n_purchases_up_to_time(t, n), rel=1e-9
            )


# --- the definition, by hand ----------------------------------------------------

_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def test_clv_is_the_discounted_sum_of_monthly_expectations():
    bg, gg = BGNBD.from_params(**_BG), GammaGamma.from_params(**_GG)
    x, t_x, big_t, m = 3.0, 20.0, 35.0, 18.0
    spend = gg.expected_spend(x, m)
    cumulative = [bg.expected_purchases(30.0 * k, x, t_x, big_t) for k in range(4)]
    by_hand = sum(
        (cumulative[k] - cumulative[k - 1]) * spend / 1.02**k for k in (1, 2, 3)
    )
    got = lifetime_value(bg, gg, x, t_x, big_t, m, months=3, discount_rate=0.02)
    assert got == pytest.approx(by_hand, rel=1e-12)
    undiscounted = lifetime_value(bg, gg, x, t_x, big_t, m, months=3, discount_rate=0)
    assert undiscounted == pytest.approx(cumulative[3] * spend, rel=1e-12)


def test_annual_rate_is_converted_to_the_equivalent_monthly_one():
    bg, gg = BGNBD.from_params(**_BG), GammaGamma.from_params(**_GG)
    rfm = pd.DataFrame(
        {
            "frequency": [0.0, 4.0],
            "recency": [0.0, 50.0],
            "T": [60.0, 60.0],
            "monetary_value": [0.0, 30.0],
        }
    )
    monthly = customer_lifetime_value(bg, gg, rfm, months=24, discount_rate=0.01)
    annual = customer_lifetime_value(
        bg, gg, rfm, months=24, discount_rate=1.01**12 - 1, rate_per="year"
    )
    np.testing.assert_allclose(annual, monthly, rtol=1e-12)
    assert monthly_rate(0.21, "year") == pytest.approx(1.21 ** (1 / 12) - 1)
    np.testing.assert_allclose(discount_factors(2, 0.5), [1 / 1.5, 1 / 2.25])


def test_duplicate_histories_get_the_value_of_their_own_row():
    bg, gg = BGNBD.from_params(**_BG), GammaGamma.from_params(**_GG)
    rfm = pd.DataFrame(
        {
            "frequency": [2.0, 0.0, 2.0, 2.0],
            "recency": [10.0, 0.0, 10.0, 30.0],
            "T": [40.0, 40.0, 40.0, 40.0],
            "monetary_value": [10.0, 0.0, 50.0, 10.0],
        },
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )
    got = customer_lifetime_value(bg, gg, rfm, months=6)
    one_by_one = [
        customer_lifetime_value(bg, gg, rfm.iloc[[i]], months=6).iloc[0]
        for i in range(4)
    ]
    np.testing.assert_allclose(got, one_by_one, rtol=1e-12)
    # same history, 5x the spend: more value, exactly in the ratio of spends
    ratio = gg.expected_spend(2.0, 50.0) / gg.expected_spend(2.0, 10.0)
    assert got["c"] / got["a"] == pytest.approx(ratio, rel=1e-12)
    assert got["d"] > got["a"]  # a more recent last purchase: more likely alive


def test_invalid_arguments_are_named():
    bg, gg = BGNBD.from_params(**_BG), GammaGamma.from_params(**_GG)
    rfm = pd.DataFrame(
        {"frequency": [1.0], "recency": [5.0], "T": [4.0], "monetary_value": [3.0]},
        index=pd.Index(["late"], name="customer_id"),
    )
    with pytest.raises(
        ValueError, match=r"recency must be <= T; offending rows: \[late\]"
    ):
        customer_lifetime_value(bg, gg, rfm)
    ok = rfm.assign(T=10.0)
    with pytest.raises(ValueError, match="months must be a whole number >= 1, got 0"):
        customer_lifetime_value(bg, gg, ok, months=0)
    with pytest.raises(ValueError, match="months must be a whole number >= 1, got 1.5"):
        customer_lifetime_value(bg, gg, ok, months=1.5)
    with pytest.raises(ValueError, match="freq must be one of"):
        customer_lifetime_value(bg, gg, ok, freq="Y")
    with pytest.raises(ValueError, match="rate_per must be 'month' or 'year'"):
        customer_lifetime_value(bg, gg, ok, rate_per="week")
    with pytest.raises(ValueError, match="discount_rate must be a number > -1"):
        customer_lifetime_value(bg, gg, ok, discount_rate=-1.0)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['monetary_value'\]"):
        customer_lifetime_value(bg, gg, ok.drop(columns="monetary_value"))


# --- P(n purchases | history) -----------------------------------------------------


def test_probability_of_n_purchases_sums_to_one_and_to_the_expectation():
    bg = BGNBD.from_params(**_BG)
    n = np.arange(600)[:, None]
    rows = {
        "frequency": [0, 2, 7, 30],
        "recency": [0, 30.43, 30, 38],
        "T": [38.86, 38.86, 39, 39],
    }
    for t in (1.0, 39.0, 200.0):
        p = bg.probability_of_n_purchases(n, t, **rows)
        np.testing.assert_allclose(p.sum(axis=0), 1.0, rtol=1e-10)
        np.testing.assert_allclose(
            (n * p).sum(axis=0), bg.expected_purchases(t, **rows), rtol=1e-9
        )


def test_probability_of_no_purchase_by_hand():
    # n = 0: dead, or alive and Poisson-quiet: 1 - P(alive)
    # + P(alive) ((alpha + T) / (alpha + T + t))^(r + x)
    bg = BGNBD.from_params(**_BG)
    alive = bg.probability_alive(2, 30.43, 38.86)
    quiet = ((4.414 + 38.86) / (4.414 + 38.86 + 10)) ** (0.243 + 2)
    got = bg.probability_of_n_purchases(0, 10, 2, 30.43, 38.86)
    assert got == pytest.approx(1 - alive + alive * quiet, rel=1e-12)


def test_probability_of_n_purchases_agrees_with_simulation():
    # Draw the story the formula integrates: alive with P(alive); if alive,
    # lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x), K ~ Poisson(lambda t)
    # purchases unless the customer drops out right after the D-th, D ~ Geom(p).
    bg = BGNBD.from_params(**_BG)
    x, t_x, big_t, t = 3.0, 25.0, 38.0, 52.0
    rng = np.random.default_rng(1)
    size = 400_000
    alive = rng.random(size) < bg.probability_alive(x, t_x, big_t)
    lam = rng.gamma(_BG["r"] + x, 1.0 / (_BG["alpha"] + big_t), size)
    p = rng.beta(_BG["a"], _BG["b"] + x, size)
    bought = np.minimum(rng.poisson(lam * t), rng.geometric(p)) * alive
    shares = np.bincount(bought, minlength=5)[:5] / size
    expected = bg.probability_of_n_purchases(np.arange(5), t, x, t_x, big_t)
    np.testing.assert_allclose(shares, expected, atol=3e-3)


def test_probability_of_n_purchases_rejects_fractional_n():
    bg = BGNBD.from_params(**_BG)
    with pytest.raises(ValueError, match=r"n must be whole numbers >= 0, got \[1.5\]"):
        bg.probability_of_n_purchases([1.5], 10, 0, 0, 5)
    with pytest.raises(ValueError, match="horizon t must be finite"):
        bg.probability_of_n_purchases(1, -1, 0, 0, 5)


def test_series_in_series_out(rfm_daily, ours):
    bg, _ = ours
    head = rfm_daily.head(4)
    p = bg.probability_of_n_purchases(1, 30, head)
    assert isinstance(p, pd.Series) and p.index.equals(head.index)
    assert p.name == "probability"
    pd.testing.assert_series_equal(
        bg.probability_alive(head), bg.p_alive(head), check_names=True
    )
