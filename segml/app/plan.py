"""Which cutoffs a run trains on, where it chooses, and where it tests out of time.

A run needs three things from the data, each from an earlier stretch than the
next, so that no decision sees the window it is judged on:

1. **final** cutoffs: label windows that end by the last day in the data; the
   shipped model learns from them;
2. a **test** cutoff: the latest one whose scoring window is complete, with
   **evaluation** cutoffs whose label windows end by it (the evaluated model);
3. a **selection** cutoff before the test (its window, as long as the test's,
   ends by the test cutoff), with its own training cutoffs: there the model is
   compared with its baselines, per route, and the run picks what it ships.
   Without room for it the model ships by default (a shorter window would
   favour last period's tier and say nothing about the horizon). Where the
   data allow, a **second selection cutoff** half a window earlier adds its
   rows to the evidence (other customers at another time: a choice that held
   at one date only is not trusted).

The test is scored over ``horizon_days`` when the data hold that much after an
evaluation window; otherwise over the label window (``label_horizon_days``), and
the plan says so. A run refuses only when not even one label window fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from segml.config import Config
from segml.errors import SegmlConfigError
from segml.features.asof import to_as_of
from segml.training import choose_cutoffs

__all__ = ["MIN_HISTORY_DAYS", "CutoffPlan", "plan_cutoffs"]

#: History wanted before the first cutoff; shorter logs use what they have,
#: down to :data:`MIN_HISTORY_FLOOR` days.
MIN_HISTORY_DAYS = 90
MIN_HISTORY_FLOOR = 30


@dataclass(frozen=True)
class CutoffPlan:
    """Where a run's training rows, its choice and its out-of-time test come from.

    Attributes
    ----------
    final : list of Timestamp
        Cutoffs the shipped model learns from (label windows end by the last day).
    evaluation : list of Timestamp
        Cutoffs of the evaluated model (label windows end by ``test``).
    test : Timestamp or None
        The out-of-time test cutoff; None when the data are too short for one.
    test_horizon : int
        Days after ``test`` that its truth covers (``horizon_days``, or the label
        window when the data are too short for the horizon).
    selection : list of Timestamp
        Training cutoffs of the model compared with the baselines at ``select``.
    select : Timestamp or None
        Where the run chooses between the model and its baselines (its window
        ends by ``test``); None when there is no room for it.
    select_horizon : int
        Days after ``select`` that its truth covers.
    select_more : list of (Timestamp, list of Timestamp)
        Earlier selection cutoffs (same window length, ending by ``test``) with
        their training cutoffs, pooled with ``select`` for the choice.
    notes : list of str
        What the plan had to adapt, in words (printed and logged by the run).
    """

    final: list[pd.Timestamp]
    evaluation: list[pd.Timestamp]
    test: pd.Timestamp | None
    test_horizon: int = 0
    selection: list[pd.Timestamp] = field(default_factory=list)
    select: pd.Timestamp | None = None
    select_horizon: int = 0
    history_days: int = MIN_HISTORY_DAYS
    notes: list[str] = field(default_factory=list)
    select_more: list[tuple[pd.Timestamp, list[pd.Timestamp]]] = field(
        default_factory=list
    )


def plan_cutoffs(cfg: Config, first_ts: object, last_ts: object) -> CutoffPlan:
    """The final, evaluation, test and selection cutoffs of a run.

    Examples
    --------
    >>> from segml.config import load_config
    >>> cfg = load_config(None, ["training.horizon_days=180", "training.n_cutoffs=2"])
    >>> plan = plan_cutoffs(cfg, "2022-01-01", "2024-12-31")
    >>> str(plan.test.date()), plan.test_horizon, str(plan.select.date())
    ('2024-07-04', 180, '2024-01-06')

    Six months of data cannot hold a 180-day label window after any history
    (the label window is the horizon unless ``training.label_horizon_days`` is
    set): the run refuses in one line that says the minimum.

    >>> plan_cutoffs(cfg, "2024-01-01", "2024-06-30")
    Traceback (most recent call last):
    ...
    segml.errors.SegmlConfigError: training: the data span 2024-01-01..2024-06-30 \
