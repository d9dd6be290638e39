"""Coercion repairs and errors found by the task H bug hunt, each pinned by hand.

Each test names the input, what segml did before (in the docstring) and what
it does now.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.data import (
    SegmlDataError,
    read_customers,
    read_transactions,
    validate_customers,
    validate_transactions,
)
from segml.data.validate import attribute_values, check_customer_ids

TS = ["2024-01-01", "2024-01-02", "2024-01-03"]


def tx(**columns) -> pd.DataFrame:
    data = {"customer_id": ["a", "b", "c"], "ts": TS, "amount": [1.0, 2.0, 3.0]}
    data.update(columns)
    return pd.DataFrame(data)


# ------------------------------------------------ blanks and NA markers
@pytest.mark.parametrize("blank", ["", "   ", "NA", "null", "None"])
def test_blank_id_is_missing_not_a_customer(blank):
    """Before: a DataFrame id '' was a customer named '' (a CSV's was missing)."""
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(tx(customer_id=["a", blank, "c"]))
    err = info.value
    assert (err.table, err.column) == ("transactions", "customer_id")
    assert "1 row(s) have no value" in err.problem
    assert list(err.rows.index) == [1]


@pytest.mark.parametrize("blank", ["", "NaN", "n/a"])
def test_blank_text_amount_is_missing(blank):
    """Before: 'not numeric' for a DataFrame, 'no value' for the same CSV."""
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(tx(amount=["1", blank, "3"]))
    assert info.value.column == "amount"
    assert "1 row(s) have no value" in info.value.problem
    assert list(info.value.rows.index) == [1]


def test_blank_optional_number_and_timestamp_are_missing():
    """Before: cost '' and signup_ts '' were errors in a DataFrame, NaN/NaT in
    a CSV."""
    out = validate_transactions(tx(cost=pd.array(["1.5", "", None], dtype="str")))
    assert out["cost"].tolist()[0] == 1.5
    assert out["cost"].isna().tolist() == [False, True, True]
    customers = validate_customers(
        pd.DataFrame({"customer_id": ["a", "b"], "signup_ts": ["2024-01-01", " "]})
    )
    assert customers["signup_ts"].tolist() == [pd.Timestamp("2024-01-01"), pd.NaT]


# ----------------------------------------------------------------- ids
def test_ids_are_stripped():
    """Before: ' a', 'a ' and 'a' were three customers."""
    out = validate_transactions(tx(customer_id=[" a", "a ", "a"]))
    assert out["customer_id"].tolist() == ["a", "a", "a"]


def test_float_written_ids_in_a_csv_read_as_the_frame_reads_them(tmp_path):
    """Before: float ids [1.0, 7.0] gave '1', '7' from the DataFrame and
    '1.0', '7.0' from its CSV, so a customers table with 1 and 7 never met
    the CSV's purchases."""
    frame = tx(customer_id=[1.0, 7.0, 7.0])
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert read_transactions(frame)["customer_id"].tolist() == ["1", "7", "7"]
    assert read_transactions(str(tmp_path / "t.csv"))["customer_id"].tolist() == [
        "1",
        "7",
        "7",
    ]


def test_text_ids_with_leading_zeros_or_fractions_stay_text():
    out = validate_transactions(tx(customer_id=["007", "7", "1.5"]))
    assert out["customer_id"].tolist() == ["007", "7", "1.5"]
    out = validate_transactions(tx(customer_id=["007", "7.0", "8"]))
    assert out["customer_id"].tolist() == ["007", "7", "8"]


def test_object_column_of_whole_numbers_as_ids():
    out = validate_transactions(tx(customer_id=pd.Series([7, 7.0, 8], dtype=object)))
    assert out["customer_id"].tolist() == ["7", "7", "8"]


# -------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "amounts", [[True, False, True], pd.Series([1.0, True, 2.0], dtype=object)]
)
def test_true_false_amounts_are_an_error(amounts):
    """Before: True/False amounts were read as 1.0/0.0."""
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(tx(amount=amounts))
    err = info.value
    assert (err.table, err.column) == ("transactions", "amount")
    assert "value(s) are true/false, not numbers (e.g. True)" in err.problem
    assert list(err.rows.index) == [
        i for i, v in enumerate(amounts) if isinstance(v, bool)
    ]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("$12", "without currency symbols"),
        ("1,234.50", "no thousands separators"),
        ("12,5", "'.' as the decimal mark"),
        ("(5)", "with a minus sign"),
    ],
)
def test_formatted_numbers_are_an_error_with_a_hint(text, hint):
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(tx(amount=["1", "2", text]))
    err = info.value
    assert err.column == "amount"
    assert f"1 value(s) are not numeric (e.g. {text!r})" in err.problem
    assert hint in err.problem
    assert list(err.rows.index) == [2]


