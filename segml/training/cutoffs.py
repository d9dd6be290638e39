"""Choose training cutoffs whose label windows are complete in the data."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from segml.features.asof import to_as_of

__all__ = ["choose_cutoffs"]


def choose_cutoffs(
    first_ts: object,
    last_ts: object,
    *,
    horizon_days: int,
    n_cutoffs: int = 4,
    step_days: int | None = None,
    min_history_days: int = 90,
    cutoffs: Sequence[object] | None = None,
) -> list[pd.Timestamp]:
    """Rolling-origin cutoffs, oldest first.

    A cutoff ``c`` is usable when its label window ``(c, c + horizon]`` ends on or
    before the last day in the data, and at least ``min_history_days`` of data
    lie before it. Automatic cutoffs start at ``last day - horizon`` and step back
    by ``step_days`` (default: the smaller of the horizon and 90 days).

    Given ``cutoffs`` are checked against the same rules; an unusable one is an
    error that names it.

    Examples
    --------
    >>> cuts = choose_cutoffs("2022-01-01", "2024-12-31", horizon_days=180,
    ...                       n_cutoffs=3)
    >>> [str(c.date()) for c in cuts]
    ['2024-01-06', '2024-04-05', '2024-07-04']
    """
    first = to_as_of(first_ts).normalize()
    last = to_as_of(last_ts).normalize()
    horizon = pd.Timedelta(days=horizon_days)
    latest = last - horizon
    earliest = first + pd.Timedelta(days=min_history_days)
    if cutoffs is not None:
        chosen = sorted(to_as_of(c) for c in cutoffs)
        for c in chosen:
            if c > latest:
                raise ValueError(
                    f"cutoff {c.date()}: its label window ends "
                    f"{(c + horizon).date()}, after the last day in the data "
                    f"({last.date()})"
                )
            if c < first:
                raise ValueError(
                    f"cutoff {c.date()} lies before the first day in the data "
                    f"({first.date()})"
                )
        return chosen
    if latest < earliest:
        raise ValueError(
            f"the data span {first.date()}..{last.date()} is too short for a "
            f"{horizon_days}-day horizon with {min_history_days} days of history; "
            "shorten training.horizon_days"
        )
    step = pd.Timedelta(days=step_days or min(horizon_days, 90))
    out = []
    current = latest
    while current >= earliest and len(out) < n_cutoffs:
        out.append(current)
        current = current - step
    return sorted(out)
