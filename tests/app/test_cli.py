"""The command line: help, errors as one line, compare, promote, scoring."""

from __future__ import annotations

import subprocess
import sys

import mlflow
import pandas as pd
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
    result = CliRunner().invoke(main, ["promote", "--name", "segml-test-tier"])
    assert result.exit_code == 0, result.output
    client = mlflow.MlflowClient(trained.tracking_uri)
    champion = client.get_model_version_by_alias("segml-test-tier", "champion")
    assert str(champion.version) == trained.version


def test_score_leads_writes_one_row_per_lead(trained, workdir):
    leads = pd.DataFrame(
        {
            "customer_id": ["L1", "L2", "L3"],
            "industry": ["retail", "software", "unheard-of"],
            "company_size": ["small", "large", "medium"],
        }
    )
    leads.to_csv(workdir / "leads.csv", index=False)
    result = CliRunner().invoke(
        main,
        [
            "score-leads",
            str(workdir / "leads.csv"),
            "--model",
            str(trained.export_dir),
            "--out",
            str(workdir / "scored.parquet"),
        ],
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(workdir / "scored.parquet")
    assert scored["customer_id"].tolist() == ["L1", "L2", "L3"]
    assert set(scored["route"]) == {"cold_start"}


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
    scored = pd.read_csv(workdir / "scored.csv")
    assert scored["customer_id"].is_unique
    assert set(scored["route"]) == {"history", "cold_start"}
