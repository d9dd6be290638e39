"""Customers of the synthetic CRM: attributes, sign-ups, leads and latent traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segml.datasets._synthetic_params import (
    ATTRIBUTES,
    LATE_SHARE_BY_INDUSTRY,
    LEAD_SOURCE_BY_CHANNEL,
    PREFERRED_CHANNEL,
    SIZE_EMPLOYEES,
)
from segml.datasets._synthetic_personas import draw_personas, persona_array

__all__ = ["Population", "draw_population", "draw_rows"]

#: Log of the median yearly purchase rate and of the median order value (before
#: attribute and persona effects) and the spread of each customer's own noise.
LOG_RATE, RATE_NOISE = np.log(3.2), 0.35
LOG_SIZE, SIZE_NOISE = np.log(380.0), 0.40
#: Weight of the attribute effects on rate and order value (the persona carries
#: the rest of a buyer's behaviour).
ATTRIBUTE_WEIGHT = 0.6
#: Sign-ups grow over the period: density ``1 + GROWTH * t`` on ``t`` in [0, 1].
GROWTH = 0.6
#: How much later sign-ups are more likely to still be leads (logit per period).
LEAD_LATENESS = 2.5


@dataclass(frozen=True)
class Population:
    """Everything the generator knows about each customer, one array entry each.

    ``signup`` is in days since the period start and ascending. The traits
    (``log_rate`` to ``extra_lines``) are only used for buyers. ``persona`` is the
    code of :data:`~segml.datasets._synthetic_personas.PERSONAS` (their count
    for a lead).
    """

    codes: dict[str, np.ndarray]
    employees: np.ndarray
    signup: np.ndarray
    is_lead: np.ndarray
    log_rate: np.ndarray
    log_size: np.ndarray
    discontent: np.ndarray
    late_payer: np.ndarray
    channel: np.ndarray
    extra_lines: np.ndarray
    persona: np.ndarray


def draw_rows(probs: np.ndarray, rows: np.ndarray, rng: np.random.Generator):
    """Draw one column index per entry of ``rows`` from ``probs[row]``."""
    cum = np.cumsum(probs, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(rows))
    picked = (u[:, None] >= cum[rows]).sum(axis=1)
    return np.minimum(picked, probs.shape[1] - 1)


def draw_population(
    n: int, lead_share: float, days: float, rng: np.random.Generator
) -> Population:
    """Draw ``n`` customers signing up over ``days`` days, ``lead_share`` leads."""
    frac = _signup_fractions(n, rng)
    codes: dict[str, np.ndarray] = {}
    for attribute in ATTRIBUTES:
        if attribute.name == "lead_source":
            codes["lead_source"] = draw_rows(
                LEAD_SOURCE_BY_CHANNEL, codes["acquisition_channel"], rng
            )
        else:
            codes[attribute.name] = rng.choice(
                len(attribute.levels), size=n, p=np.asarray(attribute.probs)
            )
    size = codes["company_size"]
    bounds = np.log(np.asarray(SIZE_EMPLOYEES, dtype="float64") + [0.0, 1.0])
    employees = np.floor(np.exp(rng.uniform(bounds[size, 0], bounds[size, 1])))

    effect = {
        kind: sum(a.effect(kind, codes[a.name]) for a in ATTRIBUTES)
        for kind in ("rate", "size", "lead")
    }
    is_lead = np.zeros(n, dtype=bool)
    n_leads = round(lead_share * n)
    if n_leads:
        keys = effect["lead"] + LEAD_LATENESS * frac + rng.gumbel(size=n)
        is_lead[np.argsort(-keys, kind="stable")[:n_leads]] = True

    persona = draw_personas(frac, size, is_lead, rng)
    buyer = np.minimum(persona, len(persona_array("name")) - 1)
    z_rate, z_size, discontent = rng.standard_normal((3, n))
    z_size = 0.3 * z_rate + np.sqrt(1 - 0.3**2) * z_size
    late_share = LATE_SHARE_BY_INDUSTRY[codes["industry"]] * np.where(size <= 1, 1.3, 1)
    channel = draw_rows(PREFERRED_CHANNEL, codes["acquisition_channel"], rng)
    big = (size >= 3) & (rng.random(n) < 0.4)
    channel = np.where(big, 1, channel)  # large companies buy through a sales rep
    habit = persona_array("channel")[buyer]
    channel = np.where((habit >= 0) & (rng.random(n) < 0.85), habit, channel)
    w = ATTRIBUTE_WEIGHT
    return Population(
        codes=codes,
        employees=employees,
        signup=frac * days,
        is_lead=is_lead,
        log_rate=LOG_RATE
        + w * effect["rate"]
        + persona_array("rate")[buyer]
        + RATE_NOISE * z_rate,
        log_size=LOG_SIZE
        + w * effect["size"]
        + persona_array("size")[buyer]
        + SIZE_NOISE * z_size,
        discontent=discontent,
        late_payer=rng.random(n) < late_share,
        channel=channel,
        extra_lines=0.2 + 0.3 * size,
        persona=persona,
    )


def _signup_fractions(n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted sign-up times as fractions of the period, density ``1 + GROWTH * t``."""
    v = rng.random(n)
    g = GROWTH
    t = (np.sqrt(1 + 2 * g * v * (1 + g / 2)) - 1) / g
    return np.sort(t)
