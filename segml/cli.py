"""The ``segml`` command line: train, compare, promote, score, serve.

Heavy libraries are imported inside the commands so ``segml --help`` is instant.
A user error (bad config, option, input file or model URI) is printed as one
``error: ...`` line on stderr with exit code 2; ``segml --debug ...`` shows the
traceback instead. Options that need no data (``--as-of``, ``--out``, the model
URI, ``models_dir``) are checked before any work is done.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import click

from segml._version import __version__
from segml.app.paths import check_writable
from segml.errors import SegmlConfigError, SegmlDataError
from segml.report.cli import report as report_command

CONFIG_HELP = "YAML config (default: configs/default.yaml if present, else defaults)."
OUT_SUFFIXES = (".csv", ".parquet", ".pq")


class _SegmlGroup(click.Group):
    """A click group that turns user errors into one line and exit code 2."""

    def invoke(self, ctx: click.Context):
        debug = bool(ctx.params.get("debug"))
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _one_line_warning
            try:
                return super().invoke(ctx)
            except click.UsageError as exc:
                if debug or exc.ctx is None:
                    raise
                # a bad option or command: one line, with where to look
                path = exc.ctx.command_path
                message = " ".join(exc.format_message().split())
                click.echo(f"error: {message} (see '{path} --help')", err=True)
                ctx.exit(2)
            except Exception as exc:
                if debug or not _is_user_error(exc):
                    raise
                click.echo(f"error: {_one_line(exc)}", err=True)
                ctx.exit(2)


#: errors of modules the CLI does not import up front, by (module, name)
_LAZY_USER_ERRORS = {
    ("pydantic_core._pydantic_core", "ValidationError"),
    ("pydantic", "ValidationError"),
    ("segml.persist", "ModelIntegrityError"),  # a model file that was changed
}


def _is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, SegmlConfigError | SegmlDataError | FileNotFoundError):
        return True
    return any(
        (cls.__module__, cls.__name__) in _LAZY_USER_ERRORS for cls in type(exc).__mro__
    )


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line; a data error's rows compacted."""
    if isinstance(exc, SegmlDataError):
        column = f", column '{exc.column}'" if exc.column else ""
        text = f"table '{exc.table}'{column}: {exc.problem}"
        if exc.rows is not None and len(exc.rows):
            shown = "; ".join(
                f"{label}: " + ", ".join(f"{c}={_short(v)}" for c, v in row.items())
                for label, row in exc.rows.iterrows()
            )
            text += f" (offending rows: {shown})"
    elif isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"{exc.strerror or 'not found'}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _short(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {' '.join(str(message).split())}", err=True)


def _config(path: str | None, overrides: tuple[str, ...]):
    from segml.config import load_config

    if path is None and Path("configs/default.yaml").is_file():
        path = "configs/default.yaml"
    return load_config(path, overrides)


def _check_out(out: str) -> None:
    """``--out`` must be a file type we write, in a folder we can write to,
    before any scoring is done."""
    if Path(out).suffix.lower() not in OUT_SUFFIXES:
        raise SegmlConfigError(f"--out must end in .csv or .parquet, got {out}")
    check_writable(str(Path(out).parent), "--out")


def _check_as_of(as_of: str | None) -> None:
    if as_of is not None:
        from segml.config.dates import parse_iso

        parse_iso(as_of, "--as-of")


def _write(frame, out: str) -> None:
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(target, index=False)
    else:
        frame.to_csv(target, index=False)


def _column_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--column yours=canonical`` options as ``{canonical: yours}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        yours, sep, canonical = (p.strip() for p in pair.partition("="))
        if not sep or not yours or not canonical:
            raise SegmlConfigError(
                f"--column {pair!r} is not of the form YOUR_NAME=CANONICAL_NAME"
            )
        if canonical in mapping:
            raise SegmlConfigError(
                f"--column: two columns are read as '{canonical}' "
                f"({mapping[canonical]}, {yours})"
            )
        mapping[canonical] = yours
    return mapping


@click.group(cls=_SegmlGroup)
@click.version_option(__version__, prog_name="segml", message="%(prog)s %(version)s")
@click.option(
    "--debug",
    is_flag=True,
    envvar="SEGML_DEBUG",
    help="Show the full traceback of an error instead of one line.",
)
def main(debug: bool) -> None:
    """Customer segmentation and tiering: features, ABC tiers, segments, and a
    tier predictor for customers and new leads, tracked in MLflow.

    A bad config, option, input or model URI is one line `error: ...` and exit
    code 2; `segml --debug COMMAND ...` shows the traceback.
    """


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
def train(config_path: str | None, overrides: tuple[str, ...], quiet: bool) -> None:
    """Train on the configured data and log one MLflow run.

    models_dir is checked to be writable before anything is fitted.
    """
    from segml.app.train import train as run_training

    cfg = _config(config_path, overrides)
    check_writable(cfg.models_dir, "models_dir")
    result = run_training(cfg, quiet=quiet)
    click.echo(result.summary())


