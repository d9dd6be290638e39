"""A run whose history route ships the blend of persistence and BG/NBD: the
whole path, from the choice to a pickled pipeline scoring one row."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import segml.app.fit as fit
from segml.app.tables import load_tables


@pytest.fixture(scope="module")
def blend_run(workdir, make_config):
    real = fit.choose_routes

    def prefer_blend(*args, **kwargs):  # the evidence, then the blend ships
        choices = real(*args, **kwargs)
        history = choices["history"]
        assert "blend" in history.scores, history.scores
        history.chosen, history.reason = "blend", "forced by the test"
        return choices

    cfg = make_config(
        "data.source=cdnow",
        "model.decision=value",
        "model.value_ranker.n_estimators=30",
        "training.horizon_days=91",
        "training.label_horizon_days=60",
        "training.cutoff_step_days=30",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fit, "choose_routes", prefer_blend)
        return fit.fit_everything(cfg, load_tables(cfg.data))


def test_the_blend_is_what_the_test_scores_and_never_a_baseline(blend_run):
    m = blend_run.metrics
    assert blend_run.tags["segml.choice.history"] == "blend"
    shipped = m["shipped/history/macro_f1"]
    # it is neither the model nor one of its two parts on the test
    assert shipped not in (
        m["history/macro_f1"],
        m["baseline/persistence/history/macro_f1"],
        m["baseline/btyd/history/macro_f1"],
    )
    assert m["lift/history"] == pytest.approx(
        shipped - m["best_baseline/history/macro_f1"]
    )
    assert blend_run.tags["segml.best_baseline.history"] != "blend"
    assert not [k for k in m if k.startswith("baseline/blend/")]


def test_the_served_pipeline_answers_with_the_blend(blend_run):
    pipeline, snapshot = blend_run.pipeline, blend_run.snapshot.reset_index()
    assert pipeline.predictor.route_kind("history") == "blend"
    out = pipeline.predict(snapshot, reasons=True)
    history = (out["route"] == "history").to_numpy()
    assert (out.loc[history, "model"] == "blend").all()
    assert out.loc[history, "reason_1"].str.startswith("blend of persistence").all()
    # tier_score is the mean percentile rank, and a higher one never a worse tier
    score = out.loc[history, "tier_score"].to_numpy()
    codes = out.loc[history, "tier"].map({"A": 0, "B": 1, "C": 2}).to_numpy()
    assert ((0 < score) & (score <= 1)).all()
    order = np.argsort(-score, kind="stable")
    assert (np.diff(codes[order]) >= 0).all()
    # one row alone gets its batch tier; a pickled pipeline agrees
    rows = snapshot.iloc[[0, 7, 42]]
    alone = [pipeline.predict(rows.iloc[[i]])["tier"].iloc[0] for i in range(3)]
    assert alone == out["tier"].iloc[[0, 7, 42]].tolist()
    again = pickle.loads(pickle.dumps(pipeline)).predict(rows, reasons=False)
    np.testing.assert_array_equal(again["tier"], out["tier"].iloc[[0, 7, 42]])
