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
  becomes renames in the expression, cells are read as the pandas readers
  read them (ids stripped, blank texts and missing-value markers missing,
  float-written ids without ``.0``, numeric dates in the one day/month order
  the column allows; these repairs are added to the expression only when a
  first pass finds something to repair), and the contract is checked in SQL
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
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

import duckdb
import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pyarrow as pa

from segml.data import CUSTOMERS, EVENTS, TRANSACTIONS, TableSpec
from segml.data.coerce import (
    FIRST_TS,
    LAST_TS,
    MISSING_TEXT,
    missing_error,
    number_hint,
    numeric_ts_error,
    out_of_range_error,
    ts_range_error,
)
from segml.data.io import csv_header
from segml.data.schema import MAX_ABS_NUMBER
from segml.data.validate import (
    RETURN_STATUSES,
    DuplicateRowsWarning,
    check_canonical,
    check_column_names,
    drop_duplicate_lines,
    duplicate_lines_message,
    empty_table_error,
    repair_canonical,
    returns_error,
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
# an id written by a float column ("7.0"), or a plain integer ("7")
_INTEGRAL = r"^[+-]?\d+(\.0+)?$"
# a date written with numbers only, day and month in some order: 01/06/2024
# (groups: first number, second number, year, the rest)
_NUMERIC_DATE = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(\D.*)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
_MARKERS = sorted(MISSING_TEXT)
_LONGEST_MARKER = max(len(m) for m in MISSING_TEXT)
_TRUE_FALSE = ["True", "TRUE", "true", "False", "FALSE", "false"]
# words pandas would read as the clock time of the run (see segml.data.coerce)
_RELATIVE = ["now", "today", "tomorrow", "yesterday"]
#: DuckDB threads of a connection unless its settings say otherwise. One: a
#: multi-threaded sum of floats depends on the order the threads finish in, so
#: every build gave other last bits (measured: 1 M lines, each 2-thread build
#: hashed differently, each 1-thread build the same), and training runs were
#: not reproducible (the same commit and data gave a selection macro-F1 of
#: 0.7186 in 1 of 10 runs, 0.7213 in the others). It costs time: on the idle
#: 2-core machine the full catalogue of benchmarks/features.py's 1 M lines took
#: 1.58 s on one thread and 1.35 s on two (medians of 3; under load the two
#: were within noise). ``engine_settings={"threads": n}`` buys it back.
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
        frame = repair_canonical(frame, spec)
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
        raw = _read(con.read_parquet, str(path / "**" / "*.parquet"), path, spec)
    elif name.endswith(_PARQUET):
        raw = _read(con.read_parquet, str(path), path, spec)
    elif name.endswith(_CSV):
        # DuckDB renames a repeated header ("amount", "amount_1"): the
        # file's own first line is checked first
        first = csv_header(path, table=spec.name)
        if not first:
            raise empty_table_error(spec)
        check_column_names(first, spec, columns)
        header = _read(con.read_csv, str(path), path, spec, all_varchar=True).columns

        def csv(kinds: tuple[str, ...]) -> ibis.Table:
            text = {
                columns.get(c, c): "VARCHAR"
                for c, kind in spec.columns.items()
                if kind in kinds and columns.get(c, c) in header
            }
            return _read(con.read_csv, str(path), path, spec, types=text or None)

        try:
            # numbers as DuckDB sniffs them from the first lines: parsing
            # them as text in every stage of a build made a 1 M-line CSV
            # build ~1.7 times slower
            return _contract(
                csv(("id", "str", "ts")), spec, columns, ts_format, keep_extra
            )
        except duckdb.ConversionException:
            # a text further down a number column ("$12", "NA", "True" after
            # numbers): read the numbers as text, with the contract's errors
            raw = csv(("id", "str", "ts", "float"))
            try:
                return _contract(raw, spec, columns, ts_format, keep_extra)
            except duckdb.ConversionException as exc:
                # a column outside the contract, sniffed as numbers
                raise _unreadable(path, spec, exc) from None
    else:
        raise SegmlDataError(
            spec.name,
            None,
            f"cannot tell the format of {path.name}; use .csv, .tsv, "
            ".parquet or a folder of Parquet files",
        )
    return _contract(raw, spec, columns, ts_format, keep_extra)


def _contract(
    raw: ibis.Table,
    spec: TableSpec,
    columns: Mapping[str, str],
    ts_format: str | None,
    keep_extra: bool,
) -> ibis.Table:
    """The scanned ``raw`` table renamed, typed and checked (see the module
    docstring)."""
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
    checks: list[_Check] = []
    needs = _text_needs(raw, spec)
    for column, kind in spec.columns.items():
        if column in raw.columns:
            typed[column] = _typed(
                raw, column, kind, spec.name, ts_format, checks, needs
            )
    extra = [c for c in raw.columns if c not in typed]
    line = {**typed, **{c: raw[c] for c in extra}}
    keyed = None
    if spec.name == "transactions" and "order_id" in typed:
        keyed = typed["order_id"].notnull()
    counts = _check_values(
        raw, typed, spec, ts_format, line=line, keyed=keyed, checks=checks
    )
    full = raw.select(**line)
    if keyed is not None and counts["_hashes"] < counts["_keyed"]:
        # two lines with an order id share a hash: compare them exactly
        full = _drop_duplicate_lines(full)
    return full if keep_extra else full.select(*typed)


def _read(reader, source: str, path: Path, spec: TableSpec, **options) -> ibis.Table:
    """``reader(source, **options)`` (an Ibis ``read_csv``/``read_parquet``);
    a file DuckDB cannot read is a :class:`SegmlDataError` naming it."""
    options = {k: v for k, v in options.items() if v is not None}
    try:
        return reader(source, **options)
    except duckdb.Error as exc:
        raise _unreadable(path, spec, exc) from None


def _unreadable(path: Path, spec: TableSpec, exc: Exception) -> SegmlDataError:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    first = lines[0] if lines else type(exc).__name__
    return SegmlDataError(spec.name, None, f"cannot read {path.name}: {first}")


class _Check(NamedTuple):
    """A per-row condition of the contract checked in the one aggregate:
    ``error(n, example, rows)`` is raised when ``cond`` holds in ``n`` rows
    (``example``: the first such row's value of ``shown``)."""

    column: str
    cond: ibis.Value
    shown: ibis.Value
    error: Callable[[int, object, pd.DataFrame], SegmlDataError]


def _check_values(
    raw: ibis.Table,
    typed: dict[str, ibis.Value],
    spec: TableSpec,
    ts_format: str | None,
    *,
    line: dict[str, ibis.Value],
    keyed: ibis.Value | None,
    checks: list[_Check],
) -> pd.Series:
    """The value checks of the contract, in one aggregate over the scan.

    Counts the rows, the values that do not read as their kind (``checks``,
    from :func:`_typed`), the missing values of each required column (a NaN
    number counts as missing), the infinite or too large numbers, the
    timestamps outside ``FIRST_TS``..``LAST_TS`` and the returns booked with
    a positive amount; on a failure, a second query takes up to five
    offending rows. With ``keyed`` (the lines that have an order id), the
    same pass counts them and the distinct hashes of their whole ``line``:
    fewer hashes than lines means possible duplicate lines. Returns the
    counts.
    """
    table = spec.name
    checks = list(checks)
    first, last = (
        ibis.literal(t.to_pydatetime(), type=dt.timestamp) for t in (FIRST_TS, LAST_TS)
    )
    for column, kind in spec.columns.items():
        if column not in typed:
            continue
        value = typed[column]
        if column in spec.required:
            missing = value.isnull()
            if kind == "float":
                missing = missing | value.isnan()
            checks.append(
                _Check(
                    column,
                    missing,
                    value,
                    lambda n, _x, rows, c=column: missing_error(table, c, n, rows),
                )
            )
        if kind == "float":
            big = value.isinf() | ((value.abs() > MAX_ABS_NUMBER) & ~value.isnan())
            checks.append(
                _Check(
                    column,
                    big.fill_null(False),
                    value,
                    lambda n, x, rows, c=column: out_of_range_error(
                        table, c, n, x, rows
                    ),
                )
            )
        if kind == "ts":
            far = ((value < first) | (value > last)).fill_null(False)
            checks.append(
                _Check(
                    column,
                    far,
                    value,
                    lambda n, x, rows, c=column: ts_range_error(table, c, n, x, rows),
                )
            )
    if table == "transactions" and "status" in typed and "amount" in typed:
        status = typed["status"]
        word = status.strip().lower().re_replace(r"[_\-\s]+", " ")
        refund = word.isin(sorted(RETURN_STATUSES)) & (typed["amount"] > 0)
        checks.append(
            _Check(
                "amount",
                refund.fill_null(False),
                status,
                lambda n, x, rows: returns_error(n, x, rows),
            )
        )
    metrics = {"_rows": raw.count()}
    metrics.update({f"_check_{i}": c.cond.sum() for i, c in enumerate(checks)})
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
        first_line = str(exc).strip().splitlines()[0]
        raise SegmlDataError(
            table,
            "ts",
            f"value(s) cannot be parsed with ts_format={ts_format!r}: {first_line}",
        ) from None
    if int(counts["_rows"]) == 0:
        raise empty_table_error(spec)
    for i, check in enumerate(checks):
        n = int(counts[f"_check_{i}"] or 0)
        if not n:
            continue
        found = raw.filter(check.cond)
        rows = to_frame(found.limit(5))
        example = to_frame(found.select(v=check.shown).limit(1))["v"].iloc[0]
        raise check.error(n, example, rows)
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
                table,
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
    raw: ibis.Table,
    column: str,
    kind: str,
    table: str,
    ts_format: str | None,
    checks: list[_Check],
    needs: Mapping[str, tuple[bool, bool]],
) -> ibis.Value:
    """``raw[column]`` as its kind of the contract, read as the pandas
    readers read it (:func:`segml.data.coerce.coerce_column`): ids stripped,
    blank texts and missing-value markers missing, float-written ids without
    their ``.0``. Values that do not read as the kind append a
    :class:`_Check` to ``checks`` (counted in the one aggregate of
    :func:`_check_values`)."""
    if kind == "ts":
        return _typed_ts(raw, column, table, ts_format, checks, needs)
    if kind == "float":
        return _typed_float(raw, column, table, checks, needs)
    value = raw[column]
    vt = value.type()
    if vt.is_floating():
        present = ibis.ifelse(value.isnan(), ibis.null(dt.float64), value)
        checks.append(
            _Check(
                column,
                (present.abs() > _EXACT_FLOAT).fill_null(False),
                present,
                lambda n, x, rows: SegmlDataError(
                    table,
                    column,
                    f"{n} id(s) are numbers stored as floats beyond 2**53 (e.g. "
                    f"{x:.0f}), which float64 cannot hold exactly: their last "
                    "digits are already lost; read the ids as text (e.g. "
                    "dtype={'customer_id': str} in pandas.read_csv)",
                    rows,
                ),
            )
        )
        whole = (present == present.round()) & (present.abs() <= _EXACT_FLOAT)
        return ibis.ifelse(
            whole, present.try_cast("int64").cast("string"), present.cast("string")
        )
    if not vt.is_string():
        return value.cast("string")
    padded, blank = needs.get(column, (True, True))
    if padded:
        marker = value.strip().isin(_MARKERS)
    else:
        marker = value.isin(_MARKERS)
    text = value.strip() if kind == "id" and padded else value
    if padded or blank:
        text = ibis.ifelse(marker, ibis.null(dt.string), text)
    return _integral_ids(raw, text) if kind == "id" else text


