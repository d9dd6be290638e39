"""The fixed world of :func:`segml.datasets.make_crm`: attributes, effects, products.

Every effect is on a log scale (``rate`` on the yearly purchase rate, ``size`` on the
order value) or a logit (``lead``: the odds that a sign-up stays a lead that never
buys). The numbers are invented but chosen so that company size matters most, industry
and channels next, region barely; the generator adds noise on top of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ATTRIBUTES",
    "CATEGORIES",
    "CATEGORY_PREFERENCE",
    "CHANNEL_DISCOUNT",
    "CHANNELS",
    "LATE_SHARE_BY_INDUSTRY",
    "LEAD_SOURCE_BY_CHANNEL",
    "PREFERRED_CHANNEL",
    "PRODUCTS_PER_CATEGORY",
    "SEASON",
    "SIZE_EMPLOYEES",
    "Attribute",
    "Category",
]


@dataclass(frozen=True)
class Attribute:
    """One categorical customer attribute and what each level does."""

    name: str
    levels: tuple[str, ...]
    probs: tuple[float, ...]
    rate: tuple[float, ...]
    size: tuple[float, ...]
    lead: tuple[float, ...]

    def effect(self, kind: str, codes: np.ndarray) -> np.ndarray:
        """The ``rate``, ``size`` or ``lead`` effect of each code."""
        return np.asarray(getattr(self, kind), dtype="float64")[codes]


INDUSTRY = Attribute(
    "industry",
    levels=(
        "retail",
        "manufacturing",
        "healthcare",
        "finance",
        "technology",
        "education",
        "hospitality",
        "construction",
    ),
    probs=(0.18, 0.15, 0.12, 0.10, 0.14, 0.09, 0.12, 0.10),
    rate=(0.35, 0.10, 0.00, -0.10, 0.25, -0.35, 0.15, -0.20),
    size=(-0.35, 0.40, 0.30, 0.55, 0.20, -0.45, -0.40, 0.25),
    lead=(0.0, -0.2, 0.1, 0.2, -0.1, 0.4, 0.1, 0.0),
)
REGION = Attribute(
    "region",
    levels=("north", "south", "east", "west", "central"),
    probs=(0.22, 0.20, 0.20, 0.24, 0.14),
    rate=(0.05, -0.05, 0.00, 0.10, -0.10),
    size=(0.05, -0.10, 0.00, 0.10, -0.05),
    lead=(0.0, 0.1, 0.0, -0.1, 0.0),
)
COMPANY_SIZE = Attribute(
    "company_size",
    levels=("micro", "small", "medium", "large", "enterprise"),
    probs=(0.30, 0.30, 0.22, 0.12, 0.06),
    rate=(-0.35, -0.10, 0.10, 0.30, 0.45),
    size=(-0.95, -0.40, 0.10, 0.75, 1.40),
    lead=(0.3, 0.1, 0.0, -0.1, -0.2),
)
ACQUISITION_CHANNEL = Attribute(
    "acquisition_channel",
    levels=("organic", "paid_search", "referral", "partner", "trade_show", "outbound"),
    probs=(0.25, 0.22, 0.15, 0.12, 0.11, 0.15),
    rate=(0.10, -0.15, 0.35, 0.20, 0.00, -0.25),
    size=(-0.05, -0.25, 0.15, 0.30, 0.20, 0.10),
    lead=(0.0, 0.3, -0.5, -0.3, 0.0, 0.4),
)
LEAD_SOURCE = Attribute(
    "lead_source",
    levels=(
        "web_form",
        "webinar",
        "cold_call",
        "referral",
        "event",
        "content_download",
    ),
    probs=(0.28, 0.12, 0.15, 0.15, 0.12, 0.18),
    rate=(0.00, 0.15, -0.30, 0.30, 0.10, -0.10),
    size=(-0.10, 0.10, 0.05, 0.20, 0.15, -0.20),
    lead=(0.1, -0.2, 0.6, -0.6, -0.1, 0.5),
)
ATTRIBUTES = (INDUSTRY, REGION, COMPANY_SIZE, ACQUISITION_CHANNEL, LEAD_SOURCE)

#: Most leads come through the source that matches their acquisition channel.
_NATURAL_SOURCE = (5, 0, 3, 3, 4, 2)  # one lead_source code per acquisition channel
LEAD_SOURCE_BY_CHANNEL = (
    0.5 * np.asarray(LEAD_SOURCE.probs)[None, :]
    + 0.5 * np.eye(len(LEAD_SOURCE.levels))[list(_NATURAL_SOURCE)]
)

#: Employee count range (log-uniform inside it) per company size.
SIZE_EMPLOYEES = ((1, 9), (10, 49), (50, 249), (250, 999), (1000, 20000))

#: Share of chronically late payers per industry.
LATE_SHARE_BY_INDUSTRY = np.array([0.12, 0.10, 0.15, 0.05, 0.08, 0.20, 0.28, 0.30])

#: Purchase rate multiplier per calendar month (January first): a Q4 peak.
SEASON = np.array(
    [0.85, 0.90, 1.00, 0.95, 0.90, 0.85, 0.80, 0.85, 1.00, 1.15, 1.30, 1.45]
)

#: Transaction channels.
CHANNELS = ("online", "sales_rep", "phone", "partner")
#: Preferred transaction channel per acquisition channel (rows sum to one).
PREFERRED_CHANNEL = np.array(
    [
        [0.75, 0.10, 0.10, 0.05],
        [0.80, 0.05, 0.10, 0.05],
        [0.40, 0.35, 0.15, 0.10],
        [0.15, 0.15, 0.05, 0.65],
        [0.20, 0.55, 0.15, 0.10],
        [0.15, 0.60, 0.20, 0.05],
    ]
)
#: Mean discount of a discounted order, per transaction channel.
CHANNEL_DISCOUNT = np.array([0.05, 0.12, 0.07, 0.15])


@dataclass(frozen=True)
class Category:
    """A product category: value of a line, list price, margin and return rate."""

    name: str
    value: float
    price: float
    margin: float
    returns: float


CATEGORIES = (
    Category("hardware", value=1.4, price=420.0, margin=0.18, returns=0.06),
    Category("software", value=1.2, price=260.0, margin=0.75, returns=0.015),
    Category("services", value=1.6, price=900.0, margin=0.40, returns=0.01),
    Category("supplies", value=0.5, price=28.0, margin=0.25, returns=0.03),
    Category("training", value=1.0, price=600.0, margin=0.55, returns=0.01),
    Category("accessories", value=0.6, price=55.0, margin=0.45, returns=0.05),
)
#: Products per category in the catalogue.
PRODUCTS_PER_CATEGORY = 40

#: Category mix per industry (rows follow INDUSTRY.levels, columns CATEGORIES).
CATEGORY_PREFERENCE = np.array(
    [
        [0.25, 0.10, 0.05, 0.35, 0.05, 0.20],
        [0.40, 0.10, 0.15, 0.20, 0.05, 0.10],
        [0.20, 0.20, 0.20, 0.20, 0.10, 0.10],
        [0.10, 0.45, 0.25, 0.05, 0.10, 0.05],
        [0.25, 0.40, 0.15, 0.05, 0.05, 0.10],
        [0.20, 0.20, 0.05, 0.25, 0.25, 0.05],
        [0.15, 0.10, 0.10, 0.45, 0.05, 0.15],
        [0.35, 0.05, 0.20, 0.25, 0.10, 0.05],
    ]
)
