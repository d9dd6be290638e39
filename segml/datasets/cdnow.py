"""The CDNOW transaction log: a real, public customer purchase history."""

from __future__ import annotations

import gzip
import hashlib
import io
from importlib import resources

import pandas as pd

from segml.data.validate import validate_transactions

__all__ = ["CDNOW_MD5", "load_cdnow"]

#: md5 of the uncompressed file as published (and as shipped in ``lifetimes``).
CDNOW_MD5 = "37ee2da5127d4a369d6fe0052678624d"


def load_cdnow() -> pd.DataFrame:
    """Load the CDNOW master transaction log as canonical transactions.

    The log holds every purchase of the 23,570 customers who first bought at the
    online music retailer CDNOW in the first quarter of 1997, followed until
    1998-06-30: 69,659 rows. Several rows can share a customer and a day; 80
    rows have an amount of 0.

    Source: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting Your
    Customers the Easy Way: An Alternative to the Pareto/NBD Model", *Marketing
    Science* 24(2); data set published by Bruce Hardie
    (``CDNOW_master.txt``) and also shipped in the MIT-licensed ``lifetimes``
    package as ``lifetimes/datasets/CDNOW_master.txt``. segml ships a gzip copy
    whose content is checked against the published md5 on load.

    Returns
    -------
    DataFrame
        Canonical transactions: ``customer_id`` (zero-padded string), ``ts``
        (day of purchase), ``amount`` (USD), ``quantity`` (number of CDs).

    Examples
    --------
    >>> tx = load_cdnow()
    >>> len(tx), tx["customer_id"].nunique()
    (69659, 23570)
    >>> tx.head(3)
      customer_id         ts  amount  quantity
    0       00001 1997-01-01   11.77       1.0
    1       00002 1997-01-12   12.00       1.0
    2       00002 1997-01-12   77.00       5.0
    """
    raw_bytes = _read_shipped("CDNOW_master.txt.gz")
    digest = hashlib.md5(raw_bytes, usedforsecurity=False).hexdigest()
    if digest != CDNOW_MD5:  # pragma: no cover - a damaged install
        raise OSError(f"the shipped CDNOW file is damaged (md5 {digest})")
    raw = pd.read_csv(
        io.BytesIO(raw_bytes),
        sep=r"\s+",
        dtype={"customer_id": "str", "date": "str"},
    )
    raw = raw.rename(columns={"number_of_cds": "quantity", "dollar_value": "amount"})
    return validate_transactions(
        raw[["customer_id", "date", "amount", "quantity"]],
        columns={"ts": "date"},
        ts_format="%Y%m%d",
    )


def _read_shipped(name: str) -> bytes:
    with resources.files("segml.datasets").joinpath("data", name).open("rb") as fh:
        return gzip.decompress(fh.read())
