"""Normalise the ``as_of`` argument every feature builder requires."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from segml.errors import SegmlConfigError

__all__ = ["ACCEPTED", "check_not_before_data", "to_as_of"]

ACCEPTED = (
    "an ISO 8601 date or time such as '2024-06-30', '2024-06-30 12:00' or "
    "'2024-06-30T12:00:00+02:00', or a datetime, date, pandas Timestamp or "
    "numpy datetime64"
)
# ISO 8601, extended form: date, optional time (' ' or 'T'), optional zone
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?",
)


def to_as_of(as_of: object, *, name: str = "as_of") -> pd.Timestamp:
    """Return ``as_of`` as a naive UTC :class:`pandas.Timestamp`.

    Accepts an ISO 8601 string (``"2024-06-30"``, ``"2024-06-30 12:00"``,
    ``"2024-06-30T12:00:00Z"``, with an optional zone), a
    :class:`datetime.date`, :class:`datetime.datetime`, Timestamp or
    :class:`numpy.datetime64`. Anything else (a number such as ``20240630``,
    ``"01/06/2024"`` whose day and month order is a guess, ``"2024-13-01"``)
    is a :class:`~segml.errors.SegmlConfigError` naming the value. A
    time-zone-aware value is converted to UTC and made naive, as the data
    contract stores timestamps. A bare date means the end of that day is
    *not* included: ``"2024-01-31"`` is midnight at the start of the 31st, so
    pass ``"2024-01-31 23:59:59"`` or the next day to include the whole day.

    Parameters
    ----------
    as_of : str, date, datetime, Timestamp or numpy.datetime64
        The cutoff.
    name : str
        What the value is called in an error message (``"as_of"``,
        ``"cutoff"``, a config key).

    Examples
    --------
    >>> to_as_of("2024-01-31")
    Timestamp('2024-01-31 00:00:00')
    >>> to_as_of(pd.Timestamp("2024-01-31 12:00", tz="Europe/Berlin"))
    Timestamp('2024-01-31 11:00:00')
    >>> to_as_of(20240131)
    Traceback (most recent call last):
    ...
    segml.errors.SegmlConfigError: as_of=20240131 is not a date: give an ISO ...
    """
    if as_of is None:
        raise TypeError(f"{name} is required: features are computed as of a date")
    if isinstance(as_of, str):
        text = as_of.strip()
        if _ISO.fullmatch(text) is None:
            raise _error(as_of, name)
        value: object = text
    elif isinstance(as_of, pd.Timestamp | dt.datetime | np.datetime64):
        value = as_of
    elif isinstance(as_of, dt.date):
        value = dt.datetime.combine(as_of, dt.time())
    else:
        raise _error(as_of, name)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _error(as_of, name) from exc
    if stamp is pd.NaT:
        raise SegmlConfigError(
            f"{name} must be a date, got a missing value ({as_of!r}); give {ACCEPTED}"
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.as_unit("us")


def _error(value: object, name: str) -> SegmlConfigError:
    return SegmlConfigError(f"{name}={value!r} is not a date: give {ACCEPTED}")


def check_not_before_data(
    as_of: object, ts: pd.Series, *, name: str = "--as-of"
) -> pd.Timestamp:
    """``as_of`` as :func:`to_as_of` gives it; a :class:`SegmlConfigError` when
    it lies before the first timestamp of ``ts`` (no customer has any value
    yet: every tier would be the last one, a wrong answer that looks like one).

    Examples
    --------
    >>> ts = pd.Series(pd.to_datetime(["2024-01-05 10:00", "2024-02-01 09:00"]))
    >>> check_not_before_data("2024-01-06", ts)
    Timestamp('2024-01-06 00:00:00')
    >>> check_not_before_data("2024-01-05", ts)
    Traceback (most recent call last):
    ...
    segml.errors.SegmlConfigError: --as-of 2024-01-05 00:00:00 is before the first ...
    """
    end = to_as_of(as_of, name=name)
    if len(ts):
        first = to_as_of(ts.min())
        if end < first:
            raise SegmlConfigError(
                f"{name} {end} is before the first transaction ({first}): no "
                "customer has any value yet"
            )
    return end
