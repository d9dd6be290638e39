"""Pareto chart: cumulative share of customers against cumulative share of value.

Figures are built with :class:`matplotlib.figure.Figure` directly, not through
``pyplot``, so no GUI backend is needed and no global figure state is kept;
``fig.savefig(path)`` works anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from segml.tiers.pareto import align_tiers, pareto_table, tier_labels

__all__ = ["plot_pareto"]

_BAND_COLOURS = ("#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#e6ab02")


def _pareto_curve(v: pd.Series, t: pd.Series, labels: list[str]) -> tuple:
    """Cumulative % of customers and of value, customers ordered by tier then value."""
    codes = pd.Categorical(t.astype("str"), categories=labels).codes
    frame = pd.DataFrame({"tier": codes, "value": v.to_numpy()})
    frame = frame.sort_values(["tier", "value"], ascending=[True, False], kind="stable")
    total = float(v.sum())
    if total <= 0:
        total = float(v.clip(lower=0).sum()) or 1.0
    x = np.arange(len(frame) + 1) / len(frame) * 100
    y = np.concatenate([[0.0], np.cumsum(frame["value"].to_numpy()) / total * 100])
    return x, y


def plot_pareto(
    values: pd.Series,
    tiers: pd.Series,
    *,
    ax: Axes | None = None,
    title: str | None = "Pareto chart",
) -> Figure:
    """Plot the Pareto (concentration) curve with one shaded band per tier.

    Customers are ordered best tier first and, within a tier, by value
    descending; the curve shows the cumulative % of value held by the first
    x % of customers. Each tier's band is labelled with its share of customers
    and of value (from :func:`~segml.tiers.pareto_table`).

    Parameters
    ----------
    values, tiers : Series
        Value and tier per customer, as for :func:`~segml.tiers.pareto_table`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created by default.
    title : str or None
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> values = pd.Series([60.0, 25.0, 10.0, 5.0], index=list("abcd"))
    >>> tiers = pd.Series(["A", "A", "B", "C"], index=list("abcd"))
    >>> fig = plot_pareto(values, tiers)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2]
    ['A: 50% of customers, 85% of value', 'B: 25% of customers, 10% of value']
    """
    v, t = align_tiers(values, tiers)
    labels = tier_labels(t)
    table = pareto_table(v, t)
    if ax is None:
        fig = Figure(figsize=(7, 5), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    x, y = _pareto_curve(v, t, labels)
    start = 0.0
    for i, (label, row) in enumerate(table.iterrows()):
        end = row["cum_customer_share"] * 100
        share = row["value_share"] * 100 if np.isfinite(row["value_share"]) else np.nan
        ax.axvspan(
            start,
            end,
            color=_BAND_COLOURS[i % len(_BAND_COLOURS)],
            alpha=0.18,
            lw=0,
            label=f"{label}: {row['customer_share']:.0%} of customers, "
            f"{share:.0f}% of value",
        )
        start = end
    ax.plot(x, y, color="black", lw=1.8)
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--")
    ax.set_xlim(0, 100)
    ax.set_ylim(min(0.0, float(y.min())), max(100.0, float(y.max())) * 1.02)
    ax.set_xlabel("cumulative % of customers")
    ax.set_ylabel("cumulative % of value")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    return fig
