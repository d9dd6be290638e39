"""The model and drift sections on a trained run: equal to the library's functions
on the run's own out-of-time predictions, and to what MLflow logged."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pandas.testing import assert_frame_equal
from report_helpers import read_tables, write_config

from segml.report import ModelEvidence, report_sections
from segml.report.model import evaluation_table

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tables(small_config):
    from segml.app.tables import load_tables

    return load_tables(small_config.data)


@pytest.fixture(scope="module")
def model_report(trained, small_config, tables):
    return report_sections(
        tables.transactions,
        tables.customers,
        tables.events,
        config=small_config,
        model=ModelEvidence.from_outcome(trained.outcome),
    )


def test_evaluation_is_the_runs_metrics(trained, model_report):
    table = model_report.section("model").tables["evaluation"]
    m = trained.metrics
    assert table.loc[("history", "model"), "macro_f1"] == m["history/macro_f1"]
    assert (
        table.loc[("history", "shipped"), "macro_f1"] == m["shipped/history/macro_f1"]
    )
    for (route, answer), row in table.iterrows():
        if answer not in ("model", "shipped"):
            key = f"baseline/{answer}/{route}/macro_f1"
            assert row["macro_f1"] == m[key] or (
                np.isnan(row["macro_f1"]) and key not in m
            )
    choice = model_report.section("model").tables["choice"]
    for route in choice.index:
        assert choice.loc[route, "ships"] == trained.tags.get(
            f"segml.choice.{route}", "model"
        )
        if f"lift/{route}" in m:
            assert choice.loc[route, "lift"] == m[f"lift/{route}"]


def test_evaluation_table_reads_only_known_keys():
    m = {
        "history/macro_f1": 0.5,
        "cold_start/n": 7.0,
        "baseline/majority/cold_start/macro_f1": 0.2,
        "select/history/model/macro_f1": 0.9,  # the selection stage: not shown
        "tiers/value_share/A": 0.8,
    }
    table = evaluation_table(m)
    assert table.index.tolist() == [
        ("history", "model"),
        ("cold_start", "model"),
        ("cold_start", "majority"),
    ]
    assert table.columns.tolist() == ["n", "macro_f1"]


def test_calibration_and_confusion_equal_the_library(trained, model_report):
    from segml.evaluation import calibration_table, confusion

    outcome = trained.outcome
    labels = list(outcome.pipeline.tiers)
    truth, test = outcome.test_truth, outcome.test_prediction
    tables = model_report.section("model").tables
    expected = calibration_table(truth, test[[f"p_{t}" for t in labels]], labels)
    assert_frame_equal(tables["calibration"], expected)
    # every test row is counted once per tier's bins
    assert tables["calibration"].groupby("tier")["n"].sum().tolist() == [len(test)] * 3
    for route in ("history", "cold_start"):
        rows = (test["route"] == route).to_numpy()
        want = confusion(truth[rows], test.loc[rows, "tier"], labels)
        assert_frame_equal(tables[f"confusion_{route}"], want)


def test_predicted_next_to_today(trained, model_report, tables):
    from segml.features import build_features
    from segml.training import label_tiers
    from segml.training.windows import past_value

    pipeline = trained.outcome.pipeline
    as_of = tables.transactions["ts"].max()
    features = build_features(
        tables.transactions,
        tables.customers,
        tables.events,
        as_of=as_of,
        **pipeline.feature_params,
    )
    predicted = pipeline.predict(features.reset_index(), reasons=False)
    meta = pipeline.metadata
    value = past_value(
        tables.transactions,
        cutoff=as_of,
        horizon_days=meta["horizon_days"],
        customers=features.index,
    )
    today = label_tiers(
        value, rule=meta["label_rule"], shares=meta["shares"], tiers=pipeline.tiers
    )
    cross = model_report.section("model").tables["predicted_vs_today"]
    want = pd.crosstab(today.to_numpy(), predicted["tier"].astype("str").to_numpy())
    for t in pipeline.tiers:
        for p in pipeline.tiers:
            got = cross.loc[t, p]
            assert got == (want.loc[t, p] if t in want.index and p in want else 0)
    assert int(cross.to_numpy().sum()) == len(features)
    per_route = model_report.section("model").tables["predicted_per_route"]
    assert per_route.loc["cold_start"].sum() == int((~features["has_history"]).sum())


@pytest.fixture(scope="module")
def answered_by_models(trained, small_config, tables):
    """The run's report with every route answered by its LightGBM model (a
    route that ships a baseline has no SHAP contributions to summarise)."""
    pipeline = copy.deepcopy(trained.outcome.pipeline)
    for route in ("history", "cold_start"):
        pipeline.predictor.use_fallback(route, None)
    evidence = dataclasses.replace(
        ModelEvidence.from_outcome(trained.outcome), pipeline=pipeline
    )
    return report_sections(
        tables.transactions,
        tables.customers,
        tables.events,
        config=small_config,
        model=evidence,
    )


def test_reasons_summarise_shap_contributions(answered_by_models):
    reasons = answered_by_models.section("model").tables["reasons"]
    history = reasons.loc[reasons["route"] == "history"]
    assert len(history) > 0
    assert (history["mean_abs_contribution"] > 0).all()
    assert (
        history["mean_abs_contribution"] >= history["mean_contribution"].abs()
    ).all()
    # sorted by importance within the route
    values = history["mean_abs_contribution"].to_numpy()
    assert (np.diff(values) <= 0).all()


def test_drift_equals_monitor_psi(trained, small_config, tables):
    from segml.features import build_features
    from segml.monitor.drift import psi_table

    pipeline = trained.outcome.pipeline
    tx = tables.transactions
    as_of = tx["ts"].max() - pd.Timedelta(days=200)
    report = report_sections(
        tx,
        tables.customers,
        tables.events,
        config=small_config,
        as_of=as_of,
        model=ModelEvidence.from_outcome(trained.outcome),
    )
    got = report.section("stability").tables["psi"]
    columns = list(got.index)
    assert set(columns) <= {*pipeline.history_features, *pipeline.attributes}
    params = pipeline.feature_params
    snap = pd.Timestamp(pipeline.metadata["snapshot_as_of"])
    reference = build_features(
        tx, tables.customers, tables.events, as_of=snap, **params
    )
    current = build_features(tx, tables.customers, tables.events, as_of=as_of, **params)
    want = psi_table(reference[columns], current[columns]).set_index("feature")
    assert_frame_equal(got, want)
    assert got["psi"].max() > 0.1  # 200 days earlier: recency and spend moved


def test_report_at_the_snapshot_says_no_drift_yet(model_report):
    stability = model_report.section("stability")
    assert (stability.tables["psi"]["psi"] == 0).all()
    assert any("no drift can show yet" in n for n in stability.notes)


def test_cli_report_with_a_logged_model(trained, small_config, workdir, tmp_path):
    from segml.cli import main

    out = tmp_path / "report.html"
    config = write_config(small_config, tmp_path)
    args = ["report", "--config", config, "--model", trained.model_uri]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"report written to {out} (")
    html = out.read_text(encoding="utf-8")
    tables = read_tables(html)
    # the evaluation and the confusion matrices come from the MLflow run
    evaluation = tables["evaluation"]
    header = evaluation[0]
    row = next(r for r in evaluation if r[:2] == ["history", "shipped"])
    f1 = row[header.index("macro_f1")]
    assert float(f1) == pytest.approx(trained.metrics["shipped/history/macro_f1"], 1e-3)
    from segml.evaluation import confusion

    outcome = trained.outcome
    test = outcome.test_prediction
    rows = (test["route"] == "history").to_numpy()
    want = confusion(outcome.test_truth[rows], test.loc[rows, "tier"], ("A", "B", "C"))
    got = [[int(v) for v in r[1:]] for r in tables["confusion_history"][1:]]
    assert got == want.to_numpy().tolist()
    assert 'data-chart="calibration"' in html  # the run's logged diagram


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--out", "r.csv"], "error: --out must end in .html, got r.csv"),
        (["--out", "r.html", "--as-of", "31/12/2024"], "error: --as-of"),
        (
            ["--out", "r.html", "--period", "week"],
            "error: Invalid value for '--period'",
        ),
        (["--out", "r.html", "--model", "models:/no-such-model/1"], "error: model"),
    ],
)
def test_cli_errors_are_one_line(workdir, options, message):
    from segml.cli import main

    result = CliRunner().invoke(main, ["report", *options])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_run_id_of_every_kind_of_model_reference(trained, tmp_path):
    from segml.report.cli import run_id_of

    assert run_id_of(trained.model_uri) == trained.run_id
    assert run_id_of(f"runs:/{trained.run_id}/model") == trained.run_id
    assert run_id_of(str(trained.export_dir)) == trained.run_id
    assert run_id_of(str(tmp_path / "pipeline.joblib")) is None  # no card beside it


def test_a_model_without_its_run_still_reports_its_predictions(
    trained, small_config, tables
):
    report = report_sections(
        tables.transactions,
        tables.customers,
        tables.events,
        config=small_config,
        model=ModelEvidence(pipeline=trained.outcome.pipeline, name="export"),
    )
    section = report.section("model")
    assert "evaluation" not in section.tables and "choice" not in section.tables
    assert section.notes == [
        "the model's training run is not known: no out-of-time test",
        "no out-of-time predictions of the run: no calibration",
    ]
    # SHAP reasons only where a route is answered by its model
    answered = {
        trained.outcome.pipeline.predictor.route_kind(r)
        for r in ("history", "cold_start")
    }
    shap = ["reasons"] if answered & {"lightgbm", "lightgbm+btyd"} else []
    assert [c.name for c in section.charts] == [*shap, "predicted_vs_today"]
    assert "reasons" in section.tables
    customers = int(report.facts["customers"].replace(",", ""))
    assert int(section.tables["predicted_vs_today"].to_numpy().sum()) == customers
