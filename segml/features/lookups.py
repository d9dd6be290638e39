"""DuckDB-only lookups that switch on the builder's fast paths.

Each reads the transactions once, cheaply, before the feature query is
built; an empty answer keeps the generic Ibis plan (which Spark runs). The
fast paths are tested equal to the generic plan in
``tests/features/test_fast_paths.py``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from segml.features import base, behaviour, engine

__all__ = ["levels", "month_base"]


def levels(con: ibis.BaseBackend, tx: ir.Table) -> dict[str, list[str]]:
    """The values of the optional low-cardinality columns (see
    :data:`behaviour.LEVEL_LIMITS`), for the columns with at most that many."""
    out = {}
    for column, limit in behaviour.LEVEL_LIMITS.items():
        if column not in tx.columns:
            continue
        seen = tx.filter(tx[column].notnull()).select(column).distinct()
        values = engine.to_frame(seen.limit(limit + 1), con)[column]
        if 1 <= len(values) <= limit:
            out[column] = sorted(values.tolist())
    return out


def month_base(
    con: ibis.BaseBackend, tx: ir.Table, last: pd.Timestamp
) -> dict[str, int]:
    """``{"month_base": first month of the log}`` when the months up to the
    last cutoff fit a month mask (:func:`base.month_mask`), else empty."""
    first = engine.to_frame(tx.aggregate(first=tx.ts.min()), con)["first"].iloc[0]
    if pd.isna(first):
        return {}
    base_month = first.year * 12 + first.month - 1
    if last.year * 12 + last.month - 1 - base_month >= base.MONTH_BITS:
        return {}
    return {"month_base": base_month}
