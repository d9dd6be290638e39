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
import pyarrow as pa

from segml.features.base import (
    Context,
    Feature,
    Grains,
    active_months,
    bit_count,
    null_float,
    ratio,
)

__all__ = [
    "FEATURES",
    "LEVEL_LIMITS",
    "event_metrics",
    "features",
    "line_metrics",
    "order_metrics",
    "prepare_lines",
    "shared_tables",
    "tables",
]

#: Optional columns whose distinct values can be counted without a table of
#: (customer, value) pairs, and the most distinct values for that: each value
#: is one bit of an int64 mask (the sign bit unused), OR-ed per order and then
#: per customer; channels also get one gross sum per value. The builder looks
#: up the values (``ctx.extra["levels"]``); more values than the limit, or no
#: lookup (Spark), fall back to the pair tables of :func:`tables`.
LEVEL_LIMITS = {"product_id": 62, "category": 62, "channel": 8}

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


def _levels(ctx: Context) -> dict[str, list[str]]:
    return {c: v for c, v in ctx.extra.get("levels", {}).items() if ctx.has(c)}


def prepare_lines(t: ir.Table, ctx: Context) -> ir.Table:
    """The lines with the bit of their value of each low-cardinality column
    (unchanged with shared tables: those hold the masks already)."""
    if "shared" in ctx.extra:
        return t
    for column, values in _levels(ctx).items():
        level, bit = f"_{column}_level", f"_{column}_bit"
        codes = ibis.memtable(
            pa.table(
                {
                    level: pa.array(values, pa.string()),
                    bit: pa.array([1 << k for k in range(len(values))], pa.int64()),
                }
            )
        )
        t = t.left_join(codes, t[column] == codes[level]).drop(level)
    return t


def line_metrics(t: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer sums of the lines (items, discounted spend), and the masks
    (and channel gross sums) of the low-cardinality columns from the lines
    prepared by :func:`prepare_lines` (with shared tables, :func:`tables`
    reads those from there instead)."""
    out = {}
    if ctx.has("quantity"):
        out["quantity_sum"] = t.quantity.sum()
    if ctx.has("discount"):
        out["discounted"] = t.amount.sum(where=(t.amount > 0) & (t.discount > 0))
    if "shared" not in ctx.extra:
        out.update(_level_metrics(t, ctx))
    return out


def _level_metrics(t: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    out = {}
    levels = _levels(ctx)
    for column in levels:
        out[f"_{column}_mask"] = t[f"_{column}_bit"].bit_or()
    for k in range(len(levels.get("channel", ()))):
        hit = (t.amount > 0) & (t._channel_bit == (1 << k))
        out[f"_channel_gross_{k}"] = t.amount.sum(where=hit)
    return out


def _paired(ctx: Context) -> list[tuple[str, str]]:
    """(column, aggregate name) of the breadth counts that need pair tables."""
    return [
        (column, name)
        for column, name in (("product_id", "n_products"), ("category", "n_categories"))
        if ctx.has(column) and column not in _levels(ctx)
    ]


def shared_tables(lines: ir.Table, ctx: Context) -> dict[str, ir.Table]:
    """Line-grain partials that serve several cutoffs at once.

    ``lines`` are the lines up to the last cutoff, with ``_bucket``: the index
    of the first cutoff that sees the line. Per (customer, value) the first
    bucket that sees the pair, and per (customer, bucket) the masks and
    channel sums; a cutoff then keeps the rows of its bucket and before
    (:func:`tables`) instead of grouping the lines again.
    """
    keys = list(ctx.keys)
    out = {}
    for column, _ in _paired(ctx):
        out[column] = lines.group_by([*keys, column]).aggregate(
            _first=lines._bucket.min()
        )
    if _levels(ctx):
        t = prepare_lines(lines, ctx)
        out["levels"] = t.group_by([*keys, "_bucket"]).aggregate(
            **_level_metrics(t, ctx)
        )
    return out


def order_metrics(o: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer sums over the order grain."""
    cut = ctx.cut(o)
    out = {
        f"orders_{w}": o.count(where=o.ts > cut - ibis.interval(days=w))
        for w in ctx.windows
    }
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
    levels = _levels(ctx)
    shared = ctx.extra.get("shared")
    out = []
    for column, name in _paired(ctx):
        if shared is not None:
            pairs = shared[column]
            pairs = pairs.filter(pairs._first <= ctx.extra["bucket"])
        else:
            pairs = g.lines.select(*keys, column).distinct()
        out.append(pairs.group_by(keys).aggregate(**{name: pairs[column].count()}))
    if shared is not None and levels:
        part = shared["levels"]
        part = part.filter(part._bucket <= ctx.extra["bucket"])
        metrics = {}
        for column in levels:
            metrics[f"_{column}_mask"] = part[f"_{column}_mask"].bit_or()
        for k in range(len(levels.get("channel", ()))):
            metrics[f"_channel_gross_{k}"] = part[f"_channel_gross_{k}"].sum()
        out.append(part.group_by(keys).aggregate(**metrics))
    if ctx.has("channel") and "channel" not in levels:
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
        unconverted = visits.anti_join(g.orders, [*keys, "day"])
        out.append(
            unconverted.group_by(keys).aggregate(
                n_visits_unconverted=unconverted.count()
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
    out["orders_per_active_month"] = ratio(b.n_orders, active_months(b, ctx))
    out["mean_gap_days"] = ratio(b.last_day - b.first_day, b.n_days - 1)
    out["std_gap_days"] = b.gap_std.cast("float64")
    levels = _levels(ctx)
    for column, name, base in (
        ("product_id", "distinct_products", "n_products"),
        ("category", "distinct_categories", "n_categories"),
        ("channel", "distinct_channels", "n_channels"),
    ):
        if not ctx.has(column):
            out[name] = null_float()
            continue
        if column in levels:
            count = bit_count(b[f"_{column}_mask"])
        else:
            count = b[base]
        out[name] = count.cast("float64").fill_null(0.0)
    if not ctx.has("channel"):
        out["main_channel_share"] = null_float()
    elif "channel" in levels:
        sums = [b[f"_channel_gross_{k}"] for k in range(len(levels["channel"]))]
        top = ibis.greatest(*sums) if len(sums) > 1 else sums[0]
        total = sum(x.fill_null(0.0) for x in sums)
        out["main_channel_share"] = ratio(top, total)
    else:
        out["main_channel_share"] = ratio(b.main_channel, b.channel_gross)
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
