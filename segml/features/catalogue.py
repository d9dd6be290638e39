"""The feature catalogue: every feature's name, family, definition, unit and
missing-value rule, in the order of the output columns.

``docs/features.md`` is generated from it (``python -m
segml.features.catalogue > docs/features.md``) and a test keeps both in sync
with the columns :func:`~segml.features.build_features` returns.

Examples
--------
>>> len(feature_names()) >= 30
True
>>> CATALOGUE["recency_days"].family
'lifecycle'
"""

from __future__ import annotations

from segml.features import behaviour, lifecycle, loyalty, value
from segml.features.base import Feature

__all__ = ["CATALOGUE", "FAMILIES", "FEATURES", "feature_names", "to_markdown"]

DEFAULT_WINDOWS = (90, 365)
FAMILIES = ("value", "behaviour", "lifecycle", "loyalty", "attributes")
FEATURES: tuple[Feature, ...] = (
    *value.FEATURES,
    *behaviour.FEATURES,
    *lifecycle.FEATURES,
    *loyalty.FEATURES,
)
CATALOGUE: dict[str, Feature] = {
    name: f for f in FEATURES for name in f.expand(DEFAULT_WINDOWS)
}


def feature_names(windows: tuple[int, ...] = DEFAULT_WINDOWS) -> list[str]:
    """Output columns (before attributes) for the given trailing windows."""
    return [name for f in FEATURES for name in f.expand(tuple(windows))]


def dtypes(windows: tuple[int, ...] = DEFAULT_WINDOWS) -> dict[str, str]:
    """Output dtype of each feature column."""
    return {name: f.dtype for f in FEATURES for name in f.expand(tuple(windows))}


_INTRO = """\
# Feature catalogue

Generated from `segml/features/catalogue.py` by
`python -m segml.features.catalogue > docs/features.md`; a test fails when this
page and the code disagree. `build_features(transactions, customers, events,
as_of=...)` returns these columns, in this order, one row per customer known at
`as_of` (indexed by `customer_id`), followed by the customer attributes.

Conventions:

- Only rows with `ts <= as_of` are used, in every table.
- A *lead* is a customer of the customers table (signed up at or before `as_of`,
  or with no `signup_ts`) without a transaction at or before `as_of`; it has
  `has_history = False`. Sums and counts of a lead are 0; averages, ratios and
  durations are NaN.
- Every numeric feature is `float64`, counts included (so that a missing
  optional input can be NaN); `has_history` and `is_repeat` are `bool`;
  `lifecycle_stage` is a pandas `Categorical` with the categories
  prospect, new, active, at_risk, churned.
- A feature whose input column is absent (e.g. `margin` without `cost`) is NaN
  for everyone.
- Names with `{w}` exist once per trailing window (`windows=(90, 365)` by
  default); the trends compare the first window with the one before it.
- Days are UTC calendar days; durations are fractional days.
- Reproducibility: DuckDB runs on one thread unless `engine_settings` give
  `threads`, and two builds of the same data are then identical bit for bit.
  With several threads (e.g. `engine_settings={"threads": 8}`, faster on a
  large machine) the float sums (spend and margin features, `spend_share`, the
  trends) of two identical builds may differ in the last bits (~1e-16
  relative), enough to change a model trained on them; counts, dates, minima
  and maxima are exact.
"""

_ATTRIBUTES = """\

## attributes

| name | definition | unit | missing |
|---|---|---|---|
| *every column of the customers table except `customer_id` and `signup_ts`* \
| passed through with its dtype (categoricals stay categorical, strings stay \
`str`, numbers stay numbers), for the cold-start path | as given | missing for \
a customer absent from the customers table |
"""

_RFM = """
## For buy-till-you-die models: `rfm_summary`

`segml.features.rfm_summary(transactions, as_of=..., freq="D")` returns
`frequency`, `recency`, `T` and `monetary_value` per customer in the
conventions of lifetimes and pymc-marketing (purchases summed per day or week;
`frequency` counts the repeat periods; `monetary_value` is the mean spend of
the repeat periods, 0 without any). It equals lifetimes'
`summary_data_from_transaction_data` when `as_of` is the last instant of a day:
lifetimes counts the whole day of `observation_period_end`, segml's `as_of` is
an inclusive instant as everywhere else (BENCHMARKS.md: checked equal on the
1 M-row benchmark log, and timed against it).
"""


def to_markdown() -> str:
    """The catalogue page (``docs/features.md``)."""
    parts = [_INTRO]
    for family in FAMILIES[:-1]:
        rows = [f for f in FEATURES if f.family == family]
        parts.append(f"\n## {family} ({len(rows)} entries)\n")
        parts.append("| name | definition | unit | missing |\n|---|---|---|---|")
        for f in rows:
            name = f"`{f.name}`"
            parts.append(f"| {name} | {f.definition} | {f.unit} | {f.missing} |")
    parts.append(_ATTRIBUTES)
    parts.append(
        f"\n{len(feature_names())} feature columns with the default windows.\n"
    )
    parts.append(_RFM)
    return "\n".join(parts)


if __name__ == "__main__":  # pragma: no cover
    print(to_markdown(), end="")
