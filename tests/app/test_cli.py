"""The command line: help, errors as one line, compare, promote, scoring."""

from __future__ import annotations

import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from segml.cli import main


def test_help_is_instant_and_lists_commands():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "segml.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("train", "compare", "promote", "score", "score-leads", "serve"):
        assert command in out.stdout
    # heavy libraries are imported inside the commands, not for --help
    for heavy in ("mlflow", "lightgbm", "ibis", "sklearn"):
        assert f" {heavy}\n" not in out.stderr and f" {heavy}." not in out.stderr


def test_bad_config_is_one_clear_line(workdir):
    result = CliRunner().invoke(main, ["train", "--set", "tiers.rule=pareto"])
    assert result.exit_code == 2
    assert "error: invalid config: tiers.rule" in result.output
    assert "Traceback" not in result.output


def test_unknown_config_key(workdir):
    result = CliRunner().invoke(main, ["train", "--set", "trainig.horizon_days=3"])
    assert result.exit_code == 2
    assert "unknown key 'trainig'" in result.output


def test_compare_lists_the_run(trained):
    result = CliRunner().invoke(
        main, ["compare", "--experiment", "segml-test", "--metric", "history/macro_f1"]
    )
    assert result.exit_code == 0, result.output
    assert trained.run_id[:8] in result.output
    assert "history/macro_f1" in result.output


def test_compare_unknown_metric(trained):
    result = CliRunner().invoke(
        main, ["compare", "--experiment", "segml-test", "--metric", "nope"]
    )
    assert result.exit_code == 2
    assert "metric 'nope' is not logged" in result.output


def test_promote_moves_champion(trained):
    # --force: the tiny test model may score below its best baseline
    result = CliRunner().invoke(
        main, ["promote", "--name", "segml-test-tier", "--force"]
    )
    assert result.exit_code == 0, result.output
    client = mlflow.MlflowClient(trained.tracking_uri)
    champion = client.get_model_version_by_alias("segml-test-tier", "champion")
    assert str(champion.version) == trained.version


@pytest.mark.parametrize(("flag", "force"), [([], False), (["--force"], True)])
def test_promote_passes_force(monkeypatch, workdir, flag, force):
    calls = []

    def fake_promote(name, **kwargs):
        calls.append((name, kwargs))
        return "7"

    monkeypatch.setattr("segml.app.compare.promote", fake_promote)
    result = CliRunner().invoke(main, ["promote", "--name", "m", *flag])
    assert result.exit_code == 0, result.output
    assert result.stdout == "m@champion -> version 7\n"
    assert calls[0][1]["force"] is force


def leads_frame(trained) -> pd.DataFrame:
    """Three leads with every attribute the model learned from."""
    attributes = trained.outcome.pipeline.attributes
    snapshot = trained.outcome.snapshot.reset_index()
    leads = snapshot.loc[~snapshot["has_history"], ["customer_id", *attributes]]
    return leads.head(3).reset_index(drop=True)


def score_leads(path, trained, workdir, *options):
    out = workdir / "scored-leads.parquet"
    out.unlink(missing_ok=True)
    args = ["score-leads", str(path), "--model", str(trained.export_dir)]
    result = CliRunner().invoke(main, [*args, "--out", str(out), *options])
    return result, out


def test_score_leads_writes_one_row_per_lead(trained, workdir):
    leads = leads_frame(trained)
    leads.to_csv(workdir / "leads.csv", index=False)
    result, out = score_leads(workdir / "leads.csv", trained, workdir)
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(out)
    assert scored["customer_id"].tolist() == leads["customer_id"].tolist()
    assert set(scored["route"]) == {"cold_start"}
    expected = trained.outcome.pipeline.predict(leads.assign(has_history=False))
    assert scored["tier"].tolist() == expected["tier"].tolist()


