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
    positive amounts), ``day`` (UTC days since 1970-01-01) and ``month``
    (months since 1970-01). A hash aggregation, no sort; kept narrow (sums
    that add up per customer, e.g. margin or returns, are taken from the
    lines directly).
``sequence``
    ``orders`` in time order per customer (one window, by day), with
    ``day_gap`` (days since the previous order; 0 on the same day, null on
    the first order), ``first_day`` (the customer's first order day), and,
    without a month mask, ``month_step`` (months since the previous order)
    and ``run_start`` (the first month of the run of consecutive active
    months the order's month belongs to). The order metrics and the sequence
    metrics are aggregated from it in one pass.

Everything here is backend-neutral Ibis; nothing names DuckDB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np

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
    """What a feature definition may look at besides the grains.

    ``extra`` carries what the builder looked up for the fast paths:
    ``levels`` (column -> its few values, see ``behaviour.LEVEL_LIMITS``),
    and with several cutoffs ``shared`` (line-grain partials, see
    ``behaviour.shared_tables``) and ``bucket`` (this cutoff's index). An
    empty ``extra`` gives the generic plan (Spark).
    """

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
    """One row per (keys, order); a hash aggregation, no sort."""
    t = lines_
    if ctx.has("order_id"):
        # lines without an order id form one order per timestamp: grouping by
        # the timestamp itself (not its text) keeps the hash keys narrow
        t = t.mutate(_ts_key=ibis.ifelse(t.order_id.isnull(), t.ts, ibis.null()))
        group = [*ctx.keys, "order_id", "_ts_key"]
    else:
        group = [*ctx.keys, "ts"]
    metrics = {
        "amount": t.amount.sum(),
        "gross": t.amount.sum(where=t.amount > 0),
    }
    if ctx.has("order_id"):
        metrics["ts"] = t.ts.min()
    o = t.group_by(group).aggregate(**metrics)
    return o.select(
        *ctx.keys,
        "ts",
        "amount",
        gross=o.gross.fill_null(0.0),
        day=epoch_day(o.ts),
        month=epoch_month(o.ts),
    )


def sequence(orders_: ir.Table, ctx: Context) -> ir.Table:
    """The orders in time order per customer (see the module docs).

    One window, by day, gives the gaps, the first day and the month steps;
    the run starts need the month steps, hence a second window (by month, so
    that orders of the same day need no tie-break). With a month mask
    (``ctx.extra["month_base"]``, see :func:`month_mask`) the month columns
    are not needed and only the first window runs.
    """
    o = orders_
    keys = list(ctx.keys)
    by_day = ibis.window(group_by=keys, order_by=[o.day])
    columns = {
        "day_gap": o.day - o.day.lag().over(by_day),
        "first_day": o.day.min().over(by_day),
    }
    if "month_base" in ctx.extra:
        return o.mutate(**columns)
    s = o.mutate(**columns, month_step=o.month - o.month.lag().over(by_day))
    new_run = s.month_step.isnull() | (s.month_step > 1)
    upto = ibis.window(group_by=keys, order_by=[s.month], range=(None, 0))
    start = ibis.ifelse(new_run, s.month, ibis.null()).max().over(upto)
    return s.mutate(run_start=start)


def month_mask(s: ir.Table, ctx: Context) -> ir.IntegerValue:
    """Per customer, the active months as bits of an int64 (DuckDB fast path).

    Bit ``k`` is set when the customer ordered in month ``month_base + k``;
    the builder takes ``month_base`` (the first month of the log) only when
    every month up to the last cutoff fits in bits 0..62 (:data:`MONTH_BITS`).
    """
    bit = s.month - ctx.extra["month_base"]
    return (ibis.literal(1, type="int64") << bit.cast("int64")).bit_or()


def active_months(b: ir.Table, ctx: Context) -> ir.IntegerValue:
    """Per customer of the joined table ``b``, the number of active months
    (the set bits of the month mask on the fast path)."""
    return bit_count(b._month_mask) if "month_base" in ctx.extra else b.n_months


#: the most months a month mask holds (bits 0..62 of an int64)
MONTH_BITS = 63


@ibis.udf.scalar.builtin
def bit_count(mask: dt.int64) -> dt.int64:  # type: ignore[empty-body]
    """DuckDB's ``bit_count``: the set bits of ``mask`` (fast paths only)."""


def longest_run(mask: np.ndarray) -> np.ndarray:
    """Per int64 mask, the length of its longest run of set bits (float64).

    ``x & (x >> 1)`` shortens every run by one bit; the number of steps until
    nothing is left is the longest run.

    >>> longest_run(np.array([0b1101110, 0, 1]))
    array([3., 0., 1.])
    """
    x = np.asarray(mask, dtype=np.int64).view(np.uint64)
    out = np.zeros(len(x))
    alive = np.flatnonzero(x)  # rows with a run at least `step` long
    x = x[alive]
    step = 0
    while alive.size:
        step += 1
        out[alive] = step
        x = x & (x >> np.uint64(1))
        keep = x != 0
        alive, x = alive[keep], x[keep]
    return out


@dataclass(frozen=True)
class Grains:
    """The grains of one build (``events`` is None without an event log)."""

    lines: ir.Table
    orders: ir.Table
    events: ir.Table | None


def core_order_metrics(o: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer basics from the order grain that several families use."""
    return {
        "n_orders": o.count(),
        "first_ts": o.ts.min(),
        "last_ts": o.ts.max(),
        "first_day": o.day.min(),
        "last_day": o.day.max(),
        "first_month": o.month.min(),
    }


def core_sequence_metrics(s: ir.Table, ctx: Context) -> dict[str, ir.Value]:
    """Per-customer basics from the ordered ``sequence`` several families use."""
    new_day = s.day_gap.isnull() | (s.day_gap > 0)
    return {
        "n_days": s.count(where=new_day),
        "gap_std": s.day_gap.std(how="sample", where=s.day_gap > 0),
    }
