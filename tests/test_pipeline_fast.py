"""SegmlPipeline.predict (array path) equals the TierPredictor.predict path."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segml import pipeline as pipeline_module
from segml.model import TierPredictor
from segml.pipeline import LEAD_SEGMENT, SegmlPipeline
from segml.segments import Segmenter

sys.path.insert(0, str(Path(__file__).parent / "model"))
from test_predictor import make_data  # noqa: E402


@pytest.fixture(scope="module", params=["rank", "argmax"])
def fitted(request):
    X, y, cutoff = make_data(n=1200, seed=7)
    X = X.assign(flag=(X["orders"] > 3).to_numpy())
    predictor = TierPredictor(
        attributes=["size", "region"], decision=request.param, n_estimators=25
    ).fit(X, y, cutoff=cutoff)
    history = X.loc[X["has_history"]]
    segmenter = Segmenter(
        features=["orders", "recency_days"], value_col="orders", k_range=(2, 4)
    ).fit(history)
    pipeline = SegmlPipeline(
        predictor=predictor,
        attributes=["size", "region"],
        history_features=["orders", "recency_days", "flag"],
        segmenter=segmenter,
    )
    return pipeline, X.reset_index()


def variants(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    awkward = rows.copy()
    awkward.loc[::7, "orders"] = np.nan
    size = awkward["size"].astype(object)
    size.iloc[::11] = None
    size.iloc[::13] = "huge"  # unseen in training
    awkward["size"] = pd.array(size, dtype="str")
    return {
        "as trained": rows,
        "awkward values": awkward,
        "missing feature column": rows.drop(columns=["recency_days"]),
        "text numbers, object categories": rows.astype(
            {"orders": "str", "size": object}
        ),
        "categorical dtype": rows.astype({"region": "category"}),
        "id as index, shuffled": rows.sample(frac=1, random_state=0).set_index(
            "customer_id"
        ),
        "one customer": rows.loc[rows["has_history"]].head(1),
        "one lead": rows.loc[~rows["has_history"]].head(1),
        "leads only": rows.loc[~rows["has_history"]].head(20),
        "no has_history": rows.drop(columns=["has_history"]).head(30),
    }


def sklearn_segments(pipeline: SegmlPipeline, rows: pd.DataFrame) -> pd.Series:
    """Segment names as computed before the numpy path (``Segmenter.predict``)."""
    segment = pd.Series(LEAD_SEGMENT, index=rows.index, dtype="str")
    history = rows["has_history"].to_numpy(dtype=bool)
    if not history.any():
        return segment
    frame = rows.loc[history].reindex(columns=pipeline.segmenter.feature_names_in_)
    for column in pipeline.segmenter.features_:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    labels = pipeline.segmenter.predict(frame)
    names = pd.Series(np.asarray(labels)).map(pipeline.segmenter.names_)
    segment.loc[history] = names.astype("str").to_numpy()
    return segment


@pytest.mark.parametrize("reasons", [False, True])
def test_predict_equals_predictor_path(fitted, reasons):
    pipeline, rows = fitted
    for name, frame in variants(rows).items():
        prepared = pipeline._prepare(frame)
        expected = pipeline._predict_frame(prepared, frame.index, reasons)
        segments = sklearn_segments(pipeline, prepared).set_axis(frame.index)
        pd.testing.assert_series_equal(
            expected["segment"], segments, check_names=False, obj=name
        )
        got = pipeline.predict(frame, reasons=reasons)
        pd.testing.assert_frame_equal(
            got, expected, check_exact=False, rtol=0, atol=1e-9, obj=name
        )
        assert list(got.columns) == pipeline.output_columns


def test_segments_of_leads_and_customers(fitted):
    pipeline, rows = fitted
    out = pipeline.predict(rows, reasons=False)
    leads = ~rows["has_history"].to_numpy()
    assert (out.loc[leads, "segment"] == LEAD_SEGMENT).all()
    names = set(pipeline.segmenter.names_)
    assert set(out.loc[~leads, "segment"]) <= names


def test_unknown_decision_goes_through_the_predictor(fitted, monkeypatch):
    pipeline, rows = fitted
    expected = pipeline.predict(rows.head(40))
    monkeypatch.setattr(pipeline_module, "score_rows", lambda *a, **k: None)
    pd.testing.assert_frame_equal(pipeline.predict(rows.head(40)), expected)


def test_empty_frame(fitted):
    pipeline, rows = fitted
    out = pipeline.predict(rows.head(0))
    assert list(out.columns) == pipeline.output_columns and out.empty
