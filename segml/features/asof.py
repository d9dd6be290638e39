"""Normalise the ``as_of`` argument every feature builder requires."""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["to_as_of"]


def to_as_of(as_of: object) -> pd.Timestamp:
    """Return ``as_of`` as a naive UTC :class:`pandas.Timestamp`.

    Accepts a string, :class:`datetime.date`, :class:`datetime.datetime` or
    Timestamp. A time-zone-aware value is converted to UTC and made naive, as
    the data contract stores timestamps. A bare date means the end of that day
    is *not* included: ``"2024-01-31"`` is midnight at the start of the 31st, so
    pass ``"2024-01-31 23:59:59"`` or the next day to include the whole day.

    Examples
    --------
    >>> to_as_of("2024-01-31")
    Timestamp('2024-01-31 00:00:00')
    >>> to_as_of(pd.Timestamp("2024-01-31 12:00", tz="Europe/Berlin"))
    Timestamp('2024-01-31 11:00:00')
    """
    if as_of is None:
        raise TypeError("as_of is required: features are computed as of a date")
    if isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time())
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"as_of={as_of!r} is not a date or timestamp") from exc
    if stamp is pd.NaT:
        raise ValueError("as_of must be a date, got a missing value (NaT)")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.as_unit("us")