def test_epoch_numbers_as_timestamps_say_how_to_convert():
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(tx(ts=[1704067200, 1704153600, 1704240000]))
    assert info.value.column == "ts"
    assert "pandas.to_datetime(values, unit='s')" in info.value.problem


# --------------------------------------------------- customer attributes
def test_attribute_text_is_typed_as_a_csv_would_be(tmp_path):
    """Before: numbers and true/false written as text stayed text in a
    DataFrame but became int64/bool from a CSV (so one model saw a number, the
    other a category); '007' codes became 7 from a CSV."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "n": ["1", "2", "3"],
            "share": ["0.5", "", "NA"],
            "vip": ["true", "False", "TRUE"],
            "opt_in": ["true", None, "false"],
            "zip": ["02134", "10001", "90210"],
            "region": ["north", "NA", " "],
        }
    )
    frame.to_csv(tmp_path / "c.csv", index=False)
    for source in (frame, str(tmp_path / "c.csv")):
        out = read_customers(source)
        assert out["n"].dtype == "int64" and out["n"].tolist() == [1, 2, 3]
        assert out["share"].dtype == "float64"
        assert out["share"].isna().tolist() == [False, True, True]
        assert out["vip"].dtype == "bool"
        assert out["vip"].tolist() == [True, False, True]
        assert out["opt_in"].tolist()[0::2] == ["True", "False"]
        assert pd.isna(out["opt_in"].iloc[1])
        assert out["zip"].tolist() == ["02134", "10001", "90210"]
        assert out["region"].tolist()[0] == "north"
        assert out["region"].isna().tolist() == [False, True, True]


def test_attribute_values_leaves_typed_columns_alone():
    numbers = pd.Series([1, 2], dtype="int64")
    assert attribute_values(numbers) is numbers
    codes = pd.Series(pd.Categorical(["x", "y"]))
    assert attribute_values(codes) is codes
    empty = attribute_values(pd.Series(["", None], dtype=object))
    assert empty.dtype == "float64" and empty.isna().all()


# ------------------------------------------- ids written two ways across tables
def test_customer_ids_written_two_ways_are_an_error():
    """Before: customer '001' (attributes) and '1' (purchases) were two
    customers, one a lead with no value, silently."""
    transactions = pd.DataFrame({"customer_id": ["1", "2", "AB", "5"]})
    customers = pd.DataFrame(
        {"customer_id": ["001", "2", "ab", "9"], "region": ["n", "s", "e", "w"]}
    )
    with pytest.raises(SegmlDataError) as info:
        check_customer_ids(transactions, customers)
    err = info.value
    assert (err.table, err.column) == ("customers", "customer_id")
    assert err.problem.startswith("2 id(s) match no transaction")
    assert "(e.g. '001' here, '1' in transactions)" in err.problem
    assert list(err.rows.index) == [0, 2]
    assert err.rows["customer_id in transactions"].tolist() == [
        "1",
        "AB",
    ]


def test_distinct_ids_that_both_exist_are_fine():
    # '1' has its own customer row, so '001' is another customer (a lead)
    transactions = pd.DataFrame({"customer_id": ["1", "2"]})
    customers = pd.DataFrame({"customer_id": ["1", "001", "2", "3"]})
    assert check_customer_ids(transactions, customers) is None
    assert check_customer_ids(transactions, customers.iloc[[2, 3]]) is None


def test_events_ids_checked_the_same_way():
    transactions = pd.DataFrame({"customer_id": ["10"]})
    events = pd.DataFrame({"customer_id": ["010", "010"], "kind": ["visit"] * 2})
    with pytest.raises(SegmlDataError) as info:
        check_customer_ids(transactions, events, table="events")
    assert info.value.table == "events"
    assert list(info.value.rows.index) == [0, 1]
    assert np.all(info.value.rows["customer_id in transactions"] == "10")


# ------------------------------------------- one ts_format, several tables
def test_ts_format_leaves_a_wholly_iso_column_readable():
    """Before: data.ts_format='%d/%m/%Y' for day-first transactions made the
    customers' ISO signup_ts column an error, so the pair could not be loaded."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_ts": ["2024-01-31", None, "2024-02-01"],
        }
    )
    out = validate_customers(customers, ts_format="%d/%m/%Y")
    assert out["signup_ts"].tolist() == [
        pd.Timestamp("2024-01-31"),
        pd.NaT,
        pd.Timestamp("2024-02-01"),
    ]
    day_first = validate_transactions(
        tx(ts=["03/04/2024", "05/06/2024", "01/02/2024"]), ts_format="%d/%m/%Y"
    )
    assert day_first["ts"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-04-03",
        "2024-06-05",
        "2024-02-01",
    ]


