"""Attribute features: the customer table's own columns, for the cold start.

Every column of the customers table other than ``customer_id`` and
``signup_ts`` is passed through unchanged, with its dtype: categoricals stay
categorical, strings stay the pandas ``str`` dtype (the cold-start model turns
them into categories with its training categories), numbers stay numbers. A
customer with no row in the customers table (known only from transactions)
gets missing attributes. Attributes are taken as they are, not as of the
cutoff: a customer table is a snapshot of what is known at sign-up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import take

__all__ = ["RESERVED", "attach_attributes", "attribute_columns"]

RESERVED = ("customer_id", "signup_ts")


def attribute_columns(customers: pd.DataFrame | None) -> list[str]:
    """The attribute columns of a (canonical) customers table."""
    if customers is None:
        return []
    return [c for c in customers.columns if c not in RESERVED]


def attach_attributes(
    features: pd.DataFrame,
    customers: pd.DataFrame | None,
    *,
    clash: set[str],
    rows: pd.Series | None = None,
) -> pd.DataFrame:
    """``features`` with the attribute columns joined on ``customer_id``.

    ``features`` is indexed by ``customer_id`` (possibly as the last level of a
    MultiIndex). Attribute names that clash with a feature name raise.
    ``rows``, when given, holds for each row of ``features`` the position of
    its customer in ``customers`` (missing: not in the table), as the feature
    query found it; the attributes are then taken by position instead of
    looking the ids up again (4 cutoffs at 10 M rows: ~2 s less).
    """
    names = attribute_columns(customers)
    if not names:
        return features
    taken = sorted(set(names) & clash)
    if taken:
        raise ValueError(
            f"customer attribute column(s) {taken} have the names of features; "
            "rename them"
        )
    if rows is not None:
        positions = rows.to_numpy(dtype="float64", na_value=np.nan)
        positions = np.where(np.isnan(positions), -1, positions).astype("int64")
        attrs = pd.DataFrame(
            {
                name: take(customers[name].array, positions, allow_fill=True)
                for name in names
            },
            index=features.index,
        )
    else:
        table = customers.set_index("customer_id")[names]
        ids = features.index.get_level_values("customer_id")
        attrs = table.reindex(ids)
        attrs.index = features.index
    return pd.concat([features, attrs], axis=1)
