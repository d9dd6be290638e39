"""Tests of segml.btyd.bgnbd: BG/NBD against CDNOW, the published paper and
numbers computed here independently (numerical integration, finite differences)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from segml.btyd import BGNBD, GammaGamma, bgnbd_log_likelihood
from segml.btyd.bgnbd import _log_likelihood_terms
from segml.datasets import load_cdnow
from segml.features.rfm import rfm_summary

# Master ids of the 2,357 customers (a 1/10 random sample) on which Fader, Hardie
# & Lee (2005) fit BG/NBD, as gaps between consecutive sorted ids, one character
# each (gap = ord(c) - 48). Taken from the first column of Bruce Hardie's
# CDNOW_sample.txt (also shipped in lifetimes as datasets/CDNOW_sample.txt).
_FHL_SAMPLE_ID_GAPS = (
    "4>3M:;?I111A2B?1>A:=5269=5D@?2C893>EDA4;1P>2=>><@42A3L72?9;C<@@AC14=2596EB2E"
    "1A6B>5B;;@?G2D1?<BC2772>C897>E>A1:1=?3847?5;:7?<3=27?358=AA3@5>:<4@17?2;9=54"
    "497862141A:97?66;3523D9A@3;6=C=31>;9@<?>6>I@34B1?57325B?CC1=413;47;CB2?5I<51"
    "H2@:18E8?3:2>7>@1<@4967564=6=?DD@@<@D884E42;:71B6:88A?1@<75>34BB4335572;6=@;"
    "2:346F4C158;1>2DC4D6C;1<164;8<E2<<3<:=427@2B914987D;294943>;2?B9495@>FA<C1C;"
    "4:14>?E2?;91>B;:55B48>B@=4A36548;AC52<C5;AF@@21E768C@9549?1@3C?49<B9<CDA848?"
    ">5954@B>@1>A=6G3382<3>6<>2325:22=4CA4<27735=622<9791B15A@3F52>5D@2<96A22A6@4"
    "<5734>6>3@E?852=657:6>EA68E4A4@2B@2<15=:36;G23H3E99>??5253413?32>>C>317:?B<9"
    ">C:8:393781@<;D@B?A>3A@?3818B4BI3;4@?7:5<7742@7>:9>8?5F59@>A;94@?<4KE@2D26;:"
    "6?G6>6=3E<@:62@43=3:EF9288286<464B6756<?=@=3<42;8:73L6892?44761<77;25A@<143@"
    "4E;78>5<B;>=1@3@@9:C88?5;C8972;>6293?E;<778C7=1AE@5;CH8>@E><1167>CF89CAE=>>3"
    ";:>16=@2?42>;;4B<1C975?L:<8761B2@6?<7?D41G>?;22>6<77?=7<95?3;5A5B@=;5;6@B?F5"
    "27E?47974:?22?;?4=H5==F1;>;645:A4>?1=42CB;4H1D@A?3<F3;@7A?14<619?598885371;5"
    "?76>2?BE7943A4;6::4;86;1?;43<8478:3<C3>343=5=>13B=ABA276G2865996<9A6;A791A78"
    "AA=B?<C=A=B4<>A2<41@;5=<D4=3@B343;<23?3A@FIB>6=54=1BC<=53@75767266?;7;62B>83"
    "68@B@27B>31A4?9263=6>6:;612515@C>7:3159<4>LD;5A=GF3>89@F6=HA566=4;11BB1A<4AE"
    "?4B2;D251;212B4539>=A?773=8=9>E=<2BA=>=@<8?>672;D6=A?>6;B<4487>2@H556<145;88"
    "?C5=;@?28555>15=188:956>B4:81>G4D:889477?3;5<5548289:4B481?4B9<<849B@21<C?@C"
    "38197:3<=7?8892@?=<>?31?7>12=5;8A;788@56:3C41B1CA>6CC23;1D@:8AC11@;;==38;@1D"
    "12?B?<11@1C96>17AEB?==1>15483C>1777514387459B8261;15?3;A:;AA=<?FA31;31A?397C"
    ";5BH2=BA;6@1=5?@E7;<>7;A18;?21>3F<72?I2:;3=G9A@:7??12;3;47:5?=D:4;1A56;23C<="
    "213?564@B>=A1@?2<4A4C?8:>;C99AB<<71>2:532C;33E@??1<24>14A4@774B>>985>614>>>2"
    "?@D>B@B;9;41??A9;79<;9<69BA>1=967<>425>@6@>648432<5=??=<E1B>@A776=I?C:>1=8:5"
    "D<14@@45:=@;5C;@5A@378BC=:3<;;579;15C?2:7F873K?64?15235327293>49DC3<?1A4;?2;"
    "63><74AE@3<?31<@>@6:BA69B>CA<<4637?6<56<D?996<:C486177A4=8>?1B@7?15>2=2>=8AE"
    "?4B71;5=445B3FB48?9=A3?4;@98<5<78=>1?2B<44=4;983B9:?<A3A59B4=3@G?2=>@E42B3>="
    "<=;B>52512428<:>@@B@;=9BAH8751=334:5==;=>4@@@>>@??54:@:6?12A>>3;BE=7=2BA:9@9"
    ";<A<519292A7=4C2C<>78<1E;3<<=B@>63:<27124>=7<<5?2?3<:3676;3764;629>1B2B==62;"
    "=>A:@46B4:ADG;3B?1=3>2=2=782==>26362D4;1@>CB@27;G3F392784@=98:45<277D@=8476?"
    "<B2<:1=:12A2?B>>89;A?51;>3>E11=<D>B?@6>17:89?=11@=>??=<83>AI=:6:7>97@<@B>8CA"
    ";4;C;53839@=3F=@95>539=47=314724E21:88<2@@><=<2=<B516=:64>529?21@3=2612>>>32"
    "="
)


def fhl_sample_ids() -> list[str]:
    ids = np.cumsum([ord(c) - 48 for c in _FHL_SAMPLE_ID_GAPS])
    assert len(ids) == 2357 and ids[0] == 4 and ids[-1] <= 23570
    return [f"{i:05d}" for i in ids]


@pytest.fixture(scope="module")
def rfm_daily() -> pd.DataFrame:
    """CDNOW calibration period: every purchase up to 1997-09-30, in days."""
    return rfm_summary(load_cdnow(), as_of="1997-09-30")


@pytest.fixture(scope="module")
def bg_daily(rfm_daily) -> BGNBD:
    return BGNBD().fit(rfm_daily)


@pytest.fixture(scope="module")
def rfm_sample_weeks(rfm_daily) -> pd.DataFrame:
    """FHL's sample in their units: fractional weeks (days / 7)."""
    sample = rfm_daily.loc[fhl_sample_ids()]
    return sample.assign(recency=sample["recency"] / 7, T=sample["T"] / 7)


