"""Descriptive sections: Pareto, migration, RFM grid and segments, clusters.

Each function takes plain frames and returns a :class:`~segml.report.page.Section`
whose tables are the outputs of the library's own functions
(:func:`~segml.tiers.pareto_table`, :func:`~segml.tiers.tier_migration`,
:func:`~segml.segments.rfm_segments`, :class:`~segml.segments.Segmenter`), so the
numbers in the report are the numbers a user gets in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from segml.report.charts import figure_chart, plot_flow, plot_heatmap
from segml.report.page import Section

__all__ = [
    "clusters_section",
    "migration_section",
    "movers_table",
    "pareto_section",
    "periods_section",
    "rfm_grid",
    "rfm_section",
    "segment_summary",
]


def pareto_section(values: pd.Series, tiers: pd.Series, *, when: str) -> Section:
    """Pareto table and Lorenz curve with one band per tier.

    The curve is drawn as PNG: it has one point per customer.
    """
    from segml.tiers import pareto_table, plot_pareto

    # pandas' Arrow-backed string index checks membership (Index.isin) in a
    # Python loop: 1.5 s per call at 100 k ids; the object index hashes
    values, tiers = _object_index(values), _object_index(tiers)
    table = pareto_table(values, tiers)
    chart = figure_chart(
        plot_pareto(values, tiers, title=f"Pareto / Lorenz curve, {when}"),
        "pareto",
        "Cumulative share of value held by the first x % of customers, best "
        "tier first; each band is a tier with its share of customers and value.",
        fmt="png",
    )
    top = table.iloc[0]
    return Section(
        key="pareto",
        title="Pareto / Lorenz curve",
        intro=(
            f"Concentration of value {when}: tier {table.index[0]} holds "
            f"{top['customer_share']:.1%} of customers and "
            f"{_pct(top['value_share'])} of value."
        ),
        tables={"pareto": table},
        charts=[chart],
        captions={"pareto": "Customers and value per tier (segml.tiers.pareto_table)"},
    )


def _object_index(s: pd.Series) -> pd.Series:
    index = pd.Index(s.index.to_numpy(dtype=object), dtype=object, name=s.index.name)
    return s.set_axis(index)


def _pct(x: float) -> str:
    return f"{x:.1%}" if np.isfinite(x) else "n/a"


def movers_table(
    movers: pd.DataFrame,
    value_before: pd.Series,
    value_after: pd.Series,
    *,
    top: int | None = 25,
) -> pd.DataFrame:
    """Risers or fallers of :func:`~segml.tiers.tier_migration` with their values.

    Adds ``value_before``, ``value_after`` and ``change``; sorted by tiers moved,
    then by the size of the change (largest first), then by id.

    Examples
    --------
    >>> movers = pd.DataFrame({"customer_id": ["a", "b"], "before": ["C", "C"],
    ...                        "after": ["B", "A"], "steps": [1, 2]})
    >>> vb = pd.Series({"a": 10.0, "b": 5.0})
    >>> va = pd.Series({"a": 50.0, "b": 400.0})
    >>> movers_table(movers, vb, va)[["customer_id", "change"]].to_numpy().tolist()
    [['b', 395.0], ['a', 40.0]]
    """
    ids = movers["customer_id"]
    out = movers.assign(
        value_before=value_before.reindex(ids).fillna(0.0).to_numpy(dtype=float),
        value_after=value_after.reindex(ids).fillna(0.0).to_numpy(dtype=float),
    )
    out["change"] = out["value_after"] - out["value_before"]
    out = out.assign(_size=out["change"].abs()).sort_values(
        ["steps", "_size", "customer_id"], ascending=[False, False, True]
    )
    out = out.drop(columns="_size").reset_index(drop=True)
    return out.head(top) if top is not None else out


def migration_section(
    before: pd.Series,
    after: pd.Series,
    value_before: pd.Series,
    value_after: pd.Series,
    *,
    labels: Sequence[str],
    before_name: str,
    after_name: str,
    top: int = 25,
) -> Section:
    """Migration matrix (heatmap and flow chart), rising stars and fallers.

    Rising stars are the risers that started in the last tier (C -> B or A);
    all risers and fallers are counted, the ``top`` of each are listed.
    """
    from segml.tiers import tier_migration

    before, after = _object_index(before), _object_index(after)
    m = tier_migration(before, after, tiers=list(labels))
    counts = m.counts.copy()
    counts.columns.name = "after"
    heat = figure_chart(
        plot_heatmap(
            counts,
            title=f"Tier migration {before_name} -> {after_name}",
            xlabel=f"tier {after_name}",
            ylabel=f"tier {before_name}",
        ),
        "migration_heatmap",
        "Customers per (earlier tier, later tier); 'new' were not tiered at the "
        "earlier date, 'gone' not at the later one.",
    )
    flow = figure_chart(
        plot_flow(m.counts, before=before_name, after=after_name),
        "migration_flow",
        "The same matrix as flows: each band is the customers moving between "
        "two tiers.",
    )
    last = str(labels[-1])
    stars = m.risers.loc[m.risers["before"] == last]
    tables = {
        "migration_counts": m.counts,
        "migration_shares": m.shares,
        "rising_stars": movers_table(stars, value_before, value_after, top=top),
        "fallers": movers_table(m.fallers, value_before, value_after, top=top),
    }
    n_stars, n_fall = len(stars), len(m.fallers)
    return Section(
        key="migration",
        title=f"Tier migration {before_name} -> {after_name}",
        intro=(
            f"{len(m.risers)} customers moved up a tier ({n_stars} rising stars "
            f"from {last}), {n_fall} moved down. Values are the tiering value of "
            "each period."
        ),
        tables=tables,
        charts=[heat, flow],
        captions={
            "migration_counts": "Customers per (before, after) tier",
            "migration_shares": "Share of each earlier tier going to each later one",
            "rising_stars": f"Rising stars ({last} -> better), top {top} of {n_stars}",
            "fallers": f"Fallers (any tier -> worse), top {top} of {n_fall}",
        },
    )


def rfm_grid(segments: pd.DataFrame, values: pd.Series | None = None) -> pd.DataFrame:
    """Customers per cell of the (R, FM) grid, R 5 (best) on top, FM 1..5 across.

    Examples
    --------
    >>> seg = pd.DataFrame({"R": [5, 5, 1], "FM": [5, 5, 2]})
    >>> grid = rfm_grid(seg)
    >>> int(grid.loc[5, 5]), int(grid.loc[1, 2]), int(grid.to_numpy().sum())
    (2, 1, 3)
    """
    n_bins = int(max(segments["R"].max(), segments["FM"].max(), 5))
    grid = pd.crosstab(
        pd.Categorical(segments["R"], categories=range(n_bins, 0, -1)),
        pd.Categorical(segments["FM"], categories=range(1, n_bins + 1)),
        dropna=False,
    ).astype("int64")
    grid.index = pd.Index(range(n_bins, 0, -1), name="R")
    grid.columns = pd.Index(range(1, n_bins + 1), name="FM")
    return grid


def segment_summary(features: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Per named RFM segment: customers, shares and median R/F/M inputs.

    Examples
    --------
    >>> feats = pd.DataFrame({"recency_days": [5, 40], "orders": [8, 3],
    ...                       "net_spend": [900.0, 100.0]}, index=["a", "b"])
    >>> seg = pd.DataFrame({"segment": pd.Categorical(["champions", "loyal"])},
    ...                    index=["a", "b"])
    >>> segment_summary(feats, seg)["value_share"].tolist()
    [0.9, 0.1]
    """
    key = segments["segment"]
    spend = features["net_spend"].astype(float)
    total = float(spend.sum())
    groups = pd.DataFrame(
        {
            "segment": key.array,  # categorical: segments in their mapping order
            "recency_days": features["recency_days"].to_numpy(dtype=float),
            "orders": features["orders"].to_numpy(dtype=float),
            "net_spend": spend.to_numpy(),
        }
    ).groupby("segment", observed=True, sort=True)
    out = pd.DataFrame(
        {
            "customers": groups.size(),
            "customer_share": groups.size() / len(features),
            "value_share": groups["net_spend"].sum() / total if total > 0 else np.nan,
            "median_recency_days": groups["recency_days"].median(),
            "median_orders": groups["orders"].median(),
            "median_net_spend": groups["net_spend"].median(),
        }
    )
    out.index = pd.Index([str(s) for s in out.index], name="segment", dtype="str")
    return out


