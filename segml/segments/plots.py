"""Profile plot: a heatmap of standardised cluster medians.

Built on :class:`matplotlib.figure.Figure` (no ``pyplot``, no GUI backend).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["plot_profiles"]


def _standardise(medians: pd.DataFrame) -> pd.DataFrame:
    """Signed log1p, then z-score each column across clusters (0 when constant)."""
    logged = np.sign(medians) * np.log1p(medians.abs())
    spread = logged.std(axis=0, ddof=0).replace(0.0, np.nan)
    return ((logged - logged.mean(axis=0)) / spread).fillna(0.0)


def plot_profiles(
    profiles: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = "Cluster profiles",
) -> Figure:
    """Heatmap of the ``median_*`` columns of a profile table, one row per cluster.

    Colours show each median standardised across clusters (after a signed
    log1p, so a heavy-tailed feature does not drown the others); cells are
    annotated with the raw medians. Rows are labelled with the cluster, its
    ``name`` when present and its share of customers and value.

    Parameters
    ----------
    profiles : DataFrame
        A ``profiles_`` table (:class:`~segml.segments.Segmenter`) or the output
        of :func:`~segml.segments.profile_clusters`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created by default.
    title : str or None
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> profiles = pd.DataFrame({"customer_share": [0.2, 0.8],
    ...                          "value_share": [0.7, 0.3],
    ...                          "median_net_spend": [900.0, 40.0],
    ...                          "median_orders": [8.0, 1.0]})
    >>> fig = plot_profiles(profiles)
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['net_spend', 'orders']
    """
    medians = profiles.filter(regex=r"^median_").astype("float64")
    if medians.shape[1] == 0:
        raise ValueError("profiles has no median_* column to plot")
    z = _standardise(medians)
    if ax is None:
        height = 1.2 + 0.55 * len(profiles)
        fig = Figure(
            figsize=(1.6 + 1.3 * medians.shape[1] + 2.5, height), layout="constrained"
        )
        ax = fig.subplots()
    else:
        fig = ax.figure
    image = ax.imshow(z.to_numpy(), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
    for i in range(medians.shape[0]):
        for j in range(medians.shape[1]):
            ax.text(
                j, i, f"{medians.iat[i, j]:.3g}", ha="center", va="center", fontsize=8
            )
    ax.set_xticks(
        range(medians.shape[1]), [c.removeprefix("median_") for c in medians.columns]
    )
    ax.set_yticks(
        range(len(profiles)), [_row_label(c, r) for c, r in profiles.iterrows()]
    )
    fig.colorbar(image, ax=ax, label="standardised median (across clusters)")
    if title:
        ax.set_title(title)
    return fig


def _row_label(cluster: object, row: pd.Series) -> str:
    label = f"{cluster}"
    if "name" in row.index:
        label += f": {row['name']}"
    if "customer_share" in row.index and "value_share" in row.index:
        label += f"\n{row['customer_share']:.0%} cust · {row['value_share']:.0%} value"
    return label
