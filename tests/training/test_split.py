"""CutoffSplit: one cutoff per test fold, training labels closed by then."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.errors import SegmlDataError
from segml.training import CutoffSplit

DAYS = ["2024-01-01", "2024-01-15", "2024-02-01", "2024-02-15", "2024-03-01"]


def frame(days=DAYS, per_day=2) -> pd.DataFrame:
    stamps = [d for d in days for _ in range(per_day)]
    return pd.DataFrame({"cutoff": pd.to_datetime(stamps), "x": range(len(stamps))})


def folds(cv, X, groups=None):
    return [(tr.tolist(), te.tolist()) for tr, te in cv.split(X, groups=groups)]


def test_expanding_window_by_hand():
    # 14-day labels: Jan 1 -> Jan 15, Jan 15 -> Jan 29, Feb 1 -> Feb 15, ...
    cv = CutoffSplit(horizon_days=14, n_splits=3)
    assert folds(cv, frame()) == [
        ([0, 1, 2, 3], [4, 5]),  # test Feb 1: Jan 1 and Jan 15 closed
        ([0, 1, 2, 3, 4, 5], [6, 7]),  # test Feb 15: Feb 1 + 14 = Feb 15
        ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9]),
    ]
    assert cv.get_n_splits() == 3


def test_a_longer_horizon_keeps_open_label_windows_out():
    # 20-day labels: Jan 15 closes on Feb 4 (after the Feb 1 test cutoff),
    # Feb 1 on Feb 21 (after Feb 15), Feb 15 on Mar 6 (after Mar 1)
    cv = CutoffSplit(horizon_days=20, n_splits=3)
    assert folds(cv, frame()) == [
        ([0, 1], [4, 5]),
        ([0, 1, 2, 3], [6, 7]),
        ([0, 1, 2, 3, 4, 5], [8, 9]),
    ]


def test_rolling_window_keeps_the_latest_cutoffs():
    cv = CutoffSplit(horizon_days=14, n_splits=1, max_train_cutoffs=2)
    assert folds(cv, frame()) == [([4, 5, 6, 7], [8, 9])]


def test_rows_need_not_be_sorted_and_groups_override_the_column():
    X = frame().iloc[::-1].reset_index(drop=True)  # Mar 1 first
    cv = CutoffSplit(horizon_days=14, n_splits=1)
    assert folds(cv, X) == [([2, 3, 4, 5, 6, 7, 8, 9], [0, 1])]
    groups = X["cutoff"]
    assert folds(cv, X.drop(columns="cutoff"), groups=groups) == folds(cv, X)


def test_too_few_folds_is_an_error_naming_the_column():
    cv = CutoffSplit(horizon_days=50, n_splits=3)  # only Jan 1 -> Mar 1
    with pytest.raises(
        SegmlDataError, match=r"column 'cutoff': 5 cutoffs give 1 folds"
    ):
        folds(cv, frame())


def test_missing_cutoffs_are_an_error_showing_the_rows():
    X = frame()
    X.loc[3, "cutoff"] = pd.NaT
    with pytest.raises(SegmlDataError, match="1 rows have no cutoff") as info:
        folds(CutoffSplit(horizon_days=14), X)
    assert info.value.rows.index.tolist() == [3]
    with pytest.raises(SegmlDataError, match="column 'cutoff': is missing"):
        folds(CutoffSplit(horizon_days=14), X.drop(columns="cutoff"))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"horizon_days": -1}, "horizon_days must be an int >= 0"),
        ({"horizon_days": 14, "n_splits": 0}, "n_splits must be an int >= 1"),
        ({"horizon_days": 14, "max_train_cutoffs": 0}, "max_train_cutoffs"),
    ],
)
def test_bad_settings_are_rejected_at_split(params, message):
    cv = CutoffSplit(**params)  # stored, not checked
    with pytest.raises(ValueError, match=message):
        folds(cv, frame())
