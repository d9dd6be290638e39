"""``segml tiers``, ``segml segments`` and ``segml monitor`` from the command line.

Tiny hand-made logs with hand-computed tiers and segments; the trained session
model for the monitor and for "the same tiers as ``segml train``"; every user
error is one ``error: ...`` line with exit code 2.
"""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import SMALL
from segml.cli import main


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def files_config(tmp_path):
    """A config reading a four-customer log, value shares 60 / 30 / 10 %."""
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "ts": ["2024-01-10", "2024-01-20", "2024-02-05", "2024-02-10"],
            "amount": [100.0, 50.0, 10.0, 30.0],
        }
    )
    tx.to_csv(tmp_path / "tx.csv", index=False)
    path = tmp_path / "config.yaml"
    path.write_text(
        "data:\n"
        "  source: files\n"
        f"  transactions: {tmp_path / 'tx.csv'}\n"
        "tiers:\n"
        "  value_shares: [0.6, 0.3, 0.1]\n"
        "training:\n"
        "  horizon_days: 60\n"
    )
    return path


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str})


def test_tiers_at_a_date_by_hand(files_config, tmp_path):
    out = tmp_path / "tiers.csv"
    result = run(
        "tiers", "--config", files_config, "--as-of", "2024-03-01", "--rule",
        "value", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # 60 days up to March 1st: a 100, b 50, d 30, c 10 (total 190; cuts at
    # 60 % = 114 and 90 % = 171 of value ranked before): a, b A; d B; c C
    frame = read(out)
    assert frame.columns.tolist() == [
        "customer_id", "tier", "value", "rank", "as_of", "rule",
    ]  # fmt: skip
    assert frame["customer_id"].tolist() == ["a", "b", "d", "c"]
    assert frame["tier"].tolist() == ["A", "A", "B", "C"]
    assert frame["value"].tolist() == [100.0, 50.0, 30.0, 10.0]
    assert frame["rank"].tolist() == [1, 2, 3, 4]
    assert set(frame["as_of"]) == {"2024-03-01"} and set(frame["rule"]) == {"value"}
    assert "4 rows -> " in result.stdout and "A 2 (79% of value)" in result.stdout


def test_tiers_per_month_with_the_value_inside_each_month(files_config, tmp_path):
    out, summary = tmp_path / "tiers.parquet", tmp_path / "summary.csv"
    result = run(
        "tiers", "--config", files_config, "--as-of", "2024-02-29 23:59:59.999999",
        "--rule", "value", "--period", "month", "--window", "period", "--out", out,
        "--summary", summary,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert frame.columns[0] == "period"
    jan = frame.loc[frame["period"] == "2024-01"]
    feb = frame.loc[frame["period"] == "2024-02"]
    # January: a 100, b 50 (cuts 90, 135): a A, b B
    assert dict(zip(jan["customer_id"], jan["tier"], strict=True)) == {
        "a": "A",
        "b": "B",
    }
    # February: d 30, c 10, a 0, b 0 (cuts 24, 36): d A, c B, a and b C
    assert feb["customer_id"].tolist() == ["d", "c", "a", "b"]
    assert feb["tier"].tolist() == ["A", "B", "C", "C"]
    s = pd.read_csv(summary).set_index(["period", "tier"])
    assert s.loc[("2024-02", "A"), ["customers", "entered", "left"]].tolist() == [
        1, 1, 1,
    ]  # fmt: skip
    assert s.loc[("2024-02", "C"), "entered"] == 2  # a and b fell to C
    assert s.loc[("2024-02", "A"), "value_share"] == 0.75


def test_tiers_equal_those_of_the_training_run(trained, tmp_path):
    as_of = trained.outcome.pipeline.metadata["snapshot_as_of"]
    sets = [x for o in SMALL for x in ("--set", o)]
    out = tmp_path / "tiers.csv"
    result = run("tiers", "--as-of", as_of, *sets, "--out", out)
    assert result.exit_code == 0, result.output
    frame = read(out).set_index("customer_id")
    expected = trained.outcome.current_tiers.astype(str)
    assert frame["tier"].sort_index().to_dict() == expected.sort_index().to_dict()
    value = trained.outcome.current_value.sort_index()
    assert frame["value"].sort_index().to_numpy() == pytest.approx(value.to_numpy())


def test_segments_equal_those_of_the_training_run(trained, tmp_path):
    # one config, one data set: the same segments as the run's snapshot
    as_of = trained.outcome.pipeline.metadata["snapshot_as_of"]
    sets = [x for o in SMALL for x in ("--set", o)]
    out = tmp_path / "segments.csv"
    result = run("segments", "--as-of", as_of, *sets, "--out", out)
    assert result.exit_code == 0, result.output
    frame = read(out).set_index("customer_id")
    segmenter = trained.outcome.pipeline.segmenter
    fitted = pd.Series(segmenter.labels_, index=trained.outcome.snapshot.index)
    expected = fitted.loc[frame.index].map(segmenter.names_)
    assert (frame["cluster_name"] == expected).all()
    assert frame["cluster_name"].nunique() == segmenter.k_


def segments_log(tmp_path) -> str:
    """Recency 5, 40, 200, 10, 90 days; orders 8, 3, 1, 1, 2; spend 900, 150,
    20, 60, 80: the example of rfm_segments."""
    as_of = pd.Timestamp("2024-07-20")
    rows = []
    plan = {"a": (5, 8, 900), "b": (40, 3, 150), "c": (200, 1, 20)}
    plan |= {"d": (10, 1, 60), "e": (90, 2, 80)}
    for cid, (recency, orders, spend) in plan.items():
        for k in range(orders):
            day = as_of - pd.Timedelta(days=recency + 3 * k)
            rows.append((cid, day.date().isoformat(), spend / orders))
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "amount"])
    frame.to_csv(tmp_path / "tx.csv", index=False)
    return [
        *("--set", "data.source=files"),
        *("--set", f"data.transactions={tmp_path / 'tx.csv'}"),
    ]


