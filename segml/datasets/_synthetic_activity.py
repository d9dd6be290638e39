"""Month-by-month life of the synthetic buyers: orders, interactions and churn.

The simulation steps through calendar months and is vectorised over customers: in
each month every active buyer places a Poisson number of orders (own rate times the
season), complains, opens tickets, visits the web site and sometimes answers an NPS
survey; the chance to churn at the start of the next months rises after a complaint
or a low NPS score. A churned customer does nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segml.datasets._synthetic_customers import Population
from segml.datasets._synthetic_personas import persona_array

__all__ = ["EVENT_KINDS", "Activity", "EventLog", "simulate_activity"]

EVENT_KINDS = ("complaint", "support_ticket", "nps", "payment", "web_visit")
COMPLAINT, TICKET, NPS, PAYMENT, VISIT = range(len(EVENT_KINDS))

YEAR = 365.25
MONTH = YEAR / 12
#: Base churn hazard per month and its multipliers after a complaint (for the next
#: ``COMPLAINT_MEMORY`` months) and after an NPS score of 6 or less.
CHURN_HAZARD = 0.016
AFTER_COMPLAINT, COMPLAINT_MEMORY = 8.0, 3
AFTER_LOW_NPS, NPS_MEMORY = 2.5, 4
#: Chance that an active buyer answers an NPS survey in a month.
NPS_SURVEY = 0.1
#: Web visits of leads per year.
LEAD_VISITS = 3.0


@dataclass(frozen=True)
class EventLog:
    """Events as parallel arrays: customer index, time in days, kind code, value."""

    customer: np.ndarray
    time: np.ndarray
    kind: np.ndarray
    value: np.ndarray

    @staticmethod
    def concat(logs: list[EventLog]) -> EventLog:
        """Join several logs into one."""
        return EventLog(
            *(np.concatenate([getattr(x, f) for x in logs]) for f in EventLog._fields())
        )

    @staticmethod
    def _fields() -> tuple[str, ...]:
        return ("customer", "time", "kind", "value")


@dataclass(frozen=True)
class Activity:
    """Orders (customer index, time in days) and non-payment events of everyone."""

    order_customer: np.ndarray
    order_time: np.ndarray
    events: EventLog


def simulate_activity(
    people: Population,
    month_bounds: np.ndarray,
    season: np.ndarray,
    rng: np.random.Generator,
) -> Activity:
    """Simulate orders, events and churn of all buyers, and web visits of leads.

    ``month_bounds`` are the month starts in days (the last one is the period end)
    and ``season`` the purchase multiplier of each persona (rows) and month
    (columns). Regular personas order the expected count of a month rounded at
    random (under-dispersed), the others a Poisson count; growing personas start
    at ``rate_start`` times their rate and double ``growth`` times a month.
    """
    days = float(month_bounds[-1])
    buyers = np.flatnonzero(~people.is_lead)
    nb = len(buyers)
    signup = people.signup[buyers]
    delay = rng.exponential(6.0, nb)
    first = np.where(
        signup + delay < days, signup + delay, signup + rng.random(nb) * (days - signup)
    )
    log_rate = people.log_rate[buyers]
    engagement = (log_rate - log_rate.mean()) / max(log_rate.std(), 1e-9)
    discontent = people.discontent[buyers]
    employees = people.employees[buyers]
    persona = people.persona[buyers]
    regular = persona_array("regular")[persona].astype(bool)
    growth = persona_array("growth")[persona]
    ramp_start = persona_array("rate_start")[persona] / np.exp(
        persona_array("rate")[persona]
    )

    per_day = np.exp(log_rate) / YEAR
    complaints_per_day = 0.3 * np.exp(1.0 * discontent - 0.5) / YEAR
    complaint_per_order = 0.005 * np.exp(1.0 * discontent)
    tickets_per_day = 0.6 * employees**0.1 / YEAR
    visits_per_day = 4.0 * np.exp(0.5 * engagement) / YEAR
    hazard = CHURN_HAZARD * np.exp(0.6 * discontent - 0.3 * engagement)
    hazard = hazard * persona_array("churn")[persona]

    churn_at = np.full(nb, np.inf)
    last_complaint = np.full(nb, -99)
    last_low_nps = np.full(nb, -99)
    order_parts = [(buyers, first)]
    event_parts: list[EventLog] = []
    for m in range(len(month_bounds) - 1):
        lo, hi = float(month_bounds[m]), float(month_bounds[m + 1])
        mult = (
            1.0
            + (AFTER_COMPLAINT - 1) * (m - last_complaint <= COMPLAINT_MEMORY)
            + (AFTER_LOW_NPS - 1) * (m - last_low_nps <= NPS_MEMORY)
        )
        p_churn = 1 - np.exp(-hazard * mult * (hi - lo) / MONTH)
        churns = np.isinf(churn_at) & (first < lo) & (rng.random(nb) < p_churn)
        churn_at[churns] = lo + rng.random(int(churns.sum())) * (hi - lo)

        start = np.maximum(lo, first)
        span = np.clip(np.minimum(hi, churn_at) - start, 0.0, None)
        months_in = np.maximum(lo - first, 0.0) / MONTH
        ramp = np.where(
            growth > 0, np.minimum(1.0, ramp_start * 2.0 ** (growth * months_in)), 1.0
        )
        expected = per_day * season[persona, m] * ramp * span
        rounded = np.floor(expected) + (rng.random(nb) < expected % 1.0)
        orders = np.where(regular, rounded, rng.poisson(expected)).astype("int64")
        complaints = rng.poisson(
            complaints_per_day * span + complaint_per_order * orders
        )
        tickets = rng.poisson(tickets_per_day * span + 0.08 * orders)
        visits = rng.poisson(visits_per_day * span + 0.5 * orders)
        surveyed = rng.random(nb) < NPS_SURVEY * span / (hi - lo)
        upset = (complaints > 0) | (last_complaint == m - 1)
        score = 8.3 - 1.6 * discontent + 0.4 * engagement - 2.5 * upset
        score = np.clip(np.round(score + rng.normal(0.0, 1.2, nb)), 0, 10)

        order_parts.append(_scatter(buyers, orders, start, span, rng))
        for kind, counts in (
            (COMPLAINT, complaints),
            (TICKET, tickets),
            (VISIT, visits),
        ):
            event_parts.append(_events(kind, buyers, counts, start, span, rng))
        nps = _events(NPS, buyers, surveyed.astype("int64"), start, span, rng)
        event_parts.append(
            EventLog(
                nps.customer, nps.time, nps.kind, score[surveyed].astype("float64")
            )
        )
        last_complaint = np.where(complaints > 0, m, last_complaint)
        last_low_nps = np.where(surveyed & (score <= 6), m, last_low_nps)

    leads = np.flatnonzero(people.is_lead)
    lead_span = days - people.signup[leads]
    visits = rng.poisson(LEAD_VISITS / YEAR * lead_span)
    event_parts.append(
        _events(VISIT, leads, visits, people.signup[leads], lead_span, rng)
    )
    customer, time = (np.concatenate(x) for x in zip(*order_parts, strict=True))
    return Activity(customer, time, EventLog.concat(event_parts))


def _scatter(
    who: np.ndarray,
    counts: np.ndarray,
    start: np.ndarray,
    span: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniform times in ``[start, start + span)`` of ``who[i]``."""
    idx = np.repeat(np.arange(len(who)), counts)
    return who[idx], start[idx] + rng.random(len(idx)) * span[idx]


def _events(
    kind: int,
    who: np.ndarray,
    counts: np.ndarray,
    start: np.ndarray,
    span: np.ndarray,
    rng: np.random.Generator,
) -> EventLog:
    customer, time = _scatter(who, counts, start, span, rng)
    n = len(customer)
    return EventLog(customer, time, np.full(n, kind), np.full(n, np.nan))
