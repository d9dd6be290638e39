"""The report's BG/NBD section equals segml.btyd on the same data."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.btyd import BGNBD
from segml.btyd.plots import calibration_and_holdout, calibration_vs_holdout
from segml.datasets import load_cdnow
from segml.report.btyd import btyd_section

END = pd.Timestamp("1998-06-30")


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow()


def test_the_section_is_the_library_on_cdnow(cdnow):
    section = btyd_section(cdnow, as_of=END, holdout_days=182)
    data = calibration_and_holdout(
        cdnow, calibration_end=END - pd.Timedelta(days=182), observation_end=END
    )
    rfm = data[["frequency_cal", "recency_cal", "T_cal"]].set_axis(
        ["frequency", "recency", "T"], axis=1
    )
    bg = BGNBD().fit(rfm)
    pd.testing.assert_frame_equal(
        section.tables["btyd_calibration"], calibration_vs_holdout(bg, data)
    )
    pd.testing.assert_frame_equal(section.tables["btyd_parameters"], bg.summary_)
    assert [c.name for c in section.charts] == ["btyd_calibration", "btyd_p_alive"]
    # every CDNOW customer bought in its first quarter: all are in the fit
    assert f"{cdnow['customer_id'].nunique():,} customers" in section.intro


def test_too_few_repeat_buyers_is_a_note_not_a_fit():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "ts": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-01-05", "2024-03-01"]
            ),
            "amount": [10.0, 20.0, 5.0, 7.0],
        }
    )
    section = btyd_section(tx, as_of=pd.Timestamp("2024-04-30"), holdout_days=60)
    assert section.tables == {} and section.charts == []
    assert section.notes == [
        "fewer than 10 repeat buyers by 2024-03-01: BG/NBD is not fitted"
    ]
