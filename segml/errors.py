"""The one error type segml raises for bad input data or configuration."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["SegmlConfigError", "SegmlDataError", "describe_rows"]

MAX_EXAMPLE_ROWS = 5


class SegmlDataError(ValueError):
    """Input data breaks segml's data contract.

    The message always names the table and the column, and shows up to five
    offending rows, so the problem can be found in the user's own file.

    Attributes
    ----------
    table, column : str
        Where the problem is.
    rows : pandas.DataFrame or None
        Up to five offending rows, as they were read.
    """

    def __init__(
        self,
        table: str,
        column: str | None,
        problem: str,
        rows: pd.DataFrame | None = None,
    ) -> None:
        self.table = table
        self.column = column
        self.problem = problem
        self.rows = None if rows is None else rows.head(MAX_EXAMPLE_ROWS)
        where = f"table '{table}'" + (f", column '{column}'" if column else "")
        message = f"{where}: {problem}"
        if self.rows is not None and len(self.rows):
            message += "\n" + describe_rows(self.rows)
        super().__init__(message)


class SegmlConfigError(ValueError):
    """A configuration file or override is invalid; the message names the key."""


def describe_rows(rows: pd.DataFrame, columns: Sequence[str] | None = None) -> str:
    """Render at most five rows (with their row labels) for an error message."""
    shown = rows.head(MAX_EXAMPLE_ROWS)
    if columns is not None:
        shown = shown.loc[:, [c for c in columns if c in shown.columns]]
    text = shown.to_string(max_colwidth=40)
    return "offending rows (up to 5):\n" + text
