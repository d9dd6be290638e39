"""Runs on data a user brings: short, degenerate, or without signal.

Each trains through ``segml.train``, says what it chose, and its logged model
predicts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import segml
from segml.app import fit as fit_module
from segml.cli import main
from segml.datasets import make_crm
from segml.scoring import predict


@pytest.fixture(scope="module")
def crm():
    return make_crm(1500, seed=3)


def write(tmp_path, transactions, customers=None) -> list[str]:
    tx = tmp_path / "tx.parquet"
    transactions.to_parquet(tx)
    out = ["data.source=files", f"data.transactions={tx}"]
    if customers is not None:
        path = tmp_path / "customers.parquet"
        customers.to_parquet(path)
        out.append(f"data.customers={path}")
    return out


def train(make_config, tmp_path, *overrides):
    cfg = make_config(
        "mlflow.experiment=segml-degenerate",
        "mlflow.registered_model=segml-degenerate-tier",
        f"models_dir={tmp_path / 'models'}",
        *overrides,
    )
    return segml.train(cfg, quiet=True)


def recorded(call, *args, **kwargs):
    """``call``'s result and its warning messages (all of them, re-emitting none)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    return result, [str(w.message) for w in caught]


def predicts(result) -> pd.DataFrame:
    rows = result.outcome.snapshot.reset_index().sample(40, random_state=0)
    out = predict(rows, result.model_uri, reasons=True)
    assert out["customer_id"].tolist() == rows["customer_id"].tolist()
    assert np.allclose(out[["p_A", "p_B", "p_C"]].sum(axis=1), 1.0)
    return out


SHORT = (
    "training.horizon_days=182",
    "training.label_horizon_days=60",
    "training.cutoff_step_days=15",
)


def test_six_months_of_history_train_and_test_over_the_label_window(
    crm, make_config, tmp_path
):
    tx = crm.transactions
    recent = tx[tx["ts"] > tx["ts"].max() - pd.Timedelta(days=200)]
    files = write(tmp_path, recent, crm.customers)
    result, said = recorded(train, make_config, tmp_path, *files, *SHORT)
    assert any("too short for the 182-day horizon" in m for m in said)
    assert result.metrics["eval/horizon_days"] == 60
    assert result.tags["eval.test_cutoff"] == str(
        (recent["ts"].max().normalize() - pd.Timedelta(days=60)).date()
    )
    assert "over 60 days" in result.summary()
    assert {"shipped/history/macro_f1", "lift/history"} <= set(result.metrics)
    predicts(result)


def test_short_history_trains_from_the_cli(crm, make_config, tmp_path, workdir):
    tx = crm.transactions
    recent = tx[tx["ts"] > tx["ts"].max() - pd.Timedelta(days=200)]
    files = write(tmp_path, recent, crm.customers)
    root = Path(__file__).resolve().parents[2]
    args = ["train", "--config", str(root / "configs" / "default.yaml"), "--quiet"]
    for item in (
        *files,
        *SHORT,
        "data.synthetic.n_customers=1500",
        "training.n_cutoffs=3",
        "model.lgbm.n_estimators=40",
        "mlflow.experiment=segml-degenerate-cli",
        "mlflow.registered_model=segml-degenerate-cli-tier",
        f"models_dir={tmp_path / 'models'}",
    ):
        args += ["--set", item]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "out-of-time test at" in result.output and "over 60 days" in result.output


def test_too_short_a_log_is_refused_in_one_line(crm, make_config, tmp_path):
    tx = crm.transactions
    recent = tx[tx["ts"] > tx["ts"].max() - pd.Timedelta(days=80)]
    files = write(tmp_path, recent, crm.customers)
    with pytest.raises(segml.errors.SegmlConfigError) as err:
        train(make_config, tmp_path, *files, *SHORT)
    assert "at least 90 days" in str(err.value) and "\n" not in str(err.value)


def test_no_usable_attribute_ships_majority_for_leads(crm, make_config, tmp_path):
    files = write(tmp_path, crm.transactions, crm.customers[["customer_id"]])
    result = train(make_config, tmp_path, *files)
    assert result.tags["segml.choice.cold_start"] in ("majority", "model")
    assert "logistic" not in result.tags.get("segml.best_baseline.cold_start", "")
    out = predicts(result)
    assert set(out["model"]) <= {"lightgbm", "majority", "persistence", "prior"}


def test_one_tier_only_trains_and_predicts(crm, make_config, tmp_path):
    refunds = crm.transactions.assign(amount=-1.0)  # nobody has positive value
    files = write(tmp_path, refunds, crm.customers)
    result = train(make_config, tmp_path, *files)
    out = predicts(result)
    assert set(out["tier"]) == {"C"}
    assert result.metrics["lift/history"] == pytest.approx(0.0, abs=1e-12)


def test_btyd_failure_falls_back_to_the_rank_decision(
    crm, make_config, tmp_path, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("the population mean spend is infinite (q <= 1)")

    # raised from inside segml/app/value.py, as a real BTYD failure is
    monkeypatch.setattr("segml.app.value.with_btyd_features", broken)
    files = write(tmp_path, crm.transactions, crm.customers)
    result, said = recorded(
        train, make_config, tmp_path, *files, "model.decision=value"
    )
    assert sum("rank decision instead" in m for m in said) == 1
    assert result.tags["segml.decision"].startswith("rank (value dropped")
    assert result.outcome.pipeline.metadata["decision"] == "rank"
    predicts(result)


def test_a_bug_elsewhere_is_not_swallowed_by_the_fallback(
    crm, make_config, tmp_path, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("not a BTYD problem")

    monkeypatch.setattr(fit_module, "label_tiers", broken)
    files = write(tmp_path, crm.transactions, crm.customers)
    with pytest.raises(ValueError, match="not a BTYD problem"):
        train(make_config, tmp_path, *files, "model.decision=value")


def test_attributes_without_signal_ship_a_baseline_for_leads(
    crm, make_config, tmp_path
):
    # every attribute shuffled across customers: nothing in them predicts value
    customers = crm.customers.drop(columns=["signup_ts"])
    rng = np.random.default_rng(0)
    shuffled = customers.copy()
    for column in customers.columns.drop("customer_id"):
        shuffled[column] = customers[column].to_numpy()[rng.permutation(len(customers))]
    files = write(tmp_path, crm.transactions, shuffled)
    result = train(make_config, tmp_path, *files)
    choice = result.tags["segml.choice.cold_start"]
    why = result.tags["segml.choice.cold_start.why"]
    # a ranking without signal cut at the label shares scores about 1/3, which
    # beats majority: the permutation bar keeps it from shipping
    assert choice in ("majority", "logistic"), why
    assert "chance" in why or "at least as good" in why
    assert result.metrics["lift/cold_start"] >= 0.0
    m = result.metrics
    assert (
        m["shipped/cold_start/macro_f1"] == m[f"baseline/{choice}/cold_start/macro_f1"]
    )
    assert f"cold_start ships {choice}" in result.summary()
    out = predicts(result)
    assert set(out.loc[out["route"] == "cold_start", "model"]) == {choice}
