"""One data contract on every input path (issue 13).

Each case runs through every way a table reaches segml: the pandas readers
(``segml.data.read_*``) on a DataFrame, a CSV file and a Parquet file, and the
feature engine (``engine.load_table``, what ``build_features`` uses) on a
DataFrame with raw dtypes, a DataFrame already in canonical dtypes (the fast
path), a CSV file and a Parquet file, scanned in place by DuckDB. Each case
asserts the exact outcome: the result, or the error's table, column, count
and offending rows.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from segml.data import (
    DuplicateRowsWarning,
    SegmlDataError,
    read_customers,
    read_events,
    read_transactions,
    validate_transactions,
)
from segml.datasets import make_crm
from segml.errors import SegmlConfigError
from segml.features import build_features, engine, to_as_of

READERS = {
    "transactions": read_transactions,
    "customers": read_customers,
    "events": read_events,
}
KINDS = {
    "customer_id": "id",
    "order_id": "id",
    "kind": "id",
    "ts": "ts",
    "signup_ts": "ts",
    "amount": "float",
    "value": "float",
}
ROUTES = [
    "read-frame",
    "read-csv",
    "read-parquet",
    "engine-frame",
    "engine-canonical",
    "engine-csv",
    "engine-parquet",
]
AS_OF = "2024-06-30"


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the canonical dtypes (pandas 3 ``str``, ``datetime64[us]``,
    float64), as ``pd.read_csv`` + ``pd.to_datetime`` or ``make_crm`` give."""
    out = {}
    for column in frame.columns:
        kind = KINDS.get(column)
        values = frame[column]
        if kind == "id":
            out[column] = pd.Series(
                [None if pd.isna(v) else str(v) for v in values], dtype="str"
            )
        elif kind == "ts":
            out[column] = pd.to_datetime(values).astype("M8[us]")
        elif kind == "float":
            out[column] = values.astype("float64")
        else:
            out[column] = values
    return pd.DataFrame(out)


def source(frame: pd.DataFrame, how: str, tmp_path, name: str = "t"):
    """``frame`` as the input ``how`` names: a DataFrame or a file path."""
    if how == "frame":
        return frame
    if how == "canonical":
        return canonical(frame)
    path = tmp_path / f"{name}.{how}"
    if how == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return str(path)


def load(frame: pd.DataFrame, table: str, route: str, tmp_path) -> pd.DataFrame:
    """The canonical table ``frame`` becomes along ``route``."""
    api, how = route.split("-")
    src = source(frame, how, tmp_path, name=table)
    if api == "read":
        return READERS[table](src)
    con = engine.connect()
    try:
        return engine.to_frame(engine.load_table(con, src, table, keep_extra=True), con)
    finally:
        engine.close(con)


def tx_frame(**columns) -> pd.DataFrame:
    data = {
        "customer_id": ["c1", "c1", "c2"],
        "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "amount": [30.0, 10.0, 5.0],
    }
    data.update(columns)
    return pd.DataFrame(data)


REQUIRED = [
    ("transactions", "customer_id"),
    ("transactions", "ts"),
    ("transactions", "amount"),
    ("customers", "customer_id"),
    ("events", "customer_id"),
    ("events", "ts"),
    ("events", "kind"),
]


def table_frame(table: str) -> pd.DataFrame:
    if table == "transactions":
        return tx_frame()
    if table == "customers":
        return pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "size": [1, 2, 3]})
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2"],
            "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
            "kind": ["visit", "complaint", "visit"],
        }
    )


# ----------------------------------------------------------- duplicates
def dup_lines(**extra) -> pd.DataFrame:
    """Order o1 written twice (30 + 30), and o2 (10): one customer."""
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1"],
            "ts": ["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-02 11:00"],
            "amount": [30.0, 30.0, 10.0],
            "order_id": ["o1", "o1", "o2"],
            **extra,
        }
    )


@pytest.mark.parametrize("how", ["frame", "canonical", "csv", "parquet", "folder"])
def test_duplicate_order_lines_counted_once_on_every_path(how, tmp_path):
    raw = dup_lines()
    if how == "folder":
        folder = tmp_path / "parts"
        folder.mkdir()
        raw.iloc[:1].to_parquet(folder / "part-0.parquet", index=False)
        raw.iloc[1:].to_parquet(folder / "part-1.parquet", index=False)
        src = str(folder)
    else:
        src = source(raw, how, tmp_path)
    with pytest.warns(DuplicateRowsWarning, match="dropped 1 exact duplicate") as w:
        out = build_features(src, as_of=AS_OF)
    assert len([x for x in w if x.category is DuplicateRowsWarning]) == 1
    assert out["net_spend"].tolist() == [40.0]
    assert out["orders"].tolist() == [2.0]
    assert out["max_order_value"].tolist() == [30.0]


