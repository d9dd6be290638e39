"""Build the feature table natively on Spark, through Ibis' PySpark backend.

The feature definitions are the backend-neutral Ibis expressions of
:mod:`segml.features`; here they are compiled to Spark SQL (one lazy plan,
see :func:`segml.features.builder.feature_expression`), so executors run
Spark's own operators: no Python code per customer, no UDF. On the same data
the result equals :func:`segml.features.build_features` (DuckDB) feature by
feature (``tests/spark/test_spark_features.py``).

The Spark session time zone must be UTC (calendar days and months are UTC
days and months); :func:`build_features` sets ``spark.sql.session.timeZone``
to ``UTC`` on the session it is given (Ibis' PySpark backend does so too).

To bring a (small) result to the driver as the single-machine builder's
frame::

    pdf = to_pandas(features)   # indexed by customer_id, catalogue dtypes
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
from ibis.backends.sql.compilers.pyspark import PySparkCompiler

from segml.data import CUSTOMERS, EVENTS, TRANSACTIONS, TableSpec
from segml.errors import SegmlDataError
from segml.features.asof import to_as_of
from segml.features.attributes import RESERVED
from segml.features.builder import feature_expression, selected_features
from segml.features.catalogue import dtypes
from segml.features.lifecycle import STAGES

__all__ = ["build_features", "to_pandas"]

_SPECS: dict[str, TableSpec] = {
    "transactions": TRANSACTIONS,
    "customers": CUSTOMERS,
    "events": EVENTS,
}
_IBIS = {"id": "string", "str": "string", "float": "float64", "ts": "timestamp"}


def build_features(
    transactions: Any,
    customers: Any | None = None,
    events: Any | None = None,
    *,
    as_of: object,
    windows: Sequence[int] = (90, 365),
    stage_thresholds: Mapping[str, float] | None = None,
    columns: Sequence[str] | None = None,
    attributes: bool = True,
) -> Any:
    """Point-in-time features of every customer known at ``as_of``, on Spark.

    The same definitions and rules as :func:`segml.features.build_features`
    (see ``docs/features.md``), executed by Spark.

    Parameters
    ----------
    transactions : pyspark.sql.DataFrame
        The transaction log with the canonical columns (``customer_id``,
        ``ts``, ``amount`` and any optional ones). Ids are cast to string,
        numbers to double; ``ts`` must be a timestamp (or date) column.
    customers : pyspark.sql.DataFrame, optional
        ``customer_id``, optional ``signup_ts`` and attribute columns.
    events : pyspark.sql.DataFrame, optional
        ``customer_id``, ``ts``, ``kind``, ``value``.
    as_of : str, datetime or Timestamp
        The cutoff (inclusive, UTC).
    windows, stage_thresholds, columns
        As in :func:`segml.features.build_features`.
    attributes : bool
        Append the customer attribute columns (every column of ``customers``
        but ``customer_id`` and ``signup_ts``), as the single-machine builder
        does.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; one row per customer known at ``as_of``: ``customer_id``
        (string), the catalogue's columns (double; ``has_history`` and
        ``is_repeat`` boolean; ``lifecycle_stage`` string), then the
        attributes. Rows are not sorted. :func:`to_pandas` brings a small
        result to the driver with the single-machine dtypes.

    Examples
    --------
    With a session ``spark`` (not run here: doctests do not start Spark)::

        from segml.spark import build_features
        tx = spark.read.parquet("transactions.parquet")
        crm = spark.read.parquet("customers.parquet")
        feats = build_features(tx, crm, as_of="2024-06-30")
        feats.write.mode("overwrite").parquet("features.parquet")
    """
    session = transactions.sparkSession
    session.conf.set("spark.sql.session.timeZone", "UTC")
    con = ibis.pyspark.connect(session)
    # this connection only: exact epoch seconds (see _ExactEpochCompiler)
    con.compiler = _ExactEpochCompiler()
    cutoff = to_as_of(as_of)
    tx = _table(con, transactions, "transactions")
    crm = None if customers is None else _table(con, customers, "customers")
    ev = None if events is None else _table(con, events, "events")
    expr, _ = feature_expression(
        con,
        tx,
        crm,
        ev,
        cutoff=cutoff,
        windows=windows,
        stage_thresholds=stage_thresholds,
        columns=columns,
        ordered=False,
    )
    out = session.sql(con.compile(expr))
    if attributes and customers is not None:
        names = [c for c in customers.columns if c not in RESERVED]
        taken = set(selected_features(windows, None)[1]) | {"cutoff"}
        clash = sorted(set(names) & taken)
        if clash:
            raise ValueError(
                f"customer attribute column(s) {clash} have the names of features; "
                "rename them"
            )
        if names:
            attrs = customers.select("customer_id", *names)
            attrs = attrs.withColumn("customer_id", attrs["customer_id"].cast("string"))
            out = out.join(attrs, on="customer_id", how="left")
    return out


def to_pandas(features: Any, windows: Sequence[int] = (90, 365)) -> pd.DataFrame:
    """A (small) Spark feature table as the single-machine builder's frame.

    Indexed by ``customer_id`` (sorted), features with the catalogue's
    dtypes (``lifecycle_stage`` categorical with the stage categories,
    ``str`` ids and string attributes); attribute columns keep Spark's
    conversion otherwise (e.g. strings rather than the customers table's
    categoricals).
    """
    frame = features.toPandas()
    kinds = dtypes(selected_features(windows, None)[0])
    stage = pd.CategoricalDtype(list(STAGES))
    casts: dict[str, Any] = {"customer_id": "str"}
    for name in frame.columns:
        if name in kinds:
            casts[name] = stage if kinds[name] == "category" else kinds[name]
        elif frame[name].dtype == object:
            casts[name] = "str"
    frame = frame.astype(casts)
    return frame.set_index("customer_id").sort_index()


class _ExactEpochCompiler(PySparkCompiler):
    """Ibis' PySpark compiler with sub-second epoch seconds.

    Ibis compiles ``epoch_seconds`` to Spark's ``UNIX_TIMESTAMP``, which drops
    the fraction of a second, while DuckDB's ``epoch`` keeps it; durations
    (``days_between``: tenure, recency, days since signup) then differed by up
    to a second. ``UNIX_MICROS / 1e6`` is exact to the microsecond, like
    DuckDB.
    """

    def visit_ExtractEpochSeconds(self, op, *, arg):  # noqa: N802 (ibis' name)
        return self.f.unix_micros(self.cast(arg, dt.timestamp)) / 1_000_000


def _table(con: ibis.BaseBackend, df: Any, table: str) -> ir.Table:
    """``df`` as a canonical Ibis table of ``con`` (a temporary view), with
    the value checks and repairs of the data contract.

    The checks are the DuckDB scan's own backend-neutral Ibis code
    (:mod:`segml.features.engine`): ids stripped and blank/NA-like ids
    missing, float-written ids without their ``.0``, numbers written as
    text read with the readers' errors (``"$100"``, true/false), NaN
    numbers missing, one aggregate for the missing required values, the
    infinite or too large numbers, the timestamps outside 1900-2200, the
    returns with a positive amount and the repeated keys (each failure a
    :class:`~segml.errors.SegmlDataError` naming up to five rows), and exact
    duplicate order lines dropped with a ``DuplicateRowsWarning``. These are
    Spark jobs run here, before the features' lazy plan.
    """
    from segml.features import engine

    spec = _SPECS[table]
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise SegmlDataError(
            spec.name,
            missing[0],
            f"required column '{missing[0]}' is missing; the DataFrame has: "
            f"{', '.join(df.columns)}",
        )
    name = f"segml_{table}_{uuid.uuid4().hex[:12]}"
    df.createOrReplaceTempView(name)
    raw = con.table(name)
    typed = {}
    checks: list = []
    needs = engine._text_needs(raw, spec)
    for column, kind in spec.columns.items():
        if column not in raw.columns:
            continue
        value = raw[column]
        if kind == "ts":
            vt = value.type()
            if not (vt.is_timestamp() or vt.is_date()):
                raise SegmlDataError(
                    spec.name, column, f"holds {vt}, not timestamps; cast it first"
                )
            if vt.is_timestamp() and vt.timezone is None:
                typed[column] = value
            else:
                typed[column] = value.cast(_IBIS[kind])
            continue
        typed[column] = engine._typed(raw, column, kind, spec.name, None, checks, needs)
    keyed = None
    if table == "transactions" and "order_id" in typed:
        keyed = typed["order_id"].notnull()
    counts = engine._check_values(
        raw, typed, spec, None, line=typed, keyed=keyed, checks=checks
    )
    full = raw.select(**typed)
    if keyed is not None and counts["_hashes"] < counts["_keyed"]:
        full = engine._drop_duplicate_lines(full)
    return full
