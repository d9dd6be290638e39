"""Fallbacks a route can ship: row-wise, and the same on both scoring paths."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from segml.model.fallback import (
    LogisticFallback,
    MajorityFallback,
    PersistenceFallback,
    conditional_proba,
    value_thresholds,
)


def test_value_thresholds_never_inflate_a_tier_with_tied_values():
    # 6 customers tied at 50 straddle the A/B cut of the reference tiers
    values = np.array([90.0] + [50.0] * 6 + [0.0] * 3)
    codes = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    cuts = value_thresholds(values, codes, 3)
    tiers = (values[:, None] < cuts[None, :]).sum(axis=1)
    tiers[values <= 0] = 2
    # A wanted 3 rows: the tied block (7 at or above 50 vs 1 above) goes lower
    assert tiers.tolist() == [0] + [1] * 6 + [2] * 3


def test_conditional_proba_rows_sum_to_one():
    proba = conditional_proba([0, 1, 1, 2], [0, 1, 2, 2], 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[1].round(3).tolist() == [0.2, 0.4, 0.4]


@pytest.fixture(scope="module")
def shipping_baselines(trained):
    """The trained pipeline with persistence and majority in place of the models."""
    pipeline = copy.deepcopy(trained.outcome.pipeline)
    snapshot = trained.outcome.snapshot
    column = f"spend_{pipeline.metadata['horizon_days']}d"
    values = snapshot[column].to_numpy()
    codes = np.where(values > np.quantile(values, 0.9), 0, 2)
    codes[(values > np.quantile(values, 0.7)) & (codes == 2)] = 1
    persistence = PersistenceFallback.fit(
        column, values, codes, codes, codes, len(pipeline.tiers)
    )
    pipeline.predictor.use_fallback("history", persistence)
    pipeline.predictor.use_fallback(
        "cold_start", MajorityFallback.fit(np.array([2, 2, 1]), 3)
    )
    return pipeline, snapshot.reset_index()


def test_fallback_routes_say_what_answered(shipping_baselines):
    pipeline, rows = shipping_baselines
    rows = rows.head(200)
    out = pipeline.predict(rows, reasons=True)
    history = out["route"] == "history"
    assert set(out.loc[history, "model"]) == {"persistence"}
    assert set(out.loc[~history, "model"]) == {"majority"}
    assert (out.loc[~history, "tier"] == "C").all()
    assert out.loc[history, "reason_1"].str.startswith("persistence: spend_").all()
    column = f"spend_{pipeline.metadata['horizon_days']}d"
    np.testing.assert_array_equal(
        out.loc[history, "tier_score"], rows.loc[history.to_numpy(), column]
    )


def test_fallback_rows_score_alone_as_in_the_batch(shipping_baselines):
    pipeline, rows = shipping_baselines
    batch = pipeline.predict(rows.head(30))
    alone = pd.concat([pipeline.predict(rows.iloc[[i]]) for i in range(30)])
    pd.testing.assert_frame_equal(alone, batch)


def test_fallback_array_path_equals_the_predictor_path(shipping_baselines):
    pipeline, rows = shipping_baselines
    fast = pipeline.predict(rows)
    slow = pipeline._predict_frame(pipeline._prepare(rows), fast.index, True)
    pd.testing.assert_frame_equal(fast, slow[fast.columns], check_dtype=False)


def test_logistic_fallback_predicts_its_most_probable_tier():
    from segml.evaluation import LogisticColdStart

    X = pd.DataFrame({"size": ["s", "l"] * 20})
    y = pd.Series(["C", "A"] * 20)
    fallback = LogisticFallback(model=LogisticColdStart().fit(X, y))
    codes, proba, score = fallback.predict_rows(X, np.arange(4))
    assert codes.tolist() == [2, 0, 2, 0]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(score, proba.max(axis=1))
    assert fallback.reasons(X, np.arange(1)) == ["logistic regression on size"]