def rfm_section(features: pd.DataFrame, *, when: str) -> Section:
    """RFM grid heatmap and named RFM segments of the customers with history."""
    from segml.segments import rfm_segments

    buyers = _buyers(features)
    if len(buyers) == 0:
        return Section(
            key="rfm",
            title="RFM grid and segments",
            notes=["no customer has a purchase yet: no RFM scores"],
        )
    segments = rfm_segments(buyers)
    grid = rfm_grid(segments)
    chart = figure_chart(
        plot_heatmap(
            grid,
            title=f"RFM grid, {when}",
            xlabel="FM score (frequency and monetary, 5 = best)",
            ylabel="R score (5 = most recent)",
            cmap="Greens",
        ),
        "rfm_grid",
        "Customers per (R, FM) cell; segments are named regions of this grid.",
    )
    summary = segment_summary(buyers, segments)
    return Section(
        key="rfm",
        title="RFM grid and segments",
        intro=(
            f"{len(buyers)} customers with a purchase, scored 1-5 on recency, "
            "frequency and monetary value by quantiles (segml.segments.rfm_segments)."
        ),
        tables={"rfm_grid": grid, "rfm_segments": summary},
        charts=[chart],
        captions={
            "rfm_grid": "Customers per (R, FM) cell",
            "rfm_segments": "Named RFM segments",
        },
    )


