"""Behaviour features: how a customer buys and interacts.

An *order* is a distinct ``order_id`` (lines without one: a distinct
timestamp); an *order day* is a UTC calendar day with at least one order; a
*gap* is the number of days between two consecutive order days. Interaction
counts come from the event log (``kind`` = ``complaint``, ``support_ticket``,
``web_visit``).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segml.features.base import Context, Feature, Grains, null_float, ratio

__all__ = ["FEATURES", "event_metrics", "features", "order_metrics", "tables"]

FAMILY = "behaviour"
_LEAD0 = "0 for a lead"
_LEADNA = "NaN for a lead"
_EVENTS0 = "0 when the customer has none; NaN for everyone without an event log"

FEATURES = (
    Feature(
        "orders",
        FAMILY,
        "number of distinct orders (order_id; else distinct timestamps)",
        "count",
        _LEAD0,
    ),
    Feature("order_days", FAMILY, "number of distinct order days", "count", _LEAD0),
    Feature(
        "orders_{w}d",
        FAMILY,
        "orders whose first line falls in the trailing w days",
        "count",
        _LEAD0,
    ),
    Feature(
        "items",
        FAMILY,
        "sum of quantity",
        "count",
        _LEAD0 + "; NaN for everyone without a quantity column",
    ),
    Feature(
        "orders_per_active_month",
        FAMILY,
        "orders / active_months",
        "orders per month",
        _LEADNA,
    ),
    Feature(
        "mean_gap_days",
        FAMILY,
        "mean gap between consecutive order days: "
        "(last order day - first order day) / (order_days - 1)",
        "days",
        "NaN with fewer than 2 order days",
    ),
    Feature(
        "std_gap_days",
        FAMILY,
        "sample standard deviation (ddof=1) of the gaps between order days",
        "days",
        "NaN with fewer than 3 order days",
    ),
    Feature(
        "distinct_products",
        FAMILY,
        "number of distinct product_id bought",
        "count",
        _LEAD0 + "; NaN for everyone without a product_id column",
    ),
    Feature(
        "distinct_categories",
        FAMILY,
        "number of distinct category bought",
        "count",
        _LEAD0 + "; NaN for everyone without a category column",
    ),
    Feature(
        "distinct_channels",
        FAMILY,
        "number of distinct channels of the transactions",
        "count",
        _LEAD0 + "; NaN for everyone without a channel column",
    ),
    Feature(
        "main_channel_share",
        FAMILY,
        "gross spend in the customer's top channel / gross spend of the "
        "transactions with a channel",
        "fraction",
        "NaN for a lead, for a customer without positive spend with a channel, "
        "and for everyone without a channel column",
    ),
    Feature(
        "discount_share",
        FAMILY,
        "positive amount of lines with discount > 0 / gross_spend",
        "fraction",
        "NaN when gross_spend is 0 (leads) or without a discount column",
    ),
    Feature(
        "return_rate",
        FAMILY,
        "returns_value / gross_spend",
        "fraction",
        "NaN when gross_spend is 0 (leads)",
    ),
    Feature("complaints", FAMILY, "number of complaint events", "count", _EVENTS0),
    Feature(
        "support_tickets",
        FAMILY,
        "number of support_ticket events",
        "count",
        _EVENTS0,
    ),
    Feature("web_visits", FAMILY, "number of web_visit events", "count", _EVENTS0),
    Feature(
        "web_visits_without_purchase",
        FAMILY,
        "web_visit events on UTC days without an order of the customer",
        "count",
        _EVENTS0,
    ),
)


def order_metrics(o: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer sums over the order grain."""
    cut = ctx.cut(o)
    out = {
        f"orders_{w}": o.count(where=o.ts > cut - ibis.interval(days=w))
        for w in ctx.windows
    }
    if ctx.has("quantity"):
        out["quantity_sum"] = o.quantity.sum()
    if ctx.has("discount"):
        out["discounted"] = o.discounted.sum()
    return out


def event_metrics(e: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer interaction counts."""
    return {
        "n_complaints": e.count(where=e.kind == "complaint"),
        "n_tickets": e.count(where=e.kind == "support_ticket"),
        "n_visits": e.count(where=e.kind == "web_visit"),
    }


def tables(g: Grains, ctx: Context) -> list[ir.Table]:
    """Breadth (products, categories, channels) and unconverted visits."""
    keys = list(ctx.keys)
    out = []
    for column, name in (("product_id", "n_products"), ("category", "n_categories")):
        if ctx.has(column):
            pairs = g.lines.select(*keys, column).distinct()
            out.append(pairs.group_by(keys).aggregate(**{name: pairs[column].count()}))
    if ctx.has("channel"):
        t = g.lines
        per = t.group_by([*keys, "channel"]).aggregate(
            gross=t.amount.sum(where=t.amount > 0)
        )
        out.append(
            per.group_by(keys).aggregate(
                n_channels=per.channel.count(),
                main_channel=per.gross.max(where=per.channel.notnull()),
                channel_gross=per.gross.sum(where=per.channel.notnull()),
            )
        )
    if g.events is not None:
        e = g.events
        visits = e.filter(e.kind == "web_visit")
        visits = visits.mutate(day=visits.ts.date().epoch_days())
        o = g.orders
        first_of_day = o.day_gap.isnull() | (o.day_gap > 0)
        bought = o.filter(first_of_day).select(*keys, "day", _bought=ibis.literal(True))
        joined = visits.left_join(bought, [*keys, "day"])
        out.append(
            joined.group_by(keys).aggregate(
                n_visits_unconverted=joined.count(where=joined._bought.isnull())
            )
        )
    return out


def features(
    b: ir.Table, ctx: Context, done: dict[str, ir.Value], grains: Grains
) -> dict[str, ir.Value]:
    """The behaviour features from the joined per-customer table ``b``."""
    n_orders = b.n_orders.cast("float64")
    out = {
        "orders": n_orders.fill_null(0.0),
        "order_days": b.n_days.cast("float64").fill_null(0.0),
    }
    for w in ctx.windows:
        out[f"orders_{w}d"] = b[f"orders_{w}"].cast("float64").fill_null(0.0)
    out["items"] = (
        b.quantity_sum.fill_null(0.0) if ctx.has("quantity") else null_float()
    )
    out["orders_per_active_month"] = ratio(b.n_orders, b.n_months)
    out["mean_gap_days"] = ratio(b.last_day - b.first_day, b.n_days - 1)
    out["std_gap_days"] = b.gap_std.cast("float64")
    for column, name, base in (
        ("product_id", "distinct_products", "n_products"),
        ("category", "distinct_categories", "n_categories"),
        ("channel", "distinct_channels", "n_channels"),
    ):
        out[name] = (
            b[base].cast("float64").fill_null(0.0) if ctx.has(column) else null_float()
        )
    out["main_channel_share"] = (
        ratio(b.main_channel, b.channel_gross) if ctx.has("channel") else null_float()
    )
    out["discount_share"] = (
        ratio(b.discounted.fill_null(0.0), b.gross)
        if ctx.has("discount")
        else null_float()
    )
    out["return_rate"] = ratio(b.returned, b.gross)
    for name, base in (
        ("complaints", "n_complaints"),
        ("support_tickets", "n_tickets"),
        ("web_visits", "n_visits"),
        ("web_visits_without_purchase", "n_visits_unconverted"),
    ):
        out[name] = (
            b[base].cast("float64").fill_null(0.0) if ctx.has_events else null_float()
        )
    return out
