"""Tiers per period (month, quarter, year) from a transaction log.

The tiers at the end of each period are cut exactly as at any other date: the
population is every customer *known* at the period end (a transaction at or
before it, or a row in ``customers`` signed up by then, as in
:func:`segml.features.build_features`), the value of a customer is their net
amount in a window ending at the period end, and the count, value or
composite rule cuts it (:func:`~segml.tiers.assign_tiers`). Between two
consecutive periods the customers who *entered* and *left* each tier are
counted and listed; optionally a hysteresis margin keeps customers near a
threshold in last period's tier (:mod:`segml.tiers.hysteresis`).

Period ends follow the date convention of ``as_of`` (rows with ``ts <=
as_of``): the end of January 2024 is ``2024-01-31 23:59:59.999999``, so a
transaction stamped ``2024-02-01`` (midnight) belongs to February.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from segml.tiers._validate import DEFAULT_TIERS, validate_tiers
from segml.tiers.composite import composite_score
from segml.tiers.hysteresis import apply_hysteresis, check_margin
from segml.tiers.rules import (
    assign_tiers,
    default_shares,
    has_positive_value,
    rank_order,
)

__all__ = ["PERIODS", "PeriodTiers", "period_ends", "period_tiers"]

Period = Literal["month", "quarter", "year"]
#: Period names and their pandas frequency.
PERIODS: dict[str, str] = {"month": "M", "quarter": "Q", "year": "Y"}
_ONE_US = pd.Timedelta(microseconds=1)
#: Column ``before`` of a customer not known in the previous period.
NEW = "new"


def _check_period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)}, got {period!r}")
    return PERIODS[period]


def period_ends(start: object, as_of: object, period: Period = "month") -> pd.DataFrame:
    """The period ends from ``start``'s period up to ``as_of``.

    One row per period whose end is at or before ``as_of``, and, when
    ``as_of`` falls inside a period, a last, incomplete row ending at
    ``as_of`` itself (so the last row is always "the tiers as of ``as_of``").

    Returns
    -------
    DataFrame
        ``period`` (label such as ``2024-01``, ``2024Q1``, ``2024``),
        ``start`` (the period's first instant), ``as_of`` (its end, inclusive)
        and ``complete``.

    Examples
    --------
    >>> period_ends("2024-01-15", "2024-03-10")[["period", "as_of", "complete"]]
        period                      as_of  complete
    0  2024-01 2024-01-31 23:59:59.999999      True
    1  2024-02 2024-02-29 23:59:59.999999      True
    2  2024-03 2024-03-10 00:00:00.000000     False
    """
    from segml.features.asof import to_as_of  # segml.features loads the engine

    freq = _check_period(period)
    first = to_as_of(start, name="start").to_period(freq)
    end = to_as_of(as_of)
    if to_as_of(start, name="start") > end:
        raise ValueError(f"as_of ({end}) is before the first transaction ({start})")
    rows = []
    for p in pd.period_range(first, end.to_period(freq), freq=freq):
        p_start = p.start_time.as_unit("us")
        p_end = (p + 1).start_time.as_unit("us") - _ONE_US
        complete = p_end <= end
        rows.append((str(p), p_start, min(p_end, end), complete))
    frame = pd.DataFrame(rows, columns=["period", "start", "as_of", "complete"])
    return frame.astype({"start": "datetime64[us]", "as_of": "datetime64[us]"})


@dataclass(frozen=True)
class PeriodTiers:
    """Result of :func:`period_tiers`.

    Attributes
    ----------
    tiers : DataFrame
        One row per period and known customer: ``period``, ``as_of``,
        ``customer_id``, ``tier`` (ordered categorical), ``value`` (net amount
        in the value window), ``rank`` (1 = best by the rule's measure, ties
        by ``customer_id``), and ``score`` for the composite rule; sorted by
        ``as_of`` then ``rank``.
    summary : DataFrame
        One row per period and tier: ``period``, ``as_of``, ``complete``,
        ``tier``, ``customers``, ``customer_share``, ``value`` (sum of net
        value), ``value_share`` (share of the period's positive value, with
        negative values counted as 0), ``entered`` and ``left`` (customers
        who are in the tier now and were not in the previous period, or the
        reverse; ``<NA>`` for the first period).
    changes : DataFrame
        Every customer whose tier differs from the previous period:
        ``period``, ``as_of``, ``customer_id``, ``before`` (``"new"`` when
        not known then), ``after``, ``value``.
    rule, labels : str, tuple of str
    """

    tiers: pd.DataFrame
    summary: pd.DataFrame
    changes: pd.DataFrame
    rule: str
    labels: tuple[str, ...]

    @property
    def periods(self) -> list[str]:
        """Period labels, oldest first."""
        return list(dict.fromkeys(self.summary["period"]))

    def at(self, period: str | int = -1) -> pd.Series:
        """Tier per customer at one period (a label, or a position: -1 = last)."""
        label = self._label(period)
        rows = self.tiers.loc[self.tiers["period"] == label]
        return rows.set_index("customer_id")["tier"].sort_index()

    def entered(self, tier: str | None = None, period: str | int = -1) -> pd.DataFrame:
        """Customers who entered ``tier`` (default: the best) at ``period``.

        Columns ``customer_id``, ``before``, ``after``, ``value``, best value
        first.
        """
        return self._moved("after", tier, period)

    def left(self, tier: str | None = None, period: str | int = -1) -> pd.DataFrame:
        """Customers who left ``tier`` (default: the best) at ``period``."""
        return self._moved("before", tier, period)

    def _label(self, period: str | int) -> str:
        periods = self.periods
        if isinstance(period, int | np.integer):
            return periods[int(period)]
        if period not in periods:
            raise ValueError(f"period {period!r} not among {periods}")
        return str(period)

    def _moved(self, side: str, tier: str | None, period: str | int) -> pd.DataFrame:
        tier = self.labels[0] if tier is None else tier
        if tier not in self.labels:
            raise ValueError(f"tier {tier!r} not among {list(self.labels)}")
        label = self._label(period)
        rows = self.changes.loc[
            (self.changes["period"] == label) & (self.changes[side] == tier)
        ]
        rows = rows.sort_values(["value", "customer_id"], ascending=[False, True])
        return rows[["customer_id", "before", "after", "value"]].reset_index(drop=True)


def _known_since(
    transactions: pd.DataFrame, customers: pd.DataFrame | None
) -> pd.Series:
    """When each customer becomes known: first transaction or sign-up."""
    first = transactions.groupby("customer_id", sort=True)["ts"].min()
    if customers is None:
        return first
    ids = pd.Index(customers["customer_id"]).drop_duplicates()
    if "signup_ts" in customers.columns:
        signup = customers.drop_duplicates("customer_id").set_index("customer_id")
        signup = pd.to_datetime(signup["signup_ts"]).fillna(pd.Timestamp.min)
    else:  # known from the start, as in build_features
        signup = pd.Series(pd.Timestamp.min, index=ids)
    both = pd.concat([first, signup.astype(first.dtype)], axis=1).min(axis=1)
    return both.sort_index()


def _window_value(
    tx: pd.DataFrame, ids: pd.Index, start: pd.Timestamp, end: pd.Timestamp
) -> pd.Series:
    ts = tx["ts"].to_numpy()
    mask = (ts > start.to_datetime64()) & (ts <= end.to_datetime64())
    sums = tx.loc[mask].groupby("customer_id", sort=False)["amount"].sum()
    return sums.reindex(ids, fill_value=0.0).astype("float64").rename("value")


def period_tiers(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    period: Period = "month",
    rule: Literal["count", "value", "composite"] = "count",
    shares: Sequence[float] | None = None,
    tiers: Sequence[str] = DEFAULT_TIERS,
    window_days: int | None = None,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    criteria: Mapping[str, float] | None = None,
    cut: Literal["count", "value"] = "count",
    feature_params: Mapping[str, Any] | None = None,
    hysteresis: float | None = None,
    start: object | None = None,
) -> PeriodTiers:
    """Tiers at the end of every period up to ``as_of``, and who moved.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``ts``, ``amount``).
    as_of : str or Timestamp
        The last date (inclusive); the last period ends here.
    period : {"month", "quarter", "year"}
        Calendar periods; see :func:`period_ends`.
    rule, shares, tiers, criteria, cut
        As in :func:`~segml.tiers.assign_tiers`. The composite rule builds the
        features at every period end (:func:`segml.features.build_features_many`
        with ``feature_params``) and ranks customers by the score.
    window_days : int, optional
        The value of a customer at a period end is their net amount in the
        ``window_days`` days up to it; default: the period itself (month to
        date for the incomplete last one).
    customers, events : DataFrame, optional
        ``customers`` adds leads known by sign-up to the population; both feed
        the composite rule's features.
    hysteresis : float, optional
        A margin in ``[0, 1)``: from the second period on, customers keep last
        period's tier unless they cross a threshold by this fraction
        (:func:`~segml.tiers.hysteresis.apply_hysteresis`).
    start : str or Timestamp, optional
        The first period is the one holding ``start`` (default: the first
        transaction); use it to report only recent periods (with hysteresis,
        tiers then start afresh at ``start``).

    Returns
    -------
    PeriodTiers
        ``tiers``, ``summary`` and ``changes``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "c", "a", "c"],
    ...     "ts": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-01-20",
    ...                           "2024-02-03", "2024-02-10"]),
    ...     "amount": [50.0, 30.0, 10.0, 5.0, 40.0]})
    >>> pt = period_tiers(tx, as_of="2024-02-29 23:59:59.999999", rule="count",
    ...                   shares=(1 / 3, 1 / 3, 1 / 3))
    >>> pt.summary[["period", "tier", "customers", "value", "entered", "left"]]
      period tier  customers  value  entered  left
    0  2024-01    A          1   50.0     <NA>  <NA>
    1  2024-01    B          1   30.0     <NA>  <NA>
    2  2024-01    C          1   10.0     <NA>  <NA>
    3  2024-02    A          1   40.0        1     1
    4  2024-02    B          1    5.0        1     1
    5  2024-02    C          1    0.0        1     1
    >>> pt.entered("A")
      customer_id before after  value
    0           c      C     A   40.0
    """
    labels = validate_tiers(tiers)
    if rule not in ("count", "value", "composite"):
        raise ValueError(f"rule must be 'count', 'value' or 'composite', got {rule!r}")
    if window_days is not None and int(window_days) <= 0:
        raise ValueError(f"window_days must be a positive number, got {window_days!r}")
    margin = None if hysteresis is None else check_margin(hysteresis, "hysteresis")
    cut_rule = cut if rule == "composite" else rule
    props = default_shares(cut_rule, len(labels)) if shares is None else shares
    tx = transactions[["customer_id", "ts", "amount"]]
    if len(tx) == 0:
        raise ValueError("transactions is empty: there is no customer to tier")
    ends = period_ends(tx["ts"].min() if start is None else start, as_of, period)
    known = _known_since(tx, customers)
    features = None
    if rule == "composite":
        from segml.features import build_features_many

        features = build_features_many(
            transactions,
            customers,
            events,
            as_ofs=list(ends["as_of"]),
            **dict(feature_params or {}),
        )
    blocks, summaries, changes = [], [], []
    previous: pd.Series | None = None
    for row in ends.itertuples(index=False):
        end = pd.Timestamp(row.as_of)
        if features is not None:
            snap = features.xs(end, level="cutoff")
            ids = snap.index
        else:
            ids = known.index[known.to_numpy() <= end.to_datetime64()]
        if len(ids) == 0:
            continue
        if window_days is None:
            w_start = row.start - _ONE_US
        else:
            w_start = end - pd.Timedelta(days=int(window_days))
        value = _window_value(tx, ids, w_start, end)
        if features is not None:
            # the composite rule of assign_tiers, keeping the score to rank by
            measure = composite_score(snap, criteria).where(
                has_positive_value(snap, "net_spend"), 0.0
            )
            fresh = assign_tiers(measure, rule=cut, shares=props, tiers=labels)
        else:
            measure = value
            fresh = assign_tiers(value, rule=rule, shares=props, tiers=labels)
        tier = fresh
        if margin is not None and previous is not None:
            tier = apply_hysteresis(measure, fresh, previous, margin=margin)
        block = _block(row, value, tier, measure, rule == "composite")
        blocks.append(block)
        summaries.append(_summary(row, value, tier, previous, labels))
        if previous is not None:
            changes.append(_changes(row, value, tier, previous))
        previous = tier
    if not blocks:
        raise ValueError(f"no customer is known at or before {as_of}")
    cat = pd.CategoricalDtype(list(labels), ordered=True)
    all_tiers = pd.concat(blocks, ignore_index=True).astype({"tier": cat})
    summary = pd.concat(summaries, ignore_index=True)
    change_cols = ["period", "as_of", "customer_id", "before", "after", "value"]
    change_frame = (
        pd.concat(changes, ignore_index=True)
        if changes
        else pd.DataFrame({c: [] for c in change_cols})
    )
    return PeriodTiers(all_tiers, summary, change_frame, rule, labels)


def _block(row, value, tier, measure, composite: bool) -> pd.DataFrame:
    order = rank_order(measure)
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(1, len(order) + 1)
    frame = pd.DataFrame(
        {
            "period": row.period,
            "as_of": row.as_of,
            "customer_id": value.index.to_numpy(),
            "tier": tier.astype("str").to_numpy(),
            "value": value.to_numpy(),
            "rank": rank,
        }
    )
    if composite:
        frame["score"] = measure.to_numpy()
    return frame.sort_values("rank", kind="stable")


def _summary(row, value, tier, previous, labels) -> pd.DataFrame:
    now = tier.astype("str")
    positive = value.clip(lower=0.0)
    total_pos = positive.sum()
    before = None if previous is None else previous.astype("str").reindex(now.index)
    rows = []
    for t in labels:
        members = (now == t).to_numpy()
        entered = left = pd.NA
        if before is not None:
            was = (before == t).to_numpy()
            entered = int((members & ~was).sum())
            left = int((previous.astype("str") == t).sum() - (members & was).sum())
        rows.append(
            {
                "period": row.period,
                "as_of": row.as_of,
                "complete": bool(row.complete),
                "tier": t,
                "customers": int(members.sum()),
                "customer_share": float(members.mean()),
                "value": float(value.to_numpy()[members].sum()),
                "value_share": float(positive.to_numpy()[members].sum() / total_pos)
                if total_pos > 0
                else 0.0,
                "entered": entered,
                "left": left,
            }
        )
    return pd.DataFrame(rows).astype({"entered": "Int64", "left": "Int64"})


def _changes(row, value, tier, previous) -> pd.DataFrame:
    now = tier.astype("str")
    before = previous.astype("str").reindex(now.index).fillna(NEW)
    moved = (before != now).to_numpy()
    return pd.DataFrame(
        {
            "period": row.period,
            "as_of": row.as_of,
            "customer_id": now.index.to_numpy()[moved],
            "before": before.to_numpy()[moved],
            "after": now.to_numpy()[moved],
            "value": value.to_numpy()[moved],
        }
    )