@pytest.fixture(scope="module")
def bg_sample(rfm_sample_weeks) -> BGNBD:
    return BGNBD().fit(rfm_sample_weeks)


# --- golden numbers -----------------------------------------------------------


def test_cdnow_daily_fit_matches_golden_numbers(rfm_daily, bg_daily):
    assert len(rfm_daily) == 23570
    assert bg_daily.n_customers_ == 23570
    assert bg_daily.r_ == pytest.approx(0.252, rel=5e-3)
    assert bg_daily.alpha_ == pytest.approx(33.52, rel=5e-3)
    assert bg_daily.a_ == pytest.approx(0.723, rel=5e-3)
    assert bg_daily.b_ == pytest.approx(2.161, rel=5e-3)
    assert bg_daily.log_likelihood_ == pytest.approx(-142726.06, abs=0.01)


def test_fractional_weeks_only_rescale_alpha(rfm_daily, bg_daily):
    weeks = rfm_daily.assign(recency=rfm_daily["recency"] / 7, T=rfm_daily["T"] / 7)
    bg = BGNBD().fit(weeks)
    np.testing.assert_allclose(
        bg.params_.to_numpy(),
        bg_daily.params_.to_numpy() / [1, 7, 1, 1],
        rtol=1e-5,
    )


def test_fhl_2005_published_parameters(rfm_sample_weeks, bg_sample):
    # FHL (2005), section 4: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
    # LL = -9582.4, on the 1/10 sample, 39-week calibration period.
    assert len(rfm_sample_weeks) == 2357
    assert bg_sample.r_ == pytest.approx(0.243, abs=1e-3)
    assert bg_sample.alpha_ == pytest.approx(4.414, abs=1e-3)
    assert bg_sample.a_ == pytest.approx(0.793, abs=1e-3)
    assert bg_sample.b_ == pytest.approx(2.426, abs=1e-3)
    assert bg_sample.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)