def _buyers(features: pd.DataFrame) -> pd.DataFrame:
    if "has_history" in features.columns:
        return features.loc[features["has_history"].to_numpy(dtype=bool)]
    return features


def clusters_section(
    features: pd.DataFrame,
    tiers: pd.Series | dict[str, pd.Series],
    *,
    k_range: tuple[int, int] = (2, 8),
    sample_size: int = 10_000,
    seed: int = 0,
    segmenter: object | None = None,
    fit_rows: int = 20_000,
    k: int | None = None,
    criterion: str = "prediction_strength",
    threshold: float = 0.8,
) -> Section:
    """Behavioural segment profiles of the customers with history.

    With ``segmenter`` (a fitted :class:`~segml.segments.Segmenter`, e.g. the
    model's), its profiles are shown; otherwise one is fitted here as a
    training run does (``k``, ``criterion`` and ``threshold`` as in
    ``segments``; see docs/segments.md), except that beyond ``fit_rows``
    customers with history the segments are fitted and profiled on a seeded
    random sample of that many (the fit's cost grows with the rows; a
    profile's medians and shares are estimated well by 20,000 customers).
    ``tiers`` is one tier series or a mapping rule -> tiers (the tier mix of
    each segment under each rule).
    """
    from segml.segments import Segmenter, plot_profiles

    buyers = _buyers(features)
    notes = []
    if segmenter is None:
        k_min, k_max = k_range
        if len(buyers) < 3 * (k or k_min):
            return Section(
                key="clusters",
                title="Cluster profiles",
                notes=[f"{len(buyers)} customers with history: too few to cluster"],
            )
        k_max = max(k_min, min(k_max, len(buyers) // 3))
        if len(buyers) > fit_rows:
            notes.append(
                f"segments fitted and profiled on a random sample of {fit_rows:,} "
                f"of the {len(buyers):,} customers with history"
            )
            buyers = buyers.sample(fit_rows, random_state=seed).sort_index()
        mixes = (
            {r: t.reindex(buyers.index) for r, t in tiers.items()}
            if isinstance(tiers, dict)
            else tiers.reindex(buyers.index)
        )
        segmenter = Segmenter(
            k=k,
            k_range=(k_min, k_max),
            criterion=criterion,
            threshold=threshold,
            sample_size=sample_size,
            random_state=seed,
        ).fit(buyers, tiers=mixes)
        how = (
            f"k = {segmenter.k_} fixed by segments.k"
            if k is not None
            else f"{segmenter.k_} segments chosen by {criterion.replace('_', ' ')}"
        )
    else:
        notes.append("profiles of the model's segmenter, fitted at its training")
        how = f"{segmenter.k_} segments"
    profiles = segmenter.profiles_
    chart = figure_chart(
        plot_profiles(profiles, title="Segment profiles (standardised medians)"),
        "cluster_profiles",
        "Each row a segment; colours compare its medians across segments, cells "
        "show the raw medians.",
    )
    return Section(
        key="clusters",
        title="Cluster profiles",
        intro=(
            f"{how} among the customers with history, on behavioural features "
            "(segml.segments.Segmenter; how k is chosen: docs/segments.md), named "
            "after the features that most distinguish each segment."
        ),
        tables={"cluster_profiles": profiles},
        charts=[chart],
        notes=notes,
    )


def periods_section(pt: object, *, period: str, top: int = 25) -> Section:
    """Customers and value per tier per period, new and lost best-tier customers.

    ``pt`` is a :class:`~segml.tiers.periods.PeriodTiers`; its ``summary`` is
    shown as it is, with the customers who entered and left the best tier in
    the last period listed by id.
    """
    from segml.report.charts import plot_periods

    labels = list(pt.labels)
    best = labels[0]
    summary = pt.summary
    chart = figure_chart(
        plot_periods(summary, labels),
        "tiers_per_period",
        f"Customers and value per tier at the end of every {period}.",
    )
    best_rows = summary.loc[summary["tier"] == best].set_index("period")
    flows = pd.DataFrame(
        {
            "as_of": best_rows["as_of"],
            "complete": best_rows["complete"],
            f"{best}_customers": best_rows["customers"],
            f"{best}_value": best_rows["value"],
            f"new_{best}": best_rows["entered"],
            f"left_{best}": best_rows["left"],
        }
    )
    last = pt.periods[-1]
    entered, left = pt.entered(best, -1), pt.left(best, -1)
    wide = summary.pivot(index="period", columns="tier", values="customers")
    wide = wide.reindex(columns=labels)
    wide.columns = [f"customers_{t}" for t in labels]
    values = summary.pivot(index="period", columns="tier", values="value")
    values = values.reindex(columns=labels)
    values.columns = [f"value_{t}" for t in labels]
    per_period = pd.concat([wide, values], axis=1).reindex(pt.periods)
    notes = []
    if not bool(summary["complete"].iloc[-1]):
        notes.append(f"the last {period} ({last}) is incomplete: it ends at as-of")
    return Section(
        key="periods",
        title=f"Tiers per {period}",
        intro=(
            f"Tiers by the {pt.rule} rule at the end of each {period}; in {last}, "
            f"{len(entered)} customers entered tier {best} and {len(left)} left it."
        ),
        tables={
            "tiers_per_period": per_period,
            f"{best}_flows": flows,
            f"new_{best}": entered.head(top),
            f"left_{best}": left.head(top),
        },
        charts=[chart],
        notes=notes,
        captions={
            "tiers_per_period": f"Customers and value per tier per {period}",
            f"{best}_flows": f"Tier {best} per {period}: size, value, in and out",
            f"new_{best}": f"New in {best} in {last} (top {top} of {len(entered)})",
            f"left_{best}": f"Left {best} in {last} (top {top} of {len(left)})",
        },
    )
