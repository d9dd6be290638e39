"""Shared pieces of the feature families: the catalogue entry, the build
context, and the grains every family aggregates from.

The grains are Ibis tables derived from the transactions visible at the
cutoff, each keyed by ``ctx.keys`` (``customer_id``, plus ``cutoff`` when
several cutoffs are built in one pass):

``lines``
    Transactions with ``ts <= cutoff``.
``orders``
    One row per order: ``order_id`` (lines without one form an order per
    timestamp), its first timestamp ``ts``, net ``amount``, ``gross`` (sum of
    positive amounts), ``returned`` (minus the sum of negative amounts), and
    the sums of the optional columns.
    Sorted per customer by time (one window), each order also carries ``day``
    (UTC days since 1970-01-01), ``month`` (months since 1970-01),
    ``day_gap`` (days since the previous order; 0 on the same day, null on
    the first order), ``month_step`` (months since the previous order),
    ``island`` (constant along a run of consecutive active months) and
    ``day_rank`` (0 on the customer's first order day, 1 on the next, ...).

Everything here is backend-neutral Ibis; nothing names DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

__all__ = [
    "DAY_SECONDS",
    "Context",
    "Feature",
    "days_between",
    "null_float",
    "ratio",
]

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Feature:
    """One entry of the feature catalogue.

    ``name`` may hold ``{w}``, expanded once per trailing window.
    """

    name: str
    family: str
    definition: str
    unit: str
    missing: str
    dtype: str = "float64"

    def expand(self, windows: tuple[int, ...]) -> list[str]:
        """The column names this entry produces for ``windows``."""
        if "{w}" in self.name:
            return [self.name.format(w=w) for w in windows]
        return [self.name]


@dataclass(frozen=True)
class Context:
    """What a feature definition may look at besides the grains."""

    keys: tuple[str, ...]
    cutoff: ir.TimestampScalar | None
    windows: tuple[int, ...]
    thresholds: Mapping[str, float]
    tx_columns: frozenset[str]
    has_events: bool
    has_signup: bool
    extra: dict = field(default_factory=dict)

    def cut(self, table: ir.Table) -> ir.TimestampValue:
        """The cutoff as seen from rows of ``table`` (a column when several)."""
        return table.cutoff if self.cutoff is None else self.cutoff

    def has(self, column: str) -> bool:
        """Whether the transactions carry the optional ``column``."""
        return column in self.tx_columns


def null_float() -> ir.FloatingScalar:
    """A missing float64, for features whose input column is absent."""
    return ibis.null().cast("float64")


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """``num / den`` as float64, null when ``den`` is zero or null."""
    return num.cast("float64") / ibis.ifelse(den == 0, ibis.null(), den).cast("float64")


def days_between(
    later: ir.TimestampValue, earlier: ir.TimestampValue
) -> ir.FloatingValue:
    """``later - earlier`` in (fractional) days."""
    seconds = later.epoch_seconds().cast("float64") - earlier.epoch_seconds().cast(
        "float64"
    )
    return seconds / DAY_SECONDS


def epoch_day(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Whole days since 1970-01-01 of the UTC date of ``ts``."""
    return ts.date().epoch_days()


def epoch_month(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Months since January 1970 of ``ts``."""
    return ts.year() * 12 + ts.month() - 1


# ------------------------------------------------------------------ grains
def lines(tx: ir.Table, ctx: Context) -> ir.Table:
    """Transactions visible at the cutoff."""
    return tx.filter(tx.ts <= ctx.cut(tx))


def orders(lines_: ir.Table, ctx: Context) -> ir.Table:
    """One row per (keys, order)."""
    t = lines_
    if ctx.has("order_id"):
        order = t.order_id.fill_null(t.ts.cast("string"))
    else:
        order = t.ts.cast("string")
    metrics = {
        "ts": t.ts.min(),
        "amount": t.amount.sum(),
        "gross": t.amount.sum(where=t.amount > 0),
        "returned": -t.amount.sum(where=t.amount < 0),
    }
    if ctx.has("margin"):
        metrics["margin"] = t.margin.sum()
    elif ctx.has("cost"):
        metrics["margin"] = (t.amount - t.cost).sum()
    if ctx.has("quantity"):
        metrics["quantity"] = t.quantity.sum()
    if ctx.has("discount"):
        metrics["discounted"] = t.amount.sum(where=(t.amount > 0) & (t.discount > 0))
    o = t.mutate(_order=order).group_by([*ctx.keys, "_order"]).aggregate(**metrics)
    o = o.mutate(
        gross=o.gross.fill_null(0.0),
        returned=o.returned.fill_null(0.0),
        day=epoch_day(o.ts),
        month=epoch_month(o.ts),
    )
    # one sort per customer (orders within month and day, so that the
    # rankings share it) serves gaps, first day, active months and streaks
    keys = list(ctx.keys)
    ordered = ibis.window(group_by=keys, order_by=[o.month, o.day, o.ts, o._order])
    by_month = ibis.window(group_by=keys, order_by=[o.month])
    by_day = ibis.window(group_by=keys, order_by=[o.month, o.day])
    o = o.mutate(
        day_gap=o.day - o.day.lag().over(ordered),
        month_step=o.month - o.month.lag().over(ordered),
        island=o.month - ibis.dense_rank().over(by_month),
        day_rank=ibis.dense_rank().over(by_day),
    )
    return o


@dataclass(frozen=True)
class Grains:
    """The grains of one build (``events`` is None without an event log)."""

    lines: ir.Table
    orders: ir.Table
    events: ir.Table | None


def core_order_metrics(o: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer basics from the order grain that several families use."""
    new_day = o.day_gap.isnull() | (o.day_gap > 0)
    return {
        "n_orders": o.count(),
        "first_ts": o.ts.min(),
        "last_ts": o.ts.max(),
        "n_days": o.count(where=new_day),
        "first_day": o.day.min(),
        "last_day": o.day.max(),
        "first_month": o.month.min(),
        "gap_std": o.day_gap.std(how="sample", where=o.day_gap > 0),
    }
