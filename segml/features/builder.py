"""Build the feature table: one row per customer known at ``as_of``.

The work is a few Ibis expressions executed by in-process DuckDB, in stages,
each materialized in turn so that one large hash table is alive at a time:

1. transactions visible at the cutoff are rolled up to a narrow order grain
   (a hash aggregation, no sort);
2. per customer, one aggregation per grain: the lines (sums that add up the
   same over orders, masks of the low-cardinality columns), the orders in
   time order (one window pass by day gives the gaps and the first day; the
   same aggregation counts orders, windows and trends) and the events;
3. a few tables of the families' own (distinct products when there are too
   many for a mask, unconverted visits);
4. a last query joins them to the customers known at the cutoff, evaluates
   the feature definitions and sorts by customer; the connection is closed
   before the result is converted to pandas.

Three DuckDB-only shortcuts, tested equal to the generic path
(``tests/features/test_fast_paths.py``): the values of product, category and
channel are looked up first, and with few of them the distinct counts come
from bit masks rather than tables of (customer, value) pairs; when the
months from the first order of the log to the last cutoff fit 63 bits, the
active months are a bit mask too (counted in SQL, longest run of set bits in
numpy) instead of a second window over the orders; and several cutoffs share
line-grain partials (see :func:`build_features_many`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from segml.data import read_customers
from segml.features import base, behaviour, engine, lifecycle, loyalty, value
from segml.features.asof import to_as_of
from segml.features.attributes import attribute_columns
from segml.features.catalogue import feature_names
from segml.features.lifecycle import check_thresholds
from segml.features.lookups import levels as _levels
from segml.features.lookups import month_base as _month_base
from segml.features.output import finish as _finish
from segml.features.output import to_frame as _to_frame

__all__ = [
    "build_features",
    "build_features_many",
    "feature_expression",
]

_FAMILIES = (value, behaviour, lifecycle, loyalty)
# per grain, the families' hooks that add per-customer metrics from it
_HOOKS = {
    "line": ("line_metrics",),
    "order": ("order_metrics", "sequence_metrics"),
    "event": ("event_metrics",),
}
# per-customer columns of the line grain the families may see totals of, as
# ``_total_<name>`` (one value per cutoff)
_TOTALS = ("net",)


def build_features(
    transactions: engine.Source,
    customers: engine.Source | None = None,
    events: engine.Source | None = None,
    *,
    as_of: object,
    windows: Sequence[int] = (90, 365),
    stage_thresholds: Mapping[str, float] | None = None,
    columns: Sequence[str] | None = None,
    column_map: Mapping[str, Mapping[str, str]] | None = None,
    ts_format: str | None = None,
    engine_settings: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Point-in-time features of every customer known at ``as_of``.

    A customer is known at ``as_of`` when it has a transaction at or before
    ``as_of``, or a row in ``customers`` whose ``signup_ts`` is at or before
    ``as_of`` (or missing). Rows after ``as_of`` never influence a feature.
    The columns are documented in ``docs/features.md``
    (:mod:`segml.features.catalogue`).

    Parameters
    ----------
    transactions : DataFrame or path
        The transaction log (canonical columns, or mapped with ``column_map``);
        a CSV/Parquet file or a folder of Parquet files is scanned in place.
    customers : DataFrame or path, optional
        One row per customer: ``customer_id``, optional ``signup_ts`` and
        attribute columns (passed through, see :mod:`segml.features.attributes`).
    events : DataFrame or path, optional
        ``customer_id``, ``ts``, ``kind``, ``value`` (complaints, support
        tickets, NPS answers, payments, web visits).
    as_of : str, datetime or Timestamp
        The cutoff (inclusive). Required: there is no default on purpose.
    windows : sequence of int
        Trailing windows in days for ``spend_{w}d`` and ``orders_{w}d``; the
        first one is also the trend window.
    stage_thresholds : mapping, optional
        Overrides of ``new_days``, ``at_risk_days``, ``churned_days``
        (see :mod:`segml.features.lifecycle`).
    columns : sequence of str, optional
        Keep only these feature columns (attributes are always kept).
    column_map : mapping, optional
        Per table, canonical name -> the user's column name, e.g.
        ``{"transactions": {"ts": "InvoiceDate"}}``.
    ts_format : str, optional
        ``strftime`` format of text timestamps.
    engine_settings : mapping, optional
        DuckDB settings such as ``{"memory_limit": "8GB", "temp_directory":
        "/scratch"}`` (see :func:`segml.features.engine.connect`).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted); the catalogue's columns, then the
        customer attributes.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05"]),
    ...     "amount": [10.0, 30.0, 8.0]})
    >>> crm = pd.DataFrame({"customer_id": ["a", "b", "c"], "size": [5, 40, 7]})
    >>> f = build_features(tx, crm, as_of="2024-01-21")
    >>> f[["net_spend", "orders", "recency_days", "lifecycle_stage", "size"]]
                 net_spend  orders  recency_days lifecycle_stage  size
    customer_id
    a                 40.0     2.0          10.0             new     5
    b                  8.0     1.0          16.0             new    40
    c                  0.0     0.0           NaN        prospect     7
    """
    cutoff = to_as_of(as_of)
    return _build(
        transactions,
        customers,
        events,
        cutoffs=[cutoff],
        many=False,
        windows=windows,
        stage_thresholds=stage_thresholds,
        columns=columns,
        column_map=column_map,
        ts_format=ts_format,
        engine_settings=engine_settings,
    )