@pytest.mark.parametrize("route", ROUTES)
def test_duplicate_order_lines_dropped_by_every_reader(route, tmp_path):
    with pytest.warns(DuplicateRowsWarning, match="dropped 1 exact duplicate"):
        out = load(dup_lines(), "transactions", route, tmp_path)
    assert sorted(out["amount"].tolist()) == [10.0, 30.0]


@pytest.mark.parametrize("how", ["canonical", "csv", "parquet"])
def test_lines_without_order_id_or_differing_are_kept(how, tmp_path):
    raw = pd.DataFrame(
        {
            "customer_id": ["c1"] * 4,
            "ts": ["2024-01-01 10:00"] * 4,
            "amount": [30.0, 30.0, 30.0, 30.0],
            "order_id": [None, None, "o1", "o1"],
            "product_id": ["p1", "p1", "p1", "p2"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateRowsWarning)
        out = build_features(source(raw, how, tmp_path), as_of=AS_OF)
    assert out["net_spend"].tolist() == [120.0]


# ------------------------------------------------------ missing values
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("table", "column"), REQUIRED)
def test_missing_required_value_is_an_error_on_every_path(
    table, column, route, tmp_path
):
    frame = table_frame(table)
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = None
    with pytest.raises(SegmlDataError) as info:
        load(frame, table, route, tmp_path)
    err = info.value
    assert (err.table, err.column) == (table, column)
    assert str(err).startswith(
        f"table '{table}', column '{column}': 1 row(s) have no value; "
        f"'{column}' is required in every row\noffending rows (up to 5):"
    )
    assert len(err.rows) == 1
    shown = err.rows.iloc[0]
    assert pd.isna(shown[column])
    other = next(c for c in frame.columns if c != column)
    assert str(shown[other]).startswith(str(frame.loc[1, other])[:10])


@pytest.mark.parametrize("how", ["csv", "parquet"])
def test_empty_id_in_a_file_is_not_a_customer(how, tmp_path):
    raw = tx_frame(customer_id=["c1", None, "c2"])
    with pytest.raises(SegmlDataError, match="column 'customer_id': 1 row"):
        build_features(source(raw, how, tmp_path), as_of=AS_OF)


@pytest.mark.parametrize("how", ["csv", "parquet"])
def test_empty_amount_or_ts_in_a_file_does_not_drop_out_of_sums(how, tmp_path):
    for column, value in (("amount", np.nan), ("ts", None)):
        raw = tx_frame()
        raw[column] = raw[column].astype(object)
        raw.loc[0, column] = value
        with pytest.raises(SegmlDataError, match=f"column '{column}': 1 row"):
            build_features(source(raw, how, tmp_path), as_of=AS_OF)


# ------------------------------------------------------- empty tables
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("table", ["transactions", "customers", "events"])
def test_empty_table_is_an_error_on_every_path(table, route, tmp_path):
    frame = table_frame(table).iloc[:0]
    with pytest.raises(SegmlDataError) as info:
        load(frame, table, route, tmp_path)
    assert info.value.table == table and info.value.column is None
    assert "the table is empty (0 rows)" in str(info.value)


# ----------------------------------------------------- one-row tables
@pytest.mark.parametrize("how", ["frame", "canonical", "csv", "parquet"])
def test_one_row_log_gives_exact_features(how, tmp_path):
    raw = pd.DataFrame({"customer_id": ["c1"], "ts": ["2024-06-01"], "amount": [12.5]})
    out = build_features(source(raw, how, tmp_path), as_of=AS_OF)
    assert out.index.tolist() == ["c1"]
    row = out.iloc[0]
    assert row["net_spend"] == 12.5 and row["orders"] == 1.0
    assert row["recency_days"] == 29.0 and row["spend_share"] == 1.0


@pytest.mark.parametrize("route", ROUTES)
def test_one_row_customers_table(route, tmp_path):
    frame = pd.DataFrame({"customer_id": ["c1"], "size": [4]})
    out = load(frame, "customers", route, tmp_path)
    assert out["customer_id"].tolist() == ["c1"] and out["size"].tolist() == [4]


# -------------------------------------------- non-numeric and inf amounts
@pytest.mark.parametrize("route", ROUTES)
def test_non_numeric_amount_names_column_and_rows(route, tmp_path):
    if route == "engine-canonical":
        pytest.skip("a canonical frame has float amounts by definition")
    frame = tx_frame(amount=["30", "ten", "5"])
    with pytest.raises(SegmlDataError) as info:
        load(frame, "transactions", route, tmp_path)
    err = info.value
    assert (err.table, err.column) == ("transactions", "amount")
    assert "'ten'" in str(err)
    assert err.rows["amount"].astype(str).tolist() == ["ten"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("amounts", "n"),
    [
        ([np.inf, 10.0, 5.0], 1),
        ([30.0, -np.inf, 5.0], 1),
        ([1e308, 1e308, 5.0], 2),  # each finite, their sum is not
        ([2e15, 10.0, 5.0], 1),
    ],
    ids=["inf", "-inf", "overflowing-sum", "beyond-1e15"],
)
def test_infinite_or_too_large_amounts_are_errors(amounts, n, route, tmp_path):
    frame = tx_frame(amount=amounts)
    with pytest.raises(SegmlDataError) as info:
        load(frame, "transactions", route, tmp_path)
    err = info.value
    assert (err.table, err.column) == ("transactions", "amount")
    assert f": {n} value(s) are infinite or beyond +/-1e+15" in str(err)
    assert len(err.rows) == n
    assert np.abs(err.rows["amount"].astype(float)).min() > 1e15


@pytest.mark.parametrize("how", ["canonical", "csv", "parquet"])
def test_inf_amount_never_reaches_the_features(how, tmp_path):
    raw = tx_frame(amount=[np.inf, 10.0, 5.0])
    with pytest.raises(SegmlDataError, match="column 'amount': 1 value"):
        build_features(source(raw, how, tmp_path), as_of=AS_OF)


@pytest.mark.parametrize("how", ["canonical", "csv", "parquet"])
def test_amount_at_the_bound_is_accepted(how, tmp_path):
    raw = tx_frame(amount=[1e15, -1e15, 5.0])
    out = build_features(source(raw, how, tmp_path), as_of=AS_OF)
    assert out["net_spend"].tolist() == [0.0, 5.0]
    assert out["spend_share"].tolist() == [0.0, 1.0]


# ------------------------------------------------ mixed time zones
MIXED_TZ = ["2024-01-01 10:00:00+01:00", "2024-01-02 10:00:00", "2024-01-03 10:00Z"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r != "engine-canonical"])
def test_mixed_aware_and_naive_timestamps(route, tmp_path):
    frame = tx_frame(ts=MIXED_TZ)
    with pytest.raises(SegmlDataError) as info:
        load(frame, "transactions", route, tmp_path)
    err = info.value
    assert (err.table, err.column) == ("transactions", "ts")
    assert "mixes time-zone-aware (2 rows) and naive (1 rows) timestamps" in str(err)
    assert sorted(err.rows["customer_id"]) == ["c1", "c1", "c2"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r != "engine-canonical"])