def _is_padded(value: ibis.Value) -> ibis.Value:
    """Whether a text starts or ends with a blank or control character (or
    is empty). Tests the code points of the first and last characters, which
    copies no text: on 5 M Parquet texts 0.13 s, against 0.35 s for a regular
    expression or ``LIKE`` tests of four blanks and 0.44 s for comparing
    lengths after a strip."""
    return (value.ascii_str() <= 32) | (value.reverse().ascii_str() <= 32)


def _text_needs(raw: ibis.Table, spec: TableSpec) -> dict[str, tuple[bool, bool]]:
    """For each text column of the contract in ``raw`` (ids, texts,
    numbers read as text): whether some value starts or ends with a blank,
    and whether some value is a missing-value marker as it stands (a padded
    marker is a padded value); one pass.
    Columns that need neither repair are then read as they are: the
    repairs would otherwise run again in every stage of a build."""
    names = [
        c
        for c, kind in spec.columns.items()
        if c in raw.columns and raw[c].type().is_string()
    ]
    if not names:
        return {}
    metrics = {}
    for i, name in enumerate(names):
        value = raw[name]
        metrics[f"p{i}"] = _is_padded(value).any()
        marker = (value.length() <= _LONGEST_MARKER) & value.isin(_MARKERS)
        metrics[f"m{i}"] = marker.any()
    counts = to_frame(raw.aggregate(**metrics)).iloc[0]
    return {
        name: (_yes(counts[f"p{i}"]), _yes(counts[f"m{i}"]))
        for i, name in enumerate(names)
    }


