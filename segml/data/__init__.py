"""The data contract: canonical tables, column mapping, coercion and validation."""

from segml.data.io import read_customers, read_events, read_raw, read_transactions
from segml.data.schema import CUSTOMERS, EVENTS, SPECS, TRANSACTIONS, TableSpec
from segml.data.validate import (
    DuplicateRowsWarning,
    attribute_values,
    check_customer_ids,
    check_returns,
    repair_canonical,
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
    "attribute_values",
    "check_customer_ids",
    "check_returns",
    "read_customers",
    "read_events",
    "read_raw",
    "read_transactions",
    "repair_canonical",
    "validate_customers",
    "validate_events",
    "validate_table",
    "validate_transactions",
]
