"""Cutoff plans of a run, and a run with the value decision."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

from segml.app.fit import fit_everything
from segml.app.plan import plan_cutoffs
from segml.app.tables import load_tables
from segml.errors import SegmlConfigError

T = pd.Timestamp


def test_default_plan_by_hand(make_config):
    cfg = make_config("training.n_cutoffs=3")  # horizon 180, step 90
    plan = plan_cutoffs(cfg, "2022-01-01", "2024-12-31 18:00")
    # test: last day - 180 days; final: windows ending by the last day
    assert plan.test == T("2024-07-04")
    assert plan.final == [T("2024-01-06"), T("2024-04-05"), T("2024-07-04")]
    # the evaluated model's label windows end by the test cutoff
    assert plan.evaluation == [T("2023-07-10"), T("2023-10-08"), T("2024-01-06")]


def test_short_label_windows_reach_the_test_cutoff(make_config):
    cfg = make_config(
        "training.horizon_days=273",
        "training.label_horizon_days=60",
        "training.cutoff_step_days=15",
        "training.n_cutoffs=2",
    )
    plan = plan_cutoffs(cfg, "1997-01-01", "1998-06-30")
    assert plan.test == T("1997-09-30")
    # no 273-day window ends by the test after any history: no selection over
    # a 60-day window (it would favour last period's tier), the model ships
    assert plan.test_horizon == 273
    assert plan.select is None and plan.selection == []
    assert any("over 273 days before the test" in n for n in plan.notes)
    assert plan.evaluation == [T("1997-07-17"), T("1997-08-01")]
    assert plan.final == [T("1998-04-16"), T("1998-05-01")]
    window = pd.Timedelta(days=60)
    assert all(c + window <= plan.test for c in plan.evaluation)


def test_explicit_cutoffs_keep_test_windows_out_of_training(make_config):
    cfg = make_config(
        "training.horizon_days=90",
        "training.cutoffs=[2024-03-01,2024-06-01,2024-08-01]",
    )
    plan = plan_cutoffs(cfg, "2022-01-01", "2024-12-31")
    assert plan.test == T("2024-08-01")
    # 2024-06-01 + 90 days runs past the test cutoff: not used for evaluation
    assert plan.evaluation == [T("2024-03-01")]
    # one cutoff: the final model trains, but nothing can be tested before it
    alone = make_config("training.horizon_days=90", "training.cutoffs=[2024-08-01]")
    plan = plan_cutoffs(alone, "2022-01-01", "2024-12-31")
    assert plan.final == [T("2024-08-01")] and plan.test is None
    assert "untested" in plan.notes[-1]
    late = make_config("training.horizon_days=90", "training.cutoffs=[2024-12-01]")
    with pytest.raises(SegmlConfigError, match="training.cutoffs"):
        plan_cutoffs(late, "2022-01-01", "2024-12-31")


def test_label_horizon_cannot_exceed_the_horizon(make_config):
    with pytest.raises(SegmlConfigError, match="label_horizon_days"):
        make_config("training.label_horizon_days=365")


@pytest.fixture(scope="module")
def value_run(workdir, make_config):
    # CDNOW, not make_crm: the synthetic personas' baskets (0.25x to 6x) give a
    # Gamma-Gamma q <= 1 (no finite mean spend), so a synthetic value run falls
    # back to the rank decision (tests/app/test_train_degenerate.py covers that)
    cfg = make_config(
        "data.source=cdnow",
        "model.decision=value",
        "model.value_ranker.n_estimators=30",
        "training.horizon_days=91",
        "training.label_horizon_days=60",
        "training.cutoff_step_days=30",
    )
    return fit_everything(cfg, load_tables(cfg.data))


def test_value_run_beats_majority_and_logs_the_btyd_baseline(value_run):
    m = value_run.metrics
    assert m["history/macro_f1"] > m["baseline/majority/history/macro_f1"] + 0.1
    assert 0.0 < m["baseline/btyd/history/macro_f1"] <= 1.0
    # the blend of persistence and BTYD competes at selection, is no baseline
    assert 0.0 < m["select/history/blend/macro_f1"] <= 1.0
    assert not [k for k in m if k.startswith("baseline/blend/")]
    cut = [m[f"value_cut/share/{t}"] for t in "ABC"]
    assert sum(cut) == pytest.approx(1.0)
    assert value_run.pipeline.metadata["decision"] == "value"


def test_value_run_scores_the_snapshot_with_its_cut_shares(value_run):
    # the value decision itself, whatever the run chose to ship
    pipeline, snapshot = copy.deepcopy(value_run.pipeline), value_run.snapshot
    pipeline.predictor.use_fallback("history", None)
    assert pipeline.predictor.route_kind("history") == "lightgbm+btyd"
    out = pipeline.predict(snapshot.reset_index(), reasons=False)
    history = out["route"] == "history"
    shares = out.loc[history, "tier"].value_counts(normalize=True)
    cut = value_run.pipeline.metadata["value_cut_shares"]
    for tier, share in zip("ABC", cut, strict=True):
        assert shares.get(tier, 0.0) == pytest.approx(share, abs=2 / history.sum())
    # a row scored alone gets its batch tier; a pickled pipeline agrees
    rows = snapshot.reset_index().iloc[[0, 7, 42]]
    alone = [pipeline.predict(rows.iloc[[i]])["tier"].iloc[0] for i in range(3)]
    assert alone == out["tier"].iloc[[0, 7, 42]].tolist()
    again = pickle.loads(pickle.dumps(pipeline)).predict(rows, reasons=False)
    np.testing.assert_array_equal(again["tier"], out["tier"].iloc[[0, 7, 42]])


def test_value_run_array_path_equals_the_predictor_path(value_run):
    pipeline = value_run.pipeline
    rows = pipeline._prepare(value_run.snapshot.reset_index())
    fast = pipeline.predict(value_run.snapshot.reset_index())
    slow = pipeline._predict_frame(rows, fast.index, reasons=True)
    pd.testing.assert_frame_equal(fast, slow[fast.columns], check_dtype=False)


def test_a_selection_cutoff_precedes_the_test(make_config):
    cfg = make_config("training.n_cutoffs=2")  # horizon = label = 180, step 90
    plan = plan_cutoffs(cfg, "2022-01-01", "2024-12-31")
    assert (plan.test, plan.test_horizon) == (T("2024-07-04"), 180)
    # chosen on the window that ends at the test cutoff, never on the test
    assert (plan.select, plan.select_horizon) == (T("2024-01-06"), 180)
    assert plan.selection == [T("2023-04-11"), T("2023-07-10")]
    assert plan.select + pd.Timedelta(days=180) <= plan.test
    # a second selection cutoff half a window (90 days) earlier, its training
    # windows ending by it and its own window ending by the test
    [(earlier, cuts)] = plan.select_more
    assert earlier == T("2024-01-06") - pd.Timedelta(days=90) == T("2023-10-08")
    assert cuts and max(cuts) + pd.Timedelta(days=180) <= earlier
    assert earlier + pd.Timedelta(days=180) <= plan.test
    assert not plan.notes


def test_short_log_tests_over_the_label_window(make_config):
    # six months of data, a six-month horizon, 60-day label windows
    cfg = make_config(
        "training.horizon_days=182",
        "training.label_horizon_days=60",
        "training.cutoff_step_days=15",
        "training.n_cutoffs=3",
    )
    plan = plan_cutoffs(cfg, "2024-01-01", "2024-06-30")  # 181 days
    # history before a cutoff shrinks to what leaves room for the test
    assert plan.history_days == 61
    assert (plan.test, plan.test_horizon) == (T("2024-05-01"), 60)
    assert plan.evaluation == [T("2024-03-02")]
    assert plan.final == [T("2024-04-01"), T("2024-04-16"), T("2024-05-01")]
    assert plan.select is None
    assert any("60 days after 2024-05-01" in n for n in plan.notes)


def test_too_short_for_one_label_window_is_one_line(make_config):
    cfg = make_config("training.horizon_days=182", "training.label_horizon_days=60")
    with pytest.raises(SegmlConfigError) as err:
        plan_cutoffs(cfg, "2024-01-01", "2024-03-15")
    message = str(err.value)
    assert "\n" not in message and "at least 90 days" in message


def test_the_choice_is_judged_over_the_test_window_or_not_at_all(make_config):
    # (the CDNOW-like plan above has no room for it; a 91-day horizon has:
    # the choice is made over 91 days)
    cfg = make_config(
        "training.horizon_days=91",
        "training.label_horizon_days=60",
        "training.cutoff_step_days=15",
        "training.n_cutoffs=2",
    )
    plan = plan_cutoffs(cfg, "1997-01-01", "1998-01-31")
    assert plan.select_horizon == plan.test_horizon == 91
    assert plan.select + pd.Timedelta(days=91) <= plan.test