def _yes(flag: object) -> bool:
    """An ``any()`` of an aggregate as a bool (NULL over no rows: False)."""
    return bool(flag) if pd.notna(flag) else False


_EXACT_FLOAT = 2**53  # float64 holds every integer up to here, not beyond


def _integral_ids(raw: ibis.Table, text: ibis.Value) -> ibis.Value:
    """``text`` (stripped ids) without the ``.0`` of ids a float column
    wrote, when every id is such an integer (``"7.0"``, ``"7"``). The first
    100 ids decide most columns without a pass over the table."""
    head = to_frame(raw.filter(text.notnull()).select(v=text).limit(100))["v"]
    if head.empty or not head.str.fullmatch(_INTEGRAL).all():
        return text
    counts = to_frame(
        raw.aggregate(
            other=(~text.re_search(_INTEGRAL)).sum(where=text.notnull()),
            dotted=text.contains(".").sum(),
        )
    ).fillna(0)
    if int(counts["other"].iloc[0]) or not int(counts["dotted"].iloc[0]):
        return text
    return text.re_replace(r"\.0+$", "")


def _typed_float(
    raw: ibis.Table,
    column: str,
    table: str,
    checks: list[_Check],
    needs: Mapping[str, tuple[bool, bool]],
) -> ibis.Value:
    value = raw[column]
    vt = value.type()
    target = dt.float64
    if vt.is_floating():
        # a NaN (the text "nan" in a CSV) is a missing value, as in pandas;
        # left as NaN it would turn every sum it enters into NaN
        value = value.cast(target)
        return ibis.ifelse(value.isnan(), ibis.null(target), value)
    if vt.is_boolean():
        checks.append(_true_false(column, table, value.notnull(), value))
        return value.cast(target)
    if vt.is_numeric():
        return value.cast(target)
    if not vt.is_string():
        raise SegmlDataError(table, column, f"holds {vt}, not numbers")
    text = value
    padded, blank = needs.get(column, (True, True))
    if padded or blank:
        marker = value.strip().isin(_MARKERS)
        text = ibis.ifelse(marker, ibis.null(dt.string), value)
    flags = text.strip().isin(_TRUE_FALSE).fill_null(False)
    checks.append(_true_false(column, table, flags, text))
    number = text.try_cast(target)
    bad = text.notnull() & number.isnull() & ~flags
    checks.append(
        _Check(
            column,
            bad,
            text,
            lambda n, x, rows: SegmlDataError(
                table,
                column,
                f"{n} value(s) are not numeric (e.g. {x!r})" + number_hint(x),
                rows,
            ),
        )
    )
    return number