def build_features_many(
    transactions: engine.Source,
    customers: engine.Source | None = None,
    events: engine.Source | None = None,
    *,
    as_ofs: Iterable[object],
    windows: Sequence[int] = (90, 365),
    stage_thresholds: Mapping[str, float] | None = None,
    columns: Sequence[str] | None = None,
    column_map: Mapping[str, Mapping[str, str]] | None = None,
    ts_format: str | None = None,
    engine_settings: Mapping[str, object] | None = None,
    strategy: str = "loop",
) -> pd.DataFrame:
    """:func:`build_features` for several cutoffs at once.

    Returns the frames of every cutoff stacked, indexed by
    ``(cutoff, customer_id)`` (both sorted); equal, row for row, to calling
    :func:`build_features` once per cutoff.

    The inputs are read, validated and registered once. ``strategy="loop"``
    (the default) computes the line-grain partials that serve every cutoff in
    one pass (per customer and value, the first cutoff that sees the pair;
    per customer and cutoff bucket, the masks and channel sums), then runs the
    staged single-cutoff plan per cutoff from them; ``strategy="join"``
    computes every cutoff in one query (transactions joined to the cutoffs on
    ``ts <= cutoff``, grouped by ``(cutoff, customer_id)``), which multiplies
    the rows every stage handles. Orders, their time order and the events are
    still aggregated once per cutoff (an order's amount changes with the
    cutoff when its lines straddle it). Measured in BENCHMARKS.md.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
    ...     "amount": [10.0, 30.0, 8.0]})
    >>> f = build_features_many(tx, as_ofs=["2024-01-31", "2024-03-31"])
    >>> f["net_spend"]
    cutoff      customer_id
    2024-01-31  a              10.0
    2024-03-31  a              40.0
                b               8.0
    Name: net_spend, dtype: float64
    """
    cutoffs = sorted({to_as_of(a) for a in as_ofs})
    if not cutoffs:
        raise ValueError("as_ofs is empty: give at least one cutoff")
    return _build(
        transactions,
        customers,
        events,
        cutoffs=cutoffs,
        many=True,
        windows=windows,
        stage_thresholds=stage_thresholds,
        columns=columns,
        column_map=column_map,
        ts_format=ts_format,
        engine_settings=engine_settings,
        strategy=strategy,
    )


