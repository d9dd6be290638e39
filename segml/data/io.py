"""Read canonical tables from DataFrames, CSV files or Parquet files and folders."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from segml.data.schema import SPECS, TableSpec
from segml.data.validate import (
    check_column_names,
    empty_table_error,
    validate_customers,
    validate_events,
    validate_transactions,
)
from segml.errors import SegmlDataError

__all__ = [
    "Source",
    "csv_header",
    "csv_separator",
    "read_customers",
    "read_events",
    "read_raw",
    "read_transactions",
]

Source = pd.DataFrame | str | os.PathLike

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".tsv", ".txt", ".txt.gz")


def read_raw(
    source: Source,
    table: str,
    *,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read a table as it is stored, before validation.

    Id columns are read as text so that leading zeros survive. A folder is read
    as a Parquet dataset. A CSV file is separated by commas, or by the one of
    ``;``, tab or ``|`` its header line uses instead (as DuckDB's scan finds
    it); a file that cannot be read (not UTF-8, rows with more fields than the
    header, not Parquet) is a :class:`SegmlDataError` naming the file.
    """
    spec = SPECS[table]
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.exists():
        raise SegmlDataError(table, None, f"no such file or folder: {path}")
    name = path.name.lower()
    if path.is_dir() or name.endswith(_PARQUET):
        return _read_parquet(path, table)
    if name.endswith(_CSV):
        # pandas renames a repeated header ("amount", "amount.1"): check the
        # file's own first line
        check_column_names(csv_header(path, table=table), spec, columns or {})
        # a customers file is read as text throughout: its attribute columns
        # are typed by validate_customers, as the same cells in a DataFrame
        # of text or a Parquet file are
        dtype = "str" if table == "customers" else _text_columns(spec, columns)
        return _read_csv(path, table, dtype)
    raise SegmlDataError(
        table,
        None,
        f"cannot tell the format of {path.name}; use .csv, .csv.gz, .tsv, "
        ".parquet or a folder of Parquet files",
    )


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise SegmlDataError(
            table, None, f"cannot read {path.name} as Parquet: {first}"
        ) from None


def _read_csv(path: Path, table: str, dtype) -> pd.DataFrame:
    sep = csv_separator(path, table=table)
    try:
        with warnings.catch_warnings():
            # rows longer than the header lose their extra fields with only a
            # warning: an error here
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # index_col=False: a delimiter at the end of every line would
            # otherwise turn the first column into the index and shift the
            # others one place to the left
            return pd.read_csv(path, sep=sep, dtype=dtype, index_col=False)
    except pd.errors.EmptyDataError:
        raise empty_table_error(SPECS[table]) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        long = _long_lines(path, sep)
        raise SegmlDataError(
            table,
            None,
            f"{path.name} has {len(long)} line(s) with more fields than its "
            f"header; quote fields that contain {_sep_name(sep)} (rows are "
            "file line numbers)",
            long,
        ) from None
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, table, exc) from None


def _long_lines(path: Path, sep: str) -> pd.DataFrame:
    """The lines of a CSV file with more fields than its header (line numbers
    from 1, the header being line 1), for an error message; only called when
    reading has failed."""
    import csv

    lines = pd.read_csv(
        path,
        sep="\x01",
        header=None,
        dtype="str",
        quoting=3,
        keep_default_na=False,
        skip_blank_lines=False,
    ).iloc[:, 0]
    reader = csv.reader(lines.tolist(), delimiter=sep)
    counts = [len(fields) for fields in reader]
    width = counts[0] if counts else 0
    long = [i for i, n in enumerate(counts) if n > width]
    return pd.DataFrame(
        {"line": [lines.iloc[i] for i in long]}, index=[i + 1 for i in long]
    )


def _encoding_error(path: Path, table: str, exc: UnicodeDecodeError):
    where = ""
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):  # not compressed
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as found:
            byte = data[found.start : found.start + 1].hex()
            line = data[: found.start].count(b"\n") + 1
            where = f" (byte 0x{byte} on line {line})"
    return SegmlDataError(
        table,
        None,
        f"{path.name} is not UTF-8 text{where}; save it as UTF-8 (e.g. "
        "'CSV UTF-8' in a spreadsheet)",
    )


def _sep_name(sep: str) -> str:
    return {"\t": "tabs", ",": "commas", ";": "semicolons", "|": "'|'"}[sep]


def read_transactions(
    source: Source,
    *,
    columns: Mapping[str, str] | None = None,
    ts_format: str | None = None,
) -> pd.DataFrame:
    """Read and validate a transaction log from a DataFrame, CSV or Parquet path."""
    raw = read_raw(source, "transactions", columns=columns)
    return validate_transactions(raw, columns=columns, ts_format=ts_format)


def read_customers(
    source: Source,
    *,
    columns: Mapping[str, str] | None = None,
    ts_format: str | None = None,
) -> pd.DataFrame:
    """Read and validate a customer table from a DataFrame, CSV or Parquet path."""
    raw = read_raw(source, "customers", columns=columns)
    return validate_customers(raw, columns=columns, ts_format=ts_format)


def read_events(
    source: Source,
    *,
    columns: Mapping[str, str] | None = None,
    ts_format: str | None = None,
) -> pd.DataFrame:
    """Read and validate an event log from a DataFrame, CSV or Parquet path."""
    raw = read_raw(source, "events", columns=columns)
    return validate_events(raw, columns=columns, ts_format=ts_format)


def _text_columns(spec: TableSpec, columns: Mapping[str, str] | None) -> dict[str, str]:
    mapping = dict(columns or {})
    return {
        mapping.get(name, name): "str"
        for name, kind in spec.columns.items()
        if kind in ("id", "str")
    }


def _first_line(path: Path, table: str) -> str | None:
    """The first line of a CSV/TSV file (decompressed), or None when empty."""
    try:
        first = pd.read_csv(
            path,
            sep="\x01",
            header=None,
            nrows=1,
            dtype="str",
            quoting=3,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        return None
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, table, exc) from None
    if not len(first):
        return None
    return str(first.iloc[0, 0]).lstrip("\ufeff")


def csv_separator(path: str | os.PathLike, *, table: str = "transactions") -> str:
    """The field separator of a CSV/TSV file: a tab for ``.tsv``; else a comma,
    or the one of ``;``, tab and ``|`` that the header line holds when it has
    no comma (a spreadsheet's export in many countries)."""
    path = Path(path)
    if ".tsv" in path.name.lower():
        return "\t"
    line = _first_line(path, table) or ""
    if "," in line:
        return ","
    counts = {sep: line.count(sep) for sep in (";", "\t", "|")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def csv_header(path: str | os.PathLike, *, table: str = "transactions") -> list[str]:
    """The column names on the first line of a CSV/TSV file, as written
    (repeated names included); only that line is read."""
    path = Path(path)
    sep = csv_separator(path, table=table)
    try:
        first = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype="str")
    except pd.errors.EmptyDataError:
        return []
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, table, exc) from None
    return [str(c) for c in first.iloc[0].tolist()] if len(first) else []
