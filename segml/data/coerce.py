"""Coerce one column to its canonical kind, or raise a clear error.

Each coercer takes the column, the table frame (to show offending rows) and
returns a new Series; the input is never modified.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from segml.data.schema import MAX_ABS_NUMBER
from segml.errors import SegmlDataError

__all__ = [
    "FIRST_TS",
    "LAST_TS",
    "MISSING_TEXT",
    "blank_to_missing",
    "check_range",
    "check_ts_range",
    "coerce_column",
    "missing_error",
    "number_hint",
    "numeric_ts_error",
    "out_of_range",
    "out_of_range_error",
    "to_naive_utc",
    "ts_range_error",
]

MISSING_TEXT = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)
"""Texts that are a missing value (after stripping blanks): the markers
``pandas.read_csv`` reads as missing, so that a DataFrame of text, a CSV and a
Parquet file holding the same cells give the same table."""

# an id written by a float column: "7.0" (or a plain integer, "7")
_INTEGRAL_TEXT = re.compile(r"^[+-]?\d+(?:\.0+)?$")
# a date written with numbers only, day and month in some order: 01/06/2024
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}(?!\d)")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")
# a clock time followed by a zone: "10:00Z", "10:00:00+01:00", "10:00 UTC"
_TZ_SUFFIX = re.compile(
    r"\d:\d{2}(?::\d{2}(?:\.\d*)?)?\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE
)


def coerce_column(
    frame: pd.DataFrame,
    column: str,
    kind: str,
    *,
    table: str,
    nullable: bool,
    ts_format: str | None = None,
) -> pd.Series:
    """Return ``frame[column]`` coerced to ``kind``: id, ts, float or str."""
    series = frame[column]
    if kind == "id":
        try:
            out = _to_id(series)
        except _LostDigits as lost:
            raise SegmlDataError(
                table,
                column,
                f"{int(lost.mask.sum())} id(s) are numbers stored as floats "
                f"beyond 2**53 (e.g. {lost.example:.0f}), which float64 cannot "
                "hold exactly: their last digits are already lost; read the ids "
                "as text (e.g. dtype={'customer_id': str} in pandas.read_csv)",
                frame.loc[lost.mask],
            ) from None
    elif kind == "str":
        out = _to_str(series)
    elif kind == "float":
        out = _to_float(frame, column, table)
    elif kind == "ts":
        out = _to_ts(frame, column, table, ts_format)
    else:  # pragma: no cover - specs are internal
        raise ValueError(f"unknown column kind {kind!r}")
    if not nullable:
        missing = out.isna().to_numpy()
        if missing.any():
            raise missing_error(table, column, int(missing.sum()), frame.loc[missing])
    return out


def missing_error(
    table: str, column: str, n: int, rows: pd.DataFrame | None
) -> SegmlDataError:
    """The error for ``n`` rows without a value in a required column."""
    return SegmlDataError(
        table,
        column,
        f"{n} row(s) have no value; '{column}' is required in every row",
        rows,
    )


def out_of_range(values: np.ndarray) -> np.ndarray:
    """Mask of the values that are infinite or beyond ``MAX_ABS_NUMBER``
    (missing values are not flagged)."""
    with np.errstate(invalid="ignore"):
        return np.isinf(values) | (np.abs(values) > MAX_ABS_NUMBER)


def out_of_range_error(
    table: str, column: str, n: int, example: object, rows: pd.DataFrame | None
) -> SegmlDataError:
    """The error for ``n`` infinite or too large numbers (see ``out_of_range``)."""
    return SegmlDataError(
        table,
        column,
        f"{n} value(s) are infinite or beyond +/-{MAX_ABS_NUMBER:g} (e.g. "
        f"{example!r}); numbers must be finite and at most {MAX_ABS_NUMBER:g} in "
        "absolute value, so that their sums stay finite",
        rows,
    )


def blank_to_missing(series: pd.Series) -> pd.Series:
    """``series`` with its blank texts and missing-value markers
    (:data:`MISSING_TEXT`, surrounding blanks ignored) set to missing.

    Only text cells (``str`` dtype, or ``str`` objects of an object column) are
    looked at; returns ``series`` itself when it has none to change.
    """
    if not _holds_text(series):
        return series
    if isinstance(series.dtype, pd.StringDtype):
        text = series
    else:
        text = series.astype("str").where(series.notna())
    if series.dtype == object:
        is_text = series.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    else:
        is_text = series.notna().to_numpy()
    blank = text.str.strip().isin(MISSING_TEXT).to_numpy(dtype=bool) & is_text
    if not blank.any():
        return series
    return series.where(~blank)


def _holds_text(series: pd.Series) -> bool:
    return isinstance(series.dtype, pd.StringDtype) or series.dtype == object


def _to_str(series: pd.Series) -> pd.Series:
    series = blank_to_missing(series)
    return series.astype("str").where(series.notna())


def _to_id(series: pd.Series) -> pd.Series:
    """Ids become strings with the same text on every input path.

    Integral floats (ids read with NaN) lose their '.0', whether they are
    numbers or the text a float column was written as ("7.0" in a CSV: when
    every id of the column is such an integer); surrounding blanks are
    stripped, and blank ids are missing.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)  # its values, read as any other column
    if series.dtype == object:
        kind = pd.api.types.infer_dtype(series, skipna=True)
        if kind in ("integer", "floating", "mixed-integer-float"):
            series = pd.to_numeric(series)
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        whole = np.all(values[finite] == np.round(values[finite]))
        if whole and (np.abs(values[finite]) > _EXACT_FLOAT).any():
            raise _LostDigits(values)
        if whole and not np.isinf(values).any():
            as_int = pd.Series(values, index=series.index).astype("Int64")
            return as_int.astype("str").where(series.notna())
    text = _to_str(series)
    if not _holds_text(series):
        return text
    stripped = text.str.strip()
    present = stripped.dropna()
    head = present.head(100)  # most id columns are told apart by their start
    if (
        len(present)
        and head.str.fullmatch(_INTEGRAL_TEXT).all()
        and present.str.fullmatch(_INTEGRAL_TEXT).all()
    ):
        if present.str.contains(".", regex=False).any():
            stripped = stripped.str.replace(r"\.0+$", "", regex=True)
    return stripped


