"""Build the feature table: one row per customer known at ``as_of``.

The work is a few Ibis expressions executed by in-process DuckDB, in stages:
transactions visible at the cutoff are rolled up to orders and sorted once
per customer (materialized), every family contributes per-customer
aggregates over that order grain (one aggregation shared by the families),
plus a few tables of its own (distinct products, categories, channels,
streaks, unconverted visits), each materialized in turn; a last query joins
them to the customers known at the cutoff and evaluates the feature
definitions. Several cutoffs: see :func:`build_features_many`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from segml.data import read_customers
from segml.features import base, behaviour, engine, lifecycle, loyalty, value
from segml.features.asof import to_as_of
from segml.features.attributes import attach_attributes
from segml.features.catalogue import dtypes, feature_names
from segml.features.lifecycle import STAGES, check_thresholds

__all__ = [
    "FeatureBuilder",
    "build_features",
    "build_features_many",
    "feature_expression",
]

_FAMILIES = (value, behaviour, lifecycle, loyalty)


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
    (the default) then runs the staged single-cutoff plan per cutoff;
    ``strategy="join"`` computes every cutoff in one query (transactions
    joined to the cutoffs on ``ts <= cutoff``, grouped by ``(cutoff,
    customer_id)``). Measured (BENCHMARKS.md, four cutoffs): neither beats a
    plain loop of :func:`build_features` by much, because the cost is in the
    per-cutoff hash aggregations and sorts, not in reading the input, and the
    join multiplies the rows those must handle (1 M rows: join 7.2 s, loop
    6.7 s).

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


def _check_windows(windows: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(w) for w in windows)
    if not out or any(w <= 0 for w in out) or len(set(out)) != len(out):
        raise ValueError(f"windows must be distinct positive days, got {windows!r}")
    return out


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
    windows = _check_windows(windows)
    names = feature_names(windows)
    if columns is not None:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise ValueError(f"unknown feature column(s) {unknown}")
        names = [n for n in names if n in set(columns)]
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

    def context(cutoff: pd.Timestamp | None) -> base.Context:
        return base.Context(
            keys=("customer_id",) if cutoff is not None else ("cutoff", "customer_id"),
            cutoff=None if cutoff is None else ibis.literal(cutoff, type="timestamp"),
            windows=windows,
            thresholds=check_thresholds(stage_thresholds),
            tx_columns=frozenset(tx.columns),
            has_events=ev is not None,
            has_signup=has_signup,
        )

    clash = set(feature_names(windows)) | {"cutoff"}
    if many and strategy == "join":
        ctx = context(None)
        cuts = engine.memtable(
            pd.DataFrame({"cutoff": pd.Series(cutoffs, dtype="M8[us]")})
        )
        expr, temps = _expression(con, tx, crm, ev, cuts, ctx, names, tag="j")
        out = _finish(engine.to_frame(expr), ctx, names, windows)
        engine.drop(con, temps)
        return attach_attributes(out, crm, clash=clash)
    # in-memory inputs are not bound to a connection: a fresh one per cutoff
    # returns DuckDB's memory between cutoffs (measured: one shared
    # connection over four cutoffs at 10 M rows held 6 GB against 4 GB)
    fresh = all(
        s is None or isinstance(s, pd.DataFrame) for s in (transactions, events)
    )
    frames = []
    for i, cutoff in enumerate(cutoffs):
        ctx = context(cutoff)
        if fresh and i:
            con = engine.connect(engine_settings)
        expr, temps = _expression(con, tx, crm, ev, None, ctx, names, tag=str(i))
        frames.append(_finish(engine.to_frame(expr), ctx, names, windows))
        engine.drop(con, temps)
    if not many:
        return attach_attributes(frames[0], crm, clash=clash)
    out = pd.concat(frames, keys=[c.as_unit("us") for c in cutoffs], names=["cutoff"])
    out.index = out.index.set_levels(
        out.index.levels[0].astype("M8[us]"), level="cutoff"
    )
    return attach_attributes(out, crm, clash=clash)


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
    windows = _check_windows(windows)
    names = feature_names(windows)
    if columns is not None:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise ValueError(f"unknown feature column(s) {unknown}")
        names = [n for n in names if n in set(columns)]
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
    events = None if ev is None else ev.filter(ev.ts <= ctx.cut(ev))
    grains = base.Grains(lines, orders, events)

    per_grain = {
        "order": (orders, dict(base.core_order_metrics(orders, ctx))),
        "event": (events, {}),
    }
    extra: list[ir.Table] = []
    for family in _FAMILIES:
        for grain, (table, metrics) in per_grain.items():
            hook = getattr(family, f"{grain}_metrics", None)
            if hook is not None and table is not None:
                metrics.update(hook(table, ctx))
        if hasattr(family, "tables"):
            extra.extend(family.tables(grains, ctx))
    aggregates = [
        table.group_by(keys).aggregate(**metrics)
        for table, metrics in per_grain.values()
        if table is not None and metrics
    ]
    aggregates = [
        engine.materialize(con, table, f"segml_agg_{tag}_{i}")
        for i, table in enumerate(aggregates)
    ]
    extra = [
        engine.materialize(con, table, f"segml_extra_{tag}_{i}")
        for i, table in enumerate(extra)
    ]
    engine.drop(con, [f"segml_orders_{tag}"])
    temps = [f"segml_agg_{tag}_{i}" for i in range(len(aggregates))]
    temps += [f"segml_extra_{tag}_{i}" for i in range(len(extra))]
    universe = aggregates[0].select(*keys)
    signup = None
    if crm is not None:
        wanted = ["customer_id", "signup_ts"] if ctx.has_signup else ["customer_id"]
        if isinstance(crm, ir.Table):  # already on the backend (e.g. Spark)
            known = crm.select(*wanted)
        else:
            known = engine.memtable(crm[wanted])
        if cuts is not None:
            known = known.cross_join(cuts)
        if ctx.has_signup:
            signup = known
            cut = ctx.cut(known)
            known = known.filter(known.signup_ts.isnull() | (known.signup_ts <= cut))
        universe = universe.union(known.select(*keys), distinct=True)
    joined = universe
    for table in [*aggregates, *extra, *([signup] if signup is not None else [])]:
        joined = joined.left_join(table, keys)
    done: dict[str, ir.Value] = {}
    for family in _FAMILIES:
        done.update(family.features(joined, ctx, done, grains))
    out = joined.select(*keys, **{n: done[n] for n in names})
    return (out.order_by(keys) if ordered else out), temps


def _finish(
    out: pd.DataFrame,
    ctx: base.Context,
    names: list[str],
    windows: tuple[int, ...],
) -> pd.DataFrame:
    kinds = dtypes(windows)
    stage = pd.CategoricalDtype(list(STAGES))
    casts = {}
    for name in names:
        kind = kinds[name]
        casts[name] = stage if kind == "category" else kind
    keys = list(ctx.keys)
    out = out.astype({"customer_id": "str", **casts})
    if len(keys) > 1:
        out["cutoff"] = out["cutoff"].astype("M8[us]")
    return out.set_index(keys)[names]


class FeatureBuilder(BaseEstimator):
    """Thin scikit-learn style wrapper around :func:`build_features`.

    It is deliberately *not* a transformer: a transformer maps rows to rows,
    but feature building turns transaction rows into customer rows (and takes
    up to three tables and a cutoff), so it cannot sit inside a
    :class:`~sklearn.pipeline.Pipeline`. It offers the familiar surface
    (keyword-only parameters, ``get_params``/``set_params``, ``fit``,
    ``transform``, ``get_feature_names_out``) so that feature settings can be
    configured, cloned and logged like any estimator's.

    Parameters
    ----------
    windows, stage_thresholds, columns, column_map, ts_format
        As in :func:`build_features`.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Attribute columns of the customers table seen in ``fit``.
    feature_names_out_ : ndarray of str
        Columns ``transform`` returns.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05"]),
    ...     "amount": [10.0, 30.0, 8.0]})
    >>> fb = FeatureBuilder(columns=["orders", "net_spend"]).fit(tx, as_of="2024-02-01")
    >>> fb.transform(tx, as_of="2024-02-01")
                 net_spend  orders
    customer_id
    a                 40.0     2.0
    b                  8.0     1.0
    """

    def __init__(
        self,
        *,
        windows: Sequence[int] = (90, 365),
        stage_thresholds: Mapping[str, float] | None = None,
        columns: Sequence[str] | None = None,
        column_map: Mapping[str, Mapping[str, str]] | None = None,
        ts_format: str | None = None,
    ) -> None:
        self.windows = windows
        self.stage_thresholds = stage_thresholds
        self.columns = columns
        self.column_map = column_map
        self.ts_format = ts_format

    def fit(
        self,
        transactions: engine.Source | None = None,
        customers: engine.Source | None = None,
        events: engine.Source | None = None,
        *,
        as_of: object = None,
    ) -> FeatureBuilder:
        """Check the settings and record the output columns; learns nothing."""
        windows = _check_windows(self.windows)
        check_thresholds(self.stage_thresholds)
        names = feature_names(windows)
        if self.columns is not None:
            unknown = [c for c in self.columns if c not in names]
            if unknown:
                raise ValueError(f"unknown feature column(s) {unknown}")
            names = [n for n in names if n in set(self.columns)]
        attrs: list[str] = []
        if isinstance(customers, pd.DataFrame):
            maps = (self.column_map or {}).get("customers")
            crm = engine.canonical_frame(customers, "customers", columns=maps)
            attrs = [c for c in crm.columns if c not in ("customer_id", "signup_ts")]
        self.feature_names_in_ = np.asarray(attrs, dtype=object)
        self.feature_names_out_ = np.asarray(names + attrs, dtype=object)
        return self

    def transform(
        self,
        transactions: engine.Source,
        customers: engine.Source | None = None,
        events: engine.Source | None = None,
        *,
        as_of: object,
    ) -> pd.DataFrame:
        """:func:`build_features` (or, for a list of cutoffs, the many version)."""
        if not hasattr(self, "feature_names_out_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("call fit before transform")
        kwargs = {
            "windows": self.windows,
            "stage_thresholds": self.stage_thresholds,
            "columns": self.columns,
            "column_map": self.column_map,
            "ts_format": self.ts_format,
        }
        if isinstance(as_of, list | tuple):
            return build_features_many(
                transactions, customers, events, as_ofs=as_of, **kwargs
            )
        return build_features(transactions, customers, events, as_of=as_of, **kwargs)

    def fit_transform(
        self,
        transactions: engine.Source,
        customers: engine.Source | None = None,
        events: engine.Source | None = None,
        *,
        as_of: object,
    ) -> pd.DataFrame:
        """``fit`` then ``transform``."""
        return self.fit(transactions, customers, events, as_of=as_of).transform(
            transactions, customers, events, as_of=as_of
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Columns ``transform`` returns (features, then attributes)."""
        if not hasattr(self, "feature_names_out_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("call fit before get_feature_names_out")
        return self.feature_names_out_.copy()
