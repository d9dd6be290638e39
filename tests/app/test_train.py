"""The main job: one MLflow run with metrics, artifacts and a registered model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from segml.app.artifacts import ARTIFACT_FILES
from segml.persist import ModelIntegrityError, load_model_file, sha256_file
from segml.scoring import predict

ROOT = Path(__file__).resolve().parents[2]


def run_of(trained):
    mlflow.set_tracking_uri(trained.tracking_uri)
    return mlflow.get_run(trained.run_id)


def test_nothing_lands_in_the_working_tree(trained, workdir):
    assert trained.tracking_uri == os.environ["MLFLOW_TRACKING_URI"]
    store = Path(trained.tracking_uri.removeprefix("sqlite:///")).parent
    artifacts = run_of(trained).info.artifact_uri
    assert artifacts.startswith((store / "mlruns").as_uri())
    assert Path(trained.export_dir).is_relative_to(workdir)
    assert not Path(trained.export_dir).is_relative_to(ROOT)


def test_metrics_have_stable_names(trained):
    metrics = run_of(trained).data.metrics
    for name in (
        "history/macro_f1",
        "cold_start/macro_f1",
        "all/macro_f1",
        "history/balanced_accuracy",
        "history/log_loss",
        "history/ece",
        "baseline/majority/history/macro_f1",
        "baseline/persistence/history/macro_f1",
        "baseline/logistic/cold_start/macro_f1",
        "segments/k",
        "segments/silhouette",
        "tiers/customer_share/A",
        "tiers/value_share/A",
    ):
        assert name in metrics, name
        assert metrics[name] == pytest.approx(trained.metrics[name])
    assert 0.0 <= metrics["history/macro_f1"] <= 1.0
    assert metrics["tiers/customer_share/A"] == pytest.approx(0.05, abs=0.01)


def test_params_and_tags(trained, small_config):
    run = run_of(trained)
    assert run.data.params["training.horizon_days"] == "180"
    assert run.data.params["data.synthetic.n_customers"] == "1500"
    assert run.data.params["model.lgbm.n_estimators"] == "40"
    tags = run.data.tags
    assert tags["segml.version"]
    assert len(tags["data.fingerprint"]) == 16


def test_report_artifacts(trained):
    client = mlflow.MlflowClient(trained.tracking_uri)
    names = {Path(a.path).name for a in client.list_artifacts(trained.run_id, "report")}
    assert set(ARTIFACT_FILES) <= names
    local = client.download_artifacts(trained.run_id, "report/pareto.csv")
    pareto = pd.read_csv(local, index_col=0)
    assert pareto["customers"].sum() == trained.metrics["data/customers"]


def test_the_run_logs_its_html_report_and_links_it(trained):
    client = mlflow.MlflowClient(trained.tracking_uri)
    local = Path(client.download_artifacts(trained.run_id, "report/report.html"))
    assert trained.report_uri.endswith("report/report.html")
    assert f"  report:         {trained.report_uri}" in trained.summary()
    html = local.read_text(encoding="utf-8")
    assert f"run {trained.run_id[:8]}" in html  # the model section of this run
    shipped = trained.metrics["shipped/history/macro_f1"]
    assert f"{shipped:.3f}" in html


def test_registered_with_candidate_alias(trained):
    client = mlflow.MlflowClient(trained.tracking_uri)
    version = client.get_model_version_by_alias("segml-test-tier", "candidate")
    assert str(version.version) == trained.version
    assert version.run_id == trained.run_id


def test_export_card_and_integrity(trained, tmp_path):
    card = json.loads((trained.export_dir / "model_card.json").read_text())
    artifact = trained.export_dir / "pipeline.joblib"
    assert card["sha256"] == sha256_file(artifact)
    assert card["metrics"]["history/macro_f1"] == trained.metrics["history/macro_f1"]
    assert card["run_id"] == trained.run_id
    copy = tmp_path / "tampered"
    copy.mkdir()
    (copy / "model_card.json").write_text(json.dumps(card))
    (copy / "pipeline.joblib").write_bytes(artifact.read_bytes() + b"x")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_model_file(copy)


def test_predict_from_uri_path_and_object_agree(trained):
    pipeline = trained.outcome.pipeline
    rows = trained.outcome.snapshot.reset_index().sample(60, random_state=1)
    direct = pipeline.predict(rows)
    from_uri = predict(rows, "models:/segml-test-tier@candidate")
    from_path = predict(rows, trained.export_dir)
    pd.testing.assert_frame_equal(direct, from_uri)
    pd.testing.assert_frame_equal(direct, from_path)
    assert direct.index.tolist() == rows.index.tolist()
    assert direct["customer_id"].tolist() == rows["customer_id"].tolist()
    assert list(direct.columns) == pipeline.output_columns


def test_pyfunc_predict_matches_pipeline(trained):
    model = mlflow.pyfunc.load_model(trained.model_uri)
    rows = trained.outcome.input_example
    served = model.predict(rows)
    direct = trained.outcome.pipeline.predict(rows)
    pd.testing.assert_frame_equal(
        served.reset_index(drop=True), direct.reset_index(drop=True)
    )


def test_leads_get_days_since_signup_from_signup_ts(trained):
    pipeline = trained.outcome.pipeline
    assert "days_since_signup" in pipeline.attributes
    lead = pd.DataFrame(
        {"customer_id": ["L9"], "industry": ["retail"], "signup_ts": ["2024-06-01"]}
    )
    rows = pipeline._prepare(lead, as_of="2024-06-11")
    assert rows.loc[0, "days_since_signup"] == 10.0
    explicit = lead.assign(days_since_signup=3.0)
    assert (
        pipeline._prepare(explicit, as_of="2024-06-11").loc[0, "days_since_signup"]
        == 3.0
    )
    by_date = pipeline.predict(lead, as_of="2024-06-11")
    by_days = pipeline.predict(
        lead.drop(columns="signup_ts").assign(days_since_signup=10.0)
    )
    pd.testing.assert_frame_equal(by_date, by_days)


def test_served_segments_equal_the_segments_the_run_fitted(trained):
    # the pipeline once filled missing clustering features with 0, which moved
    # one-order customers (NaN regularity) to another segment than in training
    pipeline = trained.outcome.pipeline
    snapshot = trained.outcome.snapshot.reset_index()
    buyers = snapshot.loc[snapshot["has_history"].astype(bool)]
    assert buyers[pipeline.segmenter.features_].isna().any().any()  # the case
    frame = buyers[list(pipeline.segmenter.feature_names_in_)]
    fitted = pipeline.segmenter.predict(frame).map(pipeline.segmenter.names_)
    served = predict(buyers, pipeline, reasons=False)["segment"]
    assert (served.to_numpy() == fitted.astype("str").to_numpy()).all()