_EXACT_FLOAT = 2**53  # float64 holds every integer up to here, not beyond


class _LostDigits(Exception):
    """Ids stored as floats beyond 2**53 have lost their last digits: two
    customers may already share one id, and no repair can tell."""

    def __init__(self, values: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):
            self.mask = np.abs(values) > _EXACT_FLOAT
        self.example = float(values[self.mask][0])
        super().__init__()


def _to_float(frame: pd.DataFrame, column: str, table: str) -> pd.Series:
    series = frame[column]
    flags = _booleans(series)
    if flags.any():
        example = series[flags].iloc[0]
        raise SegmlDataError(
            table,
            column,
            f"{int(flags.sum())} value(s) are true/false, not numbers "
            f"(e.g. {bool(example)!r}); write them as numbers",
            frame.loc[flags],
        )
    if pd.api.types.is_numeric_dtype(series.dtype):
        out = series.astype("float64")
    else:
        series = blank_to_missing(series)
        out = pd.to_numeric(series, errors="coerce").astype("float64")
        bad = (out.isna() & series.notna()).to_numpy()
        if bad.any():
            example = series[bad].iloc[0]
            raise SegmlDataError(
                table,
                column,
                f"{int(bad.sum())} value(s) are not numeric (e.g. {example!r})"
                + number_hint(example),
                frame.loc[bad],
            )
    check_range(frame, column, table, out)
    return out