def test_hardie_spreadsheet_expectations(bg_sample):
    # Hardie's BG/NBD spreadsheet (as pinned by lifetimes' tests): the worked
    # example x = 2, t_x = 30.43, T = 38.86 over 39 weeks, and E[X(t)].
    assert bg_sample.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(
        1.226, abs=1e-3
    )
    times = [0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00]
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    np.testing.assert_allclose(
        bg_sample.expected_purchases_new(times), expected, atol=1e-3
    )


def test_gamma_gamma_published_parameters(rfm_daily):
    # Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013): p = 6.25,
    # q = 3.74, v = 15.44 on the 946 repeat buyers of the same sample. Kept here,
    # beside the sample's ids.
    gg = GammaGamma().fit(rfm_daily.loc[fhl_sample_ids()])
    assert gg.n_customers_ == 946
    assert gg.p_ == pytest.approx(6.25, abs=5e-3)
    assert gg.q_ == pytest.approx(3.74, abs=5e-3)
    assert gg.v_ == pytest.approx(15.44, abs=5e-3)


# --- the likelihood ------------------------------------------------------------

_PARAMS = {"r": 0.8, "alpha": 3.0, "a": 1.3, "b": 2.5}
_TINY = {"frequency": [0.0, 1.0, 4.0], "recency": [0.0, 2.5, 6.0], "T": [5.0, 8.0, 7.0]}


def _integrated_likelihood(x, t_x, big_t, r, alpha, a, b):
    """FHL eq. 3 integrated over lambda ~ Gamma(r, alpha) and p ~ Beta(a, b)."""
    norm = alpha**r / math.gamma(r) / math.exp(special.betaln(a, b))

    def given(lam, p):
        alive = (1 - p) ** x * lam**x * math.exp(-lam * big_t)
        dropped = p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x) if x else 0
        prior = (
            lam ** (r - 1) * math.exp(-alpha * lam) * p ** (a - 1) * (1 - p) ** (b - 1)
        )
        return (alive + dropped) * prior

    value, _ = integrate.dblquad(given, 0, 1, 0, np.inf, epsabs=0, epsrel=1e-9)
    return norm * value


def test_log_likelihood_matches_numerical_integration():
    ll = bgnbd_log_likelihood(**_TINY, **_PARAMS)
    expected = [
        np.log(_integrated_likelihood(*row, **_PARAMS))
        for row in zip(*_TINY.values(), strict=True)
    ]
    np.testing.assert_allclose(ll, expected, rtol=1e-6)


def test_log_likelihood_gradient_matches_finite_differences():
    x, t_x, big_t = (np.asarray(v) for v in _TINY.values())
    log_params = np.log(list(_PARAMS.values()))
    for i in range(3):

        def f(lp, i=i):
            return _log_likelihood_terms(*np.exp(lp), x, t_x, big_t)[0][i]

        grad = _log_likelihood_terms(*np.exp(log_params), x, t_x, big_t)[1][:, i]
        numeric = optimize.approx_fprime(log_params, f, 1e-7)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_penalizer_shrinks_parameters(rfm_sample_weeks, bg_sample):
    shrunk = BGNBD(penalizer=0.1).fit(rfm_sample_weeks)
    assert shrunk.params_.sum() < bg_sample.params_.sum()
    assert shrunk.log_likelihood_ < bg_sample.log_likelihood_


# --- predictions -----------------------------------------------------------------


