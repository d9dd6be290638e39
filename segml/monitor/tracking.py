"""Log a monitoring result to MLflow, linked to the model it monitored.

Called by the ``segml monitor`` entry point only. The run goes to the
experiment ``monitor.experiment`` (default ``<mlflow.experiment>-monitoring``,
apart from the training runs ``segml compare`` ranks) with:

* tags ``segml.kind=monitoring``, ``segml.monitor.status`` and the model's
  ``segml.monitor.model_uri``, ``.model_name``, ``.model_version``,
  ``.model_run_id`` (the training run);
* params: the date, the previous period's end, the reference date and every
  ``monitor.*`` threshold;
* metrics: :meth:`MonitorResult.metrics` (``drift/psi/<feature>``,
  ``drift/psi_max``, ``stability/tier_change_share``, ...);
* artifacts: ``monitor/monitor.json`` and ``monitor/psi.csv``.

When the model is a registered version, the version gets the tags
``segml.monitor.last_run_id``, ``.last_status`` and ``.last_as_of``, so the
registry page shows the latest check.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from segml.config.models import Config
from segml.monitor.run import MonitorResult

__all__ = ["log_monitoring", "model_lineage"]


def model_lineage(model_uri: str) -> dict[str, str | None]:
    """Registered name, version and training run of a model URI, where known.

    ``models:/NAME/VERSION`` and ``models:/NAME@ALIAS`` are looked up in the
    registry, ``runs:/RUN_ID/...`` gives the run, an export folder or joblib
    file its model card's ``run_id``.
    """
    info: dict[str, str | None] = {
        "uri": str(model_uri),
        "name": None,
        "version": None,
        "run_id": None,
    }
    text = str(model_uri)
    if text.startswith("models:/"):
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        ref = text[len("models:/") :].strip("/")
        client = MlflowClient()
        try:
            if "@" in ref:
                name, alias = ref.split("@", 1)
                mv = client.get_model_version_by_alias(name, alias)
            elif "/" in ref:
                name, version = ref.split("/", 1)
                mv = client.get_model_version(name, version)
            else:
                return info
        except MlflowException:
            return info
        info.update(name=mv.name, version=str(mv.version), run_id=mv.run_id)
    elif text.startswith("runs:/"):
        info["run_id"] = text[len("runs:/") :].split("/", 1)[0] or None
    else:
        path = Path(urlparse(text).path if text.startswith("file:") else text)
        card = (path if path.is_dir() else path.parent) / "model_card.json"
        if card.is_file():
            try:
                info["run_id"] = json.loads(card.read_text()).get("run_id")
            except (OSError, ValueError):
                pass
    return info


def log_monitoring(
    result: MonitorResult, cfg: Config, *, json_path: str | Path | None = None
) -> str:
    """Log ``result`` as one MLflow run; return its id."""
    import mlflow
    from mlflow import MlflowClient

    from segml.tracking.store import artifact_location_for, resolve_tracking_uri

    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    experiment = cfg.monitor.experiment or f"{cfg.mlflow.experiment}-monitoring"
    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(
            experiment,
            artifact_location=artifact_location_for(tracking_uri, experiment),
        )
    model = result.model
    tags = {
        "segml.kind": "monitoring",
        "segml.monitor.status": result.status,
        "segml.monitor.as_of": result.as_of.isoformat(),
        **{f"segml.monitor.model_{k}": str(v) for k, v in model.items() if v},
    }
    params = {
        "as_of": result.as_of.isoformat(),
        "previous_as_of": str(result.previous_as_of),
        "reference_as_of": str(result.reference_as_of),
        **{f"monitor.{k}": str(v) for k, v in result.thresholds.items()},
    }
    with mlflow.start_run(
        experiment_id=mlflow.get_experiment_by_name(experiment).experiment_id,
        run_name=f"monitor {result.as_of.date()}",
        tags=tags,
    ) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(result.metrics())
        with tempfile.TemporaryDirectory(prefix="segml-monitor-") as folder:
            target = Path(folder)
            (target / "monitor.json").write_text(
                json.dumps(result.to_dict(), indent=2) + "\n"
            )
            result.psi.to_csv(target / "psi.csv", index=False)
            mlflow.log_artifacts(folder, artifact_path="monitor")
        if json_path is not None:
            mlflow.set_tag("segml.monitor.json", str(Path(json_path).resolve()))
    if model.get("name") and model.get("version"):
        client = MlflowClient()
        for key, value in (
            ("segml.monitor.last_run_id", run.info.run_id),
            ("segml.monitor.last_status", result.status),
            ("segml.monitor.last_as_of", result.as_of.isoformat()),
        ):
            client.set_model_version_tag(model["name"], model["version"], key, value)
    return run.info.run_id
