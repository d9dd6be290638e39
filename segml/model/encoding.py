"""Column typing shared by training and serving: categories learned at fit time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["CategoryEncoder"]


class CategoryEncoder:
    """Turn text and categorical columns into ``category`` with fixed categories.

    Categories are learned in :meth:`fit`; at predict time values never seen in
    training become missing (LightGBM then follows its missing-value branch),
    and absent columns are added as all-missing. Numeric columns become float64.

    Examples
    --------
    >>> enc = CategoryEncoder().fit(pd.DataFrame({"region": ["n", "s"], "x": [1, 2]}))
    >>> out = enc.transform(pd.DataFrame({"region": ["s", "mars"], "x": [3, 4]}))
    >>> out["region"].tolist(), list(out["region"].cat.categories)
    (['s', nan], ['n', 's'])
    """

    def fit(self, frame: pd.DataFrame) -> CategoryEncoder:
        self.columns_: list[str] = list(frame.columns)
        self.categories_: dict[str, list] = {}
        for column in frame.columns:
            series = frame[column]
            if _is_categorical(series):
                values = series.dropna().astype("str").unique().tolist()
                self.categories_[column] = sorted(values)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, pd.Series] = {}
        for column in self.columns_:
            if column in frame.columns:
                series = frame[column]
            else:
                series = pd.Series(np.nan, index=frame.index, dtype="float64")
            if column in self.categories_:
                levels = self.categories_[column]
                text = series.astype("str").where(series.notna())
                known = text.where(text.isin(levels))
                out[column] = pd.Categorical(known, categories=levels)
            else:
                out[column] = pd.to_numeric(series, errors="coerce").astype("float64")
        return pd.DataFrame(out, index=frame.index)

    @property
    def category_levels(self) -> Mapping[str, Sequence]:
        """Learned categories per categorical column."""
        return self.categories_


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    )
