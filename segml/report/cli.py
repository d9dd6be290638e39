"""``segml report``: the command, and reading a model's run evidence from MLflow.

This module is an entry point: it reads the config, loads the tables and the
model, asks MLflow for the training run's metrics, tags and logged charts, and
hands plain values to :func:`segml.report.build_report`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from segml.errors import SegmlConfigError

__all__ = ["model_evidence", "report", "run_id_of"]


def run_id_of(model_uri: str) -> str | None:
    """The MLflow run that logged ``model_uri`` (a model/run URI or an export
    folder whose model card names it); ``None`` when it cannot be told."""
    path = Path(model_uri)
    card = (
        path / "model_card.json" if path.is_dir() else path.with_name("model_card.json")
    )
    if not model_uri.startswith(("models:/", "runs:/")) and card.is_file():
        return json.loads(card.read_text()).get("run_id")
    if model_uri.startswith("runs:/"):
        return model_uri[len("runs:/") :].split("/", 1)[0] or None
    if model_uri.startswith("models:/"):
        from mlflow.models import get_model_info

        try:
            return get_model_info(model_uri).run_id
        except Exception as exc:  # noqa: BLE001  any MLflow failure: no run
            raise SegmlConfigError(f"model {model_uri!r} not found: {exc}") from exc
    return None


def model_evidence(model_uri: str, *, tracking_uri: str | None = None):
    """A :class:`~segml.report.ModelEvidence` for a logged model: the pipeline,
    and its training run's metrics, tags, confusion tables and calibration chart
    (from the run's ``report/`` artifacts) when the run is found."""
    import mlflow
    import pandas as pd

    from segml.report.model import ModelEvidence
    from segml.scoring import load_pipeline
    from segml.tracking.store import resolve_tracking_uri

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    pipeline = load_pipeline(model_uri)
    evidence = ModelEvidence(pipeline=pipeline, name=model_uri)
    run_id = run_id_of(model_uri)
    if run_id is None:
        return evidence
    client = mlflow.MlflowClient()
    try:
        run = client.get_run(run_id)
    except Exception:  # noqa: BLE001  a model whose run is gone: no evidence
        return evidence
    evidence.metrics = dict(run.data.metrics)
    evidence.tags = dict(run.data.tags)
    for route in ("history", "cold_start"):
        local = _artifact(client, run_id, f"report/confusion_{route}.csv")
        if local is not None:
            table = pd.read_csv(local, index_col=0)
            table.index = table.index.astype("str")
            table.columns = table.columns.astype("str")
            table.index.name, table.columns.name = "true", "predicted"
            evidence.confusion[route] = table
    local = _artifact(client, run_id, "report/calibration.png")
    if local is not None:
        evidence.images["calibration.png"] = Path(local).read_bytes()
    return evidence


def _artifact(client, run_id: str, path: str) -> str | None:
    try:
        return client.download_artifacts(run_id, path)
    except Exception:  # noqa: BLE001  an artifact the run did not log
        return None


@click.command("report")
@click.option(
    "--config",
    "config_path",
    type=click.Path(),
    help="YAML config (default: configs/default.yaml if present, else defaults).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set tiers.rule=value.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Report as of this ISO 8601 date (default: the last transaction).",
)
@click.option(
    "--period",
    type=click.Choice(["month", "quarter", "year"]),
    default="month",
    show_default=True,
    help="Tiers at each period end.",
)
@click.option(
    "--compare-to",
    "compare_to",
    default=None,
    help="Migration from the period holding this date or label (e.g. "
    "1997-03) to the last one (default: the previous period).",
)
@click.option(
    "--periods",
    "n_periods",
    type=click.IntRange(min=2),
    default=12,
    show_default=True,
    help="Number of periods shown.",
)
@click.option(
    "--window-days",
    type=click.IntRange(min=1),
    default=None,
    help="Value = net amount over this many days up to each period end "
    "(default: the period itself).",
)
@click.option(
    "--model",
    "model_uri",
    default=None,
    help="Add the model, drift and stability sections for this model "
    "URI (models:/segml-tier@champion), run URI or export path.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=25,
    show_default=True,
    help="Customers listed per list of movers.",
)
@click.option("--out", required=True, help="The HTML file to write.")
def report(
    config_path,
    overrides,
    as_of,
    period,
    compare_to,
    n_periods,
    window_days,
    model_uri,
    top,
    out,
) -> None:
    """Write one self-contained HTML tier report (opens offline, no server).

    Tiers per period, Pareto / Lorenz curve, migration with rising stars and
    fallers, RFM grid and segments, cluster profiles; with --model also the
    model's out-of-time evaluation, its predictions, drift and stability.
    """
    from segml.app.paths import check_writable
    from segml.app.tables import load_tables
    from segml.cli import _check_as_of, _config
    from segml.report.builder import build_report

    if Path(out).suffix.lower() not in (".html", ".htm"):
        raise SegmlConfigError(f"--out must end in .html, got {out}")
    check_writable(str(Path(out).parent), "--out")
    _check_as_of(as_of)
    cfg = _config(config_path, overrides)
    evidence = None
    if model_uri is not None:
        evidence = model_evidence(model_uri, tracking_uri=cfg.mlflow.tracking_uri)
    tables = load_tables(cfg.data)
    path = build_report(
        tables.transactions,
        tables.customers,
        tables.events,
        out=out,
        config=cfg,
        as_of=as_of,
        period=period,
        compare_to=compare_to,
        n_periods=n_periods,
        window_days=window_days,
        model=evidence,
        top=top,
    )
    size = path.stat().st_size / 1e6
    click.echo(f"report written to {path} ({size:.1f} MB)")
