"""Load the tables a config points at, and fingerprint them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from segml.config.models import DataConfig
from segml.data import (
    check_customer_ids,
    read_customers,
    read_events,
    read_transactions,
)

__all__ = ["Tables", "data_fingerprint", "fingerprints", "load_tables"]


@dataclass(frozen=True)
class Tables:
    """Canonical transactions, and customers and events when the source has them."""

    transactions: pd.DataFrame
    customers: pd.DataFrame | None = None
    events: pd.DataFrame | None = None

    @property
    def attributes(self) -> list[str]:
        """Customer attribute columns (everything but the id and sign-up time)."""
        if self.customers is None:
            return []
        return [
            c for c in self.customers.columns if c not in ("customer_id", "signup_ts")
        ]


def load_tables(data: DataConfig) -> Tables:
    """Read, map and validate the configured tables."""
    if data.source == "synthetic":
        from segml.datasets import make_crm

        s = data.synthetic
        crm = make_crm(
            s.n_customers,
            seed=s.seed,
            start=s.start,
            end=s.end,
            lead_share=s.lead_share,
        )
        return Tables(crm.transactions, crm.customers, crm.events)
    if data.source == "cdnow":
        from segml.datasets import load_cdnow

        return Tables(load_cdnow())
    columns = data.columns
    tx = read_transactions(
        data.transactions, columns=columns.transactions, ts_format=data.ts_format
    )
    customers = (
        read_customers(
            data.customers, columns=columns.customers, ts_format=data.ts_format
        )
        if data.customers
        else None
    )
    events = (
        read_events(data.events, columns=columns.events, ts_format=data.ts_format)
        if data.events
        else None
    )
    # the same customer's id written two ways ("007" / "7") would never meet
    # its purchases: an error naming the rows, not a silent lead
    if customers is not None:
        check_customer_ids(tx, customers)
    if events is not None:
        check_customer_ids(tx, events, table="events")
    return Tables(tx, customers, events)


def data_fingerprint(tables: Tables) -> str:
    """A sha256 over the tables' content (row order included), first 16 hex digits.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "ts": [pd.Timestamp("2024-01-01")],
    ...                    "amount": [1.0]})
    >>> data_fingerprint(Tables(tx)) == data_fingerprint(Tables(tx.copy()))
    True
    """
    return fingerprints(tables)[0]


def fingerprints(tables: Tables) -> tuple[str, dict[str, str]]:
    """:func:`data_fingerprint` and one digest of the same kind per table given.

    Each table is hashed once for both (the whole-data digest is unchanged from
    earlier releases, so runs on the same data keep comparing equal).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "ts": [pd.Timestamp("2024-01-01")],
    ...                    "amount": [1.0]})
    >>> whole, each = fingerprints(Tables(tx))
    >>> whole == data_fingerprint(Tables(tx)), sorted(each)
    (True, ['transactions'])
    """
    digest = hashlib.sha256()
    each: dict[str, str] = {}
    for name in ("transactions", "customers", "events"):
        frame = getattr(tables, name)
        digest.update(name.encode())
        if frame is None:
            digest.update(b"<none>")
            continue
        columns = ",".join(map(str, frame.columns)).encode()
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        digest.update(columns)
        digest.update(hashed)
        each[name] = hashlib.sha256(name.encode() + columns + hashed).hexdigest()[:16]
    return digest.hexdigest()[:16], each