def test_segments_rfm_by_hand(tmp_path):
    out = tmp_path / "segments.csv"
    sets = segments_log(tmp_path)
    result = run("segments", "--as-of", "2024-07-20", *sets, "--out", out)
    assert result.exit_code == 0, result.output
    frame = read(out)
    assert frame.columns.tolist()[:3] == ["customer_id", "as_of", "tier"]
    assert frame["customer_id"].tolist() == list("abcde")
    assert frame["R"].tolist() == [5, 3, 1, 4, 2]
    assert frame["F"].tolist() == [5, 4, 2, 1, 3]
    assert frame["M"].tolist() == [5, 4, 1, 2, 3]
    assert frame["rfm_segment"].tolist() == [
        "champions", "loyal", "lost", "potential loyalists", "at risk",
    ]  # fmt: skip
    # five buyers are too few for clusters (3 x segments.k_min = 6): said so
    assert "cluster" not in frame.columns
    assert "clusters skipped: 5 customers with history" in result.stdout


def test_segments_only_clusters_needs_enough_customers(tmp_path):
    sets = segments_log(tmp_path)
    result = run(
        "segments", "--as-of", "2024-07-20", "--kind", "clusters", *sets,
        "--out", tmp_path / "s.csv",
    )  # fmt: skip
    one_error_line(result, "clusters skipped: 5 customers with history")


def test_segments_clusters_on_the_synthetic_data(tmp_path):
    out = tmp_path / "segments.csv"
    result = run(
        "segments", "--as-of", "2024-06-30", "--set",
        "data.synthetic.n_customers=400", "--set", "segments.k_max=3",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = read(out)
    assert frame["cluster"].between(0, 2).all()
    # one name per cluster, cluster 0 the most valuable
    assert frame.groupby("cluster")["cluster_name"].nunique().eq(1).all()
    assert frame["customer_id"].is_unique


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--window", "period"], ["--window period needs --period"]),
        (["--period", "month", "--window", "abc"], ["--window must be a number"]),
        (["--window", "-3"], ["--window must be positive days"]),
        (["--since", "2024-01-01"], ["--since needs --period"]),
        (["--rule", "pareto"], ["'pareto' is not one of", "tiers --help"]),
        (["--period", "week"], ["'week' is not one of"]),
    ],
)
def test_tiers_option_errors(files_config, tmp_path, args, fragments):
    result = run(
        "tiers", "--config", files_config, "--as-of", "2024-03-01", *args,
        "--out", tmp_path / "t.csv",
    )  # fmt: skip
    one_error_line(result, *fragments)


@pytest.mark.parametrize(
    "args",
    [
        ["tiers", "--period", "month", "--out", "t.csv"],
        ["tiers", "--out", "t.csv"],  # was: every customer C, value 0, exit 0
        ["segments", "--out", "s.csv"],
    ],
)
def test_before_the_first_transaction(files_config, tmp_path, args):
    *head, out = args
    result = run(
        *head, str(tmp_path / out), "--config", files_config, "--as-of", "2023-12-31"
    )
    one_error_line(result, "is before the first transaction")
    assert not (tmp_path / out).exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--as-of", "31/12/2024", "--out", "t.csv"], ["--as-of", "not an ISO 8601"]),
        (["--as-of", "2024-03-01", "--out", "t.txt"], ["--out must end in .csv"]),
    ],
)
def test_tiers_checks_options_before_loading_data(
    files_config, tmp_path, args, fragments
):
    result = run("tiers", "--config", tmp_path / "missing.yaml", *args)
    one_error_line(result, *fragments)


