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


class _Customers:
    """Customers as integer codes in id order, with when each becomes known.

    Working on codes (``np.bincount`` sums, integer ties) instead of string
    ids keeps a month of a million customers well under a second.
    """

    def __init__(self, tx: pd.DataFrame, customers: pd.DataFrame | None) -> None:
        ids = tx["customer_id"]
        extra = None if customers is None else customers["customer_id"]
        both = ids if extra is None else pd.concat([ids, extra], ignore_index=True)
        codes, uniques = pd.factorize(both, sort=True)
        self.ids = pd.Index(uniques, name="customer_id")
        n = len(self.ids)
        self.tx_codes = codes[: len(tx)]
        self.ts = tx["ts"].to_numpy().astype("datetime64[us]").view("int64")
        self.amount = tx["amount"].to_numpy(dtype="float64", na_value=np.nan)
        never = np.iinfo("int64").max
        known = np.full(n, never, dtype="int64")
        np.minimum.at(known, self.tx_codes, self.ts)
        if extra is not None:
            # a customer row makes a lead known at sign-up, or from the start
            # when the sign-up time is missing (as in build_features)
            signup = np.full(len(extra), np.iinfo("int64").min, dtype="int64")
            if "signup_ts" in customers.columns:
                stamps = pd.to_datetime(customers["signup_ts"]).to_numpy()
                stamps = stamps.astype("datetime64[us]")
                present = ~np.isnat(stamps)
                signup[present] = stamps[present].view("int64")
            np.minimum.at(known, codes[len(tx) :], signup)
        self.known = known

    def known_at(self, end: pd.Timestamp) -> np.ndarray:
        """Codes (ascending) of the customers known at ``end``."""
        return np.flatnonzero(self.known <= _us(end))

    def value(self, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
        """Net amount per code with ``start < ts <= end``."""
        mask = (self.ts > _us(start)) & (self.ts <= _us(end))
        sums = np.bincount(
            self.tx_codes[mask], weights=self.amount[mask], minlength=len(self.ids)
        )
        return sums.astype("float64")


def _us(stamp: pd.Timestamp) -> int:
    return int(
        pd.Timestamp(stamp).to_datetime64().astype("datetime64[us]").view("int64")
    )


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
    people = _Customers(tx, customers)
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
    steps: list[dict[str, Any]] = []
    previous = np.full(len(people.ids), -1, dtype="int64")  # last tier code
    cat = pd.CategoricalDtype(list(labels), ordered=True)
    for row in ends.itertuples(index=False):
        end = pd.Timestamp(row.as_of)
        if features is not None:
            snap = features.xs(end, level="cutoff")
            pos = people.ids.get_indexer(snap.index)
            order = np.argsort(pos, kind="stable")
            pos, snap = pos[order], snap.iloc[order]
        else:
            pos = people.known_at(end)
        if len(pos) == 0:
            continue
        if window_days is None:
            w_start = row.start - _ONE_US
        else:
            w_start = end - pd.Timedelta(days=int(window_days))
        value = people.value(w_start, end)[pos]
        index = pd.Index(pos)
        if features is not None:
            # the composite rule of assign_tiers, keeping the score to rank by
            score = composite_score(snap, criteria).where(
                has_positive_value(snap, "net_spend"), 0.0
            )
            measure = pd.Series(score.to_numpy(), index=index)
        else:
            measure = pd.Series(value, index=index)
        fresh = assign_tiers(measure, rule=cut_rule, shares=props, tiers=labels)
        tier = fresh
        was = previous[pos]
        if margin is not None and (was >= 0).any():
            before = pd.Series(pd.Categorical.from_codes(np.maximum(was, 0), dtype=cat))
            before = before.where(was >= 0).set_axis(index)
            tier = apply_hysteresis(measure, fresh, before, margin=margin)
        codes = tier.cat.codes.to_numpy(dtype="int64")
        first = not (previous >= 0).any()
        steps.append(
            {
                "row": row,
                "pos": pos,
                "codes": codes,
                "value": value,
                "measure": measure.to_numpy() if features is not None else None,
                "rank_order": np.lexsort((pos, -measure.to_numpy())),
                "summary": _summary(row, value, codes, previous, was, labels, first),
                "changes": None if first else _changes(row, pos, value, codes, was),
            }
        )
        previous[pos] = codes
    if not steps:
        raise ValueError(f"no customer is known at or before {as_of}")
    return _assemble(steps, people.ids, cat, rule, labels)


def _assemble(steps, ids: pd.Index, cat, rule: str, labels) -> PeriodTiers:
    """The per-period arrays as the three frames of :class:`PeriodTiers`."""
    order = [s["rank_order"] for s in steps]
    sizes = [len(o) for o in order]
    pos = np.concatenate([s["pos"][o] for s, o in zip(steps, order, strict=True)])
    periods = [s["row"].period for s in steps]
    frame = pd.DataFrame(
        {
            "period": pd.Categorical.from_codes(
                np.repeat(np.arange(len(steps)), sizes),
                categories=periods,
                ordered=True,
            ),
            "as_of": np.repeat(
                np.array([s["row"].as_of for s in steps], dtype="datetime64[us]"),
                sizes,
            ),
            "customer_id": ids.take(pos).to_numpy(),
            "tier": pd.Categorical.from_codes(
                np.concatenate(
                    [s["codes"][o] for s, o in zip(steps, order, strict=True)]
                ),
                dtype=cat,
            ),
            "value": np.concatenate(
                [s["value"][o] for s, o in zip(steps, order, strict=True)]
            ),
            "rank": np.concatenate([np.arange(1, n + 1) for n in sizes]),
        }
    )
    if steps[0]["measure"] is not None:
        frame["score"] = np.concatenate(
            [s["measure"][o] for s, o in zip(steps, order, strict=True)]
        )
    summary = pd.concat([s["summary"] for s in steps], ignore_index=True)
    moved = [s["changes"] for s in steps if s["changes"] is not None]
    if moved:
        changes = pd.concat(moved, ignore_index=True)
        changes["customer_id"] = ids.take(changes["customer_id"].to_numpy()).to_numpy()
        names = np.array([*labels, NEW], dtype=object)
        changes["before"] = names[changes["before"].to_numpy()]
        changes["after"] = names[changes["after"].to_numpy()]
    else:
        changes = pd.DataFrame(
            {c: [] for c in ("period", "as_of", "customer_id", "before", "after")}
        ).assign(value=np.array([], dtype="float64"))
    return PeriodTiers(frame, summary, changes, rule, tuple(labels))


def _summary(row, value, codes, previous, was, labels, first: bool) -> pd.DataFrame:
    n_tiers = len(labels)
    counts = np.bincount(codes, minlength=n_tiers)
    sums = np.bincount(codes, weights=value, minlength=n_tiers)
    positive = np.bincount(codes, weights=np.clip(value, 0.0, None), minlength=n_tiers)
    total = positive.sum()
    frame = pd.DataFrame(
        {
            "period": row.period,
            "as_of": pd.Timestamp(row.as_of),
            "complete": bool(row.complete),
            "tier": list(labels),
            "customers": counts.astype("int64"),
            "customer_share": counts / max(len(codes), 1),
            "value": sums,
            "value_share": positive / total if total > 0 else np.zeros(n_tiers),
        }
    )
    if first:
        frame["entered"] = pd.array([pd.NA] * n_tiers, dtype="Int64")
        frame["left"] = pd.array([pd.NA] * n_tiers, dtype="Int64")
        return frame
    stayed = np.bincount(codes[was == codes], minlength=n_tiers)
    before = np.bincount(previous[previous >= 0], minlength=n_tiers)
    frame["entered"] = pd.array(counts - stayed, dtype="Int64")
    frame["left"] = pd.array(before - stayed, dtype="Int64")
    return frame


def _changes(row, pos, value, codes, was) -> pd.DataFrame:
    """Customers whose tier changed; ids and tiers as codes (``-1``: new)."""
    moved = was != codes
    return pd.DataFrame(
        {
            "period": row.period,
            "as_of": pd.Timestamp(row.as_of),
            "customer_id": pos[moved],
            # -1 (not known before) indexes the last name: "new"
            "before": was[moved],
            "after": codes[moved],
            "value": value[moved],
        }
    )
