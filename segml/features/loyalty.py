"""Loyalty features: repeat buying, regularity, satisfaction and punctuality.

Active periods are calendar months (UTC) with at least one order. Satisfaction
comes from ``nps`` events (``value`` = score 0-10), punctuality from
``payment`` events (``value`` = days late; 0 or less is on time).
"""

from __future__ import annotations

import ibis.expr.types as ir

from segml.features.base import (
    Context,
    Feature,
    Grains,
    epoch_month,
    null_float,
    ratio,
)

__all__ = [
    "FEATURES",
    "event_metrics",
    "features",
    "sequence_metrics",
]

FAMILY = "loyalty"
_LEADNA = "NaN for a lead"
_EVENTSNA = "NaN when the customer has none, and for everyone without an event log"

FEATURES = (
    Feature(
        "is_repeat",
        FAMILY,
        "bought on at least two different days (order_days >= 2)",
        "flag",
        "False for a lead",
        dtype="bool",
    ),
    Feature(
        "repeat_rate",
        FAMILY,
        "(order_days - 1) / order_days: share of the order days that are "
        "repeat days (the lifetimes convention)",
        "fraction",
        _LEADNA,
    ),
    Feature(
        "active_months",
        FAMILY,
        "number of calendar months with an order",
        "count",
        "0 for a lead",
    ),
    Feature(
        "active_month_share",
        FAMILY,
        "active_months / months from the first order's month to the cutoff's "
        "month, both included",
        "fraction",
        _LEADNA,
    ),
    Feature(
        "longest_streak_months",
        FAMILY,
        "longest run of consecutive active months",
        "months",
        "0 for a lead",
    ),
    Feature(
        "gap_cv",
        FAMILY,
        "regularity: std_gap_days / mean_gap_days (coefficient of variation; "
        "0 is perfectly regular)",
        "ratio",
        "NaN with fewer than 3 order days",
    ),
    Feature("nps_last", FAMILY, "latest NPS score", "score 0-10", _EVENTSNA),
    Feature("nps_mean", FAMILY, "mean NPS score", "score 0-10", _EVENTSNA),
    Feature(
        "mean_days_late",
        FAMILY,
        "mean days late of the payments (negative = early)",
        "days",
        _EVENTSNA,
    ),
    Feature(
        "share_paid_late",
        FAMILY,
        "share of the payments made more than 0 days late",
        "fraction",
        _EVENTSNA,
    ),
)


def sequence_metrics(s: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Active months and the longest run of consecutive active months."""
    return {
        "n_months": s.count(where=s.month_step.isnull() | (s.month_step > 0)),
        "streak": (s.month - s.run_start + 1).max(),
    }


def event_metrics(e: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Satisfaction and punctuality."""
    nps = (e.kind == "nps") & e.value.notnull()
    pay = (e.kind == "payment") & e.value.notnull()
    return {
        "nps_last": e.value.argmax(e.ts, where=nps),
        "nps_mean": e.value.mean(where=nps),
        "late_mean": e.value.mean(where=pay),
        "n_late": e.count(where=pay & (e.value > 0)),
        "n_payments": e.count(where=pay),
    }


def features(
    b: ir.Table, ctx: Context, done: dict[str, ir.Value], grains: Grains
) -> dict[str, ir.Value]:
    """The loyalty features from the joined per-customer table ``b``."""
    months_span = epoch_month(ctx.cut(b)) - b.first_month + 1
    out = {
        "is_repeat": (b.n_days >= 2).fill_null(False),
        "repeat_rate": ratio(b.n_days - 1, b.n_days),
        "active_months": b.n_months.cast("float64").fill_null(0.0),
        "active_month_share": ratio(b.n_months, months_span),
        "longest_streak_months": b.streak.cast("float64").fill_null(0.0),
        "gap_cv": ratio(done["std_gap_days"], done["mean_gap_days"]),
    }
    if ctx.has_events:
        out["nps_last"] = b.nps_last.cast("float64")
        out["nps_mean"] = b.nps_mean.cast("float64")
        out["mean_days_late"] = b.late_mean.cast("float64")
        out["share_paid_late"] = ratio(b.n_late, b.n_payments)
    else:
        for name in ("nps_last", "nps_mean", "mean_days_late", "share_paid_late"):
            out[name] = null_float()
    return out