def test_all_aware_timestamps_become_naive_utc(route, tmp_path):
    frame = tx_frame(ts=[MIXED_TZ[0], "2024-01-02 10:00:00-02:00", MIXED_TZ[2]])
    out = load(frame, "transactions", route, tmp_path)
    assert sorted(out["ts"].tolist()) == [
        pd.Timestamp("2024-01-01 09:00"),
        pd.Timestamp("2024-01-02 12:00"),
        pd.Timestamp("2024-01-03 10:00"),
    ]


# --------------------------------------------- unicode and long ids
IDS = ["Zoë-Ω", "客户-7", "x" * 1000]


@pytest.mark.parametrize("how", ["frame", "canonical", "csv", "parquet"])
def test_unicode_and_long_ids_work_and_round_trip(how, tmp_path):
    raw = pd.DataFrame(
        {
            "customer_id": [IDS[0], IDS[1], IDS[2], IDS[2]],
            "ts": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"],
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    crm = pd.DataFrame({"customer_id": [*IDS, "ñ-lead"], "size": [1, 2, 3, 4]})
    out = build_features(
        source(raw, how, tmp_path),
        source(crm, how, tmp_path, name="crm"),
        as_of=AS_OF,
    )
    assert out.index.tolist() == sorted([*IDS, "ñ-lead"])
    assert out.loc[IDS[2], "net_spend"] == 7.0 and out.loc[IDS[0], "size"] == 1
    assert out.loc["ñ-lead", "orders"] == 0.0
    if how in ("csv", "parquet"):
        back = read_transactions(source(raw, how, tmp_path))
        assert back["customer_id"].tolist() == raw["customer_id"].tolist()


# ------------------------------------- duplicated ids in the customers table
@pytest.mark.parametrize("route", [*ROUTES, "features-csv", "features-frame"])
def test_duplicated_customer_ids(route, tmp_path):
    frame = pd.DataFrame({"customer_id": ["c1", "c2", "c1"], "size": [1, 2, 3]})
    with pytest.raises(SegmlDataError) as info:
        if route.startswith("features"):
            crm = source(frame, route.split("-")[1], tmp_path, name="crm")
            build_features(tx_frame(), crm, as_of=AS_OF)
        else:
            load(frame, "customers", route, tmp_path)
    err = info.value
    assert (err.table, err.column) == ("customers", "customer_id")
    assert "1 value(s) of 'customer_id' appear more than once" in str(err)
    assert err.rows["customer_id"].tolist() == ["c1", "c1"]
    # rows as read: a customers CSV is read as text (its attributes are typed
    # after validation), so the file's cells show as written
    assert sorted(str(v) for v in err.rows["size"].tolist()) == ["1", "3"]


# ------------------------------------------ two columns named 'amount'
@pytest.mark.parametrize("api", ["read", "features"])
def test_csv_with_a_repeated_header(api, tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,ts,amount,amount\nc1,2024-01-01,3,4\n")
    with pytest.raises(SegmlDataError) as info:
        if api == "read":
            read_transactions(path)
        else:
            build_features(str(path), as_of=AS_OF)
    err = info.value
    assert (err.table, err.column) == ("transactions", "amount")
    assert "2 columns would be named 'amount' (the table has 2 columns named " in str(
        err
    )


@pytest.mark.parametrize("how", ["frame", "csv", "parquet"])
def test_mapping_onto_an_existing_column(how, tmp_path):
    raw = tx_frame(price=[1.0, 2.0, 3.0])
    src = source(raw, how, tmp_path)
    with pytest.raises(SegmlDataError) as info:
        build_features(
            src, as_of=AS_OF, column_map={"transactions": {"amount": "price"}}
        )
    err = info.value
    assert (err.table, err.column) == ("transactions", "amount")
    assert "the column mapping renames 'price' to 'amount', which the table" in str(err)


def test_frame_with_two_amount_columns():
    raw = pd.DataFrame(
        [["c1", "2024-01-01", 1.0, 2.0]],
        columns=["customer_id", "ts", "amount", "amount"],
    )
    for call in (
        lambda: validate_transactions(raw),
        lambda: build_features(raw, as_of=AS_OF),
    ):
        with pytest.raises(SegmlDataError, match="2 columns would be named 'amount'"):
            call()


# ----------------------------------------------------------- as_of
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-06-30", "2024-06-30 00:00"),
        ("2024-06-30 12:30", "2024-06-30 12:30"),
        ("2024-06-30T12:30:15", "2024-06-30 12:30:15"),
        ("2024-06-30T12:30:00+02:00", "2024-06-30 10:30"),
        ("2024-06-30T12:30:00Z", "2024-06-30 12:30"),
        (dt.date(2024, 6, 30), "2024-06-30 00:00"),
        (dt.datetime(2024, 6, 30, 8), "2024-06-30 08:00"),
        (pd.Timestamp("2024-06-30 08:00", tz="Europe/Paris"), "2024-06-30 06:00"),
        (np.datetime64("2024-06-30T08:00"), "2024-06-30 08:00"),
    ],
)
def test_as_of_accepts_iso_strings_and_datetime_objects(value, expected):
    got = to_as_of(value)
    assert got == pd.Timestamp(expected) and got.unit == "us" and got.tz is None


@pytest.mark.parametrize(
    "value",
    [
        20240630,
        2024.5,
        "01/06/2024",
        "31/12/2024",
        "2024-13-01",
        "notadate",
        "20240630",
        "",
        True,
        pd.NaT,
    ],
)
def test_as_of_rejects_everything_else_in_one_line(value):
    with pytest.raises(SegmlConfigError) as info:
        to_as_of(value)
    message = str(info.value)
    assert "\n" not in message and repr(value) in message
    assert "ISO 8601" in message and "'2024-06-30'" in message


def test_int_as_of_is_an_error_not_the_epoch():
    with pytest.raises(SegmlConfigError, match=r"as_of=20240630 is not a date"):
        build_features(tx_frame(), as_of=20240630)


# --------------------------------------------- ambiguous date columns
def test_day_first_column_is_read_day_first_throughout():
    out = validate_transactions(tx_frame(ts=["01/06/2024", "31/12/2024", "02/03/2024"]))
    assert out["ts"].tolist() == [
        pd.Timestamp("2024-06-01"),
        pd.Timestamp("2024-12-31"),
        pd.Timestamp("2024-03-02"),
    ]


def test_month_first_column_is_read_month_first_throughout():
    out = validate_transactions(tx_frame(ts=["01/06/2024", "12/31/2024", "02/03/2024"]))
    assert out["ts"].tolist() == [
        pd.Timestamp("2024-01-06"),
        pd.Timestamp("2024-12-31"),
        pd.Timestamp("2024-02-03"),
    ]


def test_undecidable_day_month_order_asks_for_ts_format():
    raw = tx_frame(ts=["01/06/2024", "02/07/2024", "03/03/2024"])
    with pytest.raises(SegmlDataError) as info:
        validate_transactions(raw)
    err = info.value
    assert (err.table, err.column) == ("transactions", "ts")
    assert "2 date(s) such as '01/06/2024' can be read day first or month first" in str(
        err
    )
    assert "ts_format" in str(err) and err.rows.index.tolist() == [0, 1]
    out = validate_transactions(raw, ts_format="%d/%m/%Y")
    assert out["ts"].iloc[0] == pd.Timestamp("2024-06-01")


def test_column_mixing_day_first_and_month_first_is_an_error():
    with pytest.raises(SegmlDataError, match="mixes day-first dates") as info:
        validate_transactions(tx_frame(ts=["31/12/2024", "12/31/2024", "2024-01-01"]))
    assert info.value.rows.index.tolist() == [0, 1]


@pytest.mark.parametrize("how", ["csv", "parquet"])
def test_ambiguous_dates_in_a_file_need_ts_format(how, tmp_path):
    # every date reads day first or month first: the scan does not guess
    raw = tx_frame(ts=["01/06/2024", "12/11/2024", "02/03/2024"])
    src = source(raw, how, tmp_path)
    with pytest.raises(SegmlDataError, match="column 'ts'.*pass ts_format"):
        build_features(src, as_of="2025-01-01")
    out = build_features(src, as_of="2025-01-01", ts_format="%d/%m/%Y")
    assert out["recency_days"].tolist() == [50.0, 305.0]  # Nov 12, Mar 2
    # one day past 12 settles the column, as the pandas readers decide it
    settled = source(
        tx_frame(ts=["01/06/2024", "31/12/2024", "02/03/2024"]), how, tmp_path, "s"
    )
    out = build_features(settled, as_of="2025-01-01")
    assert out["recency_days"].tolist() == [1.0, 305.0]  # Dec 31, Mar 2


# ----------------------------------------------------- reproducibility
def test_two_identical_builds_are_identical_bit_for_bit():
    crm = make_crm(300, seed=3)
    tx = crm.transactions
    assert 2_000 < len(tx) < 10_000
    as_of = tx["ts"].max()
    settings = {"threads": 1}
    first = build_features(
        tx, crm.customers, crm.events, as_of=as_of, engine_settings=settings
    )
    for _ in range(2):
        again = build_features(
            tx, crm.customers, crm.events, as_of=as_of, engine_settings=settings
        )
        pd.testing.assert_frame_equal(first, again, check_exact=True)


def test_builds_with_several_threads_agree_to_the_last_bits():
    # documented in engine.connect: only the float sums may differ, ~1e-16
    crm = make_crm(300, seed=3)
    tx = crm.transactions
    as_of = tx["ts"].max()
    two = {"threads": 2}  # the default is one thread, bit-for-bit reproducible
    first = build_features(
        tx, crm.customers, crm.events, as_of=as_of, engine_settings=two
    )
    again = build_features(
        tx, crm.customers, crm.events, as_of=as_of, engine_settings=two
    )
    pd.testing.assert_frame_equal(first, again, check_exact=False, rtol=1e-12)
    one = build_features(tx, crm.customers, crm.events, as_of=as_of)
    pd.testing.assert_frame_equal(first, one, check_exact=False, rtol=1e-12)
    # one thread: the same bits every time
    pd.testing.assert_frame_equal(
        one, build_features(tx, crm.customers, crm.events, as_of=as_of)
    )


@pytest.mark.parametrize("route", [r for r in ROUTES if r != "engine-canonical"])
def test_value_not_in_the_given_ts_format_names_it(route, tmp_path):
    frame = tx_frame(ts=["01/06/2024", "2024-06-02", "03/06/2024"])
    api, how = route.split("-")
    src = source(frame, how, tmp_path)
    with pytest.raises(SegmlDataError) as info:
        if api == "read":
            read_transactions(src, ts_format="%d/%m/%Y")
        else:
            build_features(src, as_of=AS_OF, ts_format="%d/%m/%Y")
    err = info.value
    assert (err.table, err.column) == ("transactions", "ts")
    assert "'2024-06-02'" in str(err).replace('"', "'") and "%d/%m/%Y" in str(err)