@main.command()
@click.option("--experiment", default=None, help="Experiment name (default: config).")
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--metric", default="history/macro_f1", show_default=True)
@click.option("--top", default=20, show_default=True, help="Show at most N runs.")
@click.option("--plot", "plot_path", type=click.Path(), help="Save a bar chart (PNG).")
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
@click.option(
    "--force",
    is_flag=True,
    help="Promote even a run that scores below its best baseline.",
)
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
def promote(name, version, from_alias, alias, force, config_path) -> None:
    """Point the champion alias at a model version.

    A run that scores below its best baseline is refused unless --force.
    """
    from segml.app.compare import promote as do_promote

    cfg = _config(config_path, ())
    name = name or cfg.mlflow.registered_model
    chosen = do_promote(
        name,
        version=version,
        from_alias=from_alias,
        alias=alias,
        tracking_uri=cfg.mlflow.tracking_uri,
        force=force,
    )
    click.echo(f"{name}@{alias} -> version {chosen}")


MODEL_HELP = "Model URI (models:/segml-tier@champion), run URI or export path."
OUT_HELP = "Output file (.csv or .parquet), checked before scoring."


@main.command()
@click.option("--model", "model_uri", required=True, help=MODEL_HELP)
@click.option(
    "--as-of",
    "as_of",
    required=True,
    help="Score as of this ISO 8601 date (2024-06-30 or 2024-06-30T12:00:00Z).",
)
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--out", required=True, help=OUT_HELP)
@click.option("--no-reasons", is_flag=True, help="Skip per-row reasons (faster).")
@click.option(
    "--lifetime-value",
    is_flag=True,
    help="Add clv, p_alive and expected_purchases (BG/NBD + Gamma-Gamma) for "
    "customers with history; NaN for leads.",
)
@click.option(
    "--clv-months",
    type=click.IntRange(min=1),
    default=12,
    show_default=True,
    help="Months (of 30 days) of --lifetime-value's clv and expected_purchases.",
)
@click.option(
    "--discount-rate",
    type=click.FloatRange(min=0.0),
    default=0.01,
    show_default=True,
    help="Monthly discount rate of --lifetime-value's clv (lifetimes' default).",
)
def score(
    model_uri,
    as_of,
    config_path,
    overrides,
    out,
    no_reasons,
    lifetime_value,
    clv_months,
    discount_rate,
) -> None:
    """Score every customer known at AS_OF (leads included) from the raw tables.

    Without the events table the model was trained with, a warning says which
    features are missing.
    """
    from segml.app.tables import load_tables
    from segml.scoring import load_pipeline, score_tables

    _check_out(out)
    _check_as_of(as_of)
    cfg = _config(config_path, overrides)
    pipeline = load_pipeline(model_uri)
    tables = load_tables(cfg.data)
    scored = score_tables(
        pipeline,
        tables.transactions,
        tables.customers,
        tables.events,
        as_of=as_of,
        reasons=not no_reasons,
        lifetime_value=lifetime_value,
        clv_months=clv_months,
        discount_rate=discount_rate,
    )
    _write(scored, out)
    click.echo(f"{len(scored)} customers scored -> {out}")


@main.command("score-leads")
@click.argument("leads", type=click.Path(exists=True, dir_okay=True))
@click.option("--model", "model_uri", required=True, help=MODEL_HELP)
@click.option("--out", required=True, help=OUT_HELP)
@click.option("--no-reasons", is_flag=True, help="Skip per-row reasons (faster).")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="ISO 8601 date for days since sign-up (default: today, UTC).",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="YOURS=CANONICAL",
    help="Read your column YOURS as CANONICAL, e.g. --column sector=industry "
    "(repeatable; wins over --config).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(),
    help="Take the column mapping (data.columns.customers) and data.ts_format "
    "from this YAML config.",
)
@click.option(
    "--allow-missing-attributes",
    is_flag=True,
    help="Score leads lacking attribute columns the model was trained on, as "
    "missing values (default: an error naming them).",
)
def score_leads(
    leads,
    model_uri,
    out,
    no_reasons,
    as_of,
    columns,
    config_path,
    allow_missing_attributes,
) -> None:
    """Score new leads (a CSV or Parquet of customer attributes) by cold start.

    Every attribute column the model's cold-start route learned from must be
    present (signup_ts stands in for days_since_signup), unless
    --allow-missing-attributes.
    """
    from segml.data import read_customers
    from segml.data.schema import CUSTOMERS
    from segml.scoring import check_attributes, load_pipeline

    _check_out(out)
    _check_as_of(as_of)
    mapping: dict[str, str] = {}
    ts_format = None
    if config_path is not None:
        cfg = _config(config_path, ())
        mapping.update(cfg.data.columns.customers)
        ts_format = cfg.data.ts_format
    mapping.update(_column_mapping(columns))
    pipeline = load_pipeline(model_uri)
    canonical = {k: v for k, v in mapping.items() if k in CUSTOMERS.columns}
    table = read_customers(leads, columns=canonical or None, ts_format=ts_format)
    table = _rename_attributes(table, mapping, canonical)
    check_attributes(
        table, pipeline, allow_missing=allow_missing_attributes, table="leads"
    )
    scored = pipeline.predict(
        table.assign(has_history=False), reasons=not no_reasons, as_of=as_of
    )
    _write(scored, out)
    click.echo(f"{len(scored)} leads scored -> {out}")


