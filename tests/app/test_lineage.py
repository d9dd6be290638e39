"""Lineage in MLflow: which data trained a model, and what each version is."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from segml.app.tables import Tables, fingerprints, load_tables
from segml.config import Config
from segml.tracking.lineage import dataset_source, version_description


def test_the_run_logs_each_table_as_a_training_input(trained, small_config):
    mlflow.set_tracking_uri(trained.tracking_uri)
    run = mlflow.get_run(trained.run_id)
    inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    tables = load_tables(small_config.data)
    _, digests = fingerprints(tables)
    assert set(inputs) == {"transactions", "customers", "events"}
    for name, logged in inputs.items():
        tags = {t.key: t.value for t in logged.tags}
        assert tags["mlflow.data.context"] == "training"
        assert logged.dataset.digest == digests[name]
        assert tags["rows"] == str(len(getattr(tables, name)))
        assert logged.dataset.source_type == "code"
        assert '"generator": "segml.datasets.make_crm"' in logged.dataset.source
        assert '"seed": "3"' in logged.dataset.source  # the run's config
    schema = inputs["transactions"].dataset.schema
    assert "customer_id" in schema and "amount" in schema


def test_the_registered_version_says_rule_horizon_and_lift(trained):
    client = mlflow.MlflowClient(trained.tracking_uri)
    version = client.get_model_version(trained.registered_model, trained.version)
    m = trained.metrics
    assert version.description.startswith("segml tier model: count rule")
    for route in ("history", "cold_start"):
        if f"lift/{route}" in m:
            assert f"lift {m[f'lift/{route}']:+.3f}" in version.description
            assert f"{route}: ships {trained.tags[f'segml.choice.{route}']}" in (
                version.description
            )


def test_table_digests_follow_the_content_and_not_the_object():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "ts": pd.to_datetime(["2024-01-01"] * 2),
            "amount": [1.0, 2.0],
        }
    )
    whole, each = fingerprints(Tables(tx))
    again, each_again = fingerprints(Tables(tx.copy()))
    assert (whole, each) == (again, each_again)
    changed = tx.assign(amount=[1.0, 2.5])
    assert fingerprints(Tables(changed))[1]["transactions"] != each["transactions"]
    customers = pd.DataFrame({"customer_id": ["a", "b"]})
    with_customers = fingerprints(Tables(tx, customers))[1]
    assert with_customers["transactions"] == each["transactions"]  # per table
    assert set(with_customers) == {"transactions", "customers"}


def test_a_file_source_is_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = Config.model_validate(
        {"data": {"source": "files", "transactions": "data/tx.parquet"}}
    )
    source = dataset_source(cfg.data, "transactions")
    assert source.to_dict()["uri"] == str(tmp_path / "data" / "tx.parquet")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("count", "count rule (A 5% / B 15% / C 80% of customers), 90-day horizon."),
        ("value", "value rule (A 80% / B 15% / C 5% of value), 90-day horizon."),
    ],
)
def test_description_of_each_rule(rule, expected):
    cfg = Config.model_validate({"tiers": {"rule": rule}})
    text = version_description(cfg, {"eval/horizon_days": 90.0}, {})
    assert text == f"segml tier model: {expected}"


def test_the_run_logs_btyd_uncertainty_and_its_model_gives_lifetime_value(trained):
    from segml.scoring import predict

    m = trained.metrics
    for name in ("r", "alpha", "a", "b"):
        coef, se = m[f"btyd/bgnbd/{name}"], m[f"btyd/bgnbd/{name}_se"]
        assert se > 0 and m[f"btyd/bgnbd/{name}_lower"] < coef
        assert coef < m[f"btyd/bgnbd/{name}_upper"]
    # a count-rule run still carries the snapshot's fit for clv / p_alive
    fit = trained.outcome.pipeline.btyd_fit
    assert fit is not None and len(fit.rfm) == 0  # shipped without its RFM table
    assert fit.bgnbd.params_["r"] == pytest.approx(m["btyd/bgnbd/r"])
    rows = trained.outcome.snapshot.reset_index().head(20)
    history = rows["has_history"].to_numpy(dtype=bool)
    assert fit.gamma_gamma.params_["q"] <= 1  # this small world: no finite mean
    with pytest.warns(UserWarning, match="clv is left NaN: q = "):
        out = predict(
            rows, trained.outcome.pipeline, reasons=False, lifetime_value=True
        )
    assert out["clv"].isna().all()
    assert out.loc[history, "p_alive"].between(0, 1).all()
    assert (out.loc[history, "expected_purchases"] > 0).all()
    assert out.loc[~history, ["p_alive", "expected_purchases"]].isna().all().all()
