"""A synthetic CRM: customers with attributes, their transactions and their events.

The attributes drive value on purpose (with noise), so that segml's cold-start
model has something real, but imperfect, to learn. How the world works:

* **Customers** sign up over the whole period (slightly more every month). Each has
  an industry, region, company size, employee count, acquisition channel and lead
  source. About ``lead_share`` of them are *leads* that never buy; leads are more
  common among late sign-ups and among some sources (cold calls, content downloads).
* **Value.** A buyer's yearly purchase rate and typical order value are log-normal:
  a sum of attribute effects (company size strongest, then industry, acquisition
  channel and lead source, region barely), the persona's shift and the customer's
  own noise. Spend is
  therefore heavy-tailed: a fifth of the buyers make over 80 % of it.
* **Orders.** A first order follows the sign-up within days; later orders are a
  Poisson process at the customer's rate times a season with a Q4 peak. Orders have
  one or more lines (bigger companies buy more lines); a line has a product from a
  category mix that depends on the industry, a quantity, a discount (depending on the
  sales channel and company size) and a cost whose margin depends on the category.
  A few % of lines come back later as a negative row with the same ``order_id``:
  a full return (goods back, ``quantity`` and ``cost`` negative) or a partial refund
  (``quantity`` and ``cost`` 0); both have ``status`` ``"returned"``.
* **Events.** Complaints, support tickets, web visits and NPS answers (score 0-10)
  while active; a payment event for every order paid before the period ends, with
  the days late as ``value`` (some customers are chronically late, more so in some
  industries). Leads only visit the web site.
* **Churn.** Active buyers churn at a monthly hazard that is higher for discontented
  customers and multiplied after a complaint or a low NPS score; a churned customer
  neither buys nor has events (except payments of earlier orders).
* **Personas.** Every buyer is one of six documented personas (loyal big spenders,
  steady regulars, bargain hunters, seasonal gifters, fading one-off buyers,
  fast-growing newcomers; see :mod:`segml.datasets._synthetic_personas`), which
  shifts their rate and basket and sets their seasonality, regularity, discount
  habit, channel, churn and growth. ``CRMData.personas`` returns each customer's
  persona (``"lead"`` for leads) as planted truth for judging a segmentation; it
  is never among the features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.datasets._synthetic_activity import (
    EVENT_KINDS,
    EventLog,
    simulate_activity,
)
from segml.datasets._synthetic_customers import draw_population
from segml.datasets._synthetic_orders import (
    Lines,
    draw_lines,
    draw_payments,
    sort_orders,
)
from segml.datasets._synthetic_params import (
    ATTRIBUTES,
    CATEGORIES,
    CHANNELS,
    PRODUCTS_PER_CATEGORY,
    SEASON,
)
from segml.datasets._synthetic_personas import (
    GIFT_SEASON,
    PERSONAS,
    persona_names,
)

__all__ = ["PERSONA_NAMES", "CRMData", "make_crm"]

#: The planted personas of :func:`make_crm`, then ``"lead"``.
PERSONA_NAMES = persona_names()

_SECOND = 86_400


@dataclass(frozen=True, eq=False)
class CRMData:
    """The three canonical tables of a synthetic CRM.

    Attributes
    ----------
    customers : DataFrame
        One row per customer: ``customer_id``, ``signup_ts``, ``industry``,
        ``region``, ``company_size``, ``employees``, ``acquisition_channel``,
        ``lead_source``.
    transactions : DataFrame
        One row per order line or return: ``customer_id``, ``ts``, ``amount``,
        ``order_id``, ``quantity``, ``cost``, ``product_id``, ``category``,
        ``channel``, ``discount``, ``status``.
    events : DataFrame
        ``customer_id``, ``ts``, ``kind`` (complaint, support_ticket, nps,
        payment, web_visit) and ``value`` (NPS score, days late, else NaN).
    personas : DataFrame
        The planted truth, one row per customer in the order of ``customers``:
        ``customer_id`` and ``persona`` (see :data:`PERSONA_NAMES`; ``"lead"``
        for a customer who never buys). It is what a segmentation should
        recover; it is not a feature and no other table depends on it.
    """

    customers: pd.DataFrame
    transactions: pd.DataFrame
    events: pd.DataFrame
    personas: pd.DataFrame

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{name}={len(getattr(self, name)):,} rows"
            for name in ("customers", "transactions", "events")
        )
        return f"CRMData({sizes})"


def make_crm(
    n_customers: int = 5000,
    *,
    seed: int = 0,
    start: str | pd.Timestamp = "2022-01-01",
    end: str | pd.Timestamp = "2024-12-31",
    lead_share: float = 0.15,
) -> CRMData:
    """Generate a synthetic CRM whose customer attributes really drive value.

    See the module description for how customers, orders, events and churn are
    simulated. All work is vectorised: ``n_customers=100_000`` gives about a
    million transaction rows in a few seconds.

    Parameters
    ----------
    n_customers : int, default 5000
        Number of customers, leads included.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical
        tables.
    start, end : str or Timestamp, default "2022-01-01" and "2024-12-31"
        First and last day of the period (both included). Sign-ups, transactions
        and events all fall inside it.
    lead_share : float, default 0.15
        Share of customers that are leads: they sign up (many of them late in the
        period) but never buy.

    Returns
    -------
    CRMData
        ``customers``, ``transactions`` and ``events`` in segml's canonical form
        (as returned by :func:`segml.data.validate_customers` and friends): ids
        and text are the pandas ``str`` dtype, times ``datetime64[us]``, numbers
        ``float64``. Transactions are sorted by time, events by time.

    Examples
    --------
    >>> crm = make_crm(200, seed=1)
    >>> crm
    CRMData(customers=200 rows, transactions=... rows, events=... rows)
    >>> len(crm.customers), crm.customers["customer_id"].iloc[0]
    (200, 'C000001')
    >>> list(crm.transactions.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['customer_id', 'ts', 'amount', 'order_id', 'quantity', 'cost', 'product_id',
     'category', 'channel', 'discount', 'status']
    >>> sorted(crm.events["kind"].unique())
    ['complaint', 'nps', 'payment', 'support_ticket', 'web_visit']
    >>> bought = crm.customers["customer_id"].isin(crm.transactions["customer_id"])
    >>> int((~bought).sum())  # the leads
    30
    """
    n_customers = _check_args(n_customers, lead_share)
    first_day, bounds = _month_bounds(start, end)
    days = float(bounds[-1])
    month_of_year = _months_of_year(first_day, bounds) - 1
    season = np.stack(
        [GIFT_SEASON if p.season == "gift" else SEASON for p in PERSONAS]
    )[:, month_of_year]
    rng_people, rng_activity, rng_lines, rng_pay = np.random.default_rng(seed).spawn(4)

    people = draw_population(n_customers, lead_share, days, rng_people)
    activity = simulate_activity(people, bounds, season, rng_activity)
    customer, time = sort_orders(activity.order_customer, activity.order_time)
    lines = draw_lines(people, customer, time, days, rng_lines)
    payments = draw_payments(people, customer, time, days, rng_pay)

    ids = _ids("C", n_customers, start_at=1)
    origin = np.datetime64(first_day.to_datetime64(), "us")
    customers = pd.DataFrame(
        {
            "customer_id": _text(ids, np.arange(n_customers)),
            "signup_ts": _times(origin, people.signup),
            **{
                a.name: _text(np.asarray(a.levels, dtype=object), people.codes[a.name])
                for a in ATTRIBUTES
            },
        }
    )
    customers.insert(5, "employees", people.employees.astype("float64"))
    return CRMData(
        customers=customers,
        transactions=_transactions(lines, ids, origin, len(customer)),
        events=_events(EventLog.concat([activity.events, payments]), ids, origin),
        personas=pd.DataFrame(
            {
                "customer_id": customers["customer_id"],
                "persona": _text(
                    np.asarray(PERSONA_NAMES, dtype=object), people.persona
                ),
            }
        ),
    )


def _transactions(
    lines: Lines, ids: np.ndarray, origin: np.datetime64, n_orders: int
) -> pd.DataFrame:
    products = _ids("P", len(CATEGORIES) * PRODUCTS_PER_CATEGORY, start_at=1, width=4)
    categories = np.asarray([c.name for c in CATEGORIES], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": _text(ids, lines.customer),
            "ts": _times(origin, lines.time),
            "amount": lines.amount,
            "order_id": _text(_ids("O", n_orders, start_at=1, width=7), lines.order),
            "quantity": lines.quantity,
            "cost": lines.cost,
            "product_id": _text(products, lines.product),
            "category": _text(categories, lines.product // PRODUCTS_PER_CATEGORY),
            "channel": _text(np.asarray(CHANNELS, dtype=object), lines.channel),
            "discount": lines.discount,
            "status": _text(
                np.asarray(["completed", "returned"], dtype=object),
                lines.returned.astype("int64"),
            ),
        }
    )


def _events(log: EventLog, ids: np.ndarray, origin: np.datetime64) -> pd.DataFrame:
    order = np.lexsort((log.kind, log.customer, log.time))
    return pd.DataFrame(
        {
            "customer_id": _text(ids, log.customer[order]),
            "ts": _times(origin, log.time[order]),
            "kind": _text(np.asarray(EVENT_KINDS, dtype=object), log.kind[order]),
            "value": log.value[order].astype("float64"),
        }
    )


def _check_args(n_customers: int, lead_share: float) -> int:
    if isinstance(n_customers, bool) or int(n_customers) != n_customers:
        raise TypeError(f"n_customers must be an integer, got {n_customers!r}")
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    if not 0.0 <= lead_share <= 1.0:
        raise ValueError(f"lead_share must be between 0 and 1, got {lead_share}")
    return int(n_customers)


def _month_bounds(start, end) -> tuple[pd.Timestamp, np.ndarray]:
    """First day and the month starts in days from it (the period end last)."""
    first = pd.Timestamp(start).normalize()
    stop = pd.Timestamp(end).normalize() + pd.Timedelta(days=1)
    if first.tz is not None or stop.tz is not None:
        raise ValueError("start and end must be naive dates (no time zone)")
    if stop <= first:
        raise ValueError(f"end ({end}) must not be before start ({start})")
    inner = pd.date_range(first, stop, freq="MS")
    stamps = pd.DatetimeIndex([first, *inner, stop]).unique().sort_values()
    return first, ((stamps - first) / pd.Timedelta(days=1)).to_numpy(dtype="float64")


def _months_of_year(first: pd.Timestamp, bounds: np.ndarray) -> np.ndarray:
    starts = first + pd.to_timedelta(bounds[:-1], unit="D")
    return np.asarray(starts.month, dtype="int64")


def _ids(prefix: str, n: int, *, start_at: int, width: int = 6) -> np.ndarray:
    width = max(width, len(str(n + start_at - 1)))
    return np.asarray(
        [f"{prefix}{i:0{width}d}" for i in range(start_at, start_at + n)], dtype=object
    )


def _text(labels: np.ndarray, codes: np.ndarray) -> pd.Series:
    """``labels[codes]`` as the pandas ``str`` dtype."""
    return pd.Series(labels[codes], dtype="str")


def _times(origin: np.datetime64, days: np.ndarray) -> pd.Series:
    """Days since ``origin`` as whole-second ``datetime64[us]`` timestamps."""
    seconds = np.floor(days * _SECOND).astype("int64")
    return pd.Series(
        origin + seconds.astype("timedelta64[s]").astype("timedelta64[us]")
    )