def test_ts_format_still_refuses_a_column_mixing_it_with_iso():
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(
            tx(ts=["03/04/2024", "2024-04-05", "01/02/2024"]), ts_format="%d/%m/%Y"
        )
    assert info.value.column == "ts"
    assert list(info.value.rows.index) == [1]


def test_categorical_ids_read_as_their_values():
    """Before: categorical float ids gave '1.0' (the same ids as floats gave
    '1'), and categorical text ids kept their blanks."""
    floats = validate_transactions(tx(customer_id=pd.Categorical([1.0, 2.0, 1.0])))
    assert floats["customer_id"].tolist() == ["1", "2", "1"]
    text = validate_transactions(tx(customer_id=pd.Categorical([" a", "a", "b "])))
    assert text["customer_id"].tolist() == ["a", "a", "b"]


# ------------------------------------------------ returns booked as positive
@pytest.mark.parametrize("status", ["returned", "Refund", " CANCELLED ", "chargeback"])
def test_positive_amount_with_a_return_status_is_an_error(status):
    """Before: a refund of 30 booked as +30 with status 'refund' added 30 to
    the customer's spend."""
    frame = tx(amount=[50.0, 30.0, -5.0], status=["completed", status, status])
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(frame)
    err = info.value
    assert (err.table, err.column) == ("transactions", "amount")
    assert err.problem.startswith("1 line(s) have status")
    assert "write returns and refunds as negative amounts" in err.problem
    assert list(err.rows.index) == [1]


def test_negative_returns_and_other_statuses_pass():
    frame = tx(
        amount=[50.0, -30.0, 20.0],
        status=["completed", "returned", "partially returned"],
    )
    out = validate_transactions(frame)
    assert out["amount"].tolist() == [50.0, -30.0, 20.0]
    missing = validate_transactions(
        tx(status=[None, "returned", None], amount=[1.0, -1.0, 2.0])
    )
    assert missing["status"].isna().tolist() == [True, False, True]


def test_canonical_frames_get_the_return_check_too():
    from segml.data.schema import TRANSACTIONS
    from segml.data.validate import check_canonical

    frame = validate_transactions(tx(status=["completed", "sale", "sale"]))
    frame = frame.assign(status=pd.Series(["completed", "refunded", "x"], dtype="str"))
    with pytest.raises(SegmlDataError) as info:
        check_canonical(frame, TRANSACTIONS)
    assert list(info.value.rows.index) == [1]