def test_score_leads_missing_attributes_is_one_line(trained, workdir):
    attributes = trained.outcome.pipeline.attributes
    assert "industry" in attributes and "days_since_signup" in attributes
    leads = leads_frame(trained)[["customer_id", "industry", "company_size"]]
    leads.to_csv(workdir / "partial.csv", index=False)
    result, out = score_leads(workdir / "partial.csv", trained, workdir)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    missing = [a for a in attributes if a not in ("industry", "company_size")]
    assert line.startswith(f"error: table 'leads', column '{missing[0]}': ")
    assert f"missing attribute column(s) {', '.join(missing)} " in line
    assert "(present: customer_id, industry, company_size)" in line
    assert not out.exists()


def test_score_leads_allow_missing_attributes_warns_once(trained, workdir):
    leads = leads_frame(trained)[["customer_id", "industry", "company_size"]]
    leads.to_csv(workdir / "partial.csv", index=False)
    result, out = score_leads(
        workdir / "partial.csv", trained, workdir, "--allow-missing-attributes"
    )
    assert result.exit_code == 0, result.output
    warnings = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1 and "region" in warnings[0], result.stderr
    assert len(pd.read_parquet(out)) == 3


def test_score_leads_signup_ts_stands_in_for_days_since_signup(trained, workdir):
    leads = leads_frame(trained)
    leads = leads.drop(columns="days_since_signup").assign(signup_ts="2024-06-01")
    leads.to_csv(workdir / "signup.csv", index=False)
    result, out = score_leads(
        workdir / "signup.csv", trained, workdir, "--as-of", "2024-06-11"
    )
    assert result.exit_code == 0, result.output
    given = leads_frame(trained).assign(days_since_signup=10.0, has_history=False)
    expected = trained.outcome.pipeline.predict(given)
    assert pd.read_parquet(out)["tier"].tolist() == expected["tier"].tolist()


