"""The ``segml`` command line: train, compare, promote, score, serve.

Heavy libraries are imported inside the commands so ``segml --help`` is instant.
Errors from bad configs or inputs are printed as one line, without a traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from segml._version import __version__
from segml.errors import SegmlConfigError, SegmlDataError

CONFIG_HELP = "YAML config (default: configs/default.yaml if present, else defaults)."


def _friendly(fn):
    """Turn expected user errors into one clear line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (SegmlConfigError, SegmlDataError, FileNotFoundError) as exc:
            first, *rest = str(exc).splitlines() or [type(exc).__name__]
            click.echo(f"error: {first}", err=True)
            for line in rest:
                click.echo(f"  {line}", err=True)
            sys.exit(2)

    return wrapper


def _config(path: str | None, overrides: tuple[str, ...]):
    from segml.config import load_config

    if path is None and Path("configs/default.yaml").is_file():
        path = "configs/default.yaml"
    return load_config(path, overrides)


def _write(frame, out: str) -> None:
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(target, index=False)
    elif target.suffix.lower() == ".csv":
        frame.to_csv(target, index=False)
    else:
        raise SegmlConfigError(f"--out must end in .csv or .parquet, got {out}")


@click.group()
@click.version_option(__version__, prog_name="segml")
def main() -> None:
    """Customer segmentation and tiering: features, ABC tiers, segments, and a
    tier predictor for customers and new leads, tracked in MLflow."""


@main.command()
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set tiers.rule=value (repeatable).",
)
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
@_friendly
def train(config_path: str | None, overrides: tuple[str, ...], quiet: bool) -> None:
    """Train on the configured data and log one MLflow run."""
    from segml.app.train import train as run_training

    cfg = _config(config_path, overrides)
    result = run_training(cfg, quiet=quiet)
    click.echo(result.summary())


@main.command()
@click.option("--experiment", default=None, help="Experiment name (default: config).")
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--metric", default="history/macro_f1", show_default=True)
@click.option("--top", default=20, show_default=True, help="Show at most N runs.")
@click.option("--plot", "plot_path", type=click.Path(), help="Save a bar chart (PNG).")
@_friendly
def compare(experiment, config_path, metric, top, plot_path) -> None:
    """List an experiment's runs sorted by a metric, with the params that differ."""
    from segml.app.compare import compare_runs, plot_comparison

    cfg = _config(config_path, ())
    table = compare_runs(
        experiment or cfg.mlflow.experiment,
        metric=metric,
        tracking_uri=cfg.mlflow.tracking_uri,
        top=top,
    )
    with _wide_pandas():
        click.echo(table.to_string(index=False))
    if plot_path:
        plot_comparison(table, metric).savefig(plot_path, dpi=120, bbox_inches="tight")
        click.echo(f"plot written to {plot_path}")


@main.command()
@click.option("--name", default=None, help="Registered model (default: config).")
@click.option("--version", "version", default=None, help="Version to promote.")
@click.option(
    "--from-alias",
    default="candidate",
    show_default=True,
    help="Promote the version this alias points at (when --version is not given).",
)
@click.option("--alias", default="champion", show_default=True)
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@_friendly
def promote(name, version, from_alias, alias, config_path) -> None:
    """Point the champion alias at a model version."""
    from segml.app.compare import promote as do_promote

    cfg = _config(config_path, ())
    name = name or cfg.mlflow.registered_model
    chosen = do_promote(
        name,
        version=version,
        from_alias=from_alias,
        alias=alias,
        tracking_uri=cfg.mlflow.tracking_uri,
    )
    click.echo(f"{name}@{alias} -> version {chosen}")


@main.command()
@click.option(
    "--model",
    "model_uri",
    required=True,
    help="Model URI (models:/segml-tier@champion), run URI or export path.",
)
@click.option("--as-of", "as_of", required=True, help="Score as of this date.")
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--out", required=True, help="Output file (.csv or .parquet).")
@click.option("--no-reasons", is_flag=True, help="Skip per-row reasons (faster).")
@_friendly
def score(model_uri, as_of, config_path, overrides, out, no_reasons) -> None:
    """Score every customer known at AS_OF (leads included) from the raw tables."""
    from segml.app.tables import load_tables
    from segml.scoring import score_tables

    cfg = _config(config_path, overrides)
    tables = load_tables(cfg.data)
    scored = score_tables(
        model_uri,
        tables.transactions,
        tables.customers,
        tables.events,
        as_of=as_of,
        reasons=not no_reasons,
    )
    _write(scored, out)
    click.echo(f"{len(scored)} customers scored -> {out}")


@main.command("score-leads")
@click.argument("leads", type=click.Path(exists=True, dir_okay=True))
@click.option("--model", "model_uri", required=True)
@click.option("--out", required=True, help="Output file (.csv or .parquet).")
@click.option("--no-reasons", is_flag=True, help="Skip per-row reasons (faster).")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Date for days since sign-up (default: today, UTC).",
)
@_friendly
def score_leads(leads, model_uri, out, no_reasons, as_of) -> None:
    """Score new leads (a CSV or Parquet of customer attributes) by cold start."""
    from segml.data import read_customers
    from segml.scoring import predict

    table = read_customers(leads)
    scored = predict(
        table.assign(has_history=False),
        model_uri,
        reasons=not no_reasons,
        as_of=as_of,
    )
    _write(scored, out)
    click.echo(f"{len(scored)} leads scored -> {out}")


@main.command()
@click.option("--model", "model_uri", required=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True)
def serve(model_uri, host, port) -> None:
    """Serve the model over HTTP (mlflow models serve, local environment)."""
    from segml.tracking.serve import serve_command, serve_env

    args = serve_command(model_uri, host=host, port=port)
    os.execvpe(args[0], args, serve_env())


class _wide_pandas:
    def __enter__(self):
        import pandas as pd

        self._ctx = pd.option_context(
            "display.width", 200, "display.max_columns", 50, "display.max_colwidth", 40
        )
        self._ctx.__enter__()

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


if __name__ == "__main__":  # pragma: no cover
    main()