def _true_false(column: str, table: str, cond: ibis.Value, shown: ibis.Value) -> _Check:
    """True/false numbers are an error, as in the pandas readers: 1.0 and
    0.0 would pass for amounts."""

    def error(n: int, example: object, rows: pd.DataFrame) -> SegmlDataError:
        flag = example if isinstance(example, bool) else str(example).strip()
        flag = flag if isinstance(flag, bool) else flag.lower() == "true"
        return SegmlDataError(
            table,
            column,
            f"{n} value(s) are true/false, not numbers (e.g. {flag!r}); write "
            "them as numbers",
            rows,
        )

    return _Check(column, cond, shown, error)


def _typed_ts(
    raw: ibis.Table,
    column: str,
    table: str,
    ts_format: str | None,
    checks: list[_Check],
    needs: Mapping[str, tuple[bool, bool]],
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
    if kind.is_numeric() and not kind.is_boolean():
        if ts_format is None:
            raise numeric_ts_error(table, column, to_frame(raw.limit(5)))
        number = value
        if kind.is_floating():
            number = ibis.ifelse(value.isnan(), ibis.null(kind), value)
        text = number.cast("int64").cast("string")
        return text.as_timestamp(ts_format).cast(dt.timestamp)
    if not kind.is_string():
        raise SegmlDataError(
            table, column, f"holds {kind}, not timestamps; pass ts_format= to parse"
        )
    padded, blank = needs.get(column, (True, True))
    text = value.strip() if padded else value
    if padded or blank:
        # only then: a strip and a lookup would run again in every stage
        text = ibis.ifelse(text.isin(_MARKERS), ibis.null(dt.string), text)
    present = text.notnull()
    aware = text.re_search("(?i)" + _TZ_SUFFIX).fill_null(False)
    word = ((text.length() <= 12) & text.lower().isin(_RELATIVE)).fill_null(False)
    numeric = text.re_search(_NUMERIC_DATE).fill_null(False)
    iso = text.re_search(_ISO_DATE).fill_null(False)
    counts = to_frame(
        raw.aggregate(
            present=present.sum(),
            aware=aware.sum(),
            words=word.sum(),
            numeric=numeric.sum(),
            iso=iso.sum(),
        )
    )
    counts = counts.fillna(0).iloc[0].astype("int64")  # sums over no rows: NULL
    if counts["words"]:
        rows = to_frame(raw.filter(word).limit(5))
        raise SegmlDataError(
            table,
            column,
            f"{counts['words']} value(s) are words such as "
            f"{rows[column].iloc[0]!r}, which would be read as the time segml "
            "runs; write the dates",
            rows,
        )
    n_aware, n_naive = int(counts["aware"]), int(counts["present"] - counts["aware"])
    if n_aware and n_naive:
        rows = to_frame(raw.filter(aware).limit(2))
        rows = pd.concat([rows, to_frame(raw.filter(present & ~aware).limit(3))])
        raise SegmlDataError(
            table,
            column,
            f"mixes time-zone-aware ({n_aware} rows) and naive ({n_naive} rows) "
            "timestamps; make them all aware or all naive",
            rows,
        )
    if ts_format is not None:
        iso_format = re.match(_ISO_DATE, FIRST_TS.strftime(ts_format)) is not None
        if iso_format or counts["iso"] < counts["present"] or not counts["present"]:
            # DuckDB's strptime fails loudly, naming the value and format
            return text.as_timestamp(ts_format).cast(dt.timestamp)
        # one ts_format serves every table of a config: a column written
        # wholly in ISO 8601 (one reading only) is read as such
    elif counts["numeric"]:
        text = _numeric_dates_as_iso(raw, column, table, text, numeric)
    target = dt.Timestamp(timezone="UTC") if n_aware else dt.timestamp
    parsed = text.try_cast(target)
    checks.append(
        _Check(
            column,
            text.notnull() & parsed.isnull(),
            value,
            lambda n, x, rows: SegmlDataError(
                table,
                column,
                f"{n} value(s) cannot be parsed as timestamps (e.g. {x!r}); pass "
                "ts_format= to name the format",
                rows,
            ),
        )
    )
    return parsed.cast(dt.timestamp) if n_aware else parsed


def _numeric_dates_as_iso(
    raw: ibis.Table,
    column: str,
    table: str,
    text: ibis.Value,
    numeric: ibis.Value,
) -> ibis.Value:
    """``text`` with its numeric dates (``03/04/2024``, ``25.06.24``) written
    ISO first, the day/month order decided once for the column as
    :func:`segml.data.coerce._parse` does: by the dates only one order reads
    (a first number above 12 is a day); when every date reads both ways, or
    the column mixes the orders, an error asking for ``ts_format``. A
    two-digit year is 2000-2068 below 69, else 1900s (``%y``)."""
    a = text.re_extract(_NUMERIC_DATE, 1).cast("int64")
    b = text.re_extract(_NUMERIC_DATE, 2).cast("int64")
    dates = raw.filter(numeric)
    readable = (a <= 12) | (b <= 12)
    counts = to_frame(
        dates.aggregate(
            readable=readable.sum(),
            a_month=((a <= 12) & readable).sum(),
            b_month=((b <= 12) & readable).sum(),
            differ=(readable & (a != b)).sum(),
        )
    )
    counts = counts.fillna(0).iloc[0].astype("int64")
    if not counts["differ"]:
        day_first = False  # both orders read them the same
    else:
        month_first = counts["a_month"] == counts["readable"]
        day_first = counts["b_month"] == counts["readable"]
        if not (month_first or day_first):
            rows = pd.concat(
                [
                    to_frame(dates.filter(a > 12).limit(2)),
                    to_frame(dates.filter(b > 12).limit(3)),
                ]
            )
            raise SegmlDataError(
                table,
                column,
                f"mixes day-first dates (e.g. {rows[column].iloc[0]!r}) and "
                f"month-first dates (e.g. {rows[column].iloc[-1]!r}); write them "
                "one way, or pass ts_format= (data.ts_format in a config)",
                rows,
            )
        if month_first and day_first:
            rows = to_frame(dates.filter(readable & (a != b)).limit(5))
            raise SegmlDataError(
                table,
                column,
                f"{counts['differ']} date(s) such as {rows[column].iloc[0]!r} can "
                "be read day first or month first, and no value of the column "
                "decides; pass ts_format= (data.ts_format in a config), e.g. "
                "'%d/%m/%Y' or '%m/%d/%Y'",
                rows,
            )
    day, month = (a, b) if day_first else (b, a)
    year = text.re_extract(_NUMERIC_DATE, 3)
    short = year.length() == 2
    yy = year.cast("int64")
    year = ibis.ifelse(short, ibis.ifelse(yy < 69, yy + 2000, yy + 1900), yy).cast(
        "string"
    )
    iso = (
        year
        + "-"
        + month.cast("string").lpad(2, "0")
        + "-"
        + day.cast("string").lpad(2, "0")
        + text.re_extract(_NUMERIC_DATE, 4)
    )
    return ibis.ifelse(numeric, iso, text)
