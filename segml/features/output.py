"""The feature query's result in pandas: dtypes, index and attributes."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.features import base, engine
from segml.features.attributes import attach_attributes
from segml.features.catalogue import dtypes
from segml.features.lifecycle import STAGES

__all__ = ["finish", "to_frame"]


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The query result in pandas; ``lifecycle_stage`` arrives dictionary
    encoded, so that :func:`finish` recodes five categories instead of
    hashing a million strings (1 M rows: 0.14 s -> 0.02 s)."""
    name = "lifecycle_stage"
    if name in table.column_names:
        i = table.column_names.index(name)
        table = table.set_column(i, name, pc.dictionary_encode(table[name]))
    return engine.arrow_to_frame(table)


def finish(
    out: pd.DataFrame,
    ctx: base.Context,
    names: list[str],
    windows: tuple[int, ...],
    crm: pd.DataFrame | None,
    clash: set[str],
    families: Sequence[ModuleType] = (),
) -> pd.DataFrame:
    """The query result with the catalogue's dtypes, indexed by the keys,
    followed by the customer attributes; ``families`` may each post-process
    the frame with a ``finish(frame, ctx)`` of their own (fast paths)."""
    rows = out.pop("_crm_row") if "_crm_row" in out.columns else None
    kinds = dtypes(windows)
    casts = {}
    for name in names:
        if kinds[name] != "category":
            casts[name] = kinds[name]
        elif isinstance(out[name].dtype, pd.CategoricalDtype):
            # an unordered categorical "equals" any order of its categories,
            # so astype would keep the order of appearance: set it
            out[name] = out[name].cat.set_categories(list(STAGES))
        else:
            casts[name] = pd.CategoricalDtype(list(STAGES))
    for family in families:
        if hasattr(family, "finish"):
            out = family.finish(out, ctx)
    keys = list(ctx.keys)
    out = out.astype({"customer_id": "str", **casts})
    if len(keys) > 1:
        out["cutoff"] = out["cutoff"].astype("M8[us]")
    out = out.set_index(keys)[names]
    return attach_attributes(out, crm, clash=clash, rows=rows)
