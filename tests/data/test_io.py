"""Readers for DataFrames, CSV files and Parquet files and folders."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.data import SegmlDataError, read_customers, read_transactions


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cust": ["007", "008", "007"],
            "day": ["2024-01-01", "2024-01-05", "2024-02-01"],
            "amount": [1.5, 2.0, -1.5],
        }
    )


MAPPING = {"customer_id": "cust", "ts": "day"}


def test_csv_keeps_leading_zeros(tmp_path, raw):
    path = tmp_path / "tx.csv"
    raw.to_csv(path, index=False)
    out = read_transactions(path, columns=MAPPING)
    assert out["customer_id"].tolist() == ["007", "008", "007"]


def test_csv_parquet_and_frame_agree(tmp_path, raw):
    raw.to_csv(tmp_path / "tx.csv.gz", index=False)
    raw.to_parquet(tmp_path / "tx.parquet")
    folder = tmp_path / "parts"
    folder.mkdir()
    raw.iloc[:2].to_parquet(folder / "part-0.parquet")
    raw.iloc[2:].to_parquet(folder / "part-1.parquet")
    expected = read_transactions(raw, columns=MAPPING)
    for source in (tmp_path / "tx.csv.gz", tmp_path / "tx.parquet", folder):
        got = read_transactions(str(source), columns=MAPPING)
        pd.testing.assert_frame_equal(got, expected)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(SegmlDataError, match="table 'customers'.*no such file"):
        read_customers(tmp_path / "nope.csv")


def test_unknown_format(tmp_path):
    path = tmp_path / "tx.xlsx"
    path.write_bytes(b"")
    with pytest.raises(SegmlDataError, match="cannot tell the format"):
        read_transactions(path)


# ------------------------------------------------ files that are hard to read
def write(tmp_path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


EXPECTED = pd.DataFrame(
    {
        "customer_id": pd.Series(["1", "2"], dtype="str"),
        "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]).astype("M8[us]"),
        "amount": [5.5, 6.0],
    }
)


@pytest.mark.parametrize("sep", [";", "|", "\t"])
def test_csv_separated_otherwise_is_read_as_duckdb_reads_it(tmp_path, sep):
    """Before: a ';' file was one column named 'customer_id;ts;amount' (while
    the DuckDB scan found the separator and read it)."""
    text = "\n".join(
        sep.join(r)
        for r in [
            ("customer_id", "ts", "amount"),
            ("1", "2024-01-01", "5.5"),
            ("2", "2024-01-02", "6"),
        ]
    )
    out = read_transactions(write(tmp_path, "t.csv", text.encode() + b"\n"))
    pd.testing.assert_frame_equal(out, EXPECTED)


def test_delimiter_at_the_end_of_every_line(tmp_path):
    """Before: the first column became the index and the others shifted left
    (customer_id held the dates, ts the amounts)."""
    text = b"customer_id,ts,amount\n1,2024-01-01,5.5,\n2,2024-01-02,6,\n"
    out = read_transactions(write(tmp_path, "t.csv", text))
    pd.testing.assert_frame_equal(out, EXPECTED)


def test_line_with_more_fields_than_the_header_is_named(tmp_path):
    """Before: the shift above, or a pandas ParserError traceback."""
    text = b"customer_id,ts,amount\n1,2024-01-01,5.5\n2,2024-01-02,1,234\n"
    with pytest.raises(SegmlDataError) as info:
        read_transactions(write(tmp_path, "t.csv", text))
    err = info.value
    assert (err.table, err.column) == ("transactions", None)
    assert "t.csv has 1 line(s) with more fields than its header" in err.problem
    assert "quote fields that contain commas" in err.problem
    assert err.rows.to_dict("index") == {3: {"line": "2,2024-01-02,1,234"}}


def test_file_not_in_utf8_is_named(tmp_path):
    """Before: a UnicodeDecodeError traceback (also from the CLI)."""
    text = "customer_id,ts,amount,city\n1,2024-01-01,5,München\n".encode("latin-1")
    with pytest.raises(SegmlDataError) as info:
        read_customers(write(tmp_path, "c.csv", text))
    assert info.value.table == "customers"
    assert "c.csv is not UTF-8 text (byte 0xfc on line 2)" in info.value.problem


def test_empty_file_is_an_empty_table(tmp_path):
    """Before: pandas' EmptyDataError traceback."""
    with pytest.raises(SegmlDataError) as info:
        read_transactions(write(tmp_path, "t.csv", b""))
    assert info.value.problem.startswith("the table is empty (0 rows)")


def test_file_that_is_not_parquet_is_named(tmp_path):
    """Before: pyarrow's ArrowInvalid traceback."""
    with pytest.raises(SegmlDataError) as info:
        read_transactions(write(tmp_path, "t.parquet", b"customer_id,ts\n"))
    assert info.value.table == "transactions"
    assert info.value.problem.startswith("cannot read t.parquet as Parquet: ")


def test_blank_separated_file_says_so(tmp_path):
    """Before: 'did you mean' the whole header line as a column name."""
    path = write(tmp_path, "t.txt", b" date  customer_id amount\n 20240101 1 5\n")
    with pytest.raises(SegmlDataError) as info:
        read_transactions(path, columns={"ts": "date"})
    assert info.value.column == "date"
    assert "the file seems separated by blanks" in info.value.problem