def _rename_attributes(table, mapping: dict[str, str], canonical: dict[str, str]):
    """Rename attribute columns (the data layer maps only its own columns)."""
    rename = {yours: name for name, yours in mapping.items() if name not in canonical}
    absent = [yours for yours in rename if yours not in table.columns]
    if absent:
        raise SegmlDataError(
            "leads",
            absent[0],
            f"the column mapping reads '{rename[absent[0]]}' from '{absent[0]}', "
            f"but the table has no such column; it has: {', '.join(table.columns)}",
        )
    return table.rename(columns=rename)


@main.command()
@click.option("--model", "model_uri", required=True, help=MODEL_HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="uvicorn worker processes answering requests.",
)
def serve(model_uri, host, port, workers) -> None:
    """Serve the model over HTTP (mlflow models serve, local environment).

    The model URI is checked to resolve before the server starts.
    """
    from segml.tracking.serve import check_model_uri, serve_command, serve_env

    check_model_uri(model_uri)
    args = serve_command(model_uri, host=host, port=port, workers=workers)
    os.execvpe(args[0], args, serve_env())


PERIOD_CHOICE = click.Choice(["month", "quarter", "year"])
RULE_CHOICE = click.Choice(["count", "value", "composite"])
AS_OF_HELP = (
    "ISO 8601 date: rows at or before it count (2024-07-01 is midnight, so it "
    "includes June 30th)."
)


@main.command()
@click.option("--as-of", "as_of", required=True, help=AS_OF_HELP)
@click.option("--rule", type=RULE_CHOICE, default=None, help="Default: tiers.rule.")
@click.option(
    "--period",
    type=PERIOD_CHOICE,
    default=None,
    help="One block of tiers per period end up to --as-of (the last one ends at "
    "--as-of itself).",
)
@click.option(
    "--window",
    default=None,
    metavar="DAYS|period",
    help="Days of value up to each date (default: training.horizon_days, the "
    "value segml train tiers on), or 'period' for the value inside each period.",
)
@click.option(
    "--since",
    default=None,
    help="With --period: the first period reported (default: the first transaction).",
)
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--out", required=True, help="Output file (.csv or .parquet).")
@click.option(
    "--summary",
    "summary_out",
    default=None,
    help="Also write customers, value, entered and left per period and tier "
    "(.csv or .parquet).",
)
def tiers(
    as_of, rule, period, window, since, config_path, overrides, out, summary_out
) -> None:
    """ABC tiers of every customer known at AS_OF, from the configured data.

    Writes customer_id, tier, value, rank, as_of, rule (and period with
    --period, score with the composite rule). With tiers.hysteresis set, a
    customer keeps last period's tier unless a threshold is crossed by the
    margin (month by month when --period is not given).
    """
    from segml.app.tables import load_tables
    from segml.features.asof import check_not_before_data
    from segml.monitor.descriptive import config_period_tiers

    _check_out(out)
    if summary_out is not None:
        _check_out(summary_out)
    _check_as_of(as_of)
    _check_as_of(since)
    if since is not None and period is None:
        raise SegmlConfigError("--since needs --period")
    cfg = _config(config_path, overrides)
    tables = load_tables(cfg.data)
    check_not_before_data(as_of, tables.transactions["ts"])
    result = config_period_tiers(
        cfg, tables, as_of=as_of, period=period, window=window, rule=rule, start=since
    )
    # sums of cents carry float noise (6178.000000000001): round to 1e-6
    frame = result.tiers.assign(rule=result.rule, value=result.tiers["value"].round(6))
    columns = ["customer_id", "tier", "value", "rank", "as_of", "rule"]
    extra = [c for c in ("score",) if c in frame.columns]
    if period is not None:
        columns = ["period", *columns]
    frame = frame[[*columns, *extra]]
    _write(frame, out)
    if summary_out is not None:
        _write(
            result.summary.assign(value=result.summary["value"].round(6)), summary_out
        )
    last = result.summary.loc[result.summary["period"] == result.periods[-1]]
    counts = ", ".join(
        f"{r.tier} {r.customers} ({r.value_share:.0%} of value)"
        for r in last.itertuples()
    )
    blocks = f" in {len(result.periods)} periods" if period is not None else ""
    click.echo(f"{len(frame)} rows{blocks} -> {out}; as of {as_of}: {counts}")


