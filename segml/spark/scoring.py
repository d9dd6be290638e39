"""Score a Spark DataFrame with the registered segml model (``spark_udf``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["result_type", "score_spark", "spark_udf"]


def result_type(tiers: Sequence[str] = ("A", "B", "C"), n_reasons: int = 3) -> str:
    """Spark DDL of the predict contract's columns.

    Examples
    --------
    >>> result_type(("A", "B"), n_reasons=1)
    'customer_id string, tier string, p_A double, p_B double, route string, model string, tier_score double, segment string, reason_1 string'
    """  # noqa: E501
    parts = ["customer_id string", "tier string"]
    parts += [f"p_{t} double" for t in tiers]
    parts += ["route string", "model string", "tier_score double", "segment string"]
    parts += [f"reason_{k + 1} string" for k in range(n_reasons)]
    return ", ".join(parts)


def spark_udf(
    spark: SparkSession,
    model_uri: str,
    *,
    tiers: Sequence[str] = ("A", "B", "C"),
    n_reasons: int = 3,
) -> Callable[..., Column]:
    """A pandas UDF that runs the segml pyfunc model on Spark executors.

    Wraps :func:`mlflow.pyfunc.spark_udf` with the predict contract's result
    type and the local environment (the executors use the driver's Python, set
    through ``PYSPARK_PYTHON``). Call it on **one struct of named columns** —
    ``udf(struct(*df.columns))`` — so columns are matched by name; plain
    positional arguments are matched to the signature by position.
    """
    import mlflow

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return mlflow.pyfunc.spark_udf(
        spark,
        model_uri,
        result_type=result_type(tiers, n_reasons),
        env_manager="local",
    )


def score_spark(
    frame: DataFrame,
    model_uri: str,
    *,
    tiers: Sequence[str] = ("A", "B", "C"),
    n_reasons: int = 3,
) -> DataFrame:
    """Score every row of a Spark DataFrame; returns the predict contract's columns.

    ``frame`` holds one row per customer with ``customer_id``, attribute columns
    and, when known, history feature columns (e.g. from
    :func:`segml.spark.build_features`).

    Examples
    --------
    Run on a cluster or in local mode (not executed here)::

        from pyspark.sql import SparkSession
        from segml.spark import score_spark

        spark = SparkSession.builder.config(
            "spark.sql.session.timeZone", "UTC").getOrCreate()
        customers = spark.read.parquet("features/")
        scored = score_spark(customers, "models:/segml-tier@champion")
        scored.write.parquet("scored/")
    """
    from pyspark.sql import functions as F

    udf = spark_udf(frame.sparkSession, model_uri, tiers=tiers, n_reasons=n_reasons)
    columns = [c for c in frame.columns if c != "__segml"]
    scored = frame.withColumn("__segml", udf(F.struct(*columns)))
    return scored.select("__segml.*")
