"""Charts of the report, as ``data:`` URIs ready for an ``<img>``.

Figures are plain :class:`matplotlib.figure.Figure` objects (no ``pyplot``).
Charts whose size does not grow with the number of customers are written as
SVG with text kept as text (small and sharp); the few that draw one mark per
customer (the Pareto curve) are written as PNG, whose size does not grow.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from segml.report.page import Chart

__all__ = [
    "figure_chart",
    "plot_flow",
    "plot_heatmap",
    "plot_periods",
    "plot_psi",
    "plot_reason_summary",
]

TIER_COLOURS = ("#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#e6ab02")
GREY = "#9aa5b1"


def figure_chart(fig: Figure, name: str, caption: str, *, fmt: str = "svg") -> Chart:
    """Render ``fig`` into a :class:`~segml.report.page.Chart` (SVG or PNG)."""
    buffer = io.BytesIO()
    # text stays text in SVG (a fraction of the size of glyph outlines); a
    # fixed hash salt makes the same figure give the same bytes
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "segml"}):
        fig.savefig(buffer, format=fmt, dpi=96, bbox_inches="tight")
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Chart(name=name, caption=caption, uri=f"data:{mime};base64,{data}")


def _colours(labels: list[str]) -> dict[str, str]:
    return {t: TIER_COLOURS[i % len(TIER_COLOURS)] for i, t in enumerate(labels)}


def plot_periods(table: pd.DataFrame, tiers: list[str]) -> Figure:
    """Customers and value per tier per period (stacked bars, two panels).

    ``table`` has one row per (period, tier) with ``customers`` and ``value``.
    """
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    colours = _colours(tiers)
    for ax, column in zip(axes, ("customers", "value"), strict=True):
        wide = table.pivot(index="period", columns="tier", values=column)
        wide = wide.reindex(columns=tiers).fillna(0.0)
        x = np.arange(len(wide))
        bottom = np.zeros(len(wide))
        for tier in tiers:
            heights = wide[tier].to_numpy(dtype=float)
            ax.bar(x, heights, bottom=bottom, color=colours[tier], label=tier)
            bottom += heights
        step = max(1, len(wide) // 12)
        ax.set_xticks(x[::step], [str(p) for p in wide.index[::step]], rotation=45)
        ax.set_title(f"{column} per tier")
    axes[0].legend(title="tier", frameon=False)
    return fig


def plot_heatmap(
    frame: pd.DataFrame,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    fmt: str = "{:.0f}",
    cmap: str = "Blues",
) -> Figure:
    """An annotated heatmap of a numeric table (rows as shown, top first)."""
    values = frame.to_numpy(dtype=float)
    fig = Figure(
        figsize=(1.0 * values.shape[1] + 3, 0.55 * values.shape[0] + 1.8),
        layout="constrained",
    )
    ax = fig.subplots()
    shown = np.nan_to_num(values)
    image = ax.imshow(shown, cmap=cmap, aspect="auto")
    fig.colorbar(image, ax=ax)
    limit = (np.nanmax(shown) + np.nanmin(shown)) / 2 if shown.size else 0
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isnan(values[i, j]):
                continue
            colour = "white" if shown[i, j] > limit else "black"
            text = fmt.format(values[i, j])
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=9)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in frame.columns])
    ax.set_yticks(range(values.shape[0]), [str(r) for r in frame.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def plot_flow(counts: pd.DataFrame, *, before: str, after: str) -> Figure:
    """A flow (Sankey) chart of a migration matrix: bands from left to right.

    ``counts`` has the earlier tiers (and ``new``) as rows and the later tiers
    (and ``gone``) as columns; each band's width is its number of customers.
    """
    rows = [str(r) for r in counts.index]
    cols = [str(c) for c in counts.columns]
    values = counts.to_numpy(dtype=float)
    total = values.sum()
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    if total <= 0:
        ax.text(0.5, 0.5, "no customers", ha="center", va="center")
        return fig
    gap = 0.02
    scale = (1 - gap * (max(len(rows), len(cols)) - 1)) / total
    colours = _colours([r for r in rows if r not in ("new",)])
    colours.setdefault("new", GREY)

    def stack(sizes: np.ndarray) -> np.ndarray:
        tops = np.zeros(len(sizes))
        y = 1.0
        for i, size in enumerate(sizes):
            tops[i] = y
            y -= size * scale + gap
        return tops

    left_tops = stack(values.sum(axis=1))
    right_tops = stack(values.sum(axis=0))
    width = 0.04
    for i, label in enumerate(rows):
        h = values[i].sum() * scale
        colour = colours.get(label, GREY)
        ax.add_patch(Rectangle((0, left_tops[i] - h), width, h, color=colour))
        ax.text(
            -0.01,
            left_tops[i] - h / 2,
            f"{label} ({values[i].sum():.0f})",
            ha="right",
            va="center",
            fontsize=9,
        )
    for j, label in enumerate(cols):
        h = values[:, j].sum() * scale
        colour = colours.get(label, GREY)
        ax.add_patch(Rectangle((1 - width, right_tops[j] - h), width, h, color=colour))
        ax.text(
            1.01,
            right_tops[j] - h / 2,
            f"{label} ({values[:, j].sum():.0f})",
            ha="left",
            va="center",
            fontsize=9,
        )
    left_y = left_tops.copy()
    right_y = right_tops.copy()
    for i, source in enumerate(rows):
        for j in range(len(cols)):
            h = values[i, j] * scale
            if h <= 0:
                continue
            y0, y1 = left_y[i], right_y[j]
            x0, x1 = width, 1 - width
            mid = (x0 + x1) / 2
            verts = [
                (x0, y0),
                (mid, y0),
                (mid, y1),
                (x1, y1),
                (x1, y1 - h),
                (mid, y1 - h),
                (mid, y0 - h),
                (x0, y0 - h),
                (x0, y0),
            ]
            codes = [
                MplPath.MOVETO,
                *[MplPath.CURVE4] * 3,
                MplPath.LINETO,
                *[MplPath.CURVE4] * 3,
                MplPath.CLOSEPOLY,
            ]
            ax.add_patch(
                PathPatch(
                    MplPath(verts, codes),
                    lw=0,
                    alpha=0.45,
                    color=colours.get(source, GREY),
                )
            )
            left_y[i] -= h
            right_y[j] -= h
    ax.set_xlim(-0.25, 1.25)
    ax.set_ylim(min(left_y.min(), right_y.min()) - 0.02, 1.02)
    ax.text(width / 2, 1.03, before, ha="center", va="bottom", fontweight="bold")
    ax.text(1 - width / 2, 1.03, after, ha="center", va="bottom", fontweight="bold")
    return fig


def plot_psi(psi: pd.Series, *, warn: float = 0.1, alarm: float = 0.25) -> Figure:
    """Horizontal bars of PSI per feature with the usual 0.1 / 0.25 lines."""
    shown = psi.sort_values().tail(25)
    fig = Figure(figsize=(7, 0.28 * len(shown) + 1.6), layout="constrained")
    ax = fig.subplots()
    colours = [
        "#d64545" if v > alarm else "#f0b429" if v > warn else "#1b9e77"
        for v in shown.to_numpy()
    ]
    ax.barh([str(i) for i in shown.index], shown.to_numpy(), color=colours)
    ax.axvline(warn, color="#f0b429", ls="--", lw=1, label=f"{warn} (watch)")
    ax.axvline(alarm, color="#d64545", ls="--", lw=1, label=f"{alarm} (alarm)")
    ax.set_xlabel("population stability index")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title("Drift per feature (largest 25)")
    return fig


def plot_reason_summary(summary: pd.DataFrame, top: int = 15) -> Figure:
    """Bars of mean |SHAP contribution| per feature and route (from the reasons)."""
    summary = summary.dropna(subset=["mean_abs_contribution"])
    routes = list(dict.fromkeys(summary["route"])) or ["history"]
    fig = Figure(figsize=(5.2 * len(routes), 4.6), layout="constrained")
    axes = fig.subplots(1, len(routes), squeeze=False)[0]
    for ax, route in zip(axes, routes, strict=True):
        rows = summary.loc[summary["route"] == route].head(top)[::-1]
        ax.barh(rows["feature"], rows["mean_abs_contribution"], color="#4C72B0")
        ax.set_title(f"{route.replace('_', ' ')}: top reasons")
        ax.set_xlabel("mean |SHAP contribution| when in the top reasons")
    return fig
