"""What segml loads is what its run wrote: every file checked, nothing left behind.

A tiny pipeline (cold-start route fitted; history route too small, so it
predicts its prior) is exported and logged once per module. Tampering happens
on copies, never on the logged model itself.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from packaging.requirements import Requirement

from segml.errors import SegmlDataError
from segml.model import TierPredictor
from segml.persist import (
    MANIFEST_NAME,
    ModelIntegrityError,
    export_model,
    load_model_file,
)
from segml.pipeline import SegmlPipeline
from segml.tracking.model import (
    column_kinds,
    load_verified,
    log_pipeline_model,
    model_signature,
    pip_requirements,
)
from segml.tracking.runs import (
    HOST_TAG,
    KILLED_REASON_TAG,
    PID_TAG,
    STARTED_TAG,
    close_stale_runs,
    process_tags,
)

ROOT = Path(__file__).resolve().parents[2]
ATTRIBUTES = ["industry", "region", "is_partner", "employees"]
HISTORY = ["orders", "recency_days"]
EXPERIMENT = "segml-trust"
REGISTERED = "segml-trust-tier"


def tiny_data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Leads whose tier follows industry; only 10 rows with history."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(["retail", "tech", "health"], n)
    has_history = np.arange(n) < 10
    latent = pd.Series(industry).map({"retail": 0.0, "tech": 2.0, "health": 4.0})
    latent = latent.to_numpy() + rng.normal(0, 0.5, n)
    q80, q95 = np.quantile(latent, [0.80, 0.95])
    tier = np.where(latent >= q95, "A", np.where(latent >= q80, "B", "C"))
    X = pd.DataFrame(
        {
            "has_history": has_history,
            "orders": np.where(has_history, 3.0, 0.0),
            "recency_days": np.where(has_history, 20.0, np.nan),
            "industry": pd.array(industry, dtype="str"),
            "region": pd.array(rng.choice(["north", "south"], n), dtype="str"),
            "is_partner": rng.random(n) < 0.3,
            "employees": rng.integers(1, 500, n).astype(float),
        },
        index=pd.Index([f"c{i:04d}" for i in range(n)], name="customer_id"),
    )
    return X, pd.Series(tier, index=X.index)


def tiny_pipeline() -> SegmlPipeline:
    X, y = tiny_data()
    predictor = TierPredictor(attributes=ATTRIBUTES, n_estimators=10).fit(X, y)
    return SegmlPipeline(
        predictor=predictor, attributes=ATTRIBUTES, history_features=HISTORY
    )


def lead_example() -> pd.DataFrame:
    """The degenerate input example: leads only, every attribute missing."""
    return pd.DataFrame(
        {
            "customer_id": ["e1", "e2"],
            "has_history": [False, False],
            **{column: [np.nan, np.nan] for column in ATTRIBUTES + HISTORY},
        }
    )


def real_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["r1", "r2", "r3"],
            "industry": ["health", "retail", "tech"],
            "region": ["north", "south", None],
            "is_partner": [True, False, True],
            "employees": [12.0, np.nan, 300.0],
        }
    )


def log_tiny(pipeline: SegmlPipeline, folder: Path, registered: str | None):
    export_dir = export_model(pipeline, folder / "export")
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        mlflow.create_experiment(
            EXPERIMENT, artifact_location=(folder / "mlruns").as_uri()
        )
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run():
        info = log_pipeline_model(
            export_dir, pipeline, lead_example(), registered_model=registered
        )
    return export_dir, info


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trust")
    pipeline = tiny_pipeline()
    export_dir, info = log_tiny(pipeline, folder, REGISTERED)
    local = Path(mlflow.artifacts.download_artifacts(info.model_uri))
    return pipeline, export_dir, info, local


def registered_uri(logged) -> str:
    return f"models:/{REGISTERED}/{logged[2].registered_model_version}"


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


# --- the export folder -----------------------------------------------------


def test_untouched_export_loads_and_predicts_the_same(logged):
    pipeline, export_dir, _, _ = logged
    card = json.loads((export_dir / "model_card.json").read_text())
    assert set(card["files"]) == {"pipeline.joblib"}
    loaded = load_model_file(export_dir)
    pd.testing.assert_frame_equal(
        loaded.predict(real_rows()), pipeline.predict(real_rows())
    )


def test_export_changed_file_is_named(logged, tmp_path):
    copy = copy_of(logged[1], tmp_path)
    with open(copy / "pipeline.joblib", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelIntegrityError, match=r"changed: pipeline\.joblib \("):
        load_model_file(copy)


def test_export_added_file_is_named(logged, tmp_path):
    copy = copy_of(logged[1], tmp_path)
    (copy / "sitecustomize.py").write_text("print('hi')\n")
    with pytest.raises(ModelIntegrityError, match=r"added: sitecustomize\.py\."):
        load_model_file(copy / "pipeline.joblib")


def test_export_missing_file_is_named(logged, tmp_path):
    copy = copy_of(logged[1], tmp_path)
    (copy / "pipeline.joblib").unlink()
    with pytest.raises(ModelIntegrityError, match=r"missing: pipeline\.joblib\."):
        load_model_file(copy)


def test_export_into_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError, match=r"notes\.txt"):
        export_model(object(), tmp_path)


def test_signing_key_checks_authenticity(logged, tmp_path, monkeypatch):
    pipeline = logged[0]
    monkeypatch.setenv("SEGML_SIGNING_KEY", "k1")
    signed = export_model(pipeline, tmp_path / "signed")
    assert len(json.loads((signed / "model_card.json").read_text())["signature"]) == 64
    load_model_file(signed)  # same key: loads
    # a card edited by hand (its manifest made to match) fails the signature
    card = json.loads((signed / "model_card.json").read_text())
    card["metrics"] = {"history/macro_f1": 0.99}
    (signed / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelIntegrityError, match="does not verify"):
        load_model_file(signed)
    # an unsigned export is refused while a key is set
    with pytest.raises(ModelIntegrityError, match="is not signed"):
        load_model_file(logged[1])
    monkeypatch.setenv("SEGML_SIGNING_KEY", "k2")
    resigned = export_model(pipeline, tmp_path / "other-key")
    monkeypatch.setenv("SEGML_SIGNING_KEY", "k1")
    with pytest.raises(ModelIntegrityError, match="does not verify"):
        load_model_file(resigned)


# --- the logged MLflow model -----------------------------------------------


def test_logged_model_manifest_covers_every_file(logged):
    local = logged[3]
    manifest = json.loads((local / MANIFEST_NAME).read_text())
    files = set(manifest["files"])
    assert {
        "MLmodel",
        "_pyfunc_model.py",
        "artifacts/pipeline.joblib",
        "artifacts/model_card.json",
        "requirements.txt",
        "code/segml/persist.py",
    } <= files
    on_disk = {
        p.relative_to(local).as_posix()
        for p in local.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    meta = {"registered_model_meta"} & on_disk  # written by MLflow on download
    assert on_disk - files == {MANIFEST_NAME} | meta


def test_logging_validates_the_example_without_warnings(tmp_path, caplog):
    """MLflow loads the saved model to check the serving example before the
    manifest exists: that check must pass, not warn and skip."""
    with caplog.at_level(logging.WARNING):
        log_tiny(tiny_pipeline(), tmp_path, registered=None)
    assert [
        r.getMessage()[:60] for r in caplog.records if r.name.startswith("mlflow")
    ] == []


def test_untouched_logged_model_loads_and_predicts_the_same(logged):
    pipeline, _, info, _ = logged
    model = mlflow.pyfunc.load_model(registered_uri(logged))
    served = model.predict(real_rows())
    pd.testing.assert_frame_equal(served, pipeline.predict(real_rows()))
    assert load_verified(info.model_uri).predict(real_rows()).equals(served)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("append _pyfunc_model.py", r"changed: _pyfunc_model\.py \("),
        ("append code/segml/persist.py", r"changed: code/segml/persist\.py \("),
        ("add code/segml/extra.py", r"added: code/segml/extra\.py\."),
        ("remove input_example.json", r"missing: input_example\.json\."),
        ("append artifacts/pipeline.joblib", r"changed: artifacts/pipeline\.joblib"),
    ],
)
def test_tampered_logged_model_is_refused_naming_the_file(
    logged, tmp_path, change, named
):
    copy = copy_of(logged[3], tmp_path)
    action, relative = change.split(" ", 1)
    marker = tmp_path / "ran"
    if action == "append":
        with open(copy / relative, "ab") as fh:
            fh.write(f"\nopen({str(marker)!r}, 'w').write('x')\n".encode())
    elif action == "add":
        (copy / relative).write_text("x = 1\n")
    else:
        (copy / relative).unlink()
    with pytest.raises(ModelIntegrityError, match=named):
        load_verified(str(copy))  # checked before any of the model's code runs
    assert not marker.exists()
    with pytest.raises(ModelIntegrityError, match=named):
        mlflow.pyfunc.load_model(str(copy))  # and again inside load_context


def test_logged_model_without_manifest_is_refused(logged, tmp_path):
    copy = copy_of(logged[3], tmp_path)
    (copy / MANIFEST_NAME).unlink()
    with pytest.raises(ModelIntegrityError, match=f"no {MANIFEST_NAME}"):
        mlflow.pyfunc.load_model(str(copy))


def test_loading_leaves_no_temporary_copy(logged, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for _ in range(2):
        model = mlflow.pyfunc.load_model(registered_uri(logged))
        model.predict(real_rows())
    assert sorted(p.name for p in tmp_path.glob("segml-*")) == []


# --- requirements ----------------------------------------------------------------


def test_requirements_pin_every_runtime_dependency(monkeypatch):
    import importlib.metadata
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [Requirement(r).name for r in project["dependencies"]]
    pins = pip_requirements()
    pinned = [p.split("==")[0].split("[")[0] for p in pins]
    assert pinned[: len(names)] == names
    assert "matplotlib" in pinned  # imported by the pickled segmenter
    assert pins[pinned.index("matplotlib")] == (
        f"matplotlib=={importlib.metadata.version('matplotlib')}"
    )
    assert "ibis-framework[duckdb]" in [p.split("==")[0] for p in pins]
    # the fast extra only where installed
    real_version = importlib.metadata.version

    def without_fast(name):
        if name in ("lleaves", "llvmlite"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", without_fast)
    assert [p.split("==")[0] for p in pip_requirements()] == [
        p.split("==")[0] for p in pins if not p.startswith(("lleaves", "llvmlite"))
    ]


# --- signature and booleans --------------------------------------------------


def test_signature_types_come_from_the_pipeline_not_the_example(logged):
    pipeline = logged[0]
    kinds = column_kinds(pipeline)
    assert {c: kinds[c] for c in ATTRIBUTES + HISTORY} == {
        "industry": "string",
        "region": "string",
        "is_partner": "boolean",
        "employees": "double",
        # the history route predicts its prior: no model reads these
        "orders": "any",
        "recency_days": "any",
    }
    inputs = model_signature(pipeline).inputs
    assert inputs.input_dict()["industry"].type.name == "string"
    assert inputs.required_input_names() == ["customer_id"]
    outputs = model_signature(pipeline).outputs.input_names()
    assert outputs == pipeline.output_columns


def test_logged_model_scores_real_rows_after_an_all_missing_example(logged):
    pipeline = logged[0]
    model = mlflow.pyfunc.load_model(logged[2].model_uri)
    rows = real_rows().assign(orders=["2", None, "0"])  # text numbers: read as any
    expected = pipeline.predict(rows)
    pd.testing.assert_frame_equal(model.predict(rows), expected)
    assert expected["route"].tolist() == ["history", "cold_start", "cold_start"]


@pytest.mark.parametrize(
    ("sent", "route"),
    [
        (["False", "true", "0", "YES", None], [0, 1, 0, 1, 0]),
        ([False, True, False, True, False], [0, 1, 0, 1, 0]),
        (["false", "", "no", "1", "True"], [0, 0, 0, 1, 1]),
    ],
)
def test_has_history_strings_are_read_strictly(logged, sent, route):
    model = mlflow.pyfunc.load_model(logged[2].model_uri)
    rows = pd.DataFrame(
        {"customer_id": [f"x{i}" for i in range(5)], "industry": "tech"}
    ).assign(has_history=pd.Series(sent, dtype=object))
    served = model.predict(rows)
    assert served["route"].tolist() == [("cold_start", "history")[k] for k in route]


def test_has_history_that_is_not_a_boolean_is_rejected(logged):
    model = mlflow.pyfunc.load_model(logged[2].model_uri)
    rows = pd.DataFrame({"customer_id": ["a", "b"], "has_history": ["true", "maybe"]})
    with pytest.raises(Exception, match="has_history") as caught:
        model.predict(rows)
    message = str(caught.value)
    assert "table 'scoring input', column 'has_history'" in message
    assert "values must be true or false" in message and "maybe" in message
    assert isinstance(caught.value.__cause__, SegmlDataError)


def test_boolean_attribute_strings_are_read_strictly(logged):
    pipeline = logged[0]
    model = mlflow.pyfunc.load_model(logged[2].model_uri)
    as_text = real_rows().assign(is_partner=["True", "false", "1"])
    pd.testing.assert_frame_equal(model.predict(as_text), pipeline.predict(real_rows()))
    with pytest.raises(Exception, match="column 'is_partner'"):
        model.predict(real_rows().assign(is_partner=["True", "nope", "1"]))


# --- runs left RUNNING by a killed process -------------------------------------

RUN_AND_SLEEP = """
import sys, time
import mlflow
from segml.tracking.runs import process_tags
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
run = mlflow.start_run(tags=process_tags())
mlflow.set_tag("segml.export_dir", "/models/m-1")
print(run.info.run_id, flush=True)
time.sleep(600)
"""


def _start_logging_process(uri: str, experiment: str, cwd: Path):
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_AND_SLEEP, uri, experiment],
        stdout=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    return proc, proc.stdout.readline().strip()


def test_runs_of_killed_processes_are_marked_killed(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    experiment = "segml-stale"
    killed, killed_id = _start_logging_process(uri, experiment, tmp_path)
    live, live_id = _start_logging_process(uri, experiment, tmp_path)
    try:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        client = mlflow.MlflowClient(uri)
        assert client.get_run(killed_id).info.status == "RUNNING"
        assert close_stale_runs(experiment, tracking_uri=uri) == [killed_id]
        run = client.get_run(killed_id)
        assert run.info.status == "KILLED"
        assert run.info.end_time is not None
        assert run.data.tags[KILLED_REASON_TAG].startswith(
            f"process {killed.pid} on {socket.gethostname()} that logged the run "
            "is gone; its export folder /models/m-1 may have no registered model ("
        )
        assert client.get_run(live_id).info.status == "RUNNING"  # alive: untouched
        assert close_stale_runs(experiment, tracking_uri=uri) == []
    finally:
        live.kill()
        live.wait(timeout=30)
        killed.stdout.close()
        live.stdout.close()


def test_stale_runs_elsewhere_need_age_and_reused_ids_are_caught(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = mlflow.MlflowClient(uri)
    experiment_id = client.create_experiment(
        "segml-stale-2", artifact_location=(tmp_path / "mlruns").as_uri()
    )
    now_ms = int(time.time() * 1000)
    hour_ms = 3_600_000

    def run(tags: dict[str, str], age_hours: float = 0.0) -> str:
        start = now_ms - int(age_hours * hour_ms)
        return client.create_run(experiment_id, start_time=start, tags=tags).info.run_id

    here = process_tags()
    elsewhere = {PID_TAG: "4242", HOST_TAG: "other-host"}
    old_elsewhere = run(elsewhere, age_hours=100)
    recent_elsewhere = run(elsewhere, age_hours=1)
    reused_pid = run({**here, STARTED_TAG: "1"})  # this pid, another start time
    this_process = run(here)  # alive
    closed = close_stale_runs("segml-stale-2", tracking_uri=uri)
    assert sorted(closed) == sorted([old_elsewhere, reused_pid])
    reasons = {r: client.get_run(r).data.tags.get(KILLED_REASON_TAG) for r in closed}
    assert reasons[old_elsewhere].startswith(
        "RUNNING for 100 h (over 72 h), started by process 4242 on other-host"
    )
    assert "the id now belongs to another process" in reasons[reused_pid]
    for run_id in (recent_elsewhere, this_process):
        assert client.get_run(run_id).info.status == "RUNNING"
    assert close_stale_runs("no-such-experiment", tracking_uri=uri) == []


def test_training_runs_carry_the_process_tags(trained):
    run = mlflow.MlflowClient(trained.tracking_uri).get_run(trained.run_id)
    tags = run.data.tags
    assert tags[PID_TAG] == str(os.getpid())
    assert tags[HOST_TAG] == socket.gethostname()
    assert tags[STARTED_TAG] == process_tags()[STARTED_TAG]
    assert tags["segml.export_dir"] == str(trained.export_dir)
    assert run.info.status == "FINISHED"
