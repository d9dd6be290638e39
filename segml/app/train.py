"""``segml train``: the main job, from config to a registered MLflow model."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from segml.app.artifacts import write_artifacts
from segml.app.fit import FitOutcome, fit_everything
from segml.app.paths import check_writable
from segml.app.tables import fingerprints, load_tables
from segml.config import Config, flatten, load_config

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    """What a training run produced."""

    run_id: str
    model_uri: str
    registered_model: str | None
    version: str | None
    metrics: dict[str, float]
    tracking_uri: str
    experiment: str
    export_dir: Path
    outcome: FitOutcome | None = field(default=None, repr=False)
    tags: dict[str, str] = field(default_factory=dict)
    report_uri: str | None = None

    def summary(self) -> str:
        """A few lines saying what the run chose, where it is, how to look at it."""
        store = self.tracking_uri
        return (
            f"MLflow run {self.run_id} in experiment '{self.experiment}'\n"
            f"  tracking store: {store}\n"
            f"  model:          {self.model_uri}\n"
            f"  exported to:    {self.export_dir}\n"
            + (f"  report:         {self.report_uri}\n" if self.report_uri else "")
            + f"{self.choices()}\n"
            f"look at it:  mlflow ui --backend-store-uri {store}\n"
            f"compare:     segml compare --experiment {self.experiment}\n"
            f"promote:     segml promote --name {self.registered_model}"
        )

    def choices(self) -> str:
        """What each route ships, its out-of-time macro-F1 and lift over the
        best baseline (the obvious answer a user would have without segml)."""
        m, tags = self.metrics, self.tags
        lines = []
        if "eval/horizon_days" in m:
            lines.append(
                f"out-of-time test at {tags.get('eval.test_cutoff', '?')} over "
                f"{m['eval/horizon_days']:.0f} days; each route ships the model "
                "or, where it did not clearly win on the earlier cutoffs, the best "
                "baseline (or the blend of persistence and BG/NBD):"
            )
        else:
            lines.append("no out-of-time test: the history is too short for one")
        for route in ("history", "cold_start"):
            chosen = tags.get(f"segml.choice.{route}", "model")
            line = f"  {route:<10} ships {chosen:<12}"
            if f"shipped/{route}/macro_f1" in m:
                best = tags.get(f"segml.best_baseline.{route}", "?")
                line += (
                    f" macro-F1 {m[f'shipped/{route}/macro_f1']:.4f}"
                    f" (model {m.get(f'{route}/macro_f1', float('nan')):.4f})"
                )
                if f"lift/{route}" in m:
                    lift = m[f"lift/{route}"]
                    line += (
                        f", best baseline {best} "
                        f"{m[f'best_baseline/{route}/macro_f1']:.4f}, "
                        f"lift {lift:+.4f}"
                    )
                    band = (m.get(f"lift/{route}/p05"), m.get(f"lift/{route}/p95"))
                    if None not in band:
                        line += f" (90% band {band[0]:+.3f}..{band[1]:+.3f})"
                    if lift < 0:
                        line += "  BELOW THE BASELINE"
                        if band[1] is not None and band[1] > 0:
                            line += " (within the noise of the test)"
            lines.append(line)
        for key in sorted(tags):
            if key.startswith("segml.plan.note"):
                lines.append(f"  note: {tags[key]}")
        return "\n".join(lines)


class _Steps:
    """One line per step on stderr, with its duration (silent when quiet)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet, self.i = total, quiet, 0
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.i += 1
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(
                f"[{self.i}/{self.total}] {message} (t={elapsed:.1f}s)",
                file=sys.stderr,
                flush=True,
            )


