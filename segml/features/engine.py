"""The embedded engine: an Ibis connection to in-process DuckDB, and inputs.

Feature definitions (the family modules) are backend-neutral Ibis expressions;
this module is the only place that knows the backend. It turns each input
(a pandas DataFrame, or a CSV/Parquet file or Parquet folder) into an Ibis
table with the canonical columns of the data contract:

* a DataFrame is validated with :mod:`segml.data` unless it is already in
  canonical form; a canonical frame still gets the value checks of the
  contract (required values present, numbers finite and bounded, vectorised)
  and the duplicate-line repair, then is registered with ``ibis.memtable``
  (zero copy for Arrow-backed strings, datetimes and floats);
* a path is scanned lazily by DuckDB, never loaded whole: the column mapping
  becomes renames in the expression, and the contract is checked in SQL
  (one aggregate counts the empty table, the missing required values and the
  infinite or too large numbers; unparseable values and mixed time zones are
  found the same way), each failure raising
  :class:`~segml.errors.SegmlDataError` with the table, the column and a
  ``LIMIT 5`` sample of the offending rows. Exact duplicate order lines are
  found in SQL (the same pass counts the distinct hashes of the lines that
  have an order id; an exact ``DISTINCT`` runs only when two hashes
  collide) and, when there are some, removed by a ``DISTINCT`` in the scan,
  with the same :class:`DuplicateRowsWarning` as
  :func:`segml.data.validate_transactions`. That pass costs ~0.2 s per
  500 k lines of Parquet (most of it hashing the text columns).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import duckdb
import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pyarrow as pa

from segml.data import CUSTOMERS, EVENTS, TRANSACTIONS, TableSpec
from segml.data.coerce import missing_error, out_of_range_error
from segml.data.io import csv_header
from segml.data.schema import MAX_ABS_NUMBER
from segml.data.validate import (
    DuplicateRowsWarning,
    check_canonical,
    check_column_names,
    drop_duplicate_lines,
    duplicate_lines_message,
    empty_table_error,
    validate_customers,
    validate_events,
    validate_transactions,
)
from segml.errors import SegmlDataError

__all__ = [
    "DEFAULT_THREADS",
    "Source",
    "arrow_to_frame",
    "close",
    "connect",
    "drop",
    "load_table",
    "materialize",
    "memtable",
    "to_arrow",
    "to_frame",
]

Source = pd.DataFrame | str | os.PathLike
SPECS: dict[str, TableSpec] = {
    "transactions": TRANSACTIONS,
    "customers": CUSTOMERS,
    "events": EVENTS,
}
_VALIDATORS = {
    "transactions": validate_transactions,
    "customers": validate_customers,
    "events": validate_events,
}
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv", ".txt")
_TZ_SUFFIX = r"\d:\d{2}(:\d{2}(\.\d*)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$"
_IBIS_TYPES = {"id": dt.string, "str": dt.string, "float": dt.float64}
#: DuckDB threads of a connection unless its settings say otherwise. One: a
#: multi-threaded sum of floats depends on the order the threads finish in, so
#: every build gave other last bits (measured: 1 M lines, each 2-thread build
#: hashed differently, each 1-thread build the same), and training runs were
#: not reproducible (the same commit and data gave a selection macro-F1 of
#: 0.7186 in 1 of 10 runs, 0.7213 in the others). On the shared 2-core machine
#: one thread was not slower (1 M lines: 2.0-2.2 s vs 2.6-3.1 s with DuckDB's
#: default of 2; 10 M lines: 17.7 / 22.8 s vs 19.6 / 20.8 s).
DEFAULT_THREADS = 1


def connect(settings: Mapping[str, object] | None = None) -> ibis.BaseBackend:
    """A fresh in-process DuckDB connection in UTC.

    ``settings`` are DuckDB settings, e.g. ``{"memory_limit": "4GB",
    "temp_directory": "/scratch", "threads": 2}``; beyond ``memory_limit``
    DuckDB spills to ``temp_directory``, which is how logs larger than memory
    are built.

    Reproducibility: DuckDB runs on :data:`DEFAULT_THREADS` (one) thread
    unless ``settings`` give ``threads``, so that the same data always gives
    the same features bit for bit. With several threads DuckDB adds the
    floats of a sum in whatever order its threads hand over partial results,
    so two identical builds differ in the last bits of the sums and of what
    is computed from them (``spend_share``, ``spend_{w}d``, the trends: ~1e-16
    relative; counts, dates, minima and maxima are exact). Models trained on
    them change with those bits (measured: moving 30 % of the spend features
    by 1 ulp moved a run's selection macro-F1 by up to 0.002), so a training
    run on several threads is not reproducible. ``{"threads": 4}`` trades
    that for speed on a large machine.
    """
    con = ibis.duckdb.connect()
    # DuckDB's allocator settings stay at their defaults: flushing freed
    # memory after every stage (allocator_flush_threshold and
    # allocator_bulk_deallocation_flush_threshold = 0) lowered the peak at
    # 10 M rows from ~1.6-1.9 GB to ~1.4 GB but cost ~30 % more time
    options = {
        "TimeZone": "UTC",
        "preserve_insertion_order": False,
        "threads": DEFAULT_THREADS,
    }
    options.update(settings or {})
    for key, val in options.items():
        if not str(key).replace("_", "").isalnum():
            raise ValueError(f"not a DuckDB setting name: {key!r}")
        literal = str(val).lower() if isinstance(val, bool) else str(val)
        con.raw_sql(f"SET {key} = '{literal}'")
    # no progress bar printed: a library call should not draw on the user's
    # terminal. Inside Jupyter without ipywidgets DuckDB refuses any progress
    # bar setting (InvalidInputException); its default is kept there.
    with contextlib.suppress(duckdb.InvalidInputException):
        con.raw_sql("SET enable_progress_bar_print = false")
    return con


def memtable(frame: pd.DataFrame) -> ibis.Table:
    """``frame`` as an in-memory Ibis table, through Arrow (zero copy for
    Arrow-backed strings, datetimes and floats; this also avoids Ibis' pandas
    type inference, which trips a pandas 4 deprecation warning)."""
    return ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False))


def to_frame(expr: ibis.Table, con: ibis.BaseBackend | None = None) -> pd.DataFrame:
    """Execute ``expr`` (on ``con``, else on the backend its tables are bound
    to) into pandas through Arrow (faster than Ibis' own pandas conversion,
    and free of its pandas 4 deprecation warning)."""
    return arrow_to_frame(to_arrow(expr, con))


def to_arrow(expr: ibis.Table, con: ibis.BaseBackend | None = None) -> pa.Table:
    """Execute ``expr`` (on ``con``, else on the backend its tables are bound
    to) into an Arrow table."""
    with warnings.catch_warnings():
        # ibis 12 calls DuckDB's deprecated fetch_arrow_table
        warnings.simplefilter("ignore", DeprecationWarning)
        return expr.to_pyarrow() if con is None else con.to_pyarrow(expr)


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """``table`` in pandas, one block per column (no consolidation copy).

    ``self_destruct=True`` (free each Arrow column once converted) was
    measured slower and no lower at the peak: at 10 M rows 11.5 s / 1.63 GB
    against 9.5 s / 1.36 GB without it, and a 4 M-row stacked result
    converted in 2.4 s against 0.4 s.
    """
    return table.to_pandas(split_blocks=True)


def materialize(con: ibis.BaseBackend, expr: ibis.Table, name: str) -> ibis.Table:
    """Compute ``expr`` now into a temporary table and return that table.

    Running the stages of a build one after the other (instead of as one big
    plan) keeps a single large hash table alive at a time: at 10 M rows this
    is more than twice as fast and uses less memory. On other backends
    (Spark) ``expr`` is returned as is: the whole build stays one lazy plan
    that the backend's optimizer stages itself.
    """
    if con.name != "duckdb":
        return expr
    with warnings.catch_warnings():
        # ibis 12 calls DuckDB's deprecated fetch_arrow_table here
        warnings.simplefilter("ignore", DeprecationWarning)
        return con.create_table(name, expr, temp=True)


def close(con: ibis.BaseBackend) -> None:
    """Close a connection made by :func:`connect`, with its temporary tables.

    DuckDB keeps the memory of dropped tables for reuse until the database
    closes; closing before the result is converted to pandas returns it (at
    10 M rows the peak went from ~1.9 GB to ~1.3 GB, and the conversion got
    faster). Results already fetched as Arrow stay valid.
    """
    con.disconnect()


def drop(con: ibis.BaseBackend, names: list[str]) -> None:
    """Free temporary tables made by :func:`materialize` (DuckDB only)."""
    if con.name != "duckdb":
        return
    for name in names:
        # plain DROP: ibis' drop_table emits IF EXISTS, which DuckDB 2.0's
        # parser rejects
        con.raw_sql(f'DROP TABLE "{name}"')


def load_table(
    con: ibis.BaseBackend,
    source: Source,
    table: str,
    *,
    columns: Mapping[str, str] | None = None,
    ts_format: str | None = None,
    keep_extra: bool = False,
) -> ibis.Table:
    """One canonical input table as an Ibis expression on ``con``.

    Parameters
    ----------
    con : ibis backend
        From :func:`connect`.
    source : DataFrame or path
        The table, a CSV file, a Parquet file or a folder of Parquet files.
    table : {"transactions", "customers", "events"}
        Which table of the data contract ``source`` is.
    columns : mapping, optional
        Canonical name -> the user's column name.
    ts_format : str, optional
        ``strftime`` format of text timestamps.
    keep_extra : bool
        Keep columns outside the contract (customer attributes).
    """
    spec = SPECS[table]
    if isinstance(source, pd.DataFrame):
        frame = canonical_frame(source, table, columns=columns, ts_format=ts_format)
        if not keep_extra:
            frame = frame[[c for c in spec.columns if c in frame.columns]]
        return memtable(frame)
    with warnings.catch_warnings():
        # ibis 12 calls DuckDB's deprecated fetch_arrow_table
        warnings.simplefilter("ignore", DeprecationWarning)
        return _scan(con, Path(source), spec, columns or {}, ts_format, keep_extra)


def canonical_frame(
    frame: pd.DataFrame,
    table: str,
    *,
    columns: Mapping[str, str] | None = None,
    ts_format: str | None = None,
) -> pd.DataFrame:
    """``frame`` itself when already canonical and clean, else its validated
    (and repaired) copy. A canonical frame is checked the way the validator
    checks (missing values, infinite or too large numbers), and exact
    duplicate order lines are dropped with a warning, like everywhere else."""
    spec = SPECS[table]
    if not columns and _is_canonical(frame, spec):
        check_canonical(frame, spec)
        if table == "transactions":
            return drop_duplicate_lines(frame, stacklevel=6)
        return frame
    return _VALIDATORS[table](frame, columns=columns, ts_format=ts_format)


def _is_canonical(frame: pd.DataFrame, spec: TableSpec) -> bool:
    if frame.empty or any(c not in frame.columns for c in spec.required):
        return False
    if frame.columns.duplicated().any():
        return False
    for column, kind in spec.columns.items():
        if column not in frame.columns:
            continue
        dtype = frame[column].dtype
        if kind == "ts":
            ok = dtype == "datetime64[us]"
        elif kind == "float":
            ok = dtype == "float64"
        else:
            ok = isinstance(dtype, pd.StringDtype)
        if not ok:
            return False
    for column in spec.required:
        if frame[column].hasnans:
            return False
    return all(frame[key].is_unique for key in spec.unique)


# ------------------------------------------------------------------ paths
def _scan(
    con: ibis.BaseBackend,
    path: Path,
    spec: TableSpec,
    columns: Mapping[str, str],
    ts_format: str | None,
    keep_extra: bool,
) -> ibis.Table:
    if not path.exists():
        raise SegmlDataError(spec.name, None, f"no such file or folder: {path}")
    name = path.name.lower()
    if path.is_dir():
        raw = con.read_parquet(str(path / "**" / "*.parquet"))
    elif name.endswith(_PARQUET):
        raw = con.read_parquet(str(path))
    elif name.endswith(_CSV):
        # DuckDB renames a repeated header ("amount", "amount_1"): the
        # file's own first line is checked first
        check_column_names(csv_header(path), spec, columns)
        header = con.read_csv(str(path), all_varchar=True).columns
        text = {
            columns.get(c, c): "VARCHAR"
            for c, kind in spec.columns.items()
            if kind in ("id", "str", "ts") and columns.get(c, c) in header
        }
        raw = con.read_csv(str(path), types=text) if text else con.read_csv(str(path))
    else:
        raise SegmlDataError(
            spec.name,
            None,
            f"cannot tell the format of {path.name}; use .csv, .tsv, "
            ".parquet or a folder of Parquet files",
        )
    unknown = [c for c in columns if c not in spec.columns]
    if unknown:
        raise SegmlDataError(
            spec.name, unknown[0], f"the column mapping names unknown '{unknown[0]}'"
        )
    for canon, user in columns.items():
        if user not in raw.columns:
            raise SegmlDataError(
                spec.name,
                user,
                f"the column mapping reads '{canon}' from '{user}', but the file "
                f"has no such column; it has: {', '.join(raw.columns)}",
            )
    check_column_names(list(raw.columns), spec, columns)
    raw = raw.rename(dict(columns))
    for column in spec.required:
        if column not in raw.columns:
            raise SegmlDataError(
                spec.name,
                column,
                f"required column '{column}' is missing; the file has: "
                f"{', '.join(raw.columns)}",
            )
    typed = {}
    for column, kind in spec.columns.items():
        if column in raw.columns:
            typed[column] = _typed(raw, column, kind, spec.name, ts_format)
    extra = [c for c in raw.columns if c not in typed]
    line = {**typed, **{c: raw[c] for c in extra}}
    keyed = None
    if spec.name == "transactions" and "order_id" in typed:
        keyed = typed["order_id"].notnull()
    counts = _check_values(raw, typed, spec, ts_format, line=line, keyed=keyed)
    full = raw.select(**line)
    if keyed is not None and counts["_hashes"] < counts["_keyed"]:
        # two lines with an order id share a hash: compare them exactly
        full = _drop_duplicate_lines(full)
    return full if keep_extra else full.select(*typed)


def _check_values(
    raw: ibis.Table,
    typed: dict[str, ibis.Value],
    spec: TableSpec,
    ts_format: str | None,
    *,
    line: dict[str, ibis.Value],
    keyed: ibis.Value | None,
) -> pd.Series:
    """The value checks of the contract, in one aggregate over the scan.

    Counts the rows, the missing values of each required column (a NaN
    number counts as missing) and the infinite or too large numbers; on a
    failure, a second query takes up to five offending rows. With ``keyed``
    (the lines that have an order id), the same pass counts them and the
    distinct hashes of their whole ``line``: fewer hashes than lines means
    possible duplicate lines. Returns the counts.
    """
    conditions: dict[str, tuple[str, str, ibis.Value]] = {}
    for column, kind in spec.columns.items():
        if column not in typed:
            continue
        value = typed[column]
        if column in spec.required:
            missing = value.isnull()
            if kind == "float":
                missing = missing | value.isnan()
            conditions[f"_missing_{column}"] = ("missing", column, missing)
        if kind == "float":
            big = value.isinf() | ((value.abs() > MAX_ABS_NUMBER) & ~value.isnan())
            conditions[f"_range_{column}"] = ("range", column, big.fill_null(False))
    metrics = {"_rows": raw.count()}
    metrics.update({k: cond.sum() for k, (_, _, cond) in conditions.items()})
    for key in spec.unique:
        metrics[f"_distinct_{key}"] = typed[key].nunique()
    if keyed is not None:
        metrics["_keyed"] = keyed.sum()
        metrics["_hashes"] = ibis.struct(line).hash().nunique(where=keyed)
    try:
        counts = to_frame(raw.aggregate(**metrics)).iloc[0]
    except duckdb.InvalidInputException as exc:
        if ts_format is None or "ts" not in typed:
            raise
        first = str(exc).strip().splitlines()[0]
        raise SegmlDataError(
            spec.name,
            "ts",
            f"value(s) cannot be parsed with ts_format={ts_format!r}: {first}",
        ) from None
    if int(counts["_rows"]) == 0:
        raise empty_table_error(spec)
    for key, (what, column, cond) in conditions.items():
        n = int(counts[key] or 0)
        if not n:
            continue
        rows = to_frame(raw.filter(cond).limit(5))
        if what == "missing":
            raise missing_error(spec.name, column, n, rows)
        example = to_frame(raw.filter(cond).select(v=typed[column]).limit(1))
        raise out_of_range_error(spec.name, column, n, example["v"].iloc[0], rows)
    for key in spec.unique:
        n_rows = int(counts["_rows"])
        if int(counts[f"_distinct_{key}"]) < n_rows:
            value = typed[key]
            per = raw.group_by(_key=value).aggregate(_n=raw.count())
            repeated = per.filter(per._n > 1)
            n = int(to_frame(repeated.count().as_table()).iloc[0, 0])
            rows = to_frame(
                raw.filter(value.isin(repeated._key)).order_by(value).limit(5)
            )
            raise SegmlDataError(
                spec.name,
                key,
                f"{n} value(s) of '{key}' appear more than once; each must be unique",
                rows,
            )
    return counts.fillna(0)


def _drop_duplicate_lines(full: ibis.Table) -> ibis.Table:
    """``full`` without exact duplicate order lines, warning how many.

    Called when two lines with an ``order_id`` share a hash of every
    column (counted by :func:`_check_values`): they are
    compared exactly, and only when some are equal does the scan get a
    ``DISTINCT``.
    """
    keyed = full.filter(full.order_id.notnull())
    n = int(to_frame(keyed.count().as_table()).iloc[0, 0]) - int(
        to_frame(keyed.distinct().count().as_table()).iloc[0, 0]
    )
    if not n:
        return full
    warnings.warn(duplicate_lines_message(n), DuplicateRowsWarning, stacklevel=6)
    return full.filter(full.order_id.isnull()).union(keyed.distinct())


def _typed(
    raw: ibis.Table, column: str, kind: str, table: str, ts_format: str | None
) -> ibis.Value:
    value = raw[column]
    if kind == "ts":
        return _typed_ts(raw, column, table, ts_format)
    target = _IBIS_TYPES[kind]
    if kind == "float" and value.type().is_floating():
        # a NaN (the text "nan" in a CSV) is a missing value, as in pandas;
        # left as NaN it would turn every sum it enters into NaN
        value = value.cast(target)
        return ibis.ifelse(value.isnan(), ibis.null(target), value)
    if value.type() == target:
        return value
    if kind in ("id", "str"):
        if value.type().is_floating():
            return value.cast("int64").cast("string")
        return value.cast("string")
    if value.type().is_numeric() or value.type().is_boolean():
        return value.cast(target)
    return _checked_cast(raw, column, target, table)


def _checked_cast(
    raw: ibis.Table,
    column: str,
    target: dt.DataType,
    table: str,
    *,
    source: ibis.Value | None = None,
    problem: str | None = None,
) -> ibis.Value:
    """``source`` (default: the raw column) cast to ``target``.

    Every non-missing value that does not cast is an error naming the table,
    the column and up to five offending rows; ``problem`` words it.
    """
    value = raw[column]
    source = value if source is None else source
    bad = raw.filter(value.notnull() & source.try_cast(target).isnull())
    rows = to_frame(bad.limit(5))
    if len(rows):
        problem = problem or f"value(s) cannot be read as {target} (e.g. {{example}})"
        example = rows[column].iloc[0]
        raise SegmlDataError(
            table, column, problem.format(example=f"{example!r}"), rows
        )
    return source.cast(target)


def _typed_ts(
    raw: ibis.Table, column: str, table: str, ts_format: str | None
) -> ibis.Value:
    value = raw[column]
    kind = value.type()
    if kind.is_timestamp():
        if kind.timezone is not None:
            return value.cast(dt.Timestamp(timezone="UTC")).cast(dt.timestamp)
        return (
            value.cast(dt.Timestamp(scale=6)) if kind.scale not in (None, 6) else value
        )
    if kind.is_date():
        return value.cast(dt.timestamp)
    if not kind.is_string():
        raise SegmlDataError(
            table, column, f"holds {kind}, not timestamps; pass ts_format= to parse"
        )
    text = value.strip()
    aware = text.re_search(_TZ_SUFFIX)
    counts = to_frame(
        raw.aggregate(
            aware=aware.sum(where=value.notnull()),
            naive=(~aware).sum(where=value.notnull()),
        )
    )
    counts = counts.fillna(0)  # sums over no rows are NULL
    n_aware, n_naive = int(counts["aware"].iloc[0]), int(counts["naive"].iloc[0])
    if n_aware and n_naive:
        rows = to_frame(raw.filter(aware).limit(2))
        rows = pd.concat([rows, to_frame(raw.filter(~aware).limit(3))])
        raise SegmlDataError(
            table,
            column,
            f"mixes time-zone-aware ({n_aware} rows) and naive ({n_naive} rows) "
            "timestamps; make them all aware or all naive",
            rows,
        )
    if ts_format is not None:
        # DuckDB's strptime already fails loudly, naming the value and format
        return text.as_timestamp(ts_format)
    target = dt.Timestamp(timezone="UTC") if n_aware else dt.timestamp
    parsed = _checked_cast(
        raw,
        column,
        target,
        table,
        source=text,
        problem="value(s) cannot be parsed as timestamps (e.g. {example}); "
        "pass ts_format= to name the format",
    )
    if n_aware:
        return parsed.cast(dt.timestamp)
    return parsed
