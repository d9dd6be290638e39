"""Benchmark: ``segml report`` time and file size at 10 k, 100 k and 1 M customers.

Generates a synthetic transaction log (about five orders per customer over
three years, customers arriving throughout), then times
:func:`segml.report.build_report` without a model (the descriptive report:
tiers per month over 12 months, Pareto, migration, RFM, clusters, stability)
and reports the seconds of each stage and the size of the HTML file. Goal
(issue 14): 1 M customers in under 60 s, a file under 10 MB (under 5 MB at
100 k). Results go to the ``report`` section of BENCHMARKS.md.

Run: ``python benchmarks/report.py [--sizes 1e4 1e5 1e6]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, markdown_table, write_section  # noqa: E402

START = pd.Timestamp("2022-01-01")
END = pd.Timestamp("2024-12-31")
GOAL_SECONDS, GOAL_MB = 60.0, 10.0


def make_transactions(n_customers: int, seed: int = 0) -> pd.DataFrame:
    """About five orders per customer between their arrival and the end."""
    rng = np.random.default_rng(seed)
    span = (END - START).days
    arrival = rng.integers(0, span, n_customers)
    orders = rng.poisson(4.0, n_customers) + 1
    owner = np.repeat(np.arange(n_customers), orders)
    first = arrival[owner]
    day = first + (rng.random(len(owner)) * (span - first)).astype("int64")
    scale = rng.lognormal(3.5, 1.0, n_customers)[owner]
    amount = np.round(scale * rng.lognormal(0.0, 0.5, len(owner)), 2)
    ts = (
        START
        + pd.to_timedelta(day, "D")
        + pd.to_timedelta(rng.integers(0, 86_400, len(owner)), "s")
    )
    ids = np.char.add("C", np.char.zfill(owner.astype("U8"), 8))
    frame = pd.DataFrame(
        {"customer_id": ids.astype(object), "ts": ts.astype("M8[us]"), "amount": amount}
    )
    return frame.astype({"customer_id": "str"})


def stage_seconds(profile: cProfile.Profile) -> dict[str, float]:
    """Cumulative seconds of the report's main stages, from a profile."""
    stats = pstats.Stats(profile)
    wanted = {
        "period_tiers": "tiers per period",
        "build_features": "features",
        "clusters_section": "clusters",
        "rfm_section": "RFM",
        "pareto_section": "Pareto",
        "migration_section": "migration",
        "stability_section": "stability",
        "figure_chart": "rendering charts",
    }
    found: dict[str, float] = {}
    for (_file, _line, name), row in stats.stats.items():
        if name in wanted:
            found[wanted[name]] = found.get(wanted[name], 0.0) + row[3]
    return found


def run(n_customers: int) -> dict[str, object]:
    from segml.report import build_report

    tx = make_transactions(n_customers)
    with tempfile.TemporaryDirectory(prefix="segml-bench-report-") as folder:
        out = Path(folder) / "report.html"
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        build_report(tx, out=out)
        profile.disable()
        seconds = time.perf_counter() - start
        size = out.stat().st_size / 1e6
    stages = stage_seconds(profile)
    return {
        "customers": n_customers,
        "transactions": len(tx),
        "seconds": seconds,
        "mb": size,
        "stages": stages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rows, notes = [], []
    for size in args.sizes:
        result = run(int(size))
        stages = result["stages"]
        slowest = sorted(stages.items(), key=lambda kv: -kv[1])[:4]
        print(
            f"{result['customers']:>9,} customers  {result['seconds']:6.1f} s  "
            f"{result['mb']:5.2f} MB  "
            + ", ".join(f"{k} {v:.1f} s" for k, v in slowest),
            flush=True,
        )
        met = result["seconds"] < GOAL_SECONDS and result["mb"] < GOAL_MB
        rows.append(
            [
                f"{result['customers']:,}",
                f"{result['transactions']:,}",
                f"{result['seconds']:.1f}",
                f"{result['mb']:.2f}",
                "; ".join(f"{k} {v:.1f}" for k, v in slowest),
                "met" if met else "missed",
            ]
        )
    if args.no_write:
        return
    table = markdown_table(
        [
            "customers",
            "transactions",
            "seconds",
            "file (MB)",
            "slowest stages (s, cumulative)",
            f"goal (< {GOAL_SECONDS:.0f} s, < {GOAL_MB:.0f} MB)",
        ],
        rows,
    )
    body = (
        "## `segml report`: time and file size\n\n"
        f"`python benchmarks/report.py` on {machine()}. One run per size (the "
        "1 M run is long); a synthetic log of about five orders per customer over "
        "three years; the descriptive report (12 months of tiers, Pareto, "
        "migration, RFM grid, clusters, stability) without a model, through "
        "`segml.report.build_report`. Stages are cumulative profile times and "
        "overlap (charts are rendered inside their sections).\n\n"
        f"{table}\n" + "".join(f"\n{n}\n" for n in notes)
    )
    write_section("report", body)


if __name__ == "__main__":
    main()
