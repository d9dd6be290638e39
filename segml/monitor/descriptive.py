"""Tiers and segments as a config defines them, over the tables a config loads.

The glue between :class:`~segml.config.Config` and the descriptive functions
(:func:`~segml.tiers.period_tiers`, :func:`~segml.segments.rfm_segments`,
:class:`~segml.segments.Segmenter`) shared by ``segml tiers``, ``segml
segments`` and ``segml monitor`` (and ``segml report``): the rule, shares,
labels, composite criteria and hysteresis of ``tiers.*``, the feature windows
of a training run, and the value window of its current tiers
(``training.horizon_days``: the tiers ``segml train`` logs as of its last day
are the last block of ``config_period_tiers(cfg, tables, as_of=that day)``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from segml.config.models import Config, TiersConfig
from segml.errors import SegmlConfigError
from segml.tiers.periods import PeriodTiers, period_ends, period_tiers

__all__ = [
    "PERIOD_WINDOW",
    "config_period_tiers",
    "config_segments",
    "feature_windows",
    "previous_period_end",
    "tier_options",
]

#: ``window`` value meaning "the value inside each period".
PERIOD_WINDOW = "period"


def tier_options(tiers: TiersConfig, rule: str | None = None) -> dict[str, Any]:
    """Keyword arguments of :func:`~segml.tiers.period_tiers` from ``tiers.*``.

    Examples
    --------
    >>> from segml.config import Config
    >>> opts = tier_options(Config().tiers, rule="value")
    >>> opts["rule"], opts["shares"], opts["hysteresis"]
    ('value', (0.8, 0.15, 0.05), None)
    """
    rule = rule or tiers.rule
    cut_rule = tiers.composite_cut if rule == "composite" else rule
    shares = tiers.count_shares if cut_rule == "count" else tiers.value_shares
    options: dict[str, Any] = {
        "rule": rule,
        "shares": tuple(shares),
        "tiers": tuple(tiers.labels),
        "hysteresis": tiers.hysteresis,
    }
    if rule == "composite":
        options["criteria"] = dict(tiers.composite_criteria)
        options["cut"] = tiers.composite_cut
    return options


def feature_windows(cfg: Config) -> tuple[int, ...]:
    """The trailing windows a training run builds its features with.

    Examples
    --------
    >>> from segml.config import Config
    >>> feature_windows(Config())
    (90, 180, 365)
    """
    t = cfg.training
    return tuple(sorted({*cfg.features.windows, t.horizon_days, t.label_horizon}))


def previous_period_end(as_of: object, period: str) -> pd.Timestamp:
    """The end of the period before the one ``as_of`` closes or falls in.

    A date at the very start of a period (midnight on the 1st) closes the
    period before it, so ``2024-04-01`` and ``2024-03-15`` both look back to
    the end of February.

    Examples
    --------
    >>> previous_period_end("2024-04-01", "month")
    Timestamp('2024-02-29 23:59:59.999999')
    >>> previous_period_end("2024-03-15", "quarter")
    Timestamp('2023-12-31 23:59:59.999999')
    """
    from segml.features.asof import to_as_of

    probe = to_as_of(as_of) - pd.Timedelta(microseconds=1)
    start = pd.Timestamp(period_ends(probe, probe, period)["start"].iloc[0])
    return start - pd.Timedelta(microseconds=1)


def config_period_tiers(
    cfg: Config,
    tables: Any,
    *,
    as_of: object,
    period: str | None = None,
    window: int | str | None = None,
    rule: str | None = None,
    start: object | None = None,
) -> PeriodTiers:
    """Tiers of ``cfg`` per period up to ``as_of`` (or only at ``as_of``).

    Parameters
    ----------
    cfg : Config
    tables : Tables
        What :func:`segml.app.tables.load_tables` read.
    as_of : str or Timestamp
    period : {"month", "quarter", "year"}, optional
        One block per period end up to ``as_of``; without it, one block at
        ``as_of`` (with ``tiers.hysteresis`` the tiers still step month by
        month from the first transaction, since each depends on the last).
    window : int or "period", optional
        Days of value up to each date; ``"period"``: the value inside each
        period; default ``training.horizon_days``.
    rule : {"count", "value", "composite"}, optional
        Overrides ``tiers.rule``.
    start : str or Timestamp, optional
        First period reported (default: the first transaction).

    Raises
    ------
    SegmlConfigError
        A bad option or a config the data cannot serve, naming the problem.
    """
    if window == PERIOD_WINDOW:
        if period is None:
            raise SegmlConfigError("--window period needs --period")
        window_days = None
    elif window is None:
        window_days = cfg.training.horizon_days
    else:
        try:
            window_days = int(window)
        except (TypeError, ValueError):
            raise SegmlConfigError(
                f"--window must be a number of days or 'period', got {window!r}"
            ) from None
        if window_days <= 0:
            raise SegmlConfigError(f"--window must be positive days, got {window!r}")
    options = tier_options(cfg.tiers, rule)
    single = period is None
    if single and options["hysteresis"] is None:
        start = as_of  # one block: the period holding as_of, ending at it
    try:
        result = period_tiers(
            tables.transactions,
            as_of=as_of,
            period=period or "month",
            window_days=window_days,
            customers=tables.customers,
            events=tables.events,
            feature_params={"windows": feature_windows(cfg)},
            start=start,
            **options,
        )
    except ValueError as exc:
        if isinstance(exc, SegmlConfigError):
            raise
        hint = ""
        if options["rule"] == "composite" and "criteria" in str(exc):
            hint = " (set tiers.composite_criteria to feature columns with values)"
        raise SegmlConfigError(f"tiers as of {as_of}: {exc}{hint}") from exc
    if single:
        last = result.periods[-1]
        keep = result.tiers["period"] == last
        result = PeriodTiers(
            tiers=result.tiers.loc[keep].reset_index(drop=True),
            summary=result.summary.loc[result.summary["period"] == last].reset_index(
                drop=True
            ),
            changes=result.changes.loc[result.changes["period"] == last].reset_index(
                drop=True
            ),
            rule=result.rule,
            labels=result.labels,
        )
    return result


def config_segments(
    cfg: Config, tables: Any, *, as_of: object, kind: str = "all"
) -> tuple[pd.DataFrame, str | None]:
    """RFM segments and clusters of the customers with history at ``as_of``.

    The features are built as a training run builds them
    (:func:`feature_windows`); the clusters are fitted on the customers with
    history with ``segments.*`` (k up to a third of them) and the
    Segmenter's default features, as a run fits them on its latest snapshot.

    Returns
    -------
    (DataFrame, str or None)
        ``customer_id``, ``as_of``, ``tier``, then ``R``, ``F``, ``M``, ``FM``,
        ``rfm_segment`` (``kind`` ``all`` or ``rfm``) and ``cluster``,
        ``cluster_name`` (``all`` or ``clusters``); and a note when clusters
        were skipped for lack of customers.
    """
    from segml.features import build_features
    from segml.features.asof import to_as_of
    from segml.segments import rfm_segments

    if kind not in ("all", "rfm", "clusters"):
        raise SegmlConfigError(f"kind must be all, rfm or clusters, got {kind!r}")
    when = to_as_of(as_of, name="--as-of")
    features = build_features(
        tables.transactions,
        tables.customers,
        tables.events,
        as_of=when,
        windows=feature_windows(cfg),
    )
    buyers = features.loc[features["has_history"].to_numpy(dtype=bool)]
    if buyers.empty:
        raise SegmlConfigError(
            f"no customer has a purchase at or before {when}: nothing to segment"
        )
    pt = config_period_tiers(cfg, tables, as_of=when)
    tiers = pt.at(-1)
    out = pd.DataFrame(
        {"as_of": when, "tier": tiers.reindex(buyers.index)}, index=buyers.index
    )
    note = None
    if kind in ("all", "rfm"):
        rfm = rfm_segments(buyers)
        out = out.join(rfm[["R", "F", "M", "FM"]])
        out["rfm_segment"] = rfm["segment"]
    if kind in ("all", "clusters"):
        from segml.app.segments import fit_segmenter

        # fitted as a training run fits its snapshot's (leads labelled, left
        # out of this table), tier mixes on the value the tiers were cut on
        value = pt.tiers.loc[pt.tiers["period"] == pt.periods[-1]]
        segmenter = fit_segmenter(
            cfg, features, value.set_index("customer_id")["value"]
        )
        if segmenter is None:
            s = cfg.segments
            note = (
                f"clusters skipped: {len(buyers)} customers with history, fewer "
                f"than 3 x segments.{'k' if s.k else 'k_min'} = {3 * (s.k or s.k_min)}"
            )
            if kind == "clusters":
                raise SegmlConfigError(note)
        else:
            labels = pd.Series(segmenter.labels_, index=features.index)
            out["cluster"] = labels.reindex(buyers.index)
            out["cluster_name"] = out["cluster"].map(segmenter.names_)
    return out.rename_axis("customer_id").reset_index(), note