(181 days) is too short for one 180-day label window after 30 days of history \
(at least 210 days); shorten training.label_horizon_days
    """
    t = cfg.training
    label, horizon = t.label_horizon, t.horizon_days
    first = to_as_of(first_ts).normalize()
    last = to_as_of(last_ts).normalize()
    span = int((last - first) / pd.Timedelta(days=1))
    if span < label + MIN_HISTORY_FLOOR:
        raise SegmlConfigError(
            f"training: the data span {first.date()}..{last.date()} ({span} days) "
            f"is too short for one {label}-day label window after "
            f"{MIN_HISTORY_FLOOR} days of history (at least "
            f"{label + MIN_HISTORY_FLOOR} days); shorten training.label_horizon_days"
        )
    # as much history as the log allows, but never so much that no label
    # window fits before another (the out-of-time test)
    room = span - 2 * label if span - 2 * label >= MIN_HISTORY_FLOOR else span - label
    history = max(MIN_HISTORY_FLOOR, min(MIN_HISTORY_DAYS, room))
    notes: list[str] = []
    if history < MIN_HISTORY_DAYS:
        notes.append(
            f"short log: cutoffs need only {history} days of history before them "
            f"(instead of {MIN_HISTORY_DAYS})"
        )
    common = {
        "n_cutoffs": t.n_cutoffs,
        "step_days": t.cutoff_step_days,
        "min_history_days": history,
    }

    def windows_ending_by(end: pd.Timestamp) -> list[pd.Timestamp] | None:
        """Automatic cutoffs whose label windows end by ``end`` (None: none fit)."""
        try:
            return choose_cutoffs(first, end, horizon_days=label, **common)
        except ValueError:
            return None

    if t.cutoffs is not None:
        try:
            final = choose_cutoffs(first, last, horizon_days=label, cutoffs=t.cutoffs)
        except ValueError as err:
            raise SegmlConfigError(f"training.cutoffs: {err}") from None

        def windows_ending_by(end: pd.Timestamp) -> list[pd.Timestamp] | None:  # noqa: F811
            window = pd.Timedelta(days=label)
            chosen = [c for c in final if c + window <= end]
            return chosen or None
    else:
        final = windows_ending_by(last)
        if final is None:  # cannot happen after the span check; kept for safety
            raise SegmlConfigError(
                f"training: no {label}-day label window fits in the data"
            )

    def stage(end: pd.Timestamp, horizons: tuple[int, ...]):
        """The latest cutoff whose window (the first of ``horizons`` that fits)
        ends by ``end``, with training cutoffs whose label windows end by it."""
        for days in dict.fromkeys(horizons):
            candidate = _latest(end, days, t.cutoffs, final)
            found = windows_ending_by(candidate) if candidate is not None else None
            if found:
                return candidate, days, found
        return None, 0, []

    # the test: the full horizon if an evaluation window fits before it, else
    # the label window; the selection: the same, before the test
    test, test_horizon, evaluation = stage(last, (horizon, label))
    if test is None:
        notes.append(
            "no out-of-time test: the data hold no label window before another "
            f"(need about {2 * label + history} days); the model ships untested"
        )
        return CutoffPlan(final, [], None, 0, [], None, 0, history, notes)
    if test_horizon != horizon:
        notes.append(
            f"the out-of-time test covers the {test_horizon} days after "
            f"{test.date()} (the data are too short for the {horizon}-day horizon)"
        )
    # the choice is judged over the same window as the test: a shorter one
    # favours last period's tier and is no evidence about the horizon
    select, select_horizon, selection = stage(test, (test_horizon,))
    select_more = []
    if select is None:
        notes.append(
            "no room to compare the model with its baselines over "
            f"{test_horizon} days before the test: the model ships by default"
        )
    else:
        half = pd.Timedelta(days=max(test_horizon // 2, 1))
        earlier, _, earlier_cuts = stage(
            select + pd.Timedelta(days=test_horizon) - half, (test_horizon,)
        )
        if earlier is not None and earlier < select:
            select_more.append((earlier, earlier_cuts))
    return CutoffPlan(
        final,
        evaluation,
        test,
        test_horizon,
        selection,
        select,
        select_horizon,
        history,
        notes,
        select_more,
    )


def _latest(
    end: pd.Timestamp,
    days: int,
    explicit: object,
    final: list[pd.Timestamp],
) -> pd.Timestamp | None:
    """The latest cutoff whose ``days``-day window ends by ``end``.

    With explicit cutoffs it is one of them; otherwise ``end - days``.
    """
    limit = end - pd.Timedelta(days=days)
    if explicit is None:
        return limit
    usable = [c for c in final if c <= limit]
    return usable[-1] if usable else None