def selected_features(
    windows: Sequence[int], columns: Sequence[str] | None
) -> tuple[tuple[int, ...], list[str]]:
    """Checked trailing windows, and the catalogue columns asked for, in order.

    ``columns=None`` asks for the whole catalogue; an unknown name is an error.
    """
    checked = tuple(int(w) for w in windows)
    if not checked or any(w <= 0 for w in checked) or len(set(checked)) != len(checked):
        raise ValueError(f"windows must be distinct positive days, got {windows!r}")
    names = feature_names(checked)
    if columns is not None:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise ValueError(f"unknown feature column(s) {unknown}")
        names = [n for n in names if n in set(columns)]
    return checked, names


def _build(
    transactions: engine.Source,
    customers: engine.Source | None,
    events: engine.Source | None,
    *,
    cutoffs: list[pd.Timestamp],
    many: bool,
    windows: Sequence[int],
    stage_thresholds: Mapping[str, float] | None,
    columns: Sequence[str] | None,
    column_map: Mapping[str, Mapping[str, str]] | None,
    ts_format: str | None,
    engine_settings: Mapping[str, object] | None,
    strategy: str = "loop",
) -> pd.DataFrame:
    if strategy not in ("loop", "join"):
        raise ValueError(f"strategy must be 'loop' or 'join', got {strategy!r}")
    windows, names = selected_features(windows, columns)
    maps = dict(column_map or {})
    con = engine.connect(engine_settings)
    tx = engine.load_table(
        con,
        transactions,
        "transactions",
        columns=maps.get("transactions"),
        ts_format=ts_format,
    )
    crm = _customer_frame(con, customers, maps.get("customers"), ts_format)
    ev = None
    if events is not None:
        ev = engine.load_table(
            con, events, "events", columns=maps.get("events"), ts_format=ts_format
        )
    has_signup = crm is not None and "signup_ts" in crm.columns
    lookups = {"levels": _levels(con, tx), **_month_base(con, tx, cutoffs[-1])}
    thresholds = check_thresholds(stage_thresholds)

    def context(cutoff: pd.Timestamp | None, **extra: object) -> base.Context:
        return base.Context(
            keys=("customer_id",) if cutoff is not None else ("cutoff", "customer_id"),
            cutoff=None if cutoff is None else ibis.literal(cutoff, type="timestamp"),
            windows=windows,
            thresholds=thresholds,
            tx_columns=frozenset(tx.columns),
            has_events=ev is not None,
            has_signup=has_signup,
            extra={**lookups, **extra},
        )

    clash = set(feature_names(windows)) | {"cutoff"}
    if many and strategy == "join":
        ctx = context(None)
        cuts = engine.memtable(
            pd.DataFrame({"cutoff": pd.Series(cutoffs, dtype="M8[us]")})
        )
        expr, temps = _expression(con, tx, crm, ev, cuts, ctx, names, tag="j")
        table = engine.to_arrow(expr, con)
        engine.close(con)
        return _finish(_to_frame(table), ctx, names, windows, crm, clash, _FAMILIES)
    shared = {}
    if many and len(cutoffs) > 1:
        # line-grain partials computed once for every cutoff (see
        # behaviour.shared_tables), kept in Arrow so that each cutoff can
        # still run on a fresh connection
        last = context(cutoffs[-1])
        lines = base.lines(tx, last)
        first_seen = ibis.cases(
            *[
                (lines.ts <= ibis.literal(c, type="timestamp"), i)
                for i, c in enumerate(cutoffs)
            ]
        )
        lines = lines.mutate(_bucket=first_seen)
        for name, table in behaviour.shared_tables(lines, last).items():
            shared[name] = ibis.memtable(engine.to_arrow(table, con))
    # in-memory inputs are not bound to a connection: a fresh one per cutoff
    # returns DuckDB's memory between cutoffs (measured: one shared
    # connection over four cutoffs at 10 M rows held 6 GB against 4 GB)
    fresh = all(
        s is None or isinstance(s, pd.DataFrame) for s in (transactions, events)
    )
    results = []
    for i, cutoff in enumerate(cutoffs):
        ctx = context(cutoff, shared=shared, bucket=i) if shared else context(cutoff)
        if fresh and i:
            con = engine.connect(engine_settings)
        expr, temps = _expression(con, tx, crm, ev, None, ctx, names, tag=str(i))
        table = engine.to_arrow(expr, con)
        if fresh or i == len(cutoffs) - 1:
            engine.close(con)  # before converting: lowers the peak
        else:
            engine.drop(con, temps)
        if many:
            stamp = np.full(table.num_rows, cutoff.as_unit("us").to_datetime64())
            table = table.add_column(0, "cutoff", pa.array(stamp))
        results.append(table)
    if not many:
        out = _to_frame(results[0])
        return _finish(out, ctx, names, windows, crm, clash, _FAMILIES)
    # stacked in Arrow (no copy), converted to pandas once
    stacked = _to_frame(pa.concat_tables(results))
    del results
    return _finish(stacked, context(None), names, windows, crm, clash, _FAMILIES)