def train(
    config: Config | str | os.PathLike | None = None,
    *,
    overrides: tuple[str, ...] | list[str] = (),
    quiet: bool = False,
) -> TrainResult:
    """Train on the configured data and log one MLflow run.

    Loads the tables, builds the rolling-origin training set, evaluates out of
    time on the latest cutoff whose horizon is complete (with a model trained
    only on label windows that end by it) beside the baselines, refits on the
    cutoffs up to the last day in the data, fits
    tiers and segments on the latest snapshot, and logs params, tags, metrics,
    artifacts and the pipeline (registered with the alias ``candidate``).

    Parameters
    ----------
    config : Config, path or None
        A validated config, a YAML path, or ``None`` for the defaults.
    overrides : sequence of str
        ``key=value`` overrides applied to a YAML config.
    quiet : bool
        Do not print progress.
    """
    import mlflow

    from segml._version import __version__
    from segml.persist import export_model
    from segml.report import ModelEvidence, build_report
    from segml.tracking.lineage import log_training_data, version_description
    from segml.tracking.model import log_pipeline_model
    from segml.tracking.store import artifact_location_for, resolve_tracking_uri

    cfg = config if isinstance(config, Config) else load_config(config, overrides)
    check_writable(cfg.models_dir, "models_dir")
    step = _Steps(8, quiet)
    step(f"loading data ({cfg.data.source})")
    tables = load_tables(cfg.data)
    fingerprint, table_digests = fingerprints(tables)
    outcome = fit_everything(cfg, tables, step=step)

    step("logging the MLflow run")
    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    experiment = cfg.mlflow.experiment
    if mlflow.get_experiment_by_name(experiment) is None:
        location = cfg.mlflow.artifact_location or artifact_location_for(
            tracking_uri, experiment
        )
        mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    from segml.tracking.runs import close_stale_runs, process_tags

    closed = close_stale_runs(experiment, tracking_uri=tracking_uri)
    if closed and not quiet:
        print(
            f"marked {len(closed)} run(s) of '{experiment}' left RUNNING by a "
            f"process that is gone as KILLED: {', '.join(closed)}",
            file=sys.stderr,
        )
    # the process's id, host and start time: a later run can tell it died
    with mlflow.start_run(tags=process_tags()) as run:
        mlflow.set_tags(
            {
                "segml.version": __version__,
                "data.fingerprint": fingerprint,
                "data.source": cfg.data.source,
                **({"git.commit": c} if (c := _git_commit()) else {}),
                **outcome.tags,
            }
        )
        mlflow.log_params(
            {k: _param(v) for k, v in flatten(cfg).items()}, synchronous=True
        )
        mlflow.log_metrics(outcome.metrics)
        log_training_data(tables, cfg.data, table_digests)
        export_dir = (
            Path(cfg.models_dir)
            / f"{cfg.mlflow.registered_model}-{run.info.run_id[:8]}"
        )
        mlflow.set_tag("segml.export_dir", str(export_dir.resolve()))
        export_model(
            outcome.pipeline,
            export_dir,
            metrics=outcome.metrics,
            data_fingerprint=fingerprint,
            extra={"run_id": run.info.run_id, "config": cfg.model_dump(mode="json")},
        )
        with tempfile.TemporaryDirectory(prefix="segml-report-") as folder:
            write_artifacts(Path(folder), cfg, outcome)
            build_report(
                tables.transactions,
                tables.customers,
                tables.events,
                config=cfg,
                out=Path(folder) / "report.html",
                model=ModelEvidence.from_outcome(
                    outcome, name=f"run {run.info.run_id[:8]}"
                ),
            )
            mlflow.log_artifacts(folder, artifact_path="report")
        report_uri = mlflow.get_artifact_uri("report/report.html")
        info = log_pipeline_model(
            export_dir,
            outcome.pipeline,
            outcome.input_example,
            registered_model=cfg.mlflow.registered_model,
            description=version_description(cfg, outcome.metrics, outcome.tags),
        )
    version = (
        str(info.registered_model_version) if info.registered_model_version else None
    )
    model_uri = (
        f"models:/{cfg.mlflow.registered_model}/{version}"
        if version
        else info.model_uri
    )
    step("done")
    return TrainResult(
        run_id=run.info.run_id,
        model_uri=model_uri,
        registered_model=cfg.mlflow.registered_model,
        version=version,
        metrics=outcome.metrics,
        tracking_uri=tracking_uri,
        experiment=experiment,
        export_dir=export_dir.resolve(),
        outcome=outcome,
        tags=dict(outcome.tags),
        report_uri=report_uri,
    )


def _param(value: object) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."


def _git_commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None