def test_score_leads_column_mapping(trained, workdir):
    leads = leads_frame(trained).rename(
        columns={"industry": "Sector", "customer_id": "Lead ID"}
    )
    leads.to_csv(workdir / "renamed.csv", index=False)
    result, out = score_leads(
        workdir / "renamed.csv", trained, workdir,
        "--column", "Sector=industry", "--column", "Lead ID=customer_id",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = trained.outcome.pipeline.predict(
        leads_frame(trained).assign(has_history=False)
    )
    scored = pd.read_parquet(out)
    assert scored["customer_id"].tolist() == leads["Lead ID"].tolist()
    assert scored["tier"].tolist() == expected["tier"].tolist()


def test_score_leads_column_mapping_from_config(trained, workdir):
    leads = leads_frame(trained).rename(columns={"industry": "Sector"})
    leads.to_csv(workdir / "renamed.csv", index=False)
    config = workdir / "leads-config.yaml"
    config.write_text("data:\n  columns:\n    customers:\n      industry: Sector\n")
    result, out = score_leads(
        workdir / "renamed.csv", trained, workdir, "--config", str(config)
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(out)) == 3


def test_score_leads_mapping_a_column_that_is_not_there(trained, workdir):
    leads_frame(trained).to_csv(workdir / "leads.csv", index=False)
    result, _ = score_leads(
        workdir / "leads.csv", trained, workdir, "--column", "Sektor=industry"
    )
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: table 'leads', column 'Sektor': ")
    assert "reads 'industry' from 'Sektor'" in line


def test_score_from_raw_tables(trained, small_config, workdir):
    result = CliRunner().invoke(
        main,
        [
            "score",
            "--model",
            str(trained.export_dir),
            "--as-of",
            "2024-06-30",
            "--set",
            "data.synthetic.n_customers=1500",
            "--set",
            "data.synthetic.seed=3",
            "--out",
            str(workdir / "scored.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "events table" not in result.stderr  # the synthetic data has events
    scored = pd.read_csv(workdir / "scored.csv")
    assert scored["customer_id"].is_unique
    assert set(scored["route"]) == {"history", "cold_start"}


def test_score_adds_lifetime_value_columns_on_request(trained, workdir):
    from segml.app.tables import load_tables
    from segml.config import load_config
    from segml.scoring import score_tables

    world = ["data.synthetic.n_customers=1500", "data.synthetic.seed=3"]
    args = ["score", "--model", str(trained.export_dir), "--as-of", "2024-06-30"]
    args += ["--set", world[0], "--set", world[1]]
    out = workdir / "scored_clv.csv"
    result = CliRunner().invoke(
        main,
        [
            *args,
            "--lifetime-value",
            "--clv-months",
            "6",
            "--discount-rate",
            "0",
            "--no-reasons",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(out)
    assert list(scored.columns[-3:]) == ["clv", "p_alive", "expected_purchases"]
    cfg = load_config(None, world)
    tables = load_tables(cfg.data)
    with pytest.warns(UserWarning):  # this world's Gamma-Gamma: clv NaN, said so
        expected = score_tables(
            trained.export_dir,
            tables.transactions,
            tables.customers,
            tables.events,
            as_of="2024-06-30",
            reasons=False,
            lifetime_value=True,
            clv_months=6,
            discount_rate=0.0,
        )
    np.testing.assert_allclose(
        scored["expected_purchases"], expected["expected_purchases"], rtol=1e-9
    )
    # a bad value is one line and exit code 2
    bad = CliRunner().invoke(main, [*args, "--clv-months", "0", "--out", str(out)])
    assert bad.exit_code == 2 and "--clv-months" in bad.output


def test_score_without_the_events_table_warns_once(trained, small_config, workdir):
    from segml.app.tables import load_tables

    tables = load_tables(small_config.data)
    assert tables.events is not None  # the model was trained with events
    tables.transactions.to_parquet(workdir / "tx.parquet")
    tables.customers.to_parquet(workdir / "customers.parquet")
    result = CliRunner().invoke(
        main,
        [
            "score",
            "--model", str(trained.export_dir),
            "--as-of", "2024-06-30",
            "--set", "data.source=files",
            "--set", f"data.transactions={workdir / 'tx.parquet'}",
            "--set", f"data.customers={workdir / 'customers.parquet'}",
            "--out", str(workdir / "no-events.csv"),
            "--no-reasons",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "scoring without an events table" in warnings[0]
    assert "complaints" in warnings[0] or "nps_last" in warnings[0]


def test_events_features_are_those_a_route_splits_on():
    from types import SimpleNamespace

    from segml.scoring import events_features

    def pipeline(splits):
        route = SimpleNamespace(
            columns=["orders", "complaints", "nps_last"],
            model=SimpleNamespace(feature_importances_=splits),
        )
        predictor = SimpleNamespace(routes_={"history": route, "cold_start": None})
        return SimpleNamespace(feature_params={}, predictor=predictor)

    assert events_features(pipeline([5, 0, 0])) == []
    assert events_features(pipeline([5, 2, 0])) == ["complaints"]
    assert events_features(pipeline([0, 1, 4])) == ["complaints", "nps_last"]


def test_predict_is_strict_about_attributes_by_default(trained):
    import warnings

    from segml.errors import SegmlDataError
    from segml.scoring import predict

    pipeline = trained.outcome.pipeline
    leads = leads_frame(trained).drop(columns=["region"])
    with pytest.raises(SegmlDataError) as info:
        predict(leads, pipeline)
    assert info.value.table == "scoring input"
    assert info.value.column == "region"
    assert "missing attribute column(s) region " in str(info.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = predict(leads, pipeline, allow_missing_attributes=True)
    messages = [str(w.message) for w in caught if "attribute" in str(w.message)]
    assert messages == [
        "scoring without attribute column(s) region: they are missing values "
        "for every row"
    ]
    assert out["customer_id"].tolist() == leads["customer_id"].tolist()
    with pytest.raises(TypeError, match="DataFrame"):
        predict(leads.to_dict("list"), pipeline)
