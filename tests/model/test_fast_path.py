"""The numpy scoring path gives exactly what the DataFrame path gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_predictor import make_data

from segml.model import CategoryEncoder, TierPredictor
from segml.model.route import _calibrate


@pytest.fixture(scope="module")
def fitted():
    X, y, cutoff = make_data(n=1200, seed=5)
    model = TierPredictor(attributes=["size", "region"], n_estimators=40)
    return model.fit(X, y, cutoff=cutoff), X


def test_matrix_matches_lightgbm_pandas_encoding(fitted):
    model, X = fitted
    route = model.routes_["history"]
    rows = X.loc[X["has_history"]].reindex(columns=route.columns)
    from_frame = route.model.predict_proba(route.encoder.transform(rows))
    from_matrix = route.model.booster_.predict(route.encoder.matrix(rows))
    np.testing.assert_allclose(from_matrix, from_frame, rtol=0, atol=1e-12)


@pytest.mark.parametrize("route_name", ["history", "cold_start"])
def test_manual_calibration_equals_sklearn(fitted, route_name):
    model, X = fitted
    route = model.routes_[route_name]
    assert route.calibrator is not None
    mask = X["has_history"] if route_name == "history" else ~X["has_history"]
    rows = X.loc[mask].reindex(columns=route.columns)
    expected = route.calibrator.predict_proba(route.encoder.transform(rows))
    margins = route.model.booster_.predict(route.encoder.matrix(rows), raw_score=True)
    np.testing.assert_allclose(
        _calibrate(route.calibrator, margins), expected, atol=1e-12
    )
    fast = route.predict_proba(rows)
    np.testing.assert_allclose(fast[:, route.calibrator.classes_], expected, atol=1e-12)


def test_encoder_small_and_large_paths_agree():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size": pd.array(rng.choice(["s", "m", "l", None], 600), dtype="str"),
            "flag": rng.random(600) < 0.5,
            "x": rng.normal(size=600),
            "n": pd.array(rng.integers(0, 5, 600), dtype="Int64"),
        }
    )
    encoder = CategoryEncoder().fit(frame.head(300))
    big = encoder.matrix(frame)
    parts = [encoder.matrix(frame.iloc[i : i + 100]) for i in range(0, 600, 100)]
    small = np.vstack(parts)
    np.testing.assert_array_equal(np.isnan(big), np.isnan(small))
    np.testing.assert_allclose(np.nan_to_num(big), np.nan_to_num(small))
    levels = encoder.categories_["size"]
    assert levels == ["l", "m", "s"]
    unseen = encoder.matrix(pd.DataFrame({"size": ["xl"], "x": [1.0]}))
    assert np.isnan(unseen[0, 0]) and unseen[0, 2] == 1.0 and np.isnan(unseen[0, 1])


def test_reasons_can_be_skipped(fitted):
    model, X = fitted
    full = model.predict_frame(X.head(50))
    fast = model.predict_frame(X.head(50), reasons=False)
    pd.testing.assert_frame_equal(
        full.drop(columns=["reason_1", "reason_2", "reason_3"]),
        fast.drop(columns=["reason_1", "reason_2", "reason_3"]),
    )
    assert (fast["reason_1"] == "").all() and (full["reason_1"] != "").all()