@main.command()
@click.option("--as-of", "as_of", required=True, help=AS_OF_HELP)
@click.option(
    "--kind",
    type=click.Choice(["all", "rfm", "clusters"]),
    default="all",
    show_default=True,
    help="RFM segments, k-means clusters (segments.*), or both.",
)
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--out", required=True, help="Output file (.csv or .parquet).")
def segments(as_of, kind, config_path, overrides, out) -> None:
    """RFM segments and named clusters of the customers with history at AS_OF.

    Writes customer_id, as_of, tier, then R, F, M, FM and rfm_segment and/or
    cluster and cluster_name. Leads (no purchase yet) have no segment and are
    left out.
    """
    from segml.app.tables import load_tables
    from segml.features.asof import check_not_before_data
    from segml.monitor.descriptive import config_segments

    _check_out(out)
    _check_as_of(as_of)
    cfg = _config(config_path, overrides)
    tables = load_tables(cfg.data)
    check_not_before_data(as_of, tables.transactions["ts"])
    frame, note = config_segments(cfg, tables, as_of=as_of, kind=kind)
    _write(frame, out)
    column = "rfm_segment" if "rfm_segment" in frame.columns else "cluster_name"
    top = frame[column].value_counts().head(5)
    shown = ", ".join(f"{name} {n}" for name, n in top.items())
    click.echo(f"{len(frame)} customers -> {out}; {column}: {shown}")
    if note:
        click.echo(note)


@main.command()
@click.option("--model", "model_uri", required=True, help=MODEL_HELP)
@click.option("--as-of", "as_of", required=True, help=AS_OF_HELP)
@click.option("--config", "config_path", type=click.Path(), help=CONFIG_HELP)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option(
    "--out",
    default="monitor.json",
    show_default=True,
    help="JSON file with every number and the alerts.",
)
@click.option(
    "--no-mlflow", is_flag=True, help="Do not log a monitoring run to MLflow."
)
def monitor(model_uri, as_of, config_path, overrides, out, no_mlflow) -> None:
    """Drift and tier stability of a model as of AS_OF; exit code 3 on an alert.

    PSI per model input between the model's training snapshot and AS_OF, the
    share of customers whose tier changed since the previous period, and how
    many sit near a tier threshold; thresholds are monitor.* in the config.
    Prints a table, writes --out, and logs a monitoring run linked to the
    model's run and version. Exit codes: 0 no alert, 3 a threshold crossed,
    2 a user error.
    """
    from segml.app.tables import load_tables
    from segml.features.asof import check_not_before_data
    from segml.monitor.run import monitor_model
    from segml.monitor.tracking import log_monitoring, model_lineage
    from segml.scoring import load_pipeline

    if Path(out).suffix.lower() != ".json":
        raise SegmlConfigError(f"--out must end in .json, got {out}")
    check_writable(str(Path(out).parent), "--out")
    _check_as_of(as_of)
    cfg = _config(config_path, overrides)
    pipeline = load_pipeline(model_uri)
    lineage = model_lineage(model_uri)
    tables = load_tables(cfg.data)
    check_not_before_data(as_of, tables.transactions["ts"])
    result = monitor_model(pipeline, tables, cfg, as_of=as_of, model=lineage)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    import json

    target.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    click.echo(result.render())
    click.echo(f"written to {out}")
    if not no_mlflow:
        run_id = log_monitoring(result, cfg, json_path=out)
        click.echo(f"MLflow monitoring run {run_id}")
    if result.exit_code:
        click.get_current_context().exit(result.exit_code)


class _wide_pandas:
    def __enter__(self):
        import pandas as pd

        self._ctx = pd.option_context(
            "display.width", 200, "display.max_columns", 50, "display.max_colwidth", 40
        )
        self._ctx.__enter__()

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


main.add_command(report_command)

if __name__ == "__main__":  # pragma: no cover
    main()
