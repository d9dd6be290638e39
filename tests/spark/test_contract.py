"""The Spark path applies the data contract of the pandas readers and the
DuckDB scan: the same bad cells give the same errors, the same repairs give
the same features. One module, one shared session (it takes ~20 s to start).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from segml.data import DuplicateRowsWarning, SegmlDataError

AS_OF = "2024-06-30"
TS = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]).astype("datetime64[us]")


def _spend(spark, frame: pd.DataFrame) -> dict[str, float]:
    from segml.spark import build_features, to_pandas

    data = spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))
    out = to_pandas(build_features(data, as_of=AS_OF, attributes=False))
    return out["net_spend"].to_dict()


def _error(spark, frame: pd.DataFrame) -> SegmlDataError:
    with pytest.raises(SegmlDataError) as info:
        _spend(spark, frame)
    return info.value


def test_nan_amount_is_a_missing_value_not_summed(spark):
    frame = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "ts": TS, "amount": [1.0, np.nan, 2.0]}
    )
    err = _error(spark, frame)
    assert (err.table, err.column) == ("transactions", "amount")
    assert "1 row(s) have no value" in str(err)
    assert err.rows["customer_id"].tolist() == ["b"]


def test_float_and_padded_ids_are_one_customer(spark):
    floats = pd.DataFrame(
        {"customer_id": [1.0, 1.0, 2.0], "ts": TS, "amount": [1.0, 3.0, 2.0]}
    )
    assert _spend(spark, floats) == {"1": 4.0, "2": 2.0}  # not '1.0'
    padded = floats.assign(customer_id=[" a", "a", "b "])
    assert _spend(spark, padded) == {"a": 4.0, "b": 2.0}
    blank = floats.assign(customer_id=["a", "NA", "b"])
    err = _error(spark, blank)
    assert (err.table, err.column) == ("transactions", "customer_id")
    assert err.rows["amount"].tolist() == [3.0]


def test_duplicate_order_lines_are_dropped_once(spark):
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_id": ["o1", "o1", "o2"],
            "ts": TS[[0, 0, 1]],
            "amount": [10.0, 10.0, 2.0],
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        # recorded, not pytest.warns: PySpark's own pandas warnings would be
        # re-raised by it
        warnings.simplefilter("always")
        assert _spend(spark, frame) == {"a": 10.0, "b": 2.0}  # was 20
    dropped = [w for w in caught if issubclass(w.category, DuplicateRowsWarning)]
    assert len(dropped) == 1
    assert "dropped 1 exact duplicate order line" in str(dropped[0].message)


def test_formatted_amount_is_the_readers_error(spark):
    frame = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "ts": TS, "amount": ["$100", "3", " "]}
    )
    err = _error(spark, frame)
    assert (err.table, err.column) == ("transactions", "amount")
    assert str(err).startswith(
        "table 'transactions', column 'amount': 1 value(s) are not numeric "
        "(e.g. '$100'); write plain numbers, without currency symbols"
    )
    assert err.rows["customer_id"].tolist() == ["a"]