def _booleans(series: pd.Series) -> np.ndarray:
    """Mask of the true/false values of ``series`` (a bool column, or bool
    objects in an object column): 1.0 and 0.0 would pass for numbers."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.notna().to_numpy(dtype=bool)
    if series.dtype == object:
        return series.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
    return np.zeros(len(series), dtype=bool)


def number_hint(example: object) -> str:
    """What to do about a text that is not a number, when it is a common
    spelling of one (the number is not guessed: "1,234" is 1234 in one
    country and 1.234 in another)."""
    text = str(example).strip()
    if any(c in text for c in "$€£¥"):
        return "; write plain numbers, without currency symbols"
    if "," in text:
        return (
            "; write plain numbers with '.' as the decimal mark and no "
            "thousands separators (e.g. 1234.5)"
        )
    if text.startswith("(") and text.endswith(")"):
        return "; write negative numbers with a minus sign, e.g. -5"
    return ""


def check_range(
    frame: pd.DataFrame, column: str, table: str, values: pd.Series
) -> None:
    """Raise when a number of ``values`` (``frame[column]`` as float64) is
    infinite or beyond ``MAX_ABS_NUMBER``; vectorised."""
    array = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = out_of_range(array)
    if bad.any():
        raise out_of_range_error(
            table, column, int(bad.sum()), float(array[bad][0]), frame.loc[bad]
        )


FIRST_TS = pd.Timestamp("1900-01-01")
LAST_TS = pd.Timestamp("2200-12-31 23:59:59.999999")
"""Timestamps outside ``[FIRST_TS, LAST_TS]`` are an error: a typo (``0024``
for ``2024``), a two-digit year read as such, or a placeholder."""

# words pandas parses as the clock time of the run ("now", "today"): a log
# read with them would change from one day to the next
_RELATIVE = frozenset({"now", "today", "tomorrow", "yesterday"})


def _to_ts(
    frame: pd.DataFrame, column: str, table: str, ts_format: str | None
) -> pd.Series:
    out = _read_ts(frame, column, table, ts_format)
    check_ts_range(frame, column, table, out)
    return out


def check_ts_range(
    frame: pd.DataFrame, column: str, table: str, values: pd.Series
) -> None:
    """Raise when a timestamp of ``values`` (``frame[column]`` as
    ``datetime64[us]``) lies outside ``[FIRST_TS, LAST_TS]``; vectorised."""
    array = values.to_numpy(dtype="datetime64[us]")
    far = (array < FIRST_TS.to_datetime64()) | (array > LAST_TS.to_datetime64())
    if far.any():
        raise ts_range_error(
            table, column, int(far.sum()), values[far].iloc[0], frame.loc[far]
        )


def ts_range_error(
    table: str, column: str, n: int, example: object, rows: pd.DataFrame | None
) -> SegmlDataError:
    """The error for ``n`` timestamps outside ``[FIRST_TS, LAST_TS]``."""
    return SegmlDataError(
        table,
        column,
        f"{n} timestamp(s) lie before {FIRST_TS.year} or after {LAST_TS.year} "
        f"(e.g. {str(example)!r}): a typo, a two-digit year or a placeholder "
        "date; correct or remove them",
        rows,
    )


def numeric_ts_error(table: str, column: str, rows: pd.DataFrame) -> SegmlDataError:
    """The error for a timestamp column that holds numbers and no ``ts_format``."""
    return SegmlDataError(
        table,
        column,
        "holds numbers, not timestamps; pass ts_format= (e.g. "
        "'%Y%m%d' for numbers such as 20240131); numbers of seconds "
        "since 1970 must be converted first, e.g. with "
        "pandas.to_datetime(values, unit='s')",
        rows,
    )


def _read_ts(
    frame: pd.DataFrame, column: str, table: str, ts_format: str | None
) -> pd.Series:
    series = frame[column]
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return to_naive_utc(series)
    if pd.api.types.is_datetime64_dtype(dtype):
        return series.astype("datetime64[us]")
    present = series.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(dtype):
        if ts_format is None:
            raise numeric_ts_error(table, column, frame.head())
        series = series.astype("Int64").astype("str").where(series.notna())
    else:
        series = blank_to_missing(series)
        present = series.notna().to_numpy()
        if pd.api.types.is_object_dtype(dtype) and present.any():
            _check_object_tz(frame, column, table, series[present])
        text = series
        if not isinstance(series.dtype, pd.StringDtype):
            text = series.astype("str")
        short = (text.str.len() <= 12).to_numpy(dtype=bool)  # dates are longer
        words = np.zeros(len(series), dtype=bool)
        words[short] = text[short].str.strip().str.lower().isin(_RELATIVE).to_numpy()
        if words.any():
            raise SegmlDataError(
                table,
                column,
                f"{int(words.sum())} value(s) are words such as "
                f"{series[words].iloc[0]!r}, which would be read as the "
                "time segml runs; write the dates",
                frame.loc[words],
            )
    aware = _string_tz_mask(series)
    utc = bool(aware.any())
    if utc:
        naive = present & ~aware
        if naive.any():
            raise _mixed_tz_error(frame, column, table, aware, naive)
    parsed = _parse(frame, column, table, series, ts_format, utc)
    bad = (parsed.isna().to_numpy()) & present
    if bad.any():
        hint = f" with format {ts_format!r}" if ts_format else ""
        raise SegmlDataError(
            table,
            column,
            f"{int(bad.sum())} value(s) cannot be parsed as timestamps{hint} "
            f"(e.g. {series[bad].iloc[0]!r}); pass ts_format= to name the format",
            frame.loc[bad],
        )
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = to_naive_utc(parsed)
    return parsed.astype("datetime64[us]")


def _parse(
    frame: pd.DataFrame,
    column: str,
    table: str,
    series: pd.Series,
    ts_format: str | None,
    utc: bool,
) -> pd.Series:
    """Text to timestamps: with ``ts_format``, or with one reading of the
    day/month order for the whole column.

    Without a format, pandas infers one from the first value and the values
    it does not fit are parsed one by one; a numeric date such as
    ``01/06/2024`` would then be read month first and ``31/12/2024`` day
    first in the same column. So the order is decided once for the column:
    by the values that can only be read one way (a first number above 12 is
    a day), and when every value can be read both ways the column is an
    error asking for ``ts_format``. With ``ts_format``, a column it fits in no
    row is still read when every value is ISO 8601 (``2024-01-31``, one
    reading only): one format then serves a config whose tables differ.
    """
    if ts_format is not None:
        parsed = pd.to_datetime(series, format=ts_format, errors="coerce", utc=utc)
        present = series.notna().to_numpy()
        if present.any() and parsed.isna().to_numpy()[present].all():
            # one ts_format serves every table of a config: a column it fits
            # nowhere, written wholly in ISO 8601 (one reading only), is read
            # as such; a column mixing the two stays an error
            iso = pd.to_datetime(
                series.astype("str").str.strip().where(series.notna()),
                format="ISO8601",
                errors="coerce",
                utc=utc,
            )
            if iso.notna().to_numpy()[present].all():
                return iso
        return parsed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(series, errors="coerce", utc=utc)
    retry = (parsed.isna() & series.notna()).to_numpy()
    first = series.dropna().head(1)
    if not retry.any() and (
        first.empty or _ISO_DATE.match(str(first.iloc[0])) is not None
    ):
        return parsed  # one ISO format fits the whole column
    dayfirst = _day_first(frame, column, table, series)
    if dayfirst is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(series, errors="coerce", utc=utc, dayfirst=dayfirst)
        retry = (parsed.isna() & series.notna()).to_numpy()
    if retry.any():
        again = pd.to_datetime(
            series[retry],
            format="mixed",
            errors="coerce",
            utc=utc,
            dayfirst=bool(dayfirst),
        )
        parsed = parsed.copy()
        parsed[retry] = again
    return parsed


def _day_first(
    frame: pd.DataFrame, column: str, table: str, series: pd.Series
) -> bool | None:
    """Whether the numeric dates of ``series`` put the day first (None when
    it has none, or when both orders read them the same)."""
    text = series.dropna().astype("str")
    parts = text.str.extract(_NUMERIC_DATE).dropna()
    if parts.empty:
        return None
    a = parts[0].astype("int64").to_numpy()
    b = parts[1].astype("int64").to_numpy()
    readable = (a <= 12) | (b <= 12)  # the others fail to parse either way
    a, b, parts = a[readable], b[readable], parts[readable]
    if (a == b).all():
        return None
    month_first, day_first = bool((a <= 12).all()), bool((b <= 12).all())
    if not (month_first or day_first):
        rows = np.concatenate([parts.index[a > 12][:2], parts.index[b > 12][:3]])
        raise SegmlDataError(
            table,
            column,
            f"mixes day-first dates (e.g. {text[rows[0]]!r}) and month-first "
            f"dates (e.g. {text[rows[-1]]!r}); write them one way, or pass "
            "ts_format= (data.ts_format in a config)",
            frame.loc[rows],
        )
    if month_first and day_first:
        ambiguous = parts.index[a != b]
        raise SegmlDataError(
            table,
            column,
            f"{len(ambiguous)} date(s) such as {text[ambiguous[0]]!r} can be read "
            "day first or month first, and no value of the column decides; pass "
            "ts_format= (data.ts_format in a config), e.g. '%d/%m/%Y' or '%m/%d/%Y'",
            frame.loc[ambiguous],
        )
    return day_first


def _string_tz_mask(series: pd.Series) -> np.ndarray:
    text = series.astype("str").str.strip()
    return text.str.contains(_TZ_SUFFIX, na=False).to_numpy(dtype=bool)


def _check_object_tz(
    frame: pd.DataFrame, column: str, table: str, values: pd.Series
) -> None:
    tzinfo = values.map(lambda v: getattr(v, "tzinfo", "n/a"))
    is_stamp = (tzinfo != "n/a").to_numpy()
    aware = is_stamp & tzinfo.map(lambda t: t not in (None, "n/a")).to_numpy()
    naive = is_stamp & ~aware
    if aware.any() and naive.any():
        full_aware = np.zeros(len(frame), dtype=bool)
        full_naive = np.zeros(len(frame), dtype=bool)
        positions = frame.index.get_indexer(values.index)
        full_aware[positions[aware]] = True
        full_naive[positions[naive]] = True
        raise _mixed_tz_error(frame, column, table, full_aware, full_naive)


def _mixed_tz_error(
    frame: pd.DataFrame,
    column: str,
    table: str,
    aware: np.ndarray,
    naive: np.ndarray,
) -> SegmlDataError:
    rows = pd.concat([frame.loc[aware].head(2), frame.loc[naive].head(3)])
    return SegmlDataError(
        table,
        column,
        f"mixes time-zone-aware ({int(aware.sum())} rows) and naive "
        f"({int(naive.sum())} rows) timestamps; make them all aware or all naive",
        rows,
    )


def to_naive_utc(series: pd.Series) -> pd.Series:
    """Convert a time-zone-aware Series to UTC and drop the zone."""
    return series.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
