"""Compare an experiment's runs and promote a model version."""

from __future__ import annotations

import pandas as pd

from segml.errors import SegmlConfigError
from segml.tracking.store import resolve_tracking_uri

__all__ = ["compare_runs", "plot_comparison", "promote"]

_SHOWN_METRICS = (
    "history/macro_f1",
    "cold_start/macro_f1",
    "all/macro_f1",
    "baseline/persistence/history/macro_f1",
    "segments/k",
)


def compare_runs(
    experiment: str,
    *,
    metric: str = "history/macro_f1",
    tracking_uri: str | None = None,
    top: int = 20,
) -> pd.DataFrame:
    """The runs of ``experiment``, best ``metric`` first, with differing params.

    Returns
    -------
    DataFrame
        ``run_id`` (first 8 characters), ``start``, the chosen metric, a few key
        metrics, then every parameter whose value differs between the runs.
    """
    import mlflow

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    if mlflow.get_experiment_by_name(experiment) is None:
        raise SegmlConfigError(f"no MLflow experiment named {experiment!r}")
    runs = mlflow.search_runs(experiment_names=[experiment], max_results=10_000)
    if runs.empty:
        raise SegmlConfigError(f"experiment {experiment!r} has no runs yet")
    column = f"metrics.{metric}"
    if column not in runs.columns:
        known = sorted(c.removeprefix("metrics.") for c in runs if c.startswith("m"))
        raise SegmlConfigError(
            f"metric {metric!r} is not logged in {experiment!r}; known: "
            + ", ".join(known[:15])
        )
    runs = runs.sort_values(column, ascending=False, na_position="last").head(top)
    table = pd.DataFrame(
        {
            "run_id": runs["run_id"].str[:8],
            "start": runs["start_time"].dt.strftime("%Y-%m-%d %H:%M"),
            metric: runs[column].round(4),
        }
    )
    for name in _SHOWN_METRICS:
        if name != metric and f"metrics.{name}" in runs:
            table[name] = runs[f"metrics.{name}"].round(4)
    params = [c for c in runs.columns if c.startswith("params.")]
    differing = [c for c in params if runs[c].astype("str").nunique(dropna=False) > 1]
    for c in differing:
        table[c.removeprefix("params.")] = runs[c]
    return table.reset_index(drop=True)


def plot_comparison(table: pd.DataFrame, metric: str):
    """Bar chart of ``metric`` per run (best first); returns the Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4, 0.6 * len(table) + 2), 3.5))
    ax = fig.subplots()
    ax.bar(table["run_id"], table[metric], color="#4C72B0")
    ax.set_ylabel(metric)
    ax.set_xlabel("run")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title(f"{metric} by run")
    fig.tight_layout()
    return fig


def promote(
    name: str,
    *,
    version: str | int | None = None,
    from_alias: str = "candidate",
    alias: str = "champion",
    tracking_uri: str | None = None,
) -> str:
    """Point ``alias`` of registered model ``name`` at ``version`` (or at the
    version ``from_alias`` points at). Returns the version promoted."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    client = mlflow.MlflowClient()
    try:
        if version is None:
            version = client.get_model_version_by_alias(name, from_alias).version
        client.get_model_version(name, str(version))
        client.set_registered_model_alias(name, alias, str(version))
    except MlflowException as exc:
        raise SegmlConfigError(
            f"cannot promote {name!r}: {exc.message.splitlines()[0]}"
        ) from None
    return str(version)