def test_p_alive_is_one_without_repeat_purchases(bg_daily):
    p = bg_daily.p_alive(np.zeros(4), np.zeros(4), [1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(p, 1.0)


def test_p_alive_decreases_with_T(bg_daily):
    p = bg_daily.p_alive(3, 50, np.array([50.0, 60.0, 100.0, 200.0, 400.0]))
    assert np.all(np.diff(p) < 0) and np.all((p > 0) & (p <= 1))
    # by hand, FHL eq. 11 at the published parameters
    bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    odds = 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** (0.243 + 2)
    assert bg.p_alive(2, 30.43, 38.86) == pytest.approx(1 / (1 + odds), rel=1e-12)


def _expected_by_quadrature(bg, t, x, t_x, big_t):
    """P(alive) * E[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p], p ~ Beta(a, b+x)."""
    r, alpha, a, b = bg.params_

    def integrand(p):
        gain = -np.expm1(-(r + x) * np.log1p(p * t / (alpha + big_t))) / p
        return gain * stats.beta.pdf(p, a, b + x)

    inner, _ = integrate.quad(integrand, 0, 1, epsabs=1e-13, epsrel=1e-11, limit=500)
    return bg.p_alive(x, t_x, big_t) * inner


@pytest.mark.parametrize(
    "params",
    [
        {"r": 0.252, "alpha": 33.52, "a": 0.723, "b": 2.161},  # hyp2f1 path
        {"r": 0.4, "alpha": 20.0, "a": 1.0, "b": 3.0},  # a = 1: quadrature
        {"r": 0.3, "alpha": 30.0, "a": 50.0, "b": 300.0},  # large a: quadrature
    ],
)
def test_expected_purchases_matches_quadrature(params):
    bg = BGNBD.from_params(**params)
    rows = [(0, 0, 200), (1, 30, 250), (5, 200, 230), (40, 260, 270), (80, 270, 272)]
    for t in (7.0, 273.0, 2000.0):
        for x, t_x, big_t in rows:
            got = bg.expected_purchases(t, x, t_x, big_t)
            expected = _expected_by_quadrature(bg, t, x, t_x, big_t)
            assert got == pytest.approx(expected, rel=1e-6), (t, x, t_x, big_t)


def test_expected_purchases_increasing_in_t_and_finite_on_cdnow(rfm_daily, bg_daily):
    horizons = np.array([0.0, 1.0, 30.0, 273.0, 3650.0])[:, None]
    x, t_x, big_t = (rfm_daily[c].to_numpy() for c in ("frequency", "recency", "T"))
    ep = bg_daily.expected_purchases(horizons, x, t_x, big_t)
    assert ep.shape == (5, 23570) and np.all(np.isfinite(ep))
    np.testing.assert_array_equal(ep[0], 0.0)
    assert np.all(np.diff(ep, axis=0) > 0)
    heavy = bg_daily.expected_purchases(horizons[1:, 0], 2000, 270, 272)
    assert np.all(np.isfinite(heavy)) and np.all(np.diff(heavy) > 0)


def test_expected_purchases_new_is_the_conditional_at_time_zero(bg_daily):
    t = np.array([1.0, 30.0, 365.0])
    np.testing.assert_allclose(
        bg_daily.expected_purchases_new(t),
        bg_daily.expected_purchases(t, 0, 0, 0),
        rtol=1e-12,
    )


# --- input and output handling ---------------------------------------------------


def test_series_in_series_out_and_frame_equals_columns(rfm_daily, bg_daily):
    head = rfm_daily.head(5)
    from_frame = bg_daily.expected_purchases(30, head)
    from_series = bg_daily.expected_purchases(
        30, head["frequency"], head["recency"], head["T"]
    )
    assert isinstance(from_frame, pd.Series)
    assert from_frame.index.equals(head.index)
    pd.testing.assert_series_equal(from_frame, from_series)
    as_array = bg_daily.p_alive(
        *(head[c].to_numpy() for c in ("frequency", "recency", "T"))
    )
    assert isinstance(as_array, np.ndarray)
    np.testing.assert_allclose(as_array, bg_daily.p_alive(head).to_numpy())
    assert isinstance(bg_daily.p_alive(1, 2, 3), float)


def test_invalid_input_names_the_rows():
    bad = pd.DataFrame(
        {"frequency": [1.0, 2.0], "recency": [5.0, 9.0], "T": [6.0, 8.0]},
        index=pd.Index(["ok", "late"], name="customer_id"),
    )
    with pytest.raises(ValueError, match=r"recency must be <= T.*\[late\]"):
        BGNBD().fit(bad)
    with pytest.raises(TypeError, match="not both"):
        BGNBD().fit(bad, bad["recency"], bad["T"])
    with pytest.raises(ValueError, match="lacks column"):
        BGNBD().fit(bad[["frequency", "T"]])


def test_unfitted_and_sklearn_conventions():
    with pytest.raises(NotFittedError):
        BGNBD().p_alive(1, 2, 3)
    model = BGNBD(penalizer=0.1)
    assert clone(model).get_params()["penalizer"] == 0.1
    assert not hasattr(model, "r_")


def test_non_convergence_warns(rfm_sample_weeks):
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        BGNBD(max_iter=2).fit(rfm_sample_weeks)
