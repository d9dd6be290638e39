"""Monitor logic on a tiny log: PSI, tier change and near-threshold by hand."""

import json
import math
from dataclasses import dataclass, field

import mlflow
import pandas as pd
import pytest

from segml.app.tables import Tables
from segml.config import load_config
from segml.errors import SegmlConfigError
from segml.monitor.drift import reference_bins
from segml.monitor.run import ALERT_EXIT_CODE, monitor_model
from segml.monitor.tracking import log_monitoring, model_lineage

FEB_END = "2024-02-29 23:59:59.999999"
AS_OF = "2024-04-01"  # midnight: closes March, looks back to the end of February


def log(rows):
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows]).as_unit("us"),
            "amount": [float(r[2]) for r in rows],
        }
    )


TABLES = Tables(
    log(
        [
            ("a", "2024-02-10", 100),
            ("b", "2024-02-15", 50),
            ("c", "2024-02-20", 10),
            ("d", "2024-03-05", 5),
            ("a", "2024-03-10", 100),
            ("b", "2024-03-20", 10),
            ("c", "2024-03-25", 60),
        ]
    )
)


@dataclass
class FakePipeline:
    """What the monitor reads of a SegmlPipeline."""

    metadata: dict
    history_features: list = field(default_factory=lambda: ["net_spend"])
    attributes: list = field(default_factory=list)
    feature_params: dict = field(default_factory=lambda: {"windows": (30,)})


def config(*overrides):
    return load_config(
        overrides=[
            "tiers.count_shares=[0.25, 0.25, 0.5]",
            "training.horizon_days=30",
            "monitor.bins=2",
            *overrides,
        ]
    )


STORED = {
    "reference_profile": {
        "net_spend": reference_bins(
            pd.Series([10.0, 20.0, 30.0, 40.0]), bins=2
        ).to_dict()
    },
    "reference_as_of": FEB_END,
    "rule": "count",
}


def test_stored_profile_psi_tier_change_and_near_threshold_by_hand():
    result = monitor_model(FakePipeline(STORED), TABLES, config(), as_of=AS_OF)
    # net spend at as-of: a 200, b 60, c 70, d 5; reference median 25 ->
    # shares 0.5 / 0.5 then, 0.25 / 0.75 now: 0.25 ln 2 + 0.25 ln 1.5
    assert result.psi["feature"].tolist() == ["net_spend"]
    assert result.psi["psi"].iloc[0] == pytest.approx(0.25 * math.log(3.0))
    assert result.psi["status"].tolist() == ["alert"]
    assert "stored with the model" in result.reference
    # 30-day value: end of Feb a 100, b 50, c 10 -> A, B, C;
    # as of April 1st a 100, c 60, b 10, d 5 -> a A, c B, b and d C
    change = result.tier_change
    assert (change.customers, change.changed, change.up, change.down) == (3, 2, 1, 1)
    assert result.previous_as_of == pd.Timestamp(FEB_END)
    # thresholds 100 (A) and 60 (B): a and c sit on them, b and d are far
    assert (result.near_count, result.customers) == (2, 4)
    assert result.exit_code == ALERT_EXIT_CODE and result.status == "alert"
    assert result.alerts == ["PSI above monitor.psi_alert=0.25: net_spend (0.275)"]


def test_recomputed_reference_at_the_snapshot_date():
    pipeline = FakePipeline({"snapshot_as_of": FEB_END, "rule": "count"})
    result = monitor_model(pipeline, TABLES, config(), as_of=AS_OF)
    # net spend at the end of Feb: a 100, b 50, c 10 -> median 50:
    # 2/3 <= 50 then, 1/4 now (d 5)
    r, c = [2 / 3, 1 / 3], [0.25, 0.75]
    expected = sum((ci - ri) * math.log(ci / ri) for ri, ci in zip(r, c, strict=True))
    assert result.psi["psi"].iloc[0] == pytest.approx(expected)
    assert "recomputed at the training snapshot 2024-02-29 23:59:59.999999" in (
        result.reference
    )
    assert result.reference_as_of == pd.Timestamp(FEB_END)


