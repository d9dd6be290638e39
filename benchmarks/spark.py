"""Benchmark: the feature catalogue on Spark (local mode) beside DuckDB.

Writes synthetic CRM data with :func:`segml.datasets.make_crm` as Parquet
folders (one chunk of 100 000 customers, about 1 M transactions, per seed;
chunks get distinct customer and order id prefixes), then times on the same
files:

* ``segml.features.build_features`` (DuckDB, in process, reading the Parquet
  folders in place), to pandas;
* ``segml.spark.build_features`` on a ``local[2]`` Spark session reading the
  same folders, forced to completion with Spark's ``noop`` sink (every
  feature is computed, nothing is collected to the driver).

Both build the full catalogue from transactions, customers and events at one
cutoff. Results go to the ``spark`` section of BENCHMARKS.md.

Run: ``python benchmarks/spark.py [--chunks 1 10] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, markdown_table, write_section  # noqa: E402

AS_OF = pd.Timestamp("2024-07-01")
PER_CHUNK = 100_000
ROOT = Path(os.environ.get("SEGML_SCRATCH", "/tmp")) / "segml-spark-bench"


def write_data(chunks: int) -> tuple[Path, int]:
    """Parquet folders of ``chunks`` make_crm chunks; (folder, transactions)."""
    from segml.datasets import make_crm

    folder = ROOT / f"chunks{chunks}"
    done = folder / "_rows"
    if done.exists():
        return folder, int(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    rows = 0
    for seed in range(chunks):
        data = make_crm(PER_CHUNK, seed=seed)
        prefix = f"K{seed:02d}-"
        for name in ("transactions", "customers", "events"):
            frame = getattr(data, name).copy()
            frame["customer_id"] = prefix + frame["customer_id"]
            if "order_id" in frame.columns:
                frame["order_id"] = prefix + frame["order_id"]
            (folder / name).mkdir(parents=True, exist_ok=True)
            frame.to_parquet(folder / name / f"part-{seed:03d}.parquet", index=False)
        rows += len(data.transactions)
    done.write_text(str(rows))
    return folder, rows


def time_duckdb(folder: Path, repeat: int) -> tuple[float, int]:
    """Median seconds of the single-machine builder, and its row count."""
    from segml.features import build_features

    times, n = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        out = build_features(
            folder / "transactions",
            folder / "customers",
            folder / "events",
            as_of=AS_OF,
        )
        times.append(time.perf_counter() - start)
        n = len(out)
    return statistics.median(times), n


def spark_session():
    """A local[2] session in UTC."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("segml-bench")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "8g")
        .config("spark.sql.shuffle.partitions", "16")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def time_spark(session, folder: Path, repeat: int) -> float:
    """Median seconds of the Spark builder to completion."""
    from segml.spark import build_features

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = build_features(
            session.read.parquet(str(folder / "transactions")),
            session.read.parquet(str(folder / "customers")),
            session.read.parquet(str(folder / "events")),
            as_of=AS_OF,
        )
        out.write.format("noop").mode("overwrite").save()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(rows: list[list[object]], pending: list[int]) -> None:
    """Write the section (after each size, so that a cut-short run leaves its
    rows)."""
    body = "\n".join(
        [
            "## Spark local mode vs the single-machine builder",
            "",
            f"`python benchmarks/spark.py` — {machine()}.",
            "",
            "The full catalogue (transactions, customers and events; "
            f"as_of={AS_OF.date()}) from the same Parquet folders "
            "(`make_crm` chunks of 100 000 customers, ~1 M transactions and "
            "~1.5 M events each). DuckDB: `segml.features.build_features` on the "
            "paths, result in pandas. Spark: `segml.spark.build_features` on a "
            "`local[2]` session (driver memory 8 GB, 16 shuffle partitions), "
            "forced with the `noop` sink. Seconds are medians of `runs` runs.",
            "",
            markdown_table(
                [
                    "transactions",
                    "customers out",
                    "DuckDB s",
                    "Spark local[2] s",
                    "Spark / DuckDB",
                    "runs",
                ],
                rows,
            ),
            "",
            "Local mode measures the cost of Spark's machinery on one machine "
            "(JVM start excluded, planning, shuffles through local disk), not a "
            "cluster: the point of the Spark path is data that does not fit one "
            "machine, where the same definitions scale out with no Python on the "
            "executors.",
        ]
        + (
            [
                "",
                f"Not measured in this run: {', '.join(map(str, pending))} chunk(s).",
            ]
            if pending
            else []
        )
    )
    write_section("spark", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    session = spark_session()
    rows = []
    for chunks in args.chunks:
        folder, n_tx = write_data(chunks)
        repeat = args.repeat if chunks == 1 else 1
        duck, n_duck = time_duckdb(folder, repeat)
        spark = time_spark(session, folder, repeat)
        print(f"{n_tx:,} tx: duckdb {duck:.1f} s, spark {spark:.1f} s", flush=True)
        rows.append(
            [
                f"{n_tx / 1e6:.1f} M",
                f"{n_duck:,}",
                f"{duck:.1f}",
                f"{spark:.1f}",
                f"{spark / duck:.1f}x",
                repeat,
            ]
        )
        report(rows, [c for c in args.chunks if c > chunks])
    session.stop()


if __name__ == "__main__":
    main()
