"""Dates as the entry points accept them: ISO 8601 only, never guessed.

``01/06/2024`` is the 1st of June in Europe and the 6th of January in the US,
and ``20240630`` reads as a count of nanoseconds to pandas; the entry points
accept ``YYYY-MM-DD`` with an optional time and UTC offset, and nothing else.
"""

from __future__ import annotations

import datetime as dt
import re

from segml.errors import SegmlConfigError

__all__ = ["iso_text", "parse_iso"]

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


def parse_iso(value: str, name: str) -> dt.datetime:
    """Parse ``value`` as an ISO 8601 date or timestamp, or raise naming ``name``.

    Parameters
    ----------
    value : str
        The text as given by the user.
    name : str
        The option or key it came from (``--as-of``, ``data.synthetic.start``).

    Raises
    ------
    SegmlConfigError
        ``value`` is not ``YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|+HH:MM]`` or names
        a day that does not exist.

    Examples
    --------
    >>> parse_iso("2024-06-30", "--as-of")
    datetime.datetime(2024, 6, 30, 0, 0)
    >>> parse_iso("01/06/2024", "--as-of")
    Traceback (most recent call last):
    ...
    segml.errors.SegmlConfigError: --as-of: '01/06/2024' is not an ISO 8601 date \
(write it as YYYY-MM-DD, e.g. 2024-06-30 or 2024-06-30T12:00:00Z)
    """
    text = str(value).strip()
    if not _ISO.fullmatch(text):
        raise SegmlConfigError(
            f"{name}: {value!r} is not an ISO 8601 date (write it as YYYY-MM-DD, "
            "e.g. 2024-06-30 or 2024-06-30T12:00:00Z)"
        )
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        message = f"{name}: {value!r} is not a valid date: {exc}"
        raise SegmlConfigError(message) from None


def iso_text(value: object, name: str) -> str:
    """``value`` (ISO text, or a date YAML already parsed) as ISO text, checked.

    Examples
    --------
    >>> iso_text(dt.date(2023, 1, 1), "data.synthetic.start")
    '2023-01-01'
    """
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):  # e.g. 20230101, which YAML reads as a number
        value = str(value)
    parse_iso(value, name)
    return value.strip()
