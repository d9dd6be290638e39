"""Value features: what a customer is worth (spend, margin, order sizes).

Amounts are in the currency of the ``amount`` column; negative amounts are
returns or refunds. Trailing windows are ``(cutoff - w days, cutoff]``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segml.features.base import Context, Feature, Grains, null_float, ratio

__all__ = ["FEATURES", "features", "line_metrics", "order_metrics"]

FAMILY = "value"
_LEAD0 = "0 for a lead"
_LEADNA = "NaN for a lead"

FEATURES = (
    Feature("gross_spend", FAMILY, "sum of the positive amounts", "currency", _LEAD0),
    Feature(
        "net_spend",
        FAMILY,
        "sum of all amounts, returns and refunds included",
        "currency",
        _LEAD0,
    ),
    Feature(
        "returns_value",
        FAMILY,
        "minus the sum of the negative amounts (returned value, >= 0)",
        "currency",
        _LEAD0,
    ),
    Feature(
        "margin",
        FAMILY,
        "sum of the margin column, else sum of amount - cost",
        "currency",
        _LEAD0 + "; NaN for everyone when neither margin nor cost is given",
    ),
    Feature(
        "avg_order_value",
        FAMILY,
        "net_spend / orders (mean net value of an order)",
        "currency",
        _LEADNA,
    ),
    Feature(
        "max_order_value",
        FAMILY,
        "largest net value of one order",
        "currency",
        _LEADNA,
    ),
    Feature(
        "spend_{w}d",
        FAMILY,
        "net amount of the orders placed in the trailing w days "
        "(cutoff - w days, cutoff]; an order's time is its first line's",
        "currency",
        _LEAD0,
    ),
    Feature(
        "spend_share",
        FAMILY,
        "net_spend / the sum of net_spend over every customer of the output "
        "at the same cutoff",
        "fraction",
        "0 for a lead; NaN when the total is 0",
    ),
)


def line_metrics(t: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer sums over the lines (they add up the same over orders)."""
    out = {
        "net": t.amount.sum(),
        "gross": ibis.coalesce(t.amount.sum(where=t.amount > 0), 0.0),
        "returned": ibis.coalesce(-t.amount.sum(where=t.amount < 0), 0.0),
    }
    if ctx.has("margin"):
        out["margin_sum"] = t.margin.sum()
    elif ctx.has("cost"):
        out["margin_sum"] = (t.amount - t.cost).sum()
    return out


def order_metrics(o: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer order sizes and trailing-window sums over the order grain."""
    out = {"max_order": o.amount.max()}
    cut = ctx.cut(o)
    for w in ctx.windows:
        out[f"amount_{w}"] = o.amount.sum(where=o.ts > cut - ibis.interval(days=w))
    return out


def features(
    b: ir.Table, ctx: Context, done: dict[str, ir.Value], grains: Grains
) -> dict[str, ir.Value]:
    """The value features from the joined per-customer table ``b``."""
    out = {
        "gross_spend": b.gross.fill_null(0.0),
        "net_spend": b.net.fill_null(0.0),
        "returns_value": b.returned.fill_null(0.0),
        "margin": (
            b.margin_sum.fill_null(0.0)
            if ctx.has("margin") or ctx.has("cost")
            else null_float()
        ),
        "avg_order_value": ratio(b.net, b.n_orders),
        "max_order_value": b.max_order.cast("float64"),
    }
    for w in ctx.windows:
        out[f"spend_{w}d"] = b[f"amount_{w}"].fill_null(0.0)
    # b._total_net: the sum of net over the customers with history at the
    # cutoff (leads add 0), joined by the builder
    out["spend_share"] = ratio(out["net_spend"], b._total_net.fill_null(0.0))
    return out
