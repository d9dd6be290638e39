"""Lifecycle features: where a customer stands in time.

Durations are in fractional days between the cutoff and a timestamp. The
lifecycle stage follows :data:`DEFAULT_STAGE_THRESHOLDS`, checked in order:

1. ``prospect`` - no purchase at or before the cutoff (a lead);
2. ``churned`` - ``recency_days > churned_days`` (365);
3. ``at_risk`` - ``recency_days > at_risk_days`` (180);
4. ``new`` - ``tenure_days <= new_days`` (90): first purchase in the last 90 days;
5. ``active`` - everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from segml.features.base import (
    Context,
    Feature,
    Grains,
    days_between,
    null_float,
    ratio,
)

__all__ = [
    "DEFAULT_STAGE_THRESHOLDS",
    "FEATURES",
    "STAGES",
    "check_thresholds",
    "features",
    "order_metrics",
    "sequence_metrics",
]

FAMILY = "lifecycle"
STAGES = ("prospect", "new", "active", "at_risk", "churned")
DEFAULT_STAGE_THRESHOLDS: Mapping[str, float] = {
    "new_days": 90,
    "at_risk_days": 180,
    "churned_days": 365,
}
_LEADNA = "NaN for a lead"

FEATURES = (
    Feature(
        "has_history",
        FAMILY,
        "the customer has at least one transaction at or before the cutoff",
        "flag",
        "False for a lead",
        dtype="bool",
    ),
    Feature(
        "tenure_days",
        FAMILY,
        "cutoff - first purchase timestamp",
        "days",
        _LEADNA,
    ),
    Feature(
        "recency_days",
        FAMILY,
        "cutoff - last purchase timestamp",
        "days",
        _LEADNA,
    ),
    Feature(
        "recency_ratio",
        FAMILY,
        "recency_days / mean_gap_days: how many typical gaps since the last order",
        "ratio",
        "NaN with fewer than 2 order days",
    ),
    Feature(
        "spend_trend",
        FAMILY,
        "(recent - previous) / (recent + previous), gross spend of the first "
        "trailing window (recent) vs the window before it (previous); in [-1, 1]",
        "ratio",
        "0 when both windows are empty; NaN for a lead",
    ),
    Feature(
        "orders_trend",
        FAMILY,
        "as spend_trend, with order counts",
        "ratio",
        "0 when both windows are empty; NaN for a lead",
    ),
    Feature(
        "days_since_signup",
        FAMILY,
        "cutoff - signup_ts",
        "days",
        "NaN without signup_ts, or when signup_ts is after the cutoff",
    ),
    Feature(
        "first_order_value",
        FAMILY,
        "net amount of the first order day (usually the first order)",
        "currency",
        _LEADNA,
    ),
    Feature(
        "lifecycle_stage",
        FAMILY,
        "prospect / new / active / at_risk / churned by the thresholds "
        "new_days=90, at_risk_days=180, churned_days=365 (see module docs)",
        "category",
        "prospect for a lead",
        dtype="category",
    ),
)


def check_thresholds(thresholds: Mapping[str, float] | None) -> dict[str, float]:
    """The stage thresholds with defaults filled in, checked for order."""
    out = dict(DEFAULT_STAGE_THRESHOLDS)
    unknown = set(thresholds or {}) - set(out)
    if unknown:
        raise ValueError(
            f"unknown stage threshold(s) {sorted(unknown)}; known: {sorted(out)}"
        )
    out.update(thresholds or {})
    if not 0 < out["at_risk_days"] <= out["churned_days"]:
        raise ValueError("stage thresholds need 0 < at_risk_days <= churned_days")
    return {k: float(v) for k, v in out.items()}


def order_metrics(o: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Order counts of the two trend windows."""
    cut = ctx.cut(o)
    w = ctx.windows[0]
    start = cut - ibis.interval(days=w)
    prev = cut - ibis.interval(days=2 * w)
    return {
        "orders_recent": o.count(where=o.ts > start),
        "orders_previous": o.count(where=(o.ts > prev) & (o.ts <= start)),
        "gross_recent": o.gross.sum(where=o.ts > start),
        "gross_previous": o.gross.sum(where=(o.ts > prev) & (o.ts <= start)),
    }


def sequence_metrics(s: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Net amount of the first order day."""
    return {"first_day_spend": s.amount.sum(where=s.day == s.first_day)}


def _trend(recent: ir.NumericValue, previous: ir.NumericValue) -> ir.FloatingValue:
    recent = recent.cast("float64").fill_null(0.0)
    previous = previous.cast("float64").fill_null(0.0)
    total = recent + previous
    return ibis.ifelse(total == 0, 0.0, (recent - previous) / total)


def features(
    b: ir.Table, ctx: Context, done: dict[str, ir.Value], grains: Grains
) -> dict[str, ir.Value]:
    """The lifecycle features from the joined per-customer table ``b``."""
    cut = ctx.cut(b)
    has_history = b.n_orders.notnull()
    recency = days_between(cut, b.last_ts)
    tenure = days_between(cut, b.first_ts)
    if ctx.has_signup:
        signup = ibis.ifelse(b.signup_ts <= cut, days_between(cut, b.signup_ts), None)
    else:
        signup = null_float()
    th = ctx.thresholds
    stage = ibis.cases(
        (~has_history, "prospect"),
        (recency > th["churned_days"], "churned"),
        (recency > th["at_risk_days"], "at_risk"),
        (tenure <= th["new_days"], "new"),
        else_="active",
    )
    return {
        "has_history": has_history,
        "tenure_days": tenure,
        "recency_days": recency,
        "recency_ratio": ratio(recency, done["mean_gap_days"]),
        "spend_trend": ibis.ifelse(
            has_history, _trend(b.gross_recent, b.gross_previous), None
        ),
        "orders_trend": ibis.ifelse(
            has_history, _trend(b.orders_recent, b.orders_previous), None
        ),
        "days_since_signup": signup.cast("float64"),
        "first_order_value": b.first_day_spend.cast("float64"),
        "lifecycle_stage": stage,
    }
