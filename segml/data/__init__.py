"""The data contract: canonical tables, column mapping, coercion and validation."""

from segml.data.io import read_customers, read_events, read_raw, read_transactions
from segml.data.schema import CUSTOMERS, EVENTS, SPECS, TRANSACTIONS, TableSpec
from segml.data.validate import (
    DuplicateRowsWarning,
    validate_customers,
    validate_events,
    validate_table,
    validate_transactions,
)
from segml.errors import SegmlDataError

__all__ = [
    "CUSTOMERS",
    "EVENTS",
    "SPECS",
    "TRANSACTIONS",
    "DuplicateRowsWarning",
    "SegmlDataError",
    "TableSpec",
    "read_customers",
    "read_events",
    "read_raw",
    "read_transactions",
    "validate_customers",
    "validate_events",
    "validate_table",
    "validate_transactions",
]
