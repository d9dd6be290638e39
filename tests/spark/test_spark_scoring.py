"""Scoring on Spark with the registered model gives segml.predict's answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from segml.spark import score_spark  # noqa: E402
from segml.tracking.serve import as_served  # noqa: E402


def test_spark_udf_matches_predict_row_by_row(spark, trained):
    rows = trained.outcome.snapshot.reset_index()
    rows = pd.concat(
        [
            rows.loc[rows["has_history"]].head(40),
            rows.loc[~rows["has_history"]].head(10),
        ],
        ignore_index=True,
    )
    rows = as_served(rows)
    frame = spark.createDataFrame(rows)
    scored = score_spark(frame, "models:/segml-test-tier@candidate").toPandas()
    expected = trained.outcome.pipeline.predict(rows)
    scored = scored.set_index("customer_id").loc[rows["customer_id"]].reset_index()
    assert len(scored) == len(rows)
    assert scored["tier"].tolist() == expected["tier"].tolist()
    assert scored["route"].tolist() == expected["route"].tolist()
    assert scored["segment"].tolist() == expected["segment"].tolist()
    for tier in ("A", "B", "C"):
        np.testing.assert_allclose(scored[f"p_{tier}"], expected[f"p_{tier}"])
    assert scored["reason_1"].tolist() == expected["reason_1"].tolist()
