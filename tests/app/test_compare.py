"""Promotion that protects users, and a comparison that never mixes rules/horizons.

Runs are made by hand in a temporary SQLite store (no training): each test
logs the metrics, params and tags ``segml train`` logs and registers a version.
"""

from __future__ import annotations

import itertools
import math
import warnings

import mlflow
import pandas as pd
import pytest

from segml.app.compare import compare_runs, promote
from segml.errors import SegmlConfigError
from segml.tracking.store import artifact_location_for

EXPERIMENT = "compare-test"
_NAMES = itertools.count()
# start times (ms) given by hand so the newest-group-first order is exact
_CLOCK = itertools.count(1_700_000_000_000, 60_000)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite tracking store of this module only, restored afterwards."""
    folder = tmp_path_factory.mktemp("compare-mlflow")
    uri = f"sqlite:///{folder}/mlflow.db"
    previous = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        yield mlflow.MlflowClient(uri)
    mlflow.set_tracking_uri(previous)


def experiment_id(client, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = artifact_location_for(client.tracking_uri, name)
    return client.create_experiment(name, artifact_location=location)


def log_run(client, experiment, *, metrics=None, params=None, tags=None) -> str:
    """One finished run with these metrics, params and tags; returns its id."""
    from mlflow.entities import Metric, Param, RunTag

    start = next(_CLOCK)
    run = client.create_run(experiment_id(client, experiment), start_time=start)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, start, 0) for k, v in (metrics or {}).items()],
        params=[Param(k, str(v)) for k, v in (params or {}).items()],
        tags=[RunTag(k, v) for k, v in (tags or {}).items()],
    )
    client.set_terminated(run_id, end_time=start + 1)
    return run_id


def register(client, model: str, run_id: str) -> str:
    """A new version of ``model`` made from run ``run_id``; returns the version."""
    if not client.search_registered_models(f"name = '{model}'"):
        client.create_registered_model(model)
    version = client.create_model_version(
        model, source=f"runs:/{run_id}/model", run_id=run_id
    )
    return str(version.version)


def new_run(
    client,
    *,
    lift=(0.01, 0.02),
    shipped=(0.70, 0.40),
    cutoff="2024-06-30",
    rule="count",
    horizon=180,
    eval_horizon=180,
    choice=("model", "model"),
    fingerprint="abc",
):
    """Metrics, params and tags of a run as ``segml train`` now logs them."""
    metrics = {"history/macro_f1": shipped[0], "cold_start/macro_f1": shipped[1]}
    metrics["eval/horizon_days"] = float(eval_horizon)
    for route, s, lift_value in zip(
        ("history", "cold_start"), shipped, lift, strict=True
    ):
        metrics[f"shipped/{route}/macro_f1"] = s
        metrics[f"best_baseline/{route}/macro_f1"] = round(s - lift_value, 6)
        metrics[f"lift/{route}"] = lift_value
    return log_run(
        client,
        EXPERIMENT,
        metrics=metrics,
        params={"tiers.rule": rule, "training.horizon_days": horizon},
        tags={
            "segml.choice.history": choice[0],
            "segml.choice.cold_start": choice[1],
            "eval.test_cutoff": cutoff,
            "data.fingerprint": fingerprint,
        },
    )


@pytest.fixture
def model(store):
    return f"segml-guard-{next(_NAMES)}"


def champion_of(client, model):
    return str(client.get_model_version_by_alias(model, "champion").version)


def lift_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "lift" in str(w.message)]


# --- promote: the best-baseline check ---------------------------------------


def test_negative_lift_is_refused_and_nothing_moves(store, model):
    run = new_run(store, lift=(-0.008, 0.02), shipped=(0.679, 0.40))
    version = register(store, model, run)
    with pytest.raises(SegmlConfigError) as caught:
        promote(model, version=version)
    assert str(caught.value) == (
        f"refusing to promote '{model}' version 1: its history route (ships model) "
        "is below its best baseline, lift -0.0080 macro-F1 (0.6790 vs 0.6870); "
        "--force (force=True) overrides"
    )
    assert "\n" not in str(caught.value)
    assert store.get_registered_model(model).aliases == {}


def test_both_routes_below_are_named_in_one_line(store, model):
    run = new_run(store, lift=(-0.008, -0.05), choice=("model", "logistic"))
    register(store, model, run)
    store.set_registered_model_alias(model, "candidate", "1")
    with pytest.raises(SegmlConfigError, match="history route") as caught:
        promote(model)  # the version the candidate alias points at
    message = str(caught.value)
    assert "cold_start route (ships logistic)" in message
    assert "lift -0.0500" in message
    assert message.count("\n") == 0


def test_force_promotes_a_negative_lift_and_says_so(store, model):
    run = new_run(store, lift=(-0.008, 0.02))
    version = register(store, model, run)
    with pytest.warns(UserWarning, match=r"forced promotion of .*lift -0\.0080"):
        assert promote(model, version=version, force=True) == "1"
    assert champion_of(store, model) == "1"


def test_a_route_shipping_its_baseline_has_lift_zero_and_promotes(store, model):
    run = new_run(store, lift=(0.0, 0.0), choice=("persistence", "majority"))
    version = register(store, model, run)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert promote(model, version=int(version)) == "1"
    assert lift_warnings(caught) == []
    assert champion_of(store, model) == "1"


def test_a_route_the_run_does_not_ship_is_not_checked(store, model):
    run = log_run(
        store,
        EXPERIMENT,
        metrics={"lift/history": 0.01, "shipped/history/macro_f1": 0.7},
        tags={"segml.choice.history": "model"},
    )
    register(store, model, run)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        promote(model, version="1")
    assert lift_warnings(caught) == []
    assert champion_of(store, model) == "1"


def test_old_run_without_lift_warns_and_promotes(store, model):
    run = log_run(
        store,
        EXPERIMENT,
        metrics={"history/macro_f1": 0.6, "all/macro_f1": 0.55},
        params={"tiers.rule": "count", "training.horizon_days": 180},
    )
    version = register(store, model, run)
    with pytest.warns(UserWarning) as caught:
        promote(model, version=version)
    assert lift_warnings(caught) == [
        f"'{model}' version 1: lift over the best baseline is unknown (run "
        f"{run[:8]} logged no lift/<route> metric); promoting without that check"
    ]
    assert champion_of(store, model) == "1"


def test_nan_lift_counts_as_unknown(store, model):
    run = log_run(store, EXPERIMENT, metrics={"lift/history": math.nan})
    register(store, model, run)
    promote(model, version="1")  # NaN is not below anything
    assert champion_of(store, model) == "1"


def test_unknown_version_is_one_line(store, model):
    register(store, model, new_run(store))
    with pytest.raises(SegmlConfigError, match=f"cannot promote '{model}'"):
        promote(model, version="7")


# --- promote: the champion check ---------------------------------------------


def test_below_the_champion_on_the_same_test_is_refused(store, model):
    register(store, model, new_run(store, shipped=(0.70, 0.40)))
    promote(model, version="1")
    register(store, model, new_run(store, shipped=(0.68, 0.41)))
    with pytest.raises(SegmlConfigError) as caught:
        promote(model, version="2")
    assert str(caught.value) == (
        f"refusing to promote '{model}' version 2: shipped/history/macro_f1 "
        "0.6800 is below champion version 1 (0.7000, -0.0200) on the same test "
        "(cutoff 2024-06-30); --force (force=True) overrides"
    )
    assert champion_of(store, model) == "1"
    with pytest.warns(UserWarning, match="forced promotion"):
        promote(model, version="2", force=True)
    assert champion_of(store, model) == "2"


def test_at_or_above_the_champion_on_the_same_test_promotes(store, model):
    register(store, model, new_run(store, shipped=(0.70, 0.40)))
    promote(model, version="1")
    register(store, model, new_run(store, shipped=(0.70, 0.45)))
    assert promote(model, version="2") == "2"
    assert promote(model, version="2") == "2"  # re-promoting the champion itself


@pytest.mark.parametrize(
    "other",
    [
        {"cutoff": "2024-07-31"},  # new data: the test moved on
        {"rule": "value"},
        {"horizon": 91, "eval_horizon": 91},
        {"eval_horizon": 91},  # short history: tested on a shorter window
        {"fingerprint": "def"},  # same cutoff, other data
    ],
)
def test_a_champion_scored_on_another_test_is_not_compared(store, model, other):
    register(store, model, new_run(store, shipped=(0.90, 0.90)))
    promote(model, version="1")
    register(store, model, new_run(store, shipped=(0.60, 0.30), **other))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert promote(model, version="2") == "2"
    assert [str(w.message) for w in caught if "champion" in str(w.message)] == []
    assert champion_of(store, model) == "2"


def test_old_champion_without_a_test_tag_is_not_compared(store, model):
    old = log_run(store, EXPERIMENT, metrics={"all/macro_f1": 0.9})
    register(store, model, old)
    with pytest.warns(UserWarning, match="unknown"):
        promote(model, version="1")
    register(store, model, new_run(store, shipped=(0.5, 0.3)))
    assert promote(model, version="2") == "2"


def test_champion_without_shipped_metrics_is_compared_on_all(store, model):
    def run(score):
        return log_run(
            store,
            EXPERIMENT,
            metrics={"lift/history": 0.0, "all/macro_f1": score},
            tags={"eval.test_cutoff": "2024-06-30"},
        )

    register(store, model, run(0.6))
    promote(model, version="1")
    register(store, model, run(0.5))
    with pytest.raises(SegmlConfigError, match=r"all/macro_f1 0\.5000 is below"):
        promote(model, version="2")


# --- compare_runs -------------------------------------------------------------


@pytest.fixture(scope="module")
def experiment(store):
    """Six runs: two rules, two horizons, a short-history test and an old run."""
    name = "compare-groups"

    def run(score, rule, horizon, *, eval_horizon=None, lift=None, choice=None):
        metrics = {"history/macro_f1": score}
        if eval_horizon is not None:
            metrics["eval/horizon_days"] = eval_horizon
        tags = {}
        if lift is not None:
            metrics |= {"lift/history": lift, "lift/cold_start": 0.0}
            tags = {
                "segml.choice.history": choice,
                "segml.choice.cold_start": "majority",
                "eval.test_cutoff": "2024-06-30",
            }
        params = {"tiers.rule": rule, "training.horizon_days": horizon}
        return log_run(store, name, metrics=metrics, params=params, tags=tags)[:8]

    ids = {
        "old": run(0.75, "count", 180),  # before lift metrics: NaN, None
        "count_low": run(0.60, "count", 180, eval_horizon=180, lift=-0.01,
                         choice="model"),
        "value": run(0.65, "value", 180, eval_horizon=180, lift=0.0,
                     choice="persistence"),
        "short": run(0.90, "count", 180, eval_horizon=91, lift=0.02, choice="model"),
        "count_high": run(0.70, "count", 180, eval_horizon=180, lift=0.03,
                          choice="model"),
    }  # fmt: skip
    return name, ids


def test_compare_ranks_only_within_comparable_groups(experiment):
    name, ids = experiment
    table = compare_runs(name)
    # newest group first (count_high is the last run), best first inside it; the
    # 0.90 of the 91-day test is never ranked above the 180-day runs of its rule
    assert table["run_id"].tolist() == [
        ids["old"],
        ids["count_high"],
        ids["count_low"],
        ids["short"],
        ids["value"],
    ]
    assert table["comparable_group"].tolist() == [
        "rule=count, horizon=180d",
        "rule=count, horizon=180d",
        "rule=count, horizon=180d",
        "rule=count, horizon=180d, tested on 91d",
        "rule=value, horizon=180d",
    ]
    assert table.columns[:9].tolist() == [
        "comparable_group",
        "run_id",
        "start",
        "history/macro_f1",
        "lift/history",
        "lift/cold_start",
        "choice/history",
        "choice/cold_start",
        "test_cutoff",
    ]
    assert table["lift/history"].tolist()[:3] == pytest.approx(
        [math.nan, 0.03, -0.01], nan_ok=True
    )
    assert table["choice/history"].tolist() == [
        None,
        "model",
        "model",
        "model",
        "persistence",
    ]
    # rule and horizon are in the group label, not repeated as params
    assert "tiers.rule" not in table and "training.horizon_days" not in table
    assert table.attrs["note"].startswith(
        "3 comparable groups (different tiers.rule or horizon): history/macro_f1 "
        "is ranked within each group only"
    )


def test_compare_filters_by_rule_and_horizon(experiment):
    name, ids = experiment
    table = compare_runs(name, rule="value")
    assert table["run_id"].tolist() == [ids["value"]]
    assert table.attrs["note"].startswith(
        "history/macro_f1 best first within one comparable group"
    )
    table = compare_runs(name, rule="count", horizon_days=180, top=2)
    assert table["run_id"].tolist() == [ids["old"], ids["count_high"]]
    with pytest.raises(SegmlConfigError) as caught:
        compare_runs(name, horizon_days=91)
    assert str(caught.value) == (
        "no run of 'compare-groups' has training.horizon_days=91; logged: 180"
    )


def test_compare_by_lift_and_old_experiments_without_new_names(store, experiment):
    name, ids = experiment
    table = compare_runs(name, metric="lift/history")
    assert table["lift/history"].tolist()[:3] == pytest.approx(
        [0.03, -0.01, math.nan], nan_ok=True
    )
    assert table["run_id"].tolist()[:3] == [ids["count_high"], ids["count_low"],
                                            ids["old"]]  # fmt: skip
    log_run(store, "compare-old", metrics={"history/macro_f1": 0.5})
    table = compare_runs("compare-old")
    assert table["comparable_group"].tolist() == ["rule=?, horizon=?"]
    assert math.isnan(table["lift/history"].iloc[0])
    assert table["choice/cold_start"].tolist() == [None]
    assert isinstance(table, pd.DataFrame)


def test_plot_colours_each_group_and_keeps_the_table_order(experiment):
    from segml.app.compare import plot_comparison

    table = compare_runs(experiment[0])
    ax = plot_comparison(table, "history/macro_f1").axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "rule=count, horizon=180d",
        "rule=count, horizon=180d, tested on 91d",
        "rule=value, horizon=180d",
    ]
    heights = [round(bar.get_height(), 4) for bar in ax.patches]
    assert heights == [0.75, 0.70, 0.60, 0.90, 0.65]
    assert len({bar.get_facecolor() for bar in ax.patches}) == 3
