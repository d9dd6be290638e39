"""Tests of segml.btyd.features and segml.btyd.simulate.

Closed forms are checked against numerical integration (by hand, not through
the code under test) and against Monte-Carlo draws of the simulator.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from segml.btyd import BGNBD, GammaGamma, expected_value
from segml.btyd.features import (
    BTYD_FEATURES,
    HORIZON_FEATURES,
    BTYDFit,
    btyd_features,
    btyd_features_many,
    fit_btyd,
)
from segml.btyd.simulate import simulate_future_value
from segml.datasets import load_cdnow

# FHL (2005) CDNOW weekly parameters and Fader-Hardie's Gamma-Gamma ones.
R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426
P, Q, V = 6.25, 3.74, 15.44
BG = BGNBD.from_params(r=R, alpha=ALPHA, a=A, b=B)
GG = GammaGamma.from_params(p=P, q=Q, v=V)
RFM = pd.DataFrame(
    {
        "frequency": [0.0, 2.0, 6.0, 1.0],
        "recency": [0.0, 30.43, 35.0, 5.0],
        "T": [38.86, 38.86, 40.0, 38.0],
        "monetary_value": [0.0, 20.0, 35.0, 12.0],
    },
    index=pd.Index(["new", "fhl", "heavy", "lapsed"], name="customer_id"),
)
FIT = BTYDFit(pd.Timestamp("1997-09-30"), RFM, BG, GG)


def _tx(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "amount"])
    frame["ts"] = pd.to_datetime(frame["ts"]).astype("M8[us]")
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame


SMALL_TX = _tx(
    [
        ("a", "2024-01-01", 10.0),
        ("a", "2024-01-20", 12.0),
        ("a", "2024-02-25", 14.0),
        ("b", "2024-01-05", 50.0),
        ("b", "2024-01-09", 40.0),
        ("b", "2024-01-30", 45.0),
        ("c", "2024-01-02", 5.0),
        ("c", "2024-02-01", 6.0),
        ("d", "2024-01-15", 20.0),
    ]
)


def test_p_no_purchase_equals_integral_over_the_rate_posterior():
    horizon = 39.0
    f = FIT.features(horizon)
    for cid, row in RFM.iterrows():
        x, t_x, big_t = row["frequency"], row["recency"], row["T"]
        shape, rate = R + x, ALPHA + big_t

        def density(lam, shape=shape, rate=rate):
            log = shape * math.log(rate) + (shape - 1) * math.log(lam) - rate * lam
            return math.exp(log - special.gammaln(shape))

        quiet, _ = integrate.quad(
            lambda lam, d=density: math.exp(-lam * horizon) * d(lam), 0, np.inf
        )
        # P(alive) from FHL eq. 11, written out by hand
        if x > 0:
            odds = A / (B + x - 1) * ((ALPHA + big_t) / (ALPHA + t_x)) ** (R + x)
            alive = 1.0 / (1.0 + odds)
        else:
            alive = 1.0
        expected = 1.0 - alive + alive * quiet
        assert f.loc[cid, "btyd_p_no_purchase"] == pytest.approx(expected, rel=1e-7)
        assert f.loc[cid, "btyd_p_alive"] == pytest.approx(alive, rel=1e-10)


def test_fhl_worked_example_and_expected_value_agree():
    f = FIT.features(39.0)
    assert f.loc["fhl", "btyd_expected_purchases"] == pytest.approx(1.226, abs=5e-4)
    pd.testing.assert_series_equal(
        f["btyd_expected_value"],
        expected_value(BG, GG, RFM, 39.0),
        check_names=False,
    )
    np.testing.assert_allclose(
        f["btyd_expected_value"],
        f["btyd_expected_purchases"] * f["btyd_expected_spend"],
    )
    assert list(f.columns) == list(BTYD_FEATURES)
    assert set(HORIZON_FEATURES) <= set(BTYD_FEATURES)


def test_a_fit_scores_other_rfm_rows():
    subset = RFM.iloc[[2, 0]]
    pd.testing.assert_frame_equal(
        FIT.features(20.0, rfm=subset), FIT.features(20.0).iloc[[2, 0]]
    )
    later = subset.assign(T=subset["T"] + 10.0)
    assert (
        FIT.features(20.0, rfm=later)["btyd_p_alive"]
        <= FIT.features(20.0, rfm=subset)["btyd_p_alive"]
    ).all()


def test_simulation_matches_the_closed_forms():
    horizon, n = 39.0, 40_000
    spend, counts = simulate_future_value(
        BG, GG, RFM, horizon, n_draws=n, random_state=1, return_purchases=True
    )
    f = FIT.features(horizon)
    for j, cid in enumerate(RFM.index):
        mean_n, se_n = counts[:, j].mean(), counts[:, j].std() / math.sqrt(n)
        assert abs(mean_n - f.loc[cid, "btyd_expected_purchases"]) < 4 * se_n + 1e-9
        zero = (counts[:, j] == 0).mean()
        p0 = f.loc[cid, "btyd_p_no_purchase"]
        assert abs(zero - p0) < 4 * math.sqrt(p0 * (1 - p0) / n) + 1e-9
        mean_s, se_s = spend[:, j].mean(), spend[:, j].std() / math.sqrt(n)
        assert abs(mean_s - f.loc[cid, "btyd_expected_value"]) < 4 * se_s + 1e-9
    assert ((spend > 0) == (counts > 0)).all()


def test_simulation_is_reproducible_and_validates():
    a = simulate_future_value(BG, GG, RFM, 10.0, n_draws=5, random_state=3)
    b = simulate_future_value(BG, GG, RFM, 10.0, n_draws=5, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, len(RFM))
    with pytest.raises(ValueError, match="horizon"):
        simulate_future_value(BG, GG, RFM, 0.0)
    with pytest.raises(ValueError, match="n_draws"):
        simulate_future_value(BG, GG, RFM, 1.0, n_draws=0)
    with pytest.raises(ValueError, match="lacks"):
        simulate_future_value(BG, GG, RFM.drop(columns=["T"]), 1.0)
    with pytest.raises(ValueError, match="horizon_days"):
        FIT.features(-1.0)


@settings(max_examples=40, deadline=None)
@given(
    x=st.integers(0, 30),
    gap=st.floats(0.0, 1.0),
    big_t=st.floats(1.0, 100.0),
    h1=st.floats(0.5, 200.0),
    extra=st.floats(0.5, 200.0),
)
def test_window_features_move_with_the_horizon(x, gap, big_t, h1, extra):
    t_x = 0.0 if x == 0 else big_t * gap
    rfm = pd.DataFrame(
        {
            "frequency": [float(x)],
            "recency": [t_x],
            "T": [big_t],
            "monetary_value": [20.0 if x else 0.0],
        }
    )
    fit = BTYDFit(pd.Timestamp("2024-01-01"), rfm, BG, GG)
    short, long = fit.features(h1), fit.features(h1 + extra)
    assert (long["btyd_expected_purchases"] >= short["btyd_expected_purchases"]).all()
    assert (long["btyd_p_no_purchase"] <= short["btyd_p_no_purchase"] + 1e-12).all()
    assert (long["btyd_p_no_purchase"] >= 1 - long["btyd_p_alive"] - 1e-12).all()
    for name in ("btyd_p_alive", "btyd_expected_spend"):
        assert long[name].equals(short[name])


def test_features_ignore_rows_after_the_cutoff_and_leave_out_leads():
    later = _tx([("a", "2024-03-02", 1000.0), ("e", "2024-03-05", 9.0)])
    before = btyd_features(
        SMALL_TX, as_of="2024-03-01", horizon_days=30, penalizer=0.01
    )
    after = btyd_features(
        pd.concat([SMALL_TX, later], ignore_index=True),
        as_of="2024-03-01",
        horizon_days=30,
        penalizer=0.01,
    )
    pd.testing.assert_frame_equal(before, after)
    assert list(before.index) == ["a", "b", "c", "d"]  # "e" bought after


def test_many_stacks_the_single_cutoffs_with_their_horizons():
    many = btyd_features_many(
        SMALL_TX,
        as_ofs=["2024-03-01", "2024-02-15"],
        horizon_days=[30, 45],
        penalizer=0.01,
    )
    for cutoff, horizon in (("2024-02-15", 45), ("2024-03-01", 30)):
        one = btyd_features(
            SMALL_TX, as_of=cutoff, horizon_days=horizon, penalizer=0.01
        )
        pd.testing.assert_frame_equal(many.loc[pd.Timestamp(cutoff)], one)
    assert list(many.index.get_level_values("cutoff").unique()) == sorted(
        pd.to_datetime(["2024-02-15", "2024-03-01"])
    )
    with pytest.raises(ValueError, match="entries"):
        btyd_features_many(SMALL_TX, as_ofs=["2024-03-01"], horizon_days=[30, 40])
    with pytest.raises(ValueError, match="no customer"):
        fit_btyd(SMALL_TX, as_of="2023-01-01")


def test_cdnow_fit_at_the_benchmark_origin():
    fit = fit_btyd(load_cdnow(), as_of="1997-09-30")
    assert len(fit.rfm) == 23_570
    assert fit.bgnbd.r_ == pytest.approx(0.2516, rel=1e-3)
    f = fit.features(273)
    assert f["btyd_expected_value"].gt(0).all()
    assert f["btyd_p_no_purchase"].between(0, 1).all()
    # single-purchase customers are alive for BG/NBD
    single = fit.rfm["frequency"] == 0
    assert (f.loc[single, "btyd_p_alive"] == 1.0).all()


def test_rfm_from_features_equals_rfm_summary_on_a_daily_log():
    from segml.btyd.features import rfm_from_features
    from segml.features import build_features, rfm_summary

    tx = pd.DataFrame(
        {
            "customer_id": list("aaaabbc"),
            "ts": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",
                    "2024-01-11",
                    "2024-02-01",
                    "2024-01-05",
                    "2024-03-01",
                    "2024-01-20",
                ]
            ),
            "amount": [5.0, 5.0, 30.0, 12.0, 8.0, 3.0, 7.0],
        }
    )
    # Hand-computed: a has purchase days 01-01 (10), 01-11 (30), 02-01 (12).
    expected = pd.DataFrame(
        {
            "frequency": [2.0, 1.0, 0.0],
            "recency": [31.0, 56.0, 0.0],
            "T": [60.0, 56.0, 41.0],
            "monetary_value": [21.0, 3.0, 0.0],
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    f = build_features(tx, as_of="2024-03-01")
    got = rfm_from_features(f)
    pd.testing.assert_frame_equal(got, expected)
    pd.testing.assert_frame_equal(rfm_summary(tx, as_of="2024-03-01"), expected)


def test_with_btyd_features_scores_each_row_and_leaves_leads_nan():
    from segml.btyd.features import rfm_from_features, with_btyd_features

    fitted = fit_btyd(load_cdnow(), as_of="1997-09-30")
    rows = pd.DataFrame(
        {
            "order_days": [3, 0, 1],
            "tenure_days": [200.0, np.nan, 30.0],
            "recency_days": [20.0, np.nan, 30.0],
            "net_spend": [90.0, 0.0, 15.0],
            "first_order_value": [30.0, np.nan, 15.0],
            "btyd_p_alive": [9.0, 9.0, 9.0],  # stale values are replaced
        },
        index=pd.Index(["x", "lead", "y"], name="customer_id"),
    )
    out = with_btyd_features(rows, fitted, 273)
    assert list(out.index) == ["x", "lead", "y"]
    assert out.loc["lead", list(BTYD_FEATURES)].isna().all()
    direct = fitted.features(273, rfm_from_features(rows))
    pd.testing.assert_frame_equal(
        out.loc[["x", "y"], list(BTYD_FEATURES)], direct, check_names=False
    )
    # x: 2 repeat days of mean 30 over 180 days, still recent
    assert out.loc["x", "btyd_expected_value"] > out.loc["y", "btyd_expected_value"]