# ------------------------------------------------- timestamps that mislead
@pytest.mark.parametrize("word", ["now", "Today", " yesterday "])
def test_relative_words_are_not_the_time_of_the_run(word):
    """Before: 'now' and 'today' were read as the clock time of the run (a log
    whose features changed from one day to the next)."""
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(tx(ts=["2024-01-05", word, "2024-01-06"]))
    err = info.value
    assert (err.table, err.column) == ("transactions", "ts")
    assert f"1 value(s) are words such as {word!r}" in err.problem
    assert list(err.rows.index) == [1]


@pytest.mark.parametrize(
    "ts",
    [
        ["2024-01-05", "0024-01-05", "2024-01-06"],
        pd.to_datetime(["2024-01-05", "1850-01-01", "2024-01-06"]),
        ["2024-01-05", "2999-01-01", "2024-01-06"],
    ],
)
def test_timestamps_far_from_any_real_log_are_an_error(ts, tmp_path):
    """Before: year 0024 (a typo) or 1850 passed, giving tenures of centuries."""
    frame = tx(ts=ts)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    for source in (frame, str(tmp_path / "t.parquet")):
        with pytest.raises(SegmlDataError) as info:
            read_transactions(source)
        assert info.value.column == "ts"
        assert "lie before 1900 or after 2200" in info.value.problem
        assert list(info.value.rows.index) == [1]


def test_canonical_frames_get_the_timestamp_range_check():
    from segml.data.schema import TRANSACTIONS
    from segml.data.validate import check_canonical

    frame = validate_transactions(tx())
    frame.loc[2, "ts"] = pd.Timestamp("1899-12-31")
    with pytest.raises(SegmlDataError) as info:
        check_canonical(frame, TRANSACTIONS)
    assert list(info.value.rows.index) == [2]


# ------------------------------------ canonical frames (the engine's fast path)
def canonical_tx(ids) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="str"),
            "ts": pd.to_datetime(TS).astype("M8[us]"),
            "amount": [1.0, 2.0, 3.0],
        }
    )


def test_canonical_frame_with_padded_ids_is_an_error_not_two_customers():
    """Before: build_features on a canonical frame kept ' 1' and '1' apart,
    while every other input stripped them."""
    from segml.data.schema import TRANSACTIONS
    from segml.data.validate import check_canonical

    with pytest.raises(SegmlDataError) as info:
        check_canonical(canonical_tx([" 1", "1", "2"]), TRANSACTIONS)
    err = info.value
    assert (err.table, err.column) == ("transactions", "customer_id")
    assert err.problem.startswith("1 id(s) have blanks around them (e.g. ' 1')")
    assert list(err.rows.index) == [0]
    with pytest.raises(SegmlDataError) as info:
        check_canonical(canonical_tx(["1", "", "NA"]), TRANSACTIONS)
    assert "2 row(s) have no value" in info.value.problem
    assert list(info.value.rows.index) == [1, 2]


def test_repair_canonical_applies_the_id_repairs():
    from segml.data.schema import TRANSACTIONS
    from segml.data.validate import repair_canonical

    clean = canonical_tx(["1", "1", "2"])
    assert repair_canonical(clean, TRANSACTIONS) is clean
    fixed = repair_canonical(canonical_tx([" 1", "1.0", "2"]), TRANSACTIONS)
    assert fixed["customer_id"].tolist() == ["1", "1", "2"]
    pd.testing.assert_frame_equal(fixed, validate_transactions(fixed))


def test_float_ids_beyond_2_pow_53_are_an_error():
    """Before: 12345678901234567.0 became the id '12345678901234568' (the
    float had already lost the last digit), silently."""
    ids = [12345678901234567.0, 12345678901234568.0, 3.0]
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(tx(customer_id=ids))
    err = info.value
    assert (err.table, err.column) == ("transactions", "customer_id")
    assert err.problem.startswith("2 id(s) are numbers stored as floats beyond 2**53")
    assert list(err.rows.index) == [0, 1]
    exact = validate_transactions(tx(customer_id=[2.0**53, 1.0, np.nan]).iloc[:2])
    assert exact["customer_id"].tolist() == ["9007199254740992", "1"]
