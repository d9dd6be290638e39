"""Spark features equal the single-machine (DuckDB) features, feature by feature.

Dtype alignment: Spark returns every numeric feature as ``double``, the flags
as ``boolean`` and ``lifecycle_stage`` as ``string``; :func:`to_pandas` maps
them to the catalogue's dtypes (float64, bool, the stage ``Categorical``) and
string columns to pandas ``str``. The customer attributes of ``make_crm`` are
``str`` and float64 on both sides, so no column needs more than that.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from segml.datasets import make_crm
from segml.features import build_features
from segml.features.catalogue import feature_names

AS_OF = pd.Timestamp("2024-09-16 12:58:56.4")  # sub-second on purpose


def sdf(spark, frame: pd.DataFrame):
    """A Spark DataFrame through Arrow (pandas 3 frames trip PySpark's own
    pandas conversion into a slow fallback)."""
    return spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))


@pytest.fixture(scope="module")
def crm():
    return make_crm(300, seed=2)


@pytest.fixture(scope="module")
def frames(spark, crm):
    from segml.spark import build_features as spark_build_features
    from segml.spark import to_pandas

    ref = build_features(crm.transactions, crm.customers, crm.events, as_of=AS_OF)
    out = spark_build_features(
        sdf(spark, crm.transactions),
        sdf(spark, crm.customers),
        sdf(spark, crm.events),
        as_of=AS_OF,
    )
    return ref, out, to_pandas(out)


def test_schema(frames):
    _, out, _ = frames
    types = dict(out.dtypes)
    assert out.columns[0] == "customer_id"
    assert types["customer_id"] == "string"
    assert types["has_history"] == types["is_repeat"] == "boolean"
    assert types["lifecycle_stage"] == "string"
    floats = set(feature_names()) - {"has_history", "is_repeat", "lifecycle_stage"}
    assert {types[n] for n in floats} == {"double"}


def test_equal_to_duckdb_feature_by_feature(frames):
    ref, _, got = frames
    assert list(got.columns) == list(ref.columns)
    assert got.index.equals(ref.index)
    for name in ref.columns:
        pd.testing.assert_series_equal(
            got[name], ref[name], check_exact=False, rtol=1e-9, obj=name
        )


def test_whole_frame_and_leads(frames):
    ref, _, got = frames
    pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-9)
    leads = got[~got["has_history"]]
    assert len(leads) and (leads["lifecycle_stage"] == "prospect").all()


def test_transactions_only_and_subset(spark, crm):
    from segml.spark import build_features as spark_build_features
    from segml.spark import to_pandas

    cols = ["net_spend", "recency_days", "lifecycle_stage", "web_visits"]
    ref = build_features(crm.transactions, as_of="2024-06-30", columns=cols)
    out = spark_build_features(
        sdf(spark, crm.transactions), as_of="2024-06-30", columns=cols
    )
    assert out.columns == ["customer_id", *ref.columns]  # catalogue order
    pd.testing.assert_frame_equal(to_pandas(out), ref, check_exact=False, rtol=1e-9)


def test_missing_column_raises(spark, crm):
    from segml.errors import SegmlDataError
    from segml.spark import build_features as spark_build_features

    tx = sdf(spark, crm.transactions.drop(columns="amount"))
    with pytest.raises(SegmlDataError, match="amount"):
        spark_build_features(tx, as_of="2024-06-30")
