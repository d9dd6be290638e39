"""Benchmark: how much tier churn hysteresis removes on CDNOW, month by month.

Tiers are cut at every month end of the CDNOW log (1997-01 .. 1998-06) with
:func:`segml.tiers.period_tiers`, for the count rule (5 / 15 / 80 % of
customers) and the cumulative value rule (80 / 15 / 5 % of value), on each
customer's net spend over the trailing ``--window`` days (default 180, the
``training.horizon_days`` a run tiers on). The population is every customer
with a purchase by the month end (all 23,570 bought in Q1 1997).

For each hysteresis margin (none, then ``tiers.hysteresis`` = 0 .. 0.3):

* **churn**: the share of customers tiered in two consecutive months whose
  tier changed (:func:`segml.monitor.tier_change`), averaged over the month
  pairs; **removed** is the relative drop against no hysteresis;
* **A churn**: customers entering plus leaving A per month, over the size of
  A, averaged;
* **share drift**: how far the first tier's share moves from what the rule
  promises, mean and largest absolute difference over the months, in
  percentage points: the share of customers for the count rule (5 %), of
  value for the value rule (80 %).

The pairs from 1997-04 on are reported apart (``steady``): in Q1 1997 the
whole customer base arrives, and most changes are first purchases.

Run: ``python benchmarks/tiers.py [--window 180] [--no-write]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, markdown_table, write_section  # noqa: E402

from segml.datasets import load_cdnow  # noqa: E402
from segml.monitor import tier_change  # noqa: E402
from segml.tiers import COUNT_SHARES, VALUE_SHARES, period_tiers  # noqa: E402

AS_OF = "1998-06-30 23:59:59.999999"
MARGINS = (None, 0.0, 0.05, 0.1, 0.2, 0.3)
STEADY_FROM = "1997-04"


def measure(tx: pd.DataFrame, rule: str, margin: float | None, window: int) -> dict:
    """Churn and share drift of one rule and margin over the months."""
    start = time.perf_counter()
    pt = period_tiers(
        tx, as_of=AS_OF, period="month", rule=rule, window_days=window,
        hysteresis=margin,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    periods = pt.periods
    churn, a_churn, steady, steady_a, zero = [], [], [], [], []
    for before, after in zip(periods[:-1], periods[1:], strict=True):
        change = tier_change(pt.at(before), pt.at(after), tiers=pt.labels)
        row = pt.summary.loc[
            (pt.summary["period"] == after) & (pt.summary["tier"] == pt.labels[0])
        ].iloc[0]
        moved_a = (row["entered"] + row["left"]) / max(row["customers"], 1)
        churn.append(change.share)
        moved = pt.changes.loc[pt.changes["period"] == after]
        zero.append((moved["value"] <= 0).sum() / max(change.customers, 1))
        a_churn.append(moved_a)
        if after >= STEADY_FROM:
            steady.append(change.share)
            steady_a.append(moved_a)
    top = pt.summary.loc[pt.summary["tier"] == pt.labels[0]]
    promised = (COUNT_SHARES if rule == "count" else VALUE_SHARES)[0]
    share = top["customer_share"] if rule == "count" else top["value_share"]
    drift = (share - promised).abs().to_numpy() * 100
    return {
        "churn": float(np.mean(churn)),
        "to_zero": float(np.mean(zero)),
        "a_churn": float(np.mean(a_churn)),
        "steady": float(np.mean(steady)),
        "steady_a": float(np.mean(steady_a)),
        "drift_mean": float(drift.mean()),
        "drift_max": float(drift.max()),
        "seconds": seconds,
        "months": len(periods),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--window", type=int, default=180)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    tx = load_cdnow()
    rows, last = [], {}
    for rule in ("count", "value"):
        base = None
        for margin in MARGINS:
            r = measure(tx, rule, margin, args.window)
            base = base or r
            removed = 1 - r["churn"] / base["churn"] if base["churn"] else 0.0
            removed_steady = 1 - r["steady"] / base["steady"] if base["steady"] else 0
            rows.append(
                [
                    rule,
                    "none" if margin is None else f"{margin:g}",
                    f"{r['churn']:.2%}",
                    f"{removed:.0%}" if margin is not None else "",
                    f"{r['steady']:.2%}",
                    f"{removed_steady:.0%}" if margin is not None else "",
                    f"{r['to_zero']:.2%}",
                    f"{r['a_churn']:.1%}",
                    f"{r['steady_a']:.1%}",
                    f"{r['drift_mean']:.2f} / {r['drift_max']:.2f}",
                    f"{r['seconds']:.1f}",
                ]
            )
            print(rows[-1], flush=True)
            last[rule] = r
    table = markdown_table(
        [
            "rule",
            "margin",
            "churn",
            "removed",
            "steady churn",
            "removed (steady)",
            "of which to no spend",
            "A churn",
            "A churn (steady)",
            "A share drift, pp mean / max",
            "s",
        ],
        rows,
    )

    def floor(rule: str) -> float:
        return last[rule]["to_zero"] / last[rule]["churn"]

    text = (
        "## Stable tiers: hysteresis on CDNOW month by month "
        "(`benchmarks/tiers.py`)\n\n"
        f"{machine()}. Tiers at each of the {r['months']} month ends of CDNOW "
        f"(1997-01 .. 1998-06) on net spend over the trailing {args.window} days; "
        "all 23,570 customers. *churn*: share of customers whose tier changed "
        "from one month to the next, mean over the month pairs (*steady*: pairs "
        f"from {STEADY_FROM} on, after the Q1 1997 arrivals); *removed*: relative "
        "drop against no hysteresis; *of which to no spend*: customers "
        "whose change left them without spend in the window (they fall to the "
        "last tier whatever the margin), as a share of all customers; *A churn*: "
        "customers entering plus leaving A "
        "per month over the size of A; *A share drift*: distance of A's share of "
        "customers (count rule, 5 %) or of value (value rule, 80 %) from the "
        "rule's, in percentage points; *s*: seconds for all months.\n\n"
        f"{table}\n\n"
        "A margin trades churn for drift from the rule's shares: the tiers a "
        "customer keeps are by definition not those the rule would give this "
        "month. Margin 0 only undoes moves caused by ties at a threshold. At the "
        f"largest margin ({MARGINS[-1]:g}), {floor('count'):.0%} (count rule) and "
        f"{floor('value'):.0%} (value rule) of the churn left are customers whose "
        "last purchase left the trailing window, which no margin keeps (they have "
        "no spend): a longer window (`--window 365`) is the other lever.\n"
    )
    print(text)
    if not args.no_write:
        write_section("tiers", text)


if __name__ == "__main__":
    main()