def test_thresholds_are_configurable():
    quiet = monitor_model(
        FakePipeline(STORED), TABLES, config("monitor.psi_alert=0.3"), as_of=AS_OF
    )
    assert quiet.psi["status"].tolist() == ["warn"]
    assert quiet.exit_code == 0 and quiet.status == "warn"
    churn = monitor_model(
        FakePipeline(STORED),
        TABLES,
        config("monitor.psi_alert=0.3", "monitor.tier_change_alert=0.5"),
        as_of=AS_OF,
    )
    assert churn.alerts == [
        "66.7% of customers changed tier, above monitor.tier_change_alert=0.5"
    ]
    near = monitor_model(
        FakePipeline(STORED),
        TABLES,
        config("monitor.psi_alert=0.3", "monitor.near_threshold_alert=0.4"),
        as_of=AS_OF,
    )
    assert near.alerts == [
        "50.0% of customers are near a tier threshold, above "
        "monitor.near_threshold_alert=0.4"
    ]


def test_json_and_metrics():
    result = monitor_model(FakePipeline(STORED), TABLES, config(), as_of=AS_OF)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "alert" and data["exit_code"] == 3
    assert data["tier_change"] == {
        "customers": 3,
        "changed": 2,
        "up": 1,
        "down": 1,
        "share": pytest.approx(2 / 3),
    }
    assert data["near_threshold"]["count"] == 2
    assert data["drift"][0]["feature"] == "net_spend"
    metrics = result.metrics()
    assert metrics["drift/psi/net_spend"] == pytest.approx(0.25 * math.log(3.0))
    assert metrics["stability/tier_change_share"] == pytest.approx(2 / 3)
    assert metrics["monitor/alert"] == 1.0


def test_a_model_without_snapshot_date_is_a_config_error():
    with pytest.raises(SegmlConfigError, match="neither a reference profile"):
        monitor_model(FakePipeline({}), TABLES, config(), as_of=AS_OF)


def test_logged_run_is_tagged_with_the_model(tmp_path):
    result = monitor_model(
        FakePipeline(STORED),
        TABLES,
        config(),
        as_of=AS_OF,
        model={
            "uri": "runs:/abc/model",
            "name": None,
            "version": None,
            "run_id": "abc",
        },
    )
    cfg = config("mlflow.experiment=monitor-unit-test")
    run_id = log_monitoring(result, cfg)
    run = mlflow.get_run(run_id)
    assert run.data.tags["segml.kind"] == "monitoring"
    assert run.data.tags["segml.monitor.model_run_id"] == "abc"
    assert run.data.tags["segml.monitor.status"] == "alert"
    assert run.data.metrics["stability/near_threshold_count"] == 2.0
    exp = mlflow.get_experiment(run.info.experiment_id)
    assert exp.name == "monitor-unit-test-monitoring"


def test_model_lineage_of_run_and_export_paths(tmp_path):
    assert model_lineage("runs:/0123abc/model")["run_id"] == "0123abc"
    (tmp_path / "model_card.json").write_text(json.dumps({"run_id": "feed"}))
    assert model_lineage(str(tmp_path))["run_id"] == "feed"
    assert model_lineage(str(tmp_path / "pipeline.joblib"))["run_id"] == "feed"


def test_tier_change_follows_the_hysteresis_of_the_config():
    # margin 50 %: c (C at the end of Feb) reaches B's threshold 60 but not
    # 60 x 1.5 = 90, so stays C; b (B) falls to 10, below 60 x 0.5: C
    result = monitor_model(
        FakePipeline(STORED), TABLES, config("tiers.hysteresis=0.5"), as_of=AS_OF
    )
    change = result.tier_change
    assert (change.customers, change.changed, change.up, change.down) == (3, 1, 0, 1)
    # near-threshold counts use the rule's own thresholds (100 and 60)
    assert result.near_count == 2
