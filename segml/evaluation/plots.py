"""Evaluation charts: confusion matrix and reliability diagram.

Figures are built with :class:`matplotlib.figure.Figure` directly, not through
``pyplot``, so no GUI backend is needed and no global figure state is kept;
``fig.savefig(path)`` works anywhere and ``mlflow.log_figure(fig, ...)`` takes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from segml.evaluation.metrics import (
    DEFAULT_TIERS,
    bin_index,
    check_tiers,
    proba_matrix,
    tier_codes,
)

__all__ = ["calibration_table", "plot_calibration", "plot_confusion"]


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots()


def plot_confusion(
    conf_df: pd.DataFrame,
    *,
    normalize: bool = False,
    ax: Axes | None = None,
    title: str | None = "Confusion matrix",
) -> Figure:
    """Heat map of a confusion table (from :func:`~segml.evaluation.confusion`).

    Each cell shows its count; with ``normalize=True`` colours and labels are
    shares of the true tier's row (recall on the diagonal), counts in brackets.

    Parameters
    ----------
    conf_df : DataFrame
        Counts, rows true tiers and columns predicted tiers.
    normalize : bool
        Colour by row share instead of count.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created by default.
    title : str or None
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from segml.evaluation import confusion
    >>> fig = plot_confusion(confusion(["A", "B", "C"], ["A", "C", "C"]))
    >>> [t.get_text() for t in fig.axes[0].texts][:3]
    ['1', '0', '0']
    """
    if not isinstance(conf_df, pd.DataFrame) or conf_df.shape[0] == 0:
        raise ValueError("conf_df must be a non-empty DataFrame of counts")
    counts = conf_df.to_numpy(dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    shown = shares if normalize else counts
    fig, ax = _new_axes(ax, (1.2 * counts.shape[1] + 2.5, 1.1 * counts.shape[0] + 1.5))
    image = ax.imshow(shown, cmap="Blues", vmin=0, aspect="auto")
    fig.colorbar(image, ax=ax, label="share of true tier" if normalize else "rows")
    limit = shown.max() / 2 if shown.size else 0
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            text = f"{int(counts[i, j])}"
            if normalize:
                text = f"{shares[i, j]:.0%}\n({text})"
            colour = "white" if shown[i, j] > limit else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour)
    ax.set_xticks(range(counts.shape[1]), [str(c) for c in conf_df.columns])
    ax.set_yticks(range(counts.shape[0]), [str(r) for r in conf_df.index])
    ax.set_xlabel(f"{conf_df.columns.name or 'predicted'} tier")
    ax.set_ylabel(f"{conf_df.index.name or 'true'} tier")
    if title:
        ax.set_title(title)
    return fig


def calibration_table(
    y_true: object,
    proba: object,
    tiers: Sequence[str] = DEFAULT_TIERS,
    *,
    n_bins: int = 10,
) -> pd.DataFrame:
    """One-vs-rest reliability data: per tier and non-empty bin, predicted vs observed.

    For tier ``T`` rows are binned by ``p_T`` in ``n_bins`` equal-width
    right-closed bins; ``predicted`` is the bin's mean ``p_T`` and ``observed``
    the share of its rows whose true tier is ``T``.

    Examples
    --------
    >>> proba = [[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]]
    >>> calibration_table(["A", "B", "B"], proba, ("A", "B"), n_bins=2)
      tier  bin  n  predicted  observed
    0    A    0  1       0.20       0.0
    1    A    1  2       0.80       0.5
    2    B    0  2       0.20       0.5
    3    B    1  1       0.80       1.0
    """
    labels = check_tiers(tiers)
    codes = tier_codes(y_true, labels, "y_true")
    P = proba_matrix(proba, labels, len(codes))
    parts = []
    for j, tier in enumerate(labels):
        bins = bin_index(P[:, j], n_bins)
        count = np.bincount(bins, minlength=n_bins)
        mean_p = np.bincount(bins, P[:, j], n_bins)
        hits = np.bincount(bins, (codes == j).astype(float), n_bins)
        keep = np.flatnonzero(count > 0)
        parts.append(
            pd.DataFrame(
                {
                    "tier": pd.Series([tier] * len(keep), dtype="str"),
                    "bin": keep,
                    "n": count[keep],
                    "predicted": mean_p[keep] / count[keep],
                    "observed": hits[keep] / count[keep],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def plot_calibration(
    y_true: object,
    proba: object,
    tiers: Sequence[str] = DEFAULT_TIERS,
    *,
    n_bins: int = 10,
    ax: Axes | None = None,
    title: str | None = "Reliability diagram",
) -> Figure:
    """Reliability diagram: one line per tier (one-vs-rest) against the diagonal.

    Points are the non-empty bins of :func:`calibration_table`; a line below the
    diagonal means the tier's probabilities are too high.

    Parameters
    ----------
    y_true : array-like of str
        True tiers.
    proba : DataFrame or array
        ``p_<tier>`` columns, or one column per tier in order.
    tiers : sequence of str
        Tier labels, best first.
    n_bins : int
        Equal-width probability bins.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is created by default.
    title : str or None
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> proba = [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]]
    >>> fig = plot_calibration(["A", "B", "B"], proba)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['perfectly calibrated', 'A', 'B', 'C']
    """
    labels = check_tiers(tiers)
    table = calibration_table(y_true, proba, labels, n_bins=n_bins)
    fig, ax = _new_axes(ax, (6, 5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfectly calibrated")
    for tier in labels:
        part = table[table["tier"] == tier]
        ax.plot(part["predicted"], part["observed"], marker="o", label=tier)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed share of the tier")
    ax.legend(loc="upper left")
    if title:
        ax.set_title(title)
    return fig