def _customer_frame(
    con: ibis.BaseBackend,
    customers: engine.Source | None,
    columns: Mapping[str, str] | None,
    ts_format: str | None,
) -> pd.DataFrame | None:
    if customers is None:
        return None
    if isinstance(customers, pd.DataFrame):
        return engine.canonical_frame(
            customers, "customers", columns=columns, ts_format=ts_format
        )
    # one row per customer: read whole, by pandas, so that Parquet
    # categoricals stay categorical
    return read_customers(customers, columns=columns, ts_format=ts_format)


def feature_expression(
    con: ibis.BaseBackend,
    tx: ir.Table,
    customers: ir.Table | None = None,
    events: ir.Table | None = None,
    *,
    cutoff: pd.Timestamp,
    windows: Sequence[int] = (90, 365),
    stage_thresholds: Mapping[str, float] | None = None,
    columns: Sequence[str] | None = None,
    ordered: bool = True,
) -> tuple[ir.Table, list[str]]:
    """The single-cutoff feature query on any Ibis backend, and its staged tables.

    ``tx``, ``customers`` (``customer_id``, optional ``signup_ts``) and
    ``events`` are canonical Ibis tables of ``con``. On DuckDB the stages are
    materialized as temporary tables, named by the returned list (free them
    with :func:`engine.drop` after executing); elsewhere (Spark) nothing is
    staged, the expression is one lazy plan and ``engine.drop`` is a no-op.
    The result has ``customer_id`` and the catalogue's columns with Ibis
    types (float64, boolean, and a string ``lifecycle_stage``), sorted by
    ``customer_id`` when ``ordered``.
    """
    windows, names = selected_features(windows, columns)
    ctx = base.Context(
        keys=("customer_id",),
        cutoff=ibis.literal(to_as_of(cutoff), type="timestamp"),
        windows=windows,
        thresholds=check_thresholds(stage_thresholds),
        tx_columns=frozenset(tx.columns),
        has_events=events is not None,
        has_signup=customers is not None and "signup_ts" in customers.columns,
    )
    expr, temps = _expression(
        con, tx, customers, events, None, ctx, names, tag="x", ordered=ordered
    )
    return expr, temps


