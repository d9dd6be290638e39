"""Order lines, returns and payments of the synthetic CRM."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segml.datasets._synthetic_activity import PAYMENT, EventLog
from segml.datasets._synthetic_customers import Population, draw_rows
from segml.datasets._synthetic_params import (
    CATEGORIES,
    CATEGORY_PREFERENCE,
    CHANNEL_DISCOUNT,
    CHANNELS,
    PRODUCTS_PER_CATEGORY,
)
from segml.datasets._synthetic_personas import PERSONAS, persona_array

__all__ = ["Lines", "draw_lines", "draw_payments", "sort_orders"]

#: Days to pay an invoice before it counts as late.
PAYMENT_TERMS = 30.0


@dataclass(frozen=True)
class Lines:
    """Transaction rows as parallel arrays, sorted by time then order.

    ``order`` numbers orders in time order; ``product`` indexes the catalogue
    (``product // PRODUCTS_PER_CATEGORY`` is the category); ``returned`` marks
    the negative rows.
    """

    order: np.ndarray
    customer: np.ndarray
    time: np.ndarray
    amount: np.ndarray
    quantity: np.ndarray
    cost: np.ndarray
    product: np.ndarray
    channel: np.ndarray
    discount: np.ndarray
    returned: np.ndarray


def sort_orders(customer: np.ndarray, time: np.ndarray):
    """Orders in time order (ties by customer): ``(customer, time)`` reordered."""
    order = np.lexsort((customer, time))
    return customer[order], time[order]


def draw_lines(
    people: Population,
    customer: np.ndarray,
    time: np.ndarray,
    days: float,
    rng: np.random.Generator,
) -> Lines:
    """Draw the lines of orders ``(customer, time)`` (in time order) and returns."""
    n_orders = len(customer)
    price, margin = _catalogue(rng)
    size_code = people.codes["company_size"][customer]
    value = np.exp(people.log_size[customer] + rng.normal(0.0, 0.45, n_orders))
    channel = np.where(
        rng.random(n_orders) < 0.75,
        people.channel[customer],
        rng.integers(0, len(CHANNELS), n_orders),
    )
    persona = np.minimum(people.persona[customer], len(PERSONAS) - 1)
    mean_discount = (CHANNEL_DISCOUNT[channel] + 0.015 * size_code) * persona_array(
        "discount"
    )[persona]
    discount = np.where(
        rng.random(n_orders) >= persona_array("discounted")[persona],
        0.0,
        np.minimum(np.round(rng.gamma(2.0, mean_discount / 2), 2), 0.5),
    )
    extra = people.extra_lines[customer]
    n_lines = 1 + rng.poisson(extra)

    line_order = np.repeat(np.arange(n_orders), n_lines)
    line_customer = customer[line_order]
    category = draw_rows(
        CATEGORY_PREFERENCE, people.codes["industry"][line_customer], rng
    )
    rank = np.floor(PRODUCTS_PER_CATEGORY * rng.random(len(line_order)) ** 1.8)
    product = category * PRODUCTS_PER_CATEGORY + rank.astype("int64")
    # one line per product and order
    _, first = np.unique(line_order * len(price) + product, return_index=True)
    keep = np.sort(first)
    line_order, line_customer, product = (
        line_order[keep],
        line_customer[keep],
        product[keep],
    )
    category = category[keep]

    n = len(line_order)
    cat_value = np.array([c.value for c in CATEGORIES])[category]
    gross = (
        value[line_order]
        * cat_value
        * rng.lognormal(0.0, 0.5, n)
        / (1 + extra[line_order])
    )
    gross = np.maximum(gross, 1.0)
    quantity = np.maximum(1.0, np.round(gross / price[product]))
    line_discount = discount[line_order]
    amount = np.round(gross * (1 - line_discount), 2)
    cost = np.round(gross * (1 - margin[product]) * rng.lognormal(0.0, 0.05, n), 2)
    sales = Lines(
        order=line_order,
        customer=line_customer,
        time=time[line_order],
        amount=amount,
        quantity=quantity,
        cost=cost,
        product=product,
        channel=channel[line_order],
        discount=line_discount,
        returned=np.zeros(n, dtype=bool),
    )
    return _with_returns(sales, people, category, days, rng)


def draw_payments(
    people: Population,
    customer: np.ndarray,
    time: np.ndarray,
    days: float,
    rng: np.random.Generator,
) -> EventLog:
    """One payment event per order paid before the period ends; value = days late."""
    n = len(customer)
    chronic = np.round(rng.gamma(2.0, 9.0, n))
    occasional = np.where(rng.random(n) < 0.8, 0.0, np.ceil(rng.exponential(3.0, n)))
    late = np.where(people.late_payer[customer], chronic, occasional)
    paid = time + PAYMENT_TERMS + late + rng.random(n)
    keep = paid < days
    return EventLog(
        customer[keep], paid[keep], np.full(int(keep.sum()), PAYMENT), late[keep]
    )


def _with_returns(
    sales: Lines,
    people: Population,
    category: np.ndarray,
    days: float,
    rng: np.random.Generator,
) -> Lines:
    """Add returns (goods back, full line) and refunds (part of the price, no goods)."""
    n = len(sales.order)
    rate = np.array([c.returns for c in CATEGORIES])[category]
    rate = rate * np.exp(0.4 * people.discontent[sales.customer])
    when = sales.time + 1.0 + rng.exponential(12.0, n)
    hit = np.flatnonzero((rng.random(n) < rate) & (when < days))
    full = rng.random(len(hit)) < 0.75
    share = np.where(full, 1.0, rng.uniform(0.1, 0.5, len(hit)))
    refund = np.minimum(-np.round(sales.amount[hit] * share, 2), -0.01)
    back = Lines(
        order=sales.order[hit],
        customer=sales.customer[hit],
        time=when[hit],
        amount=refund,
        quantity=np.where(full, -sales.quantity[hit], 0.0),
        cost=np.where(full, -sales.cost[hit], 0.0),
        product=sales.product[hit],
        channel=sales.channel[hit],
        discount=sales.discount[hit],
        returned=np.ones(len(hit), dtype=bool),
    )
    fields = Lines.__dataclass_fields__
    joined = {f: np.concatenate([getattr(sales, f), getattr(back, f)]) for f in fields}
    order = np.lexsort((joined["returned"], joined["order"], joined["time"]))
    return Lines(**{f: v[order] for f, v in joined.items()})


def _catalogue(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """List price and margin rate of every product, category after category."""
    per = PRODUCTS_PER_CATEGORY
    base_price = np.repeat([c.price for c in CATEGORIES], per)
    base_margin = np.repeat([c.margin for c in CATEGORIES], per)
    price = np.round(base_price * rng.lognormal(0.0, 0.35, len(base_price)), 2)
    margin = np.clip(base_margin + rng.normal(0.0, 0.05, len(base_margin)), 0.02, 0.9)
    return price, margin
