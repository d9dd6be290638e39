"""Column typing shared by training and serving: categories learned at fit time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["CategoryEncoder"]

_SMALL = 256  # rows up to which a dict lookup beats building a Categorical
_BLOCK = 16_384  # rows written at a time by gather


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

    def matrix(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
        """The same encoding as :meth:`transform`, as a float64 matrix.

        Categorical columns become their category codes (missing or unseen:
        NaN), which is how LightGBM itself encodes pandas categoricals, so a
        booster gives identical answers on this matrix without the DataFrame
        overhead (measured: the dominant cost of scoring a single row).
        ``rows`` (integer positions) encodes only those rows, in that order,
        without copying the frame first.

        Examples
        --------
        >>> enc = CategoryEncoder().fit(pd.DataFrame({"r": ["n", "s"], "x": [1, 2]}))
        >>> enc.matrix(pd.DataFrame({"r": ["s", "mars", "n"], "x": [3, 4, 5]}), [2, 1])
        array([[ 0.,  5.],
               [nan,  4.]])
        """
        n = len(frame) if rows is None else len(rows)
        if n > _SMALL:
            positions = np.arange(n) if rows is None else np.asarray(rows)
            return gather(self.arrays(frame), positions)
        return self.matrix_of_values(self.values(frame, rows), frame)

    def values(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
        """The raw values of this encoder's columns, an object matrix.

        What ``frame.reindex(columns=columns_).to_numpy(dtype=object)`` gives
        (absent columns: NaN), for the rows at positions ``rows``. Meant for
        small frames: one conversion of the whole frame instead of one Series
        per column (measured 0.5 ms against 1.1 ms for a 53-column row).
        """
        positions = self._positions(frame.columns)
        present = positions >= 0
        source = frame.to_numpy(dtype=object)
        if rows is not None:
            source = source[rows]
        out = np.full((len(source), len(self.columns_)), np.nan, dtype=object)
        out[:, present] = source[:, positions[present]]
        return out

    def matrix_of_values(
        self, values: np.ndarray, frame: pd.DataFrame | None = None
    ) -> np.ndarray:
        """:meth:`matrix` from :meth:`values` (``frame``: for the column dtypes)."""
        out = np.full(values.shape, np.nan)
        dtypes = (
            {} if frame is None else dict(zip(frame.columns, frame.dtypes, strict=True))
        )
        for j, column in enumerate(self.columns_):
            column_values = values[:, j]
            if column in self.categories_:
                lookup = self._lookup(column)
                out[:, j] = [lookup.get(_key(v), np.nan) for v in column_values]
            elif column not in dtypes:
                continue  # absent: missing
            elif dtypes[column].kind in "fiub":
                out[:, j] = [
                    np.nan if v is None or v is pd.NA else v for v in column_values
                ]
            else:
                out[:, j] = _numeric(pd.Series(column_values, dtype=object))
        return out

    def _positions(self, columns: pd.Index) -> np.ndarray:
        """Position of each of ``columns_`` in ``columns`` (-1: absent), cached."""
        cache = self.__dict__.setdefault("_position_cache", {})
        key = tuple(columns)
        if key not in cache:
            if len(cache) >= 16:
                cache.clear()
            cache[key] = pd.Index(columns).get_indexer(self.columns_)
        return cache[key]

    def arrays(self, frame: pd.DataFrame) -> list[np.ndarray | None]:
        """Each encoded column of ``frame`` as a float64 array (None: absent).

        Numeric float64 columns are views, not copies; categorical columns are
        factorised once, and each distinct value is looked up once.
        """
        out: list[np.ndarray | None] = []
        for column in self.columns_:
            if column not in frame.columns:
                out.append(None)
            elif column in self.categories_:
                out.append(self._codes(frame[column], column))
            else:
                out.append(_numeric(frame[column]))
        return out

    def _codes(self, series: pd.Series, column: str) -> np.ndarray:
        """Category codes of ``series`` (NaN when missing or unseen), as float."""
        levels = self._level_index(column)
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            codes, uniques = series.cat.codes.to_numpy(), series.cat.categories
        elif isinstance(dtype, pd.StringDtype) or pd.api.types.is_bool_dtype(dtype):
            # distinct values are distinct texts: factorise, then map each once
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
        else:  # object: 1 and 1.0 and True hash alike but read differently
            text = series.astype("str").where(series.notna())
            codes, uniques = pd.factorize(text, use_na_sentinel=True)
        mapped = levels.get_indexer(pd.Index(uniques).astype("str"))
        found = np.append(mapped, -1)[codes]  # code -1 (missing) stays -1
        return np.where(found < 0, np.nan, found.astype("float64"))

    def _level_index(self, column: str) -> pd.Index:
        cache = self.__dict__.setdefault("_indexes", {})
        if column not in cache:
            cache[column] = pd.Index(self.categories_[column], dtype="str")
        return cache[column]

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

    def __getstate__(self) -> dict:
        # lookup caches are rebuilt on first use; they stay out of the pickle
        state = dict(self.__dict__)
        for cache in ("_position_cache", "_indexes"):
            state.pop(cache, None)
        return state

    @property
    def category_levels(self) -> Mapping[str, Sequence]:
        """Learned categories per categorical column."""
        return self.categories_


def gather(arrays: Sequence[np.ndarray | None], rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` of the column arrays as one C-ordered float64 matrix.

    Written in blocks of rows: column-by-column writes into one large row-major
    matrix touch every page once per column (measured 2.1 s against 0.65 s for
    850,000 x 51 on the shared machine).

    Examples
    --------
    >>> gather([np.array([1.0, 2.0, 3.0]), None], np.array([2, 0]))
    array([[ 3., nan],
           [ 1., nan]])
    """
    out = np.empty((len(rows), len(arrays)))
    for start in range(0, len(rows), _BLOCK):
        part = rows[start : start + _BLOCK]
        block = out[start : start + len(part)]
        for j, values in enumerate(arrays):
            block[:, j] = np.nan if values is None else values[part]
    return out


def _numeric(series: pd.Series) -> np.ndarray:
    """A column as float64 (non-numeric values become NaN); a view when possible."""
    if series.dtype.kind in "fiub":
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )


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
