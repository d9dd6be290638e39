"""The drift and stability section: PSI per feature, tier changes, near thresholds.

The numbers are those of :mod:`segml.monitor.drift` (the functions ``segml
monitor`` uses): :func:`~segml.monitor.drift.psi_table` between the model's
training snapshot and the features at as-of,
:func:`~segml.monitor.drift.tier_change` between consecutive periods and
:func:`~segml.monitor.drift.near_threshold` on the last period's tiers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segml.report.charts import figure_chart, plot_psi
from segml.report.page import Section

__all__ = ["NEAR_WITHIN", "PSI_ALARM", "PSI_WATCH", "stability_section", "tier_changes"]

#: The usual reading of PSI: below 0.1 no real shift, above 0.25 a major one.
PSI_WATCH, PSI_ALARM = 0.1, 0.25
#: Relative distance to a tier threshold under which a customer is "near" it.
NEAR_WITHIN = 0.05


def tier_changes(pt: object) -> pd.DataFrame:
    """Share of customers whose tier changed, for each period after the first.

    ``pt`` is a :class:`~segml.tiers.periods.PeriodTiers`. The counts are those
    of :func:`~segml.monitor.drift.tier_change` between consecutive periods
    (customers tiered in both), read from ``pt.changes`` (only the customers
    who moved) instead of comparing every customer again: a customer known
    at one period end is known at every later one, so the customers tiered in
    both periods are those of the earlier one.
    """
    rank = {t: i for i, t in enumerate(pt.labels)}
    known = pt.summary.groupby("period", sort=False)["customers"].sum()
    periods = pt.periods
    changes = pt.changes.loc[pt.changes["before"].isin(list(rank))]
    before = changes["before"].map(rank).to_numpy(dtype="int64")
    after = changes["after"].astype("str").map(rank).to_numpy(dtype="int64")
    moves = pd.DataFrame({"period": changes["period"].to_numpy(), "up": after < before})
    counted = moves.groupby("period", sort=False)["up"].agg(["size", "sum"])
    rows = []
    for previous, label in zip(periods[:-1], periods[1:], strict=True):
        changed = int(counted["size"].get(label, 0))
        up = int(counted["sum"].get(label, 0))
        customers = int(known[previous])
        rows.append(
            {
                "period": label,
                "customers": customers,
                "changed": changed,
                "up": up,
                "down": changed - up,
                "share_changed": changed / customers if customers else np.nan,
            }
        )
    columns = ["customers", "changed", "up", "down", "share_changed"]
    frame = pd.DataFrame(rows, columns=["period", *columns])
    return frame.set_index("period")


def _plot_changes(changes: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(changes))
    ax.plot(x, changes["share_changed"].to_numpy(dtype=float) * 100, marker="o")
    step = max(1, len(changes) // 12)
    ax.set_xticks(x[::step], [str(p) for p in changes.index[::step]], rotation=45)
    ax.set_ylabel("% of customers whose tier changed")
    ax.set_ylim(bottom=0)
    ax.set_title("Tier changes since the previous period")
    return fig


def stability_section(
    pt: object,
    measure: pd.Series,
    *,
    reference: pd.DataFrame | None,
    current: pd.DataFrame | None,
    reference_name: str = "training snapshot",
    within: float = NEAR_WITHIN,
) -> Section:
    """Drift (PSI) and stability of the tiers.

    Parameters
    ----------
    pt : PeriodTiers
        Tiers per period; the last period is "now".
    measure : Series
        What the last period's tiers were cut on (value or composite score).
    reference, current : DataFrame or None
        Feature frames of the training snapshot and of as-of, over the model's
        columns (no PSI without them).
    """
    from segml.monitor.drift import near_threshold, psi_table
    from segml.tiers import learn_thresholds

    tables: dict[str, pd.DataFrame] = {}
    captions: dict[str, str] = {}
    charts, notes = [], []
    intro = []
    if reference is not None and current is not None:
        psi = psi_table(reference, current)
        tables["psi"] = psi.set_index("feature")
        n_alarm = int((psi["psi"] > PSI_ALARM).sum())
        n_watch = int(((psi["psi"] > PSI_WATCH) & (psi["psi"] <= PSI_ALARM)).sum())
        captions["psi"] = (
            f"Population stability index per feature, {reference_name} -> as-of "
            "(reference quantile bins, missing values a bin of their own)"
        )
        charts.append(
            figure_chart(
                plot_psi(
                    psi.set_index("feature")["psi"], warn=PSI_WATCH, alarm=PSI_ALARM
                ),
                "psi",
                f"PSI per feature; above {PSI_WATCH} worth a look, above "
                f"{PSI_ALARM} a major shift.",
            )
        )
        intro.append(
            f"{n_alarm} of {len(psi)} features shifted a lot (PSI > {PSI_ALARM}), "
            f"{n_watch} moderately."
        )
        if len(psi) and float(psi["psi"].max()) == 0.0:
            notes.append(
                f"the {reference_name} is the data at as-of itself: no drift "
                "can show yet; run `segml report --model ... --as-of` on later data"
            )
    changes = tier_changes(pt)
    if len(changes):
        tables["tier_changes"] = changes
        captions["tier_changes"] = "Customers whose tier changed since the last period"
        charts.append(
            figure_chart(
                _plot_changes(changes),
                "tier_changes",
                "Share of customers tiered in two consecutive periods whose tier "
                "changed.",
            )
        )
        last = changes.iloc[-1]
        intro.append(
            f"{last['share_changed']:.1%} of customers changed tier since the "
            "previous period."
        )
    tiers = pt.at(-1)
    m = measure.reindex(tiers.index)
    thresholds = learn_thresholds(m.fillna(0.0), tiers)
    near = near_threshold(m, thresholds, within=within)
    counts = (
        near.loc[near["near"]]
        .groupby("threshold", sort=True)
        .size()
        .reindex([str(t) for t in thresholds.index], fill_value=0)
    )
    table = pd.DataFrame(
        {
            "threshold": thresholds.to_numpy(dtype=float),
            "near": counts.to_numpy(dtype="int64"),
            "share_of_customers": counts.to_numpy(dtype=float) / max(len(near), 1),
        },
        index=pd.Index([str(t) for t in thresholds.index], name="lower bound of"),
    )
    tables["near_threshold"] = table
    captions["near_threshold"] = (
        f"Customers within {within:.0%} of a tier threshold (they flip back and "
        "forth with small changes)"
    )
    intro.append(
        f"{int(near['near'].sum())} customers ({near['near'].mean():.1%}) sit within "
        f"{within:.0%} of a threshold."
    )
    return Section(
        key="stability",
        title="Drift and stability",
        intro=" ".join(intro),
        tables=tables,
        charts=charts,
        notes=notes,
        captions=captions,
    )
