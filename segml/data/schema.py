"""The canonical tables of segml's data contract.

Every table is described by a :class:`TableSpec`: its required and optional
columns and the kind of each. Kinds decide how a column is coerced:

``id``
    Identifier, stored as the pandas string dtype, compared exactly as text
    (``"007"`` and ``"7"`` are two customers); surrounding blanks are stripped,
    integral float ids lose their ``.0`` (``7.0`` and, when every id of a text
    column is written so, ``"7.0"``: what a float column becomes in a CSV);
    nulls are an error.
``ts``
    Timestamp, parsed to ``datetime64[us]`` (time-zone-aware values are
    converted to UTC and stored naive); unparseable values are an error, and so
    are numbers (``20240131`` needs ``ts_format="%Y%m%d"``; epoch seconds must
    be converted first), ``03/04/2024``-style dates that no value of the
    column reads only one way (pass ``ts_format``), words such as ``now`` or
    ``today``, and timestamps before 1900 or after 2200.
``float``
    Number, stored as ``float64``; non-numeric values are an error (``"$12"``,
    ``"1,234.50"``, ``"12,5"`` and ``"(5)"`` too: the number is never guessed),
    and so are true/false values, infinite values and values beyond
    :data:`MAX_ABS_NUMBER` in absolute value (1e15: no real amount is that
    large, float64 no longer holds cents there, and a sum of such values
    cannot overflow to infinity).
``str``
    Free text or a category code, stored as the pandas string dtype.

In every column, a text cell that is blank or a missing-value marker of
``pandas.read_csv`` (``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ...) is a
missing value, so a DataFrame of text, a CSV and a Parquet file holding the
same cells give the same table. Customer attribute columns of text are typed
as ``read_csv`` types a CSV column (numbers, true/false), except that codes
with leading zeros stay text (:func:`segml.data.validate.attribute_values`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CUSTOMERS",
    "EVENTS",
    "MAX_ABS_NUMBER",
    "SPECS",
    "TRANSACTIONS",
    "TableSpec",
]

MAX_ABS_NUMBER = 1e15
"""Largest absolute value a number column may hold (amounts, costs, quantities,
event values): well above any real transaction, and low enough that summing
the rows of any log stays finite."""


@dataclass(frozen=True)
class TableSpec:
    """Columns, kinds and keys of one canonical table."""

    name: str
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()

    @property
    def columns(self) -> dict[str, str]:
        """All known columns (required first) and their kinds."""
        return {**self.required, **self.optional}


TRANSACTIONS = TableSpec(
    name="transactions",
    required={"customer_id": "id", "ts": "ts", "amount": "float"},
    optional={
        "order_id": "str",
        "quantity": "float",
        "cost": "float",
        "margin": "float",
        "product_id": "str",
        "category": "str",
        "channel": "str",
        "discount": "float",
        "status": "str",
    },
    nullable=(
        "order_id",
        "quantity",
        "cost",
        "margin",
        "product_id",
        "category",
        "channel",
        "discount",
        "status",
    ),
)

CUSTOMERS = TableSpec(
    name="customers",
    required={"customer_id": "id"},
    optional={"signup_ts": "ts"},
    unique=("customer_id",),
    nullable=("signup_ts",),
)

EVENTS = TableSpec(
    name="events",
    required={"customer_id": "id", "ts": "ts", "kind": "str"},
    optional={"value": "float"},
    nullable=("value",),
)

SPECS: dict[str, TableSpec] = {
    spec.name: spec for spec in (TRANSACTIONS, CUSTOMERS, EVENTS)
}
