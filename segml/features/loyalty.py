"""Loyalty features: repeat buying, regularity, satisfaction and punctuality.

Active periods are calendar months (UTC) with at least one order. Satisfaction
comes from ``nps`` events (``value`` = score 0-10), punctuality from
``payment`` events (``value`` = days late; 0 or less is on time).
"""

from __future__ import annotations

import ibis.expr.types as ir
import pandas as pd

from segml.features.base import (
    Context,
    Feature,
    Grains,
    active_months,
    epoch_month,
    longest_run,
    month_mask,
    null_float,
    ratio,
)

__all__ = [
    "FEATURES",
    "event_metrics",
    "features",
    "finish",
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
    """Active months and the longest run of consecutive active months (with
    the month-mask fast path, the mask; see :func:`finish`)."""
    if "month_base" in ctx.extra:
        return {"_month_mask": month_mask(s, ctx)}
    return {
        "n_months": s.count(where=s.month_step.isnull() | (s.month_step > 0)),
        "streak": (s.month - s.run_start + 1).max(),
    }


def finish(frame: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """The pandas step of the month-mask fast path: the query returns the
    active-month mask in ``longest_streak_months``; its longest run of set
    bits is the longest streak (0 for a lead, whose mask is 0)."""
    name = "longest_streak_months"
    if "month_base" in ctx.extra and name in frame.columns:
        frame[name] = longest_run(frame[name].to_numpy())
    return frame


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
    n_months = active_months(b, ctx)
    if "month_base" in ctx.extra:
        # the mask (0 for a lead), turned into the run length by finish()
        streak = b._month_mask.fill_null(0)
    else:
        streak = b.streak.cast("float64").fill_null(0.0)
    out = {
        "is_repeat": (b.n_days >= 2).fill_null(False),
        "repeat_rate": ratio(b.n_days - 1, b.n_days),
        "active_months": n_months.cast("float64").fill_null(0.0),
        "active_month_share": ratio(n_months, months_span),
        "longest_streak_months": streak,
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