# --- monitor ------------------------------------------------------------------


def monitor(trained, tmp_path, as_of, *extra):
    sets = [x for o in SMALL for x in ("--set", o)]
    uri = f"models:/{trained.registered_model}/{trained.version}"
    out = tmp_path / "monitor.json"
    result = run("monitor", "--model", uri, "--as-of", as_of, *sets, *extra,
                 "--out", out)  # fmt: skip
    return result, out


def test_monitor_at_the_training_snapshot_has_no_drift(trained, tmp_path):
    as_of = trained.outcome.pipeline.metadata["snapshot_as_of"]
    result, out = monitor(trained, tmp_path, as_of)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["status"] == "ok" and data["alerts"] == []
    assert {row["psi"] for row in data["drift"]} == {0.0}
    # the bins came with the model, not from recomputing the training data
    assert data["reference"].startswith("stored with the model"), data["reference"]
    stored = trained.outcome.pipeline.metadata["reference_profile"]
    assert {row["feature"] for row in data["drift"]} <= set(stored)
    assert data["model"]["run_id"] == trained.run_id
    assert data["previous_as_of"] == "2024-11-30T23:59:59.999999"
    assert 0 < data["tier_change"]["customers"] <= data["near_threshold"]["customers"]
    assert "drift: PSI per feature" in result.stdout
    run_id = result.stdout.strip().splitlines()[-1].split()[-1]
    logged = mlflow.get_run(run_id)
    assert logged.data.tags["segml.monitor.model_run_id"] == trained.run_id
    assert logged.data.tags["segml.monitor.model_version"] == trained.version
    assert logged.data.metrics["drift/psi_max"] == 0.0
    version = mlflow.MlflowClient().get_model_version(
        trained.registered_model, trained.version
    )
    assert version.tags["segml.monitor.last_run_id"] == run_id


def test_monitor_months_after_the_data_ends_alerts(trained, tmp_path):
    # no purchase after the log ends: recency and the recent windows shift
    result, out = monitor(trained, tmp_path, "2025-06-30", "--no-mlflow")
    assert result.exit_code == 3, result.output
    data = json.loads(out.read_text())
    assert data["status"] == "alert" and data["exit_code"] == 3
    psi = {row["feature"]: row["psi"] for row in data["drift"]}
    assert psi["recency_days"] > 0.25
    assert "recency_days" in data["alerts"][0]
    assert "ALERT: PSI above monitor.psi_alert=0.25" in result.stdout
    assert "MLflow monitoring run" not in result.stdout


def test_monitor_out_must_be_json(tmp_path):
    result = run(
        "monitor", "--model", "models:/x/1", "--as-of", "2024-01-01", "--out",
        tmp_path / "m.csv",
    )  # fmt: skip
    one_error_line(result, "--out must end in .json")


def test_monitor_unknown_model_is_one_line(workdir, tmp_path):
    result = run(
        "monitor", "--model", "models:/no-such-model@champion", "--as-of",
        "2024-01-01", "--out", tmp_path / "m.json",
    )  # fmt: skip
    one_error_line(result, "no-such-model")


def test_tiers_with_hysteresis_step_month_by_month(files_config, tmp_path):
    single, monthly = tmp_path / "one.csv", tmp_path / "months.csv"
    common = ["--config", files_config, "--set", "tiers.hysteresis=0.2"]
    as_of = ["--as-of", "2024-03-01", "--rule", "value"]
    assert run("tiers", *common, *as_of, "--out", single).exit_code == 0
    result = run("tiers", *common, *as_of, "--period", "month", "--out", monthly)
    assert result.exit_code == 0, result.output
    months = read(monthly)
    last = months.loc[months["period"] == "2024-03"].drop(columns=["period", "as_of"])
    one = read(single)
    assert one.drop(columns="as_of").equals(last.reset_index(drop=True))
    # January: a A, b B. February (thresholds A 50, B 30): the rule puts b in A,
    # but 50 is not 20 % above 50, so b stays B, and again on March 1st
    # (without hysteresis b is A: test_tiers_at_a_date_by_hand)
    assert dict(zip(one["customer_id"], one["tier"], strict=True)) == {
        "a": "A",
        "b": "B",
        "d": "B",
        "c": "C",
    }


def test_composite_criteria_without_values_is_one_line(files_config, tmp_path):
    result = run(
        "tiers", "--config", files_config, "--as-of", "2024-03-01", "--rule",
        "composite", "--out", tmp_path / "t.csv",
    )  # fmt: skip
    one_error_line(result, "hold no value (all NaN)", "set tiers.composite_criteria")
