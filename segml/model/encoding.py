"""Column typing shared by training and serving: categories learned at fit time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["CategoryEncoder"]

_SMALL = 256  # rows up to which a dict lookup beats building a Categorical


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
                out[column] = self._categorical(series, column)
            else:
                out[column] = pd.to_numeric(series, errors="coerce").astype("float64")
        return pd.DataFrame(out, index=frame.index)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The same encoding as :meth:`transform`, as a float64 matrix.

        Categorical columns become their category codes (missing or unseen:
        NaN), which is how LightGBM itself encodes pandas categoricals, so a
        booster gives identical answers on this matrix without the DataFrame
        overhead (measured: the dominant cost of scoring a single row).
        """
        out = np.full((len(frame), len(self.columns_)), np.nan)
        for j, column in enumerate(self.columns_):
            if column not in frame.columns:
                continue
            series = frame[column]
            if column in self.categories_ and len(frame) <= _SMALL:
                lookup = self._lookup(column)
                values = series.to_numpy(dtype=object, na_value=None)
                out[:, j] = [lookup.get(_key(v), np.nan) for v in values]
            elif column in self.categories_:
                codes = self._categorical(series, column).codes
                out[:, j] = np.where(codes < 0, np.nan, codes)
            elif series.dtype.kind in "fiub":
                out[:, j] = series.to_numpy(dtype="float64", na_value=np.nan)
            else:
                out[:, j] = pd.to_numeric(series, errors="coerce").to_numpy(
                    dtype="float64", na_value=np.nan
                )
        return out

    def _categorical(self, series: pd.Series, column: str) -> pd.Categorical:
        levels = self.categories_[column]
        text = series.astype("str").where(series.notna())
        known = text.where(text.isin(levels))
        return pd.Categorical(known, categories=levels)

    def _lookup(self, column: str) -> dict[str, float]:
        cache = self.__dict__.setdefault("_lookups", {})
        if column not in cache:
            levels = self.categories_[column]
            cache[column] = {level: float(code) for code, level in enumerate(levels)}
        return cache[column]

    @property
    def category_levels(self) -> Mapping[str, Sequence]:
        """Learned categories per categorical column."""
        return self.categories_


def _key(value: object) -> object:
    """The text a category value was learned under (``str`` of the value)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    )
