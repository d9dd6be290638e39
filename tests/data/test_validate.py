"""Every validation case of the data contract names the table and the column."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segml.data import (
    DuplicateRowsWarning,
    SegmlDataError,
    validate_customers,
    validate_events,
    validate_transactions,
)


def tx(**overrides) -> pd.DataFrame:
    data = {
        "customer_id": ["a", "b", "c"],
        "ts": ["2024-01-01", "2024-01-02 10:30", "2024-02-01"],
        "amount": [10.0, -2.5, 7.0],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def test_canonical_dtypes_and_values():
    out = validate_transactions(tx())
    expected = pd.DataFrame(
        {
            "customer_id": pd.Series(["a", "b", "c"], dtype="str"),
            "ts": pd.Series(
                [
                    pd.Timestamp("2024-01-01"),
                    pd.Timestamp("2024-01-02 10:30"),
                    pd.Timestamp("2024-02-01"),
                ],
                dtype="datetime64[us]",
            ),
            "amount": [10.0, -2.5, 7.0],
        }
    )
    pd.testing.assert_frame_equal(out, expected)


def test_negative_amounts_are_returns_and_stay():
    out = validate_transactions(tx())
    assert out["amount"].tolist() == [10.0, -2.5, 7.0]


def test_input_is_not_modified():
    raw = tx(customer_id=[1, 2, 3])
    before = raw.copy()
    validate_transactions(raw)
    pd.testing.assert_frame_equal(raw, before)


def test_column_mapping_renames_user_columns():
    raw = pd.DataFrame(
        {"Client": ["x"], "InvoiceDate": ["2024-03-01"], "Revenue": ["12.5"]}
    )
    out = validate_transactions(
        raw, columns={"customer_id": "Client", "ts": "InvoiceDate", "amount": "Revenue"}
    )
    assert list(out.columns) == ["customer_id", "ts", "amount"]
    assert out.loc[0, "amount"] == 12.5


def test_mapping_to_absent_user_column_names_it():
    with pytest.raises(SegmlDataError, match="'Klient'") as info:
        validate_transactions(tx(), columns={"customer_id": "Klient"})
    assert info.value.table == "transactions"


def test_mapping_with_unknown_canonical_name_names_it():
    with pytest.raises(SegmlDataError, match="'price'"):
        validate_transactions(tx(), columns={"price": "amount"})


def test_missing_required_column_names_it_and_suggests():
    raw = tx().rename(columns={"amount": "Amount"})
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(raw)
    message = str(info.value)
    assert "table 'transactions', column 'amount'" in message
    assert "did you mean 'Amount'" in message
    assert info.value.column == "amount"


def test_unparseable_timestamp_names_column_and_rows():
    raw = tx(ts=["2024-01-01", "not a date", "2024-13-45"])
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(raw)
    message = str(info.value)
    assert "column 'ts'" in message and "2 value(s)" in message
    assert "not a date" in message and "2024-13-45" in message
    assert list(info.value.rows.index) == [1, 2]


def test_explicit_timestamp_format():
    raw = tx(ts=["01/02/2024", "03/02/2024", "04/02/2024"])
    out = validate_transactions(raw, ts_format="%d/%m/%Y")
    assert out["ts"].tolist() == [
        pd.Timestamp("2024-02-01"),
        pd.Timestamp("2024-02-03"),
        pd.Timestamp("2024-02-04"),
    ]


def test_mixed_formats_are_parsed_per_row_when_no_format_is_given():
    raw = tx(ts=["2024-01-05", "2024-01-06 10:00:00", "Feb 3 2024"])
    out = validate_transactions(raw)
    assert out["ts"].tolist()[2] == pd.Timestamp("2024-02-03")


def test_numeric_dates_need_a_format():
    raw = tx(ts=[20240101, 20240102, 20240103])
    with pytest.raises(SegmlDataError, match="column 'ts'.*ts_format"):
        validate_transactions(raw)
    out = validate_transactions(raw, ts_format="%Y%m%d")
    assert out["ts"].iloc[2] == pd.Timestamp("2024-01-03")


def test_non_numeric_amount_names_column_and_rows():
    raw = tx(amount=["10", "ten", "3.5"])
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(raw)
    assert "column 'amount'" in str(info.value)
    assert "'ten'" in str(info.value)
    assert list(info.value.rows.index) == [1]


def test_missing_amount_is_an_error():
    with pytest.raises(SegmlDataError, match="column 'amount'.*no value"):
        validate_transactions(tx(amount=[1.0, np.nan, 2.0]))


def test_null_id_names_column_and_rows():
    raw = tx(customer_id=["a", None, "c"])
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(raw)
    assert "column 'customer_id'" in str(info.value)
    assert list(info.value.rows.index) == [1]


def test_ids_become_strings_without_float_artefacts():
    out = validate_transactions(tx(customer_id=[1.0, 2.0, 3.0]))
    assert out["customer_id"].tolist() == ["1", "2", "3"]
    assert out["customer_id"].dtype == "str"


def test_duplicated_customer_id_in_customers_table():
    raw = pd.DataFrame({"customer_id": ["a", "b", "a", "c"], "size": [1, 2, 3, 4]})
    with pytest.raises(SegmlDataError) as info:
        validate_customers(raw)
    message = str(info.value)
    assert "table 'customers', column 'customer_id'" in message
    assert "1 value(s)" in message
    assert sorted(info.value.rows.index) == [0, 2]


def test_empty_table_names_table_and_columns():
    raw = pd.DataFrame({"customer_id": [], "ts": [], "amount": []})
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(raw)
    message = str(info.value)
    assert "table 'transactions'" in message and "empty" in message
    assert "customer_id, ts, amount" in message


def test_mixed_aware_and_naive_strings():
    raw = tx(ts=["2024-01-01 10:00:00+02:00", "2024-01-02", "2024-01-03 09:00"])
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(raw)
    message = str(info.value)
    assert "column 'ts'" in message and "time-zone-aware" in message
    assert len(info.value.rows) == 3


def test_mixed_aware_and_naive_objects():
    values = [
        pd.Timestamp("2024-01-01", tz="UTC"),
        dt.datetime(2024, 1, 2),
        pd.Timestamp("2024-01-03", tz="Europe/Paris"),
    ]
    raw = tx(ts=pd.Series(values, dtype=object))
    with pytest.raises(SegmlDataError, match="column 'ts'.*time-zone-aware"):
        validate_transactions(raw)


def test_aware_timestamps_become_naive_utc():
    raw = tx(
        ts=["2024-01-01 10:00:00+02:00", "2024-01-02 00:00Z", "2024-01-03 09:00 UTC"]
    )
    out = validate_transactions(raw)
    assert out["ts"].tolist() == [
        pd.Timestamp("2024-01-01 08:00"),
        pd.Timestamp("2024-01-02 00:00"),
        pd.Timestamp("2024-01-03 09:00"),
    ]
    aware = tx(ts=pd.to_datetime(["2024-01-01"] * 3).tz_localize("America/New_York"))
    first = validate_transactions(aware)["ts"].iloc[0]
    assert first == pd.Timestamp("2024-01-01 05:00")


def test_exact_duplicate_order_lines_are_dropped_with_count():
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "ts": ["2024-01-01"] * 5,
            "amount": [5.0, 5.0, 5.0, 5.0, 5.0],
            "order_id": ["o1", "o1", "o1", "o2", None],
        }
    )
    with pytest.warns(DuplicateRowsWarning, match="dropped 2 exact duplicate"):
        out = validate_transactions(raw)
    assert out["order_id"].tolist()[:2] == ["o1", "o2"]
    assert len(out) == 3


def test_same_order_different_lines_are_kept():
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "ts": ["2024-01-01"] * 2,
            "amount": [5.0, 6.0],
            "order_id": ["o1", "o1"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(validate_transactions(raw)) == 2


def test_optional_numeric_column_checked():
    with pytest.raises(SegmlDataError, match="column 'cost'"):
        validate_transactions(tx(cost=["1", "2", "n/a?"]))


def test_customers_keep_attributes_and_categoricals():
    raw = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "signup_ts": ["2023-05-01", None],
            "industry": pd.Categorical(["retail", "tech"]),
            "region": ["north", None],
            "employees": [10, 250],
        }
    )
    out = validate_customers(raw)
    assert isinstance(out["industry"].dtype, pd.CategoricalDtype)
    assert out["region"].dtype == "str"
    assert out["signup_ts"].isna().tolist() == [False, True]
    assert out["employees"].tolist() == [10, 250]


def test_events_require_kind():
    raw = pd.DataFrame({"customer_id": ["a"], "ts": ["2024-01-01"], "value": [3]})
    with pytest.raises(SegmlDataError, match="table 'events', column 'kind'"):
        validate_events(raw)


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="table 'transactions'"):
        validate_transactions([1, 2, 3])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None]),
            st.sampled_from(["o1", "o2", None]),
            st.integers(0, 2),
            st.sampled_from([1.0, 2.0, np.nan]),
        ),
        min_size=0,
        max_size=30,
    )
)
def test_duplicate_detection_equals_pandas_duplicated(rows):
    from segml.data.validate import _exact_duplicates

    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "day", "amount"])
    frame["customer_id"] = frame["customer_id"].astype("str")
    frame["ts"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame.pop("day"), "D")
    expected = frame.duplicated(keep="first").to_numpy()
    np.testing.assert_array_equal(_exact_duplicates(frame), expected)
    text_only = frame[["customer_id", "order_id"]]
    np.testing.assert_array_equal(
        _exact_duplicates(text_only), text_only.duplicated().to_numpy()
    )
