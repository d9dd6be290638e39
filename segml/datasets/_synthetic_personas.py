"""The personas of :func:`segml.datasets.make_crm`: who a buyer is, planted as truth.

Every buyer is drawn from one persona; the persona shifts the buyer's order rate and
basket (on top of the attribute effects), and sets the seasonality, the regularity,
the discount habit, the channel, the churn and the growth of the buyer's orders.
Leads are the persona ``"lead"``. The persona of each customer is returned by
``make_crm`` in ``CRMData.personas``, never among the features.

=====================  =====  ======================================================
persona                share  behaviour
=====================  =====  ======================================================
loyal_big_spender      0.10   4x the order rate and 6x the basket, regular months,
                              few discounts, sales reps, churn / 10; larger
                              companies
steady_regular         0.25   2x the order rate, a smaller basket (0.6x), regular
                              months, churn / 5
bargain_hunter         0.22   2x the order rate, a quarter of the basket, 95 % of
                              the orders discounted (twice the usual discount),
                              online, churn / 5; smaller companies
seasonal_gifter        0.18   1.2x the order rate and 1.5x the basket, but orders
                              almost only in November and December; churn / 3
fading_one_off         0.25   0.6x the order rate and a monthly churn hazard ~ 45 %:
                              one or two orders, then gone
fast_growing_newcomer  late   every buyer signing up in the last 15 % of the period;
                              the order rate starts at half the usual and doubles
                              every month up to 4x; churn / 10
=====================  =====  ======================================================

The shares are the odds among buyers signing up before the newcomers' window, for
a medium-sized company; each persona's ``size_tilt`` moves them with company size
(big spenders are more often large companies, bargain hunters small ones), so the
attributes still carry information about value. Rates and baskets multiply the
attribute-driven ones, and every customer keeps their own noise around them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "GIFT_SEASON",
    "LEAD",
    "NEWCOMER_FROM",
    "PERSONAS",
    "Persona",
    "draw_personas",
    "persona_array",
    "persona_names",
]

#: Label of the customers who never buy.
LEAD = "lead"
#: Newcomers sign up after this fraction of the period.
NEWCOMER_FROM = 0.85


@dataclass(frozen=True)
class Persona:
    """One kind of buyer and how it behaves.

    ``rate`` and ``size`` are log shifts of the yearly order rate and of the order
    value; ``season`` ``"gift"`` puts the orders in November and December;
    ``regular`` makes monthly order counts under-dispersed (the expected count,
    rounded at random, instead of a Poisson draw); ``discounted`` is the share of
    orders with a discount and ``discount`` multiplies its mean; ``channel`` is the
    channel code most orders go through (-1: the customer's usual one);
    ``churn`` multiplies the monthly churn hazard; ``growth`` is the number of
    doublings a month of the order rate (from ``rate_start`` times the rate, up to
    ``rate`` as a cap); ``size_tilt`` is the logit shift per company-size step of
    being this persona.
    """

    name: str
    share: float
    rate: float
    size: float
    season: str = "usual"
    regular: bool = False
    discounted: float = 0.5
    discount: float = 1.0
    channel: int = -1
    churn: float = 1.0
    growth: float = 0.0
    rate_start: float = 1.0
    size_tilt: float = 0.0


PERSONAS = (
    Persona(
        "loyal_big_spender",
        0.10,
        rate=np.log(4.0),
        size=np.log(6.0),
        regular=True,
        discounted=0.15,
        channel=1,
        churn=0.1,
        size_tilt=0.6,
    ),
    Persona(
        "steady_regular",
        0.25,
        rate=np.log(2.0),
        size=np.log(0.6),
        regular=True,
        discounted=0.3,
        churn=0.2,
        size_tilt=0.1,
    ),
    Persona(
        "bargain_hunter",
        0.22,
        rate=np.log(2.0),
        size=np.log(0.25),
        discounted=0.95,
        discount=2.0,
        channel=0,
        churn=0.2,
        size_tilt=-0.4,
    ),
    Persona(
        "seasonal_gifter",
        0.18,
        rate=np.log(1.2),
        size=np.log(1.5),
        season="gift",
        discounted=0.2,
        churn=0.3,
    ),
    Persona(
        "fading_one_off",
        0.25,
        rate=np.log(0.6),
        size=np.log(0.9),
        discounted=0.5,
        churn=40.0,
        size_tilt=-0.2,
    ),
    Persona(
        "fast_growing_newcomer",
        1.0,
        rate=np.log(4.0),
        size=np.log(1.2),
        regular=True,
        discounted=0.4,
        churn=0.1,
        growth=1.0,
        rate_start=0.5,
        size_tilt=0.2,
    ),
)
NEWCOMER = len(PERSONAS) - 1

#: Purchase multiplier per calendar month (January first) of the gift persona.
GIFT_SEASON = np.array(
    [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.2, 4.5, 6.75]
)


def persona_names() -> tuple[str, ...]:
    """Names of the buyer personas, in code order, then :data:`LEAD`."""
    return (*(p.name for p in PERSONAS), LEAD)


def persona_array(field: str) -> np.ndarray:
    """One value of ``field`` per persona code."""
    return np.asarray([getattr(p, field) for p in PERSONAS])


def draw_personas(
    signup_fraction: np.ndarray,
    size_code: np.ndarray,
    is_lead: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Persona code of each customer (``len(PERSONAS)`` for a lead).

    Buyers who sign up after ``NEWCOMER_FROM`` of the period are newcomers;
    everyone else draws one of the other personas from their shares, tilted by
    company size (``size_tilt`` per step from ``"medium"``).
    """
    n = len(signup_fraction)
    others = PERSONAS[:NEWCOMER]
    logits = np.log([p.share for p in others])[None, :] + np.outer(
        size_code - 2, [p.size_tilt for p in others]
    )
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    cum = np.cumsum(probs, axis=1)
    u = rng.random(n) * cum[:, -1]
    code = np.minimum((u[:, None] >= cum).sum(axis=1), NEWCOMER - 1)
    code = np.where(signup_fraction >= NEWCOMER_FROM, NEWCOMER, code)
    return np.where(is_lead, len(PERSONAS), code).astype("int64")
