"""Write a run's report: charts, tables and the tier report (no MLflow here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from segml.app.fit import FitOutcome
from segml.config import Config

__all__ = ["ARTIFACT_FILES", "write_artifacts"]

#: Files every run writes into its ``report/`` artifact folder.
ARTIFACT_FILES = (
    "config.yaml",
    "pareto.csv",
    "pareto.png",
    "tier_report.md",
    "metrics_by_route.csv",
    "confusion_history.csv",
    "confusion_history.png",
    "confusion_cold_start.csv",
    "confusion_cold_start.png",
    "calibration.png",
    "feature_importance.csv",
    "feature_importance.png",
    "segment_profiles.csv",
    "segment_profiles.png",
)


def write_artifacts(folder: Path, cfg: Config, outcome: FitOutcome) -> list[Path]:
    """Write :data:`ARTIFACT_FILES` into ``folder``; returns the paths written."""
    from segml.evaluation import confusion, plot_calibration, plot_confusion
    from segml.segments import plot_profiles
    from segml.tiers import pareto_table, plot_pareto

    folder.mkdir(parents=True, exist_ok=True)
    tiers = tuple(cfg.tiers.labels)
    written: list[Path] = []

    def save_fig(fig, name: str) -> None:
        fig.savefig(folder / name, dpi=110, bbox_inches="tight")
        written.append(folder / name)

    def save_csv(frame: pd.DataFrame, name: str, index: bool = True) -> None:
        frame.to_csv(folder / name, index=index)
        written.append(folder / name)

    (folder / "config.yaml").write_text(
        yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
    )
    written.append(folder / "config.yaml")

    pareto = pareto_table(outcome.current_value, outcome.current_tiers)
    save_csv(pareto, "pareto.csv")
    save_fig(plot_pareto(outcome.current_value, outcome.current_tiers), "pareto.png")

    routes = outcome.route_metrics
    save_csv(routes, "metrics_by_route.csv")
    truth, prediction = outcome.test_truth, outcome.test_prediction
    for route in ("history", "cold_start"):
        rows = (prediction["route"] == route).to_numpy()
        table = confusion(truth[rows], prediction.loc[rows, "tier"], tiers)
        save_csv(table, f"confusion_{route}.csv")
        title = f"Confusion matrix, {route.replace('_', ' ')} (out of time)"
        save_fig(plot_confusion(table, title=title), f"confusion_{route}.png")
    proba = prediction[[f"p_{t}" for t in tiers]]
    save_fig(plot_calibration(truth, proba, tiers), "calibration.png")

    importance = outcome.importance
    save_csv(importance, "feature_importance.csv", index=False)
    save_fig(_importance_plot(importance), "feature_importance.png")

    segmenter = outcome.pipeline.segmenter
    if segmenter is not None:
        save_csv(segmenter.profiles_, "segment_profiles.csv")
        save_fig(plot_profiles(segmenter.profiles_), "segment_profiles.png")
    else:
        save_csv(
            pd.DataFrame({"note": ["too few customers to cluster"]}),
            "segment_profiles.csv",
            index=False,
        )

    (folder / "tier_report.md").write_text(_tier_report(cfg, outcome, pareto))
    written.append(folder / "tier_report.md")
    return written


def _importance_plot(importance: pd.DataFrame, top: int = 15):
    from matplotlib.figure import Figure

    routes = list(importance["route"].unique()) or ["history"]
    fig = Figure(figsize=(5.5 * len(routes), 4.5))
    axes = fig.subplots(1, len(routes), squeeze=False)[0]
    for ax, route in zip(axes, routes, strict=True):
        rows = importance.loc[importance["route"] == route].head(top)[::-1]
        ax.barh(rows["feature"], rows["gain"], color="#4C72B0")
        ax.set_title(f"{route.replace('_', ' ')}: top features (gain)")
        ax.set_xlabel("total gain")
    fig.tight_layout()
    return fig


def _tier_report(cfg: Config, outcome: FitOutcome, pareto: pd.DataFrame) -> str:
    routes = outcome.route_metrics
    cols = [
        c
        for c in ("n", "macro_f1", "balanced_accuracy", "log_loss", "ece")
        if c in routes.columns
    ]
    lines = [
        "# Tier report",
        "",
        f"- rule: **{cfg.tiers.rule}** (labels {', '.join(cfg.tiers.labels)})",
        f"- snapshot as of: {outcome.pipeline.metadata['snapshot_as_of']}; value = "
        f"net spend over the last {cfg.training.horizon_days} days",
        f"- training cutoffs: {', '.join(outcome.pipeline.metadata['cutoffs'])}",
        "",
        "## Pareto table (current tiers)",
        "",
        _markdown(pareto.round(4)),
        "",
        "## Out-of-time evaluation (latest cutoff)",
        "",
        _markdown(routes[cols].round(4)),
        "",
        "## Baselines",
        "",
    ]
    for name, table in outcome.baseline_metrics.items():
        shown = [c for c in cols if c in table.columns]
        lines += [f"### {name}", "", _markdown(table[shown].round(4)), ""]
    return "\n".join(lines) + "\n"


def _markdown(frame: pd.DataFrame) -> str:
    header = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    rows = [
        "| " + " | ".join([str(i)] + [str(v) for v in row]) + " |"
        for i, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    ]
    return "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *rows]
    )
