"""The DuckDB file scan (``build_features(path)``) reads cells as the pandas
readers do: hand-made files, exact errors and values."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from segml.data import SegmlDataError, read_transactions
from segml.features import engine


def scan(path, **kwargs) -> pd.DataFrame:
    con = engine.connect()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = engine.load_table(con, str(path), "transactions", **kwargs)
            return engine.to_frame(table, con)
    finally:
        engine.close(con)


def write(tmp_path, lines, name="t.csv"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_day_first_decided_by_one_date_like_the_readers(tmp_path):
    path = write(
        tmp_path,
        [
            "customer_id,ts,amount",
            "a,01/06/2024,1",
            "b,31/12/2024 10:30,2",
            "c,2/3/24,3",
        ],
    )
    got = scan(path)
    assert got["ts"].astype("str").tolist() == [
        "2024-06-01 00:00:00",
        "2024-12-31 10:30:00",
        "2024-03-02 00:00:00",
    ]
    pd.testing.assert_frame_equal(got, read_transactions(str(path)))


def test_dates_both_orders_read_are_an_error_asking_for_ts_format(tmp_path):
    path = write(
        tmp_path, ["customer_id,ts,amount", "a,01/06/2024,1", "b,02/03/2024,2"]
    )
    with pytest.raises(SegmlDataError) as info:
        scan(path)
    assert (info.value.table, info.value.column) == ("transactions", "ts")
    assert "2 date(s) such as '01/06/2024' can be read day first or month first" in (
        str(info.value)
    )
    got = scan(path, ts_format="%m/%d/%Y")
    assert got["ts"].astype("str").tolist() == ["2024-01-06", "2024-02-03"]


def test_words_and_far_dates_are_the_readers_errors(tmp_path):
    now = write(tmp_path, ["customer_id,ts,amount", "a,2024-01-01,1", "b, Now ,2"])
    with pytest.raises(SegmlDataError, match="1 value.s. are words such as") as info:
        scan(now)
    assert info.value.rows["customer_id"].tolist() == ["b"]
    far = write(tmp_path, ["customer_id,ts,amount", "a,0024-01-05,1", "b,2024-01-05,2"])
    with pytest.raises(SegmlDataError, match="1 timestamp.s. lie before 1900") as info:
        scan(far)
    assert info.value.column == "ts"
    assert info.value.rows["customer_id"].tolist() == ["a"]


def test_text_far_down_a_number_column_is_named(tmp_path):
    """DuckDB sniffs the first lines as numbers; a "$100" (or "NA") after
    them is the readers' error (or a missing value), not a raw DuckDB
    ConversionException."""
    lines = ["customer_id,ts,amount"] + [f"a{i},2024-01-01,1.5" for i in range(30_000)]
    path = write(tmp_path, [*lines, "b,2024-01-02,$100"])
    with pytest.raises(SegmlDataError) as info:
        scan(path)
    assert str(info.value).startswith(
        "table 'transactions', column 'amount': 1 value(s) are not numeric "
        "(e.g. '$100'); write plain numbers, without currency symbols"
    )
    path = write(tmp_path, [*lines, "b,2024-01-02,NA"])
    with pytest.raises(SegmlDataError, match="1 row.s. have no value"):
        scan(path)


def test_padded_markers_and_float_ids(tmp_path):
    path = write(
        tmp_path,
        [
            "customer_id,ts,amount,product_id",
            "1.0,2024-01-01,1, NA ",
            " 2.0 ,2024-01-02,2,p",
        ],
    )
    got = scan(path)
    assert got["customer_id"].tolist() == ["1", "2"]
    assert got["product_id"].isna().tolist() == [True, False]
    path = write(tmp_path, ["customer_id,ts,amount", " null ,2024-01-01,1"])
    with pytest.raises(SegmlDataError, match="1 row.s. have no value") as info:
        scan(path)
    assert info.value.column == "customer_id"


def test_refund_booked_positive_in_parquet(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "ts": pd.to_datetime(["2024-01-01"] * 3).astype("datetime64[us]"),
            "amount": [30.0, -30.0, 5.0],
            "status": ["Refunded", "refunded", "paid"],
        }
    )
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    with pytest.raises(SegmlDataError) as info:
        scan(tmp_path / "t.parquet")
    assert (info.value.table, info.value.column) == ("transactions", "amount")
    assert "1 line(s) have status 'Refunded'" in str(info.value)
    assert info.value.rows["customer_id"].tolist() == ["a"]


def test_canonical_frame_gets_the_id_repairs():
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([" a", "a"], dtype="str"),
            "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]).astype("datetime64[us]"),
            "amount": [1.0, 2.0],
        }
    )
    out = engine.canonical_frame(frame, "transactions")
    assert out["customer_id"].tolist() == ["a", "a"]
