"""Tests of segml.btyd.plots: the figures draw exactly the library's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.btyd import BGNBD
from segml.btyd.plots import (
    calibration_and_holdout,
    calibration_vs_holdout,
    plot_calibration_vs_holdout,
    plot_probability_alive_matrix,
    probability_alive_matrix,
)
from segml.datasets import load_cdnow

_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return load_cdnow()


@pytest.fixture(scope="module")
def cal_holdout(cdnow) -> pd.DataFrame:
    return calibration_and_holdout(
        cdnow, calibration_end="1997-09-30", observation_end="1998-06-30"
    )


@pytest.fixture(scope="module")
def bg_cal(cal_holdout) -> BGNBD:
    cal = cal_holdout[["frequency_cal", "recency_cal", "T_cal"]]
    return BGNBD().fit(cal.set_axis(["frequency", "recency", "T"], axis=1))


def test_probability_alive_matrix_is_the_model_on_a_grid():
    bg = BGNBD.from_params(**_BG)
    table = probability_alive_matrix(bg, max_frequency=12, T=39.5)
    assert table.shape == (13, 40)
    assert list(table.index) == list(range(13))
    assert list(table.columns) == list(range(40))
    # FHL eq. 11 by hand at x = 5, t_x = 20, T = 39.5
    odds = 0.793 / (2.426 + 5 - 1) * ((4.414 + 39.5) / (4.414 + 20)) ** (0.243 + 5)
    assert table.loc[5, 20] == pytest.approx(1 / (1 + odds), rel=1e-12)
    for x in (1, 7, 12):
        np.testing.assert_allclose(
            table.loc[x].to_numpy(),
            bg.probability_alive(x, np.arange(40.0), 39.5),
            rtol=1e-14,
        )
    assert table.loc[0, 0] == 1.0 and table.loc[0, 1:].isna().all()


def test_probability_alive_figure_draws_the_table():
    bg = BGNBD.from_params(**_BG)
    fig = plot_probability_alive_matrix(bg, max_frequency=20, T=39)
    image = fig.axes[0].images[0]
    drawn = np.ma.filled(image.get_array().astype(float), np.nan)
    expected = probability_alive_matrix(bg, max_frequency=20, T=39).to_numpy()
    np.testing.assert_array_equal(drawn, expected)
    assert image.get_clim() == (0.0, 1.0)


def test_probability_alive_matrix_rejects_bad_grids():
    bg = BGNBD.from_params(**_BG)
    with pytest.raises(ValueError, match="max_frequency must be an int >= 0, got -1"):
        probability_alive_matrix(bg, max_frequency=-1, T=10)
    with pytest.raises(ValueError, match="T must be a finite number >= 0"):
        probability_alive_matrix(bg, max_frequency=3, T=float("nan"))


def test_calibration_and_holdout_counts_purchase_days_by_hand(cdnow, cal_holdout):
    # an independent count: distinct purchase days in the holdout, per customer
    # with a purchase in the calibration period
    day = cdnow["ts"].dt.normalize()
    cal_end, obs_end = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")
    known = cdnow.loc[day <= cal_end, "customer_id"].unique()
    holdout = cdnow.loc[(day > cal_end) & (day <= obs_end)]
    days = holdout.groupby("customer_id")["ts"].agg(
        lambda s: s.dt.normalize().nunique()
    )
    expected = days.reindex(sorted(known), fill_value=0).astype("float64")
    assert len(cal_holdout) == 23570
    np.testing.assert_array_equal(cal_holdout.index, expected.index)
    np.testing.assert_array_equal(cal_holdout["frequency_holdout"], expected)
    assert (cal_holdout["duration_holdout"] == 273.0).all()  # 1997-10-01..1998-06-30


def test_calibration_and_holdout_rejects_reversed_periods(cdnow):
    with pytest.raises(ValueError, match=r"calibration_end \(1998-01-01\) must be"):
        calibration_and_holdout(
            cdnow, calibration_end="1998-01-01", observation_end="1997-12-31"
        )


def test_calibration_vs_holdout_table_and_figure(cal_holdout, bg_cal):
    table = calibration_vs_holdout(bg_cal, cal_holdout, max_frequency=6)
    assert list(table.index) == list(range(7))
    assert table["customers"].sum() == len(cal_holdout)
    group = cal_holdout["frequency_cal"].clip(upper=6).astype(int)
    predicted = bg_cal.expected_purchases(
        273.0,
        cal_holdout["frequency_cal"],
        cal_holdout["recency_cal"],
        cal_holdout["T_cal"],
    )
    np.testing.assert_allclose(
        table["actual"], cal_holdout["frequency_holdout"].groupby(group).mean()
    )
    np.testing.assert_allclose(
        table["predicted"], predicted.groupby(group).mean(), rtol=1e-12
    )
    fig = plot_calibration_vs_holdout(bg_cal, cal_holdout, max_frequency=6)
    actual_line, predicted_line = fig.axes[0].get_lines()
    np.testing.assert_array_equal(actual_line.get_xdata(), np.arange(7))
    np.testing.assert_array_equal(actual_line.get_ydata(), table["actual"])
    np.testing.assert_array_equal(predicted_line.get_ydata(), table["predicted"])
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[-1] == "6+"


def test_calibration_vs_holdout_names_missing_columns(cal_holdout, bg_cal):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['frequency_holdout'\]"):
        calibration_vs_holdout(bg_cal, cal_holdout.drop(columns="frequency_holdout"))
