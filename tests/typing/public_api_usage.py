"""segml's public API as a user's type checker sees it (never run, only checked).

``tests/test_typing.py`` runs mypy on this file with ``strict = true`` and
segml's own modules followed silently, which is how mypy treats an installed
package that ships ``py.typed``: the signatures count, errors inside segml's
function bodies are not the user's (scope and flags: ``[tool.mypy]`` in
pyproject.toml).

Three kinds of line pin the public signatures:

- ``assert_type(call, T)``: the call type-checks and returns exactly ``T`` (a
  missing or wrong return annotation fails);
- a call with strict on: an unannotated public function fails
  (``disallow_untyped_calls``);
- ``wrong call  # type: ignore[arg-type]``: mypy must reject the call
  (``warn_unused_ignores`` fails the check when it does not, e.g. when a
  parameter's annotation degraded to ``Any``).

Add a public name here when you add it to a package's ``__all__``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, assert_type

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import segml
from segml import SegmlConfigError, SegmlDataError
from segml.app.train import TrainResult
from segml.btyd import (
    BGNBD,
    BTYDFit,
    GammaGamma,
    customer_lifetime_value,
    expected_value,
    fit_btyd,
)
from segml.config import Config, flatten, load_config
from segml.data import (
    TableSpec,
    read_customers,
    read_transactions,
    validate_table,
    validate_transactions,
)
from segml.datasets import CRMData, load_cdnow, make_crm
from segml.evaluation import (
    LogisticColdStart,
    confusion,
    expected_calibration_error,
    plot_confusion,
    tier_metrics,
)
from segml.features import FeatureBuilder, build_features, feature_names, rfm_summary
from segml.model import TierPredictor, ValueRanker
from segml.monitor import TierChange, psi, psi_table, tier_change
from segml.pipeline import SegmlPipeline
from segml.report import build_report
from segml.scoring import load_pipeline
from segml.segments import RFMSegmenter, Segmenter, rfm_segments
from segml.tiers import (
    TierAssigner,
    TierMigration,
    assign_tiers,
    count_rule,
    pareto_table,
    tier_migration,
    value_rule,
)
from segml.training import (
    CutoffSplit,
    TrainingSet,
    build_training_set,
    choose_cutoffs,
)


def entry_points(customers: pd.DataFrame) -> None:
    assert_type(segml.__version__, str)
    result = segml.train("configs/default.yaml", overrides=["tiers.rule=value"])
    assert_type(result, TrainResult)
    assert_type(result.model_uri, str)
    assert_type(result.metrics, dict[str, float])
    assert_type(result.summary(), str)
    assert_type(segml.predict(customers, result.model_uri), pd.DataFrame)
    assert_type(segml.predict(customers, Path("models/segml")), pd.DataFrame)
    assert_type(load_pipeline(result.model_uri), SegmlPipeline)
    segml.train(overrides="tiers.rule=value")  # type: ignore[arg-type]
    segml.predict(customers, result.model_uri, reasons="no")  # type: ignore[arg-type]


def errors(rows: pd.DataFrame) -> None:
    error = SegmlDataError("transactions", "amount", "is negative", rows)
    assert_type(error.table, str)
    assert_type(error.column, str | None)
    assert isinstance(SegmlConfigError("tiers.rule: unknown rule"), ValueError)
    SegmlDataError("transactions", "amount", 3)  # type: ignore[arg-type]


def config() -> None:
    cfg = load_config("configs/default.yaml", ["training.horizon_days=90"])
    assert_type(cfg, Config)
    assert_type(flatten(cfg), dict[str, Any])
    load_config(overrides=90)  # type: ignore[arg-type]


def data_and_datasets(path: Path) -> None:
    assert_type(read_transactions(path), pd.DataFrame)
    assert_type(read_transactions("orders.csv", columns={"ts": "when"}), pd.DataFrame)
    assert_type(read_customers(pd.DataFrame()), pd.DataFrame)
    read_transactions(42)  # type: ignore[arg-type]
    crm = make_crm(500, seed=1)
    assert_type(crm, CRMData)
    assert_type(crm.transactions, pd.DataFrame)
    assert_type(validate_transactions(crm.transactions), pd.DataFrame)
    spec = TableSpec("orders", {"customer_id": "string"})
    assert_type(validate_table(crm.transactions, spec), pd.DataFrame)
    assert_type(load_cdnow(), pd.DataFrame)
    make_crm("500")  # type: ignore[arg-type]


def features(transactions: pd.DataFrame, customers: pd.DataFrame) -> None:
    table = build_features(transactions, customers, as_of="2024-06-30")
    assert_type(table, pd.DataFrame)
    assert_type(feature_names((30, 90)), list[str])
    assert_type(rfm_summary(transactions, as_of="2024-06-30"), pd.DataFrame)
    builder = FeatureBuilder(windows=(30, 90)).fit(transactions)
    assert_type(builder, FeatureBuilder)
    assert_type(builder.get_feature_names_out(), np.ndarray)
    FeatureBuilder(windows=30)  # type: ignore[arg-type]


def tiers(value: pd.Series, frame: pd.DataFrame) -> None:
    assert_type(assign_tiers(value, rule="value"), pd.Series)
    assert_type(count_rule(value), pd.Series)
    assert_type(value_rule(value, shares=(0.7, 0.2, 0.1)), pd.Series)
    assert_type(pareto_table(value, count_rule(value)), pd.DataFrame)
    migration = tier_migration(count_rule(value), value_rule(value))
    assert_type(migration, TierMigration)
    assert_type(migration.counts, pd.DataFrame)
    assigner = TierAssigner(rule="count").fit(frame)
    assert_type(assigner, TierAssigner)
    assert_type(assigner.predict(frame), pd.Series)
    assert_type(assigner.transform(frame), pd.DataFrame)
    assign_tiers(value, shares=0.2)  # type: ignore[arg-type]


def segments(features: pd.DataFrame) -> None:
    segmenter = Segmenter(k_range=(2, 5)).fit(features)
    assert_type(segmenter, Segmenter)
    assert_type(segmenter.predict(features), pd.Series)
    assert_type(segmenter.fit_predict(features), pd.Series)
    assert_type(segmenter.transform(features), pd.DataFrame)
    assert_type(segmenter.get_feature_names_out(), np.ndarray)
    rfm = RFMSegmenter(n_bins=4).fit(features)
    assert_type(rfm, RFMSegmenter)
    assert_type(rfm.transform(features), pd.DataFrame)
    assert_type(rfm.predict(features), pd.Series)
    assert_type(rfm_segments(features), pd.DataFrame)
    Segmenter(k_range=5)  # type: ignore[arg-type]


def btyd(transactions: pd.DataFrame, rfm: pd.DataFrame) -> None:
    bgnbd = BGNBD(penalizer=0.01).fit(rfm)
    assert_type(bgnbd, BGNBD)
    assert_type(bgnbd.p_alive(rfm), pd.Series | np.ndarray)
    gamma_gamma = GammaGamma().fit(rfm)
    assert_type(gamma_gamma, GammaGamma)
    assert_type(gamma_gamma.expected_spend(rfm), pd.Series | np.ndarray)
    assert_type(expected_value(bgnbd, gamma_gamma, rfm, 90.0), pd.Series)
    clv = customer_lifetime_value(bgnbd, gamma_gamma, rfm, months=6, discount_rate=0.01)
    assert_type(clv, pd.Series)
    customer_lifetime_value(bgnbd, gamma_gamma, rfm, months="12")  # type: ignore[arg-type]
    fitted = fit_btyd(transactions, as_of="2024-06-30")
    assert_type(fitted, BTYDFit)
    expected_value(bgnbd, gamma_gamma, rfm, horizon="90 days")  # type: ignore[arg-type]


def training(transactions: pd.DataFrame) -> None:
    cutoffs = choose_cutoffs("2022-01-01", "2024-12-31", horizon_days=90)
    assert_type(cutoffs, list[pd.Timestamp])
    training_set = build_training_set(transactions, cutoffs=cutoffs, horizon_days=90)
    assert_type(training_set, TrainingSet)
    assert_type(training_set.X, pd.DataFrame)
    assert_type(training_set.y, pd.Series)
    folds = CutoffSplit(horizon_days=90, n_splits=2).split(training_set.X)
    assert_type(next(folds), tuple[np.ndarray, np.ndarray])
    CutoffSplit(horizon_days=90, n_splits="2")  # type: ignore[arg-type]
    build_training_set(transactions, cutoffs=cutoffs, horizon_days="90")  # type: ignore[arg-type]


def models(X: pd.DataFrame, y: pd.Series) -> None:
    predictor = TierPredictor(attributes=["region"], n_estimators=20).fit(X, y)
    assert_type(predictor, TierPredictor)
    assert_type(predictor.predict(X), pd.Series)
    assert_type(predictor.predict_frame(X), pd.DataFrame)
    assert_type(predictor.predict_proba(X), pd.DataFrame)
    assert_type(predictor.score(X, y), float)
    ranker = ValueRanker()
    assert_type(ranker.predict(X), pd.Series)
    cold = LogisticColdStart(attributes=["region"]).fit(X, y)
    assert_type(cold, LogisticColdStart)
    assert_type(cold.predict(X), pd.Series)
    assert_type(cold.predict_frame(X), pd.DataFrame)
    predictor.score(X)  # type: ignore[call-arg]


def evaluation(y: pd.Series, predicted: pd.Series, proba: pd.DataFrame) -> None:
    assert_type(tier_metrics(y, predicted, proba), dict[str, float])
    assert_type(expected_calibration_error(y, proba), float)
    table = confusion(y, predicted)
    assert_type(table, pd.DataFrame)
    assert_type(plot_confusion(table, normalize=True), Figure)
    plot_confusion(table, normalize="yes")  # type: ignore[arg-type]


def monitor_and_report(
    before: pd.DataFrame, now: pd.DataFrame, tiers: pd.Series
) -> None:
    assert_type(psi(before["net_spend"], now["net_spend"], bins=10), float)
    assert_type(psi_table(before, now), pd.DataFrame)
    assert_type(tier_change(tiers, tiers), TierChange)
    psi(before["net_spend"], now["net_spend"], bins="10")  # type: ignore[arg-type]
    assert_type(build_report(before, out="report.html", n_periods=6), Path)
    build_report(before, out="report.html", n_periods="6")  # type: ignore[arg-type]