def _expression(
    con: ibis.BaseBackend,
    tx: ir.Table,
    crm: pd.DataFrame | ir.Table | None,
    ev: ir.Table | None,
    cuts: ir.Table | None,
    ctx: base.Context,
    names: list[str],
    *,
    tag: str,
    ordered: bool = True,
) -> tuple[ir.Table, list[str]]:
    keys = list(ctx.keys)
    if cuts is not None:
        tx = tx.join(cuts, tx.ts <= cuts.cutoff)
        ev = None if ev is None else ev.join(cuts, ev.ts <= cuts.cutoff)
    lines = base.lines(tx, ctx)
    orders = engine.materialize(con, base.orders(lines, ctx), f"segml_orders_{tag}")
    prepared = lines
    for family in _FAMILIES:
        if hasattr(family, "prepare_lines"):
            prepared = family.prepare_lines(prepared, ctx)
    events = None if ev is None else ev.filter(ev.ts <= ctx.cut(ev))
    grains = base.Grains(lines, orders, events)

    # the order metrics are aggregated from the ordered sequence: one pass
    # over the orders serves both
    sequence = base.sequence(orders, ctx)
    core = {
        **base.core_order_metrics(sequence, ctx),
        **base.core_sequence_metrics(sequence, ctx),
    }
    per_grain = {
        "line": (prepared, {}),
        "order": (sequence, core),
        "event": (events, {}),
    }
    extra: list[ir.Table] = []
    for family in _FAMILIES:
        for grain, (table, metrics) in per_grain.items():
            for hook_name in _HOOKS[grain]:
                hook = getattr(family, hook_name, None)
                if hook is not None and table is not None:
                    metrics.update(hook(table, ctx))
        if hasattr(family, "tables"):
            extra.extend(family.tables(grains, ctx))
    by_grain = {
        grain: engine.materialize(
            con, table.group_by(keys).aggregate(**metrics), f"segml_agg_{tag}_{grain}"
        )
        for grain, (table, metrics) in per_grain.items()
        if table is not None and metrics
    }
    aggregates = list(by_grain.values())
    extra = [
        engine.materialize(con, table, f"segml_extra_{tag}_{i}")
        for i, table in enumerate(extra)
    ]
    engine.drop(con, [f"segml_orders_{tag}"])
    temps = [f"segml_agg_{tag}_{grain}" for grain in by_grain]
    temps += [f"segml_extra_{tag}_{i}" for i in range(len(extra))]
    # per-cutoff totals (spend_share) from the small per-customer table: a
    # join of one row per cutoff, cheaper than a window over the output
    per_cutoff = [k for k in keys if k != "customer_id"]
    o = by_grain["line"]
    sums = {f"_total_{m}": o[m].sum() for m in _TOTALS}
    totals = o.aggregate(**sums, by=per_cutoff) if per_cutoff else o.aggregate(**sums)
    universe = aggregates[0].select(*keys)
    signup = None
    rows = False
    if crm is not None:
        wanted = ["customer_id", "signup_ts"] if ctx.has_signup else ["customer_id"]
        if isinstance(crm, ir.Table):  # already on the backend (e.g. Spark)
            known = crm.select(*wanted)
        else:
            frame = crm[wanted]
            # each row's position in the customers table, so that the
            # attributes are taken by position afterwards (attach_attributes)
            rows = bool(attribute_columns(crm))
            if rows:
                frame = frame.assign(_crm_row=np.arange(len(crm), dtype="int64"))
            known = engine.memtable(frame)
        if cuts is not None:
            known = known.cross_join(cuts)
        if ctx.has_signup or rows:
            signup = known
        if ctx.has_signup:
            cut = ctx.cut(known)
            known = known.filter(known.signup_ts.isnull() | (known.signup_ts <= cut))
        universe = universe.union(known.select(*keys), distinct=True)
    joined = universe
    for table in [*aggregates, *extra, *([signup] if signup is not None else [])]:
        joined = joined.left_join(table, keys)
    if per_cutoff:
        joined = joined.left_join(totals, per_cutoff)
    else:
        joined = joined.cross_join(totals)
    done: dict[str, ir.Value] = {}
    for family in _FAMILIES:
        done.update(family.features(joined, ctx, done, grains))
    hidden = {"_crm_row": joined._crm_row} if rows else {}
    out = joined.select(*keys, **{n: done[n] for n in names}, **hidden)
    return (out.order_by(keys) if ordered else out), temps
