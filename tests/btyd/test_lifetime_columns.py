"""The optional ``clv``, ``p_alive``, ``expected_purchases`` columns of
``segml.predict`` / ``SegmlPipeline.predict`` / ``score_tables``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from segml.btyd.clv import LIFETIME_COLUMNS, customer_lifetime_value
from segml.btyd.features import fit_btyd
from segml.datasets import load_cdnow
from segml.errors import SegmlConfigError, SegmlDataError
from segml.features import build_features
from segml.features.rfm import rfm_summary
from segml.model import TierPredictor
from segml.pipeline import SegmlPipeline
from segml.scoring import predict, score_tables

AS_OF = "1997-09-30"


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """1,500 CDNOW customers plus 40 leads (customers without a purchase)."""
    tx = load_cdnow()
    ids = sorted(tx["customer_id"].unique())[:1500]
    tx = tx.loc[tx["customer_id"].isin(ids)]
    region = ["north", "south", "east"]
    customers = pd.DataFrame(
        {
            "customer_id": ids + [f"lead{i:02d}" for i in range(40)],
            "region": [region[i % 3] for i in range(1540)],
        }
    )
    return tx, customers


@pytest.fixture(scope="module")
def features(tables) -> pd.DataFrame:
    tx, customers = tables
    return build_features(tx, customers, as_of=AS_OF)


@pytest.fixture(scope="module")
def pipeline(tables, features) -> SegmlPipeline:
    tx, _ = tables
    rng = np.random.default_rng(0)
    y = pd.Series(rng.choice(["A", "B", "C"], len(features)), index=features.index)
    X = features[["orders", "recency_days", "region", "has_history"]]
    predictor = TierPredictor(attributes=["region"], n_estimators=5).fit(X, y)
    return SegmlPipeline(
        predictor=predictor,
        attributes=["region"],
        history_features=["orders", "recency_days"],
        btyd=fit_btyd(tx, as_of=AS_OF, penalizer=0.001),
    )


def test_columns_equal_the_library_on_the_rfm_summary(tables, features, pipeline):
    tx, _ = tables
    out = predict(
        features.reset_index(),
        pipeline,
        reasons=False,
        lifetime_value=True,
        clv_months=6,
        discount_rate=0.02,
    )
    assert list(out.columns[-3:]) == list(LIFETIME_COLUMNS)
    assert list(out.columns[:-3]) == pipeline.output_columns
    out = out.set_index("customer_id")
    buyers = out.loc[out["route"] == "history"]
    leads = out.loc[out["route"] == "cold_start"]
    assert len(buyers) == 1500 and len(leads) == 40
    assert leads[list(LIFETIME_COLUMNS)].isna().all().all()
    # on a whole-day log the catalogue's RFM equals rfm_summary
    rfm = rfm_summary(tx, as_of=AS_OF).loc[buyers.index]
    bg, gg = pipeline.btyd.bgnbd, pipeline.btyd.gamma_gamma
    expected = customer_lifetime_value(bg, gg, rfm, months=6, discount_rate=0.02)
    np.testing.assert_allclose(buyers["clv"], expected, rtol=1e-10)
    np.testing.assert_allclose(buyers["p_alive"], bg.probability_alive(rfm), rtol=1e-12)
    np.testing.assert_allclose(
        buyers["expected_purchases"], bg.expected_purchases(180.0, rfm), rtol=1e-12
    )


def test_columns_are_off_by_default_and_rows_score_alone(features, pipeline):
    rows = features.reset_index()
    plain = pipeline.predict(rows.head(5), reasons=False)
    assert list(plain.columns) == pipeline.output_columns
    batch = pipeline.predict(rows, reasons=False, lifetime_value=True)
    for i in (0, 3, len(rows) - 1):  # the last row is a lead
        one = pipeline.predict(rows.iloc[[i]], reasons=False, lifetime_value=True)
        pd.testing.assert_frame_equal(
            one[list(LIFETIME_COLUMNS)], batch.iloc[[i]][list(LIFETIME_COLUMNS)]
        )


def test_score_tables_adds_them_too(tables, pipeline):
    tx, customers = tables
    out = score_tables(
        pipeline, tx, customers, as_of=AS_OF, reasons=False, lifetime_value=True
    )
    assert out["clv"].notna().sum() == 1500 and out["clv"].isna().sum() == 40


def test_leads_only_need_no_history_columns(features, pipeline):
    leads = features.loc[~features["has_history"], ["region"]].reset_index()
    out = pipeline.predict(leads, reasons=False, lifetime_value=True)
    assert out[list(LIFETIME_COLUMNS)].isna().all().all() and len(out) == 40


def test_missing_history_column_is_named(features, pipeline):
    rows = features.reset_index().drop(columns=["first_order_value"])
    with pytest.raises(SegmlDataError) as err:
        pipeline.predict(rows, reasons=False, lifetime_value=True)
    assert err.value.table == "scoring input"
    assert err.value.column == "first_order_value"


def test_a_pipeline_without_btyd_fit_says_so(features, pipeline):
    bare = SegmlPipeline(
        predictor=pipeline.predictor,
        attributes=["region"],
        history_features=["orders", "recency_days"],
    )
    assert bare.btyd_fit is None
    with pytest.raises(SegmlConfigError, match="carries no BG/NBD"):
        bare.predict(features.reset_index(), reasons=False, lifetime_value=True)
    plain = bare.predict(features.reset_index().head(3), reasons=False)
    assert "clv" not in plain.columns


def test_bad_horizon_or_rate_is_a_config_error(features, pipeline):
    rows = features.reset_index().head(3)
    with pytest.raises(SegmlConfigError, match="clv_months must be a whole number"):
        pipeline.predict(rows, lifetime_value=True, clv_months=0)
    with pytest.raises(SegmlConfigError, match="discount_rate must be a number > -1"):
        pipeline.predict(rows, lifetime_value=True, discount_rate=float("nan"))


def test_btyd_fit_is_found_where_the_predictor_keeps_one(pipeline):
    fitted = pipeline.btyd
    through_decision = SegmlPipeline(
        predictor=SimpleNamespace(value_decision_=SimpleNamespace(btyd=fitted)),
        attributes=[],
        history_features=[],
    )
    assert through_decision.btyd_fit is fitted
    through_fallback = SegmlPipeline(
        predictor=SimpleNamespace(
            value_decision_=None,
            fallbacks_={
                "cold_start": object(),
                "history": SimpleNamespace(btyd=fitted),
            },
        ),
        attributes=[],
        history_features=[],
    )
    assert through_fallback.btyd_fit is fitted
