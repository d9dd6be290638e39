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
