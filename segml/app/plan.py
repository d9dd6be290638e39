"""Which cutoffs a run trains on, and where it tests out of time."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from segml.config import Config
from segml.errors import SegmlConfigError
from segml.training import choose_cutoffs

__all__ = ["CutoffPlan", "plan_cutoffs"]


@dataclass(frozen=True)
class CutoffPlan:
    """Where a run's training rows and its out-of-time test come from.

    The test cutoff is the latest whose scoring window (``horizon_days``) is
    complete; the evaluated model only learns from label windows that end by
    it, so no label it trains on overlaps the test window. The final model
    learns from windows that end by the last day in the data.
    """

    final: list[pd.Timestamp]
    evaluation: list[pd.Timestamp]
    test: pd.Timestamp


def plan_cutoffs(cfg: Config, first_ts: object, last_ts: object) -> CutoffPlan:
    """The final, evaluation and test cutoffs of a run (see :class:`CutoffPlan`)."""
    t = cfg.training
    label, horizon = t.label_horizon, t.horizon_days
    common = {"n_cutoffs": t.n_cutoffs, "step_days": t.cutoff_step_days}
    if t.cutoffs is not None:
        final = choose_cutoffs(first_ts, last_ts, horizon_days=label, cutoffs=t.cutoffs)
        test = choose_cutoffs(
            first_ts, last_ts, horizon_days=horizon, cutoffs=[final[-1]]
        )[-1]
        window = pd.Timedelta(days=label)
        evaluation = [c for c in final if c + window <= test]
        if not evaluation:
            raise SegmlConfigError(
                "training.cutoffs",
                f"no cutoff's {label}-day label window ends by the test cutoff "
                f"{test.date()}; add earlier cutoffs",
            )
        return CutoffPlan(final, evaluation, test)
    final = choose_cutoffs(first_ts, last_ts, horizon_days=label, **common)
    test = choose_cutoffs(first_ts, last_ts, horizon_days=horizon, n_cutoffs=1)[-1]
    try:
        evaluation = choose_cutoffs(first_ts, test, horizon_days=label, **common)
    except ValueError as err:
        raise SegmlConfigError(
            "training.horizon_days",
            f"no room for an out-of-time test at {test.date()}: {err}",
        ) from None
    return CutoffPlan(final, evaluation, test)
