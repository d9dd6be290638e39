"""Read canonical tables from DataFrames, CSV files or Parquet files and folders."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from segml.data.schema import SPECS, TableSpec
from segml.data.validate import (
    check_column_names,
    validate_customers,
    validate_events,
    validate_transactions,
)
from segml.errors import SegmlDataError

__all__ = [
    "Source",
    "csv_header",
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
    as a Parquet dataset.
    """
    spec = SPECS[table]
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.exists():
        raise SegmlDataError(table, None, f"no such file or folder: {path}")
    name = path.name.lower()
    if path.is_dir() or name.endswith(_PARQUET):
        return pd.read_parquet(path)
    if name.endswith(_CSV):
        sep = "\t" if ".tsv" in name else ","
        # pandas renames a repeated header ("amount", "amount.1"): check the
        # file's own first line
        check_column_names(csv_header(path), spec, columns or {})
        # a customers file is read as text throughout: its attribute columns
        # are typed by validate_customers, as the same cells in a DataFrame
        # of text or a Parquet file are
        dtype = "str" if table == "customers" else _text_columns(spec, columns)
        return pd.read_csv(path, sep=sep, dtype=dtype)
    raise SegmlDataError(
        table,
        None,
        f"cannot tell the format of {path.name}; use .csv, .csv.gz, .tsv, "
        ".parquet or a folder of Parquet files",
    )


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


def csv_header(path: str | os.PathLike) -> list[str]:
    """The column names on the first line of a CSV/TSV file, as written
    (repeated names included); only that line is read."""
    path = Path(path)
    sep = "\t" if ".tsv" in path.name.lower() else ","
    try:
        first = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype="str")
    except pd.errors.EmptyDataError:
        return []
    return [str(c) for c in first.iloc[0].tolist()] if len(first) else []
