"""Cases of the reliability sweep (``benchmarks/reliability.py``).

Each case is a bad input or a fault tried as a new user would, with what is
expected declared next to it: a correct value (checked against an expectation
computed here by hand-built pandas, never by segml) or an error that names the
table and column (data), the key (config) or the argument. Running a case gives
one of four outcomes:

``OK``
    the correct result (or, where the case allows either, a clear error);
``clear error``
    a documented error naming what is wrong: :class:`SegmlDataError` naming
    table and column, :class:`SegmlConfigError` naming the key, or for the CLI
    exit code 2 with one ``error:`` line and no traceback, or for the server an
    HTTP 4xx with a message. A clear error on an input that is valid is still
    counted here, and listed apart as *refused*;
``silent``
    a result that is wrong, or a result where an error was due;
``crash``
    any other exception, a traceback, another exit code, an HTTP 5xx, or an
    error that does not name what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segml.errors import SegmlConfigError, SegmlDataError

OK, CLEAR, SILENT, CRASH = "OK", "clear error", "silent", "crash"
STATUSES = (OK, CLEAR, SILENT, CRASH)
DOCUMENTED: tuple[type[BaseException], ...] = (SegmlDataError, SegmlConfigError)


@dataclass
class Outcome:
    status: str
    detail: str
    refused: bool = False  # a clear error on a valid input


@dataclass
class Case:
    area: str
    name: str
    expect: str
    run: Callable[[], Outcome]


@dataclass
class Context:
    """What the cases share: the scratch folder, the trained model, the server."""

    tmp: Path
    env: dict[str, str]
    config: Path  # a small YAML config for the CLI cases
    model_uri: str = ""
    pipeline: Any = None
    rows: pd.DataFrame | None = None  # a few valid model-input rows
    server_url: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ helpers
def one_line(text: object, limit: int = 220) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _names(message: str, names: Sequence[str]) -> list[str]:
    low = message.lower()
    return [n for n in names if n.lower() not in low]


def _describe(result: object) -> str:
    if isinstance(result, pd.DataFrame):
        head = result.head(3)
        cols = [c for c in ("net_spend", "orders", "tier", "route") if c in head]
        shown = head[cols].to_dict("index") if cols else ""
        return f"returned {len(result)} row(s) {one_line(shown, 150)}"
    return f"returned {one_line(repr(result), 150)}"


def _crash(exc: BaseException) -> Outcome:
    frames = traceback.extract_tb(exc.__traceback__)
    where = (
        f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    )
    return Outcome(CRASH, f"{type(exc).__name__}{where}: {one_line(exc)}")


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def want_error(
    fn: Callable[[], Any],
    names: Sequence[str],
    *,
    also: tuple[type[BaseException], ...] = (),
    check_ok: Callable[[Any], str | None] | None = None,
) -> Callable[[], Outcome]:
    """An error naming every string of ``names`` is due (``check_ok``: or a
    result that passes it, for inputs where both answers are right)."""

    def run() -> Outcome:
        try:
            result = _quiet(fn)
        except DOCUMENTED + also as exc:
            missing = _names(str(exc), names)
            if missing:
                return Outcome(
                    CRASH,
                    f"{type(exc).__name__} does not name {missing}: {one_line(exc)}",
                )
            return Outcome(CLEAR, f"{type(exc).__name__}: {one_line(exc)}")
        except Exception as exc:  # noqa: BLE001 - classified, never raised
            return _crash(exc)
        if check_ok is not None:
            problem = _safe_check(check_ok, result)
            if problem is None:
                return Outcome(OK, "correct result")
            return Outcome(SILENT, f"wrong result: {problem}")
        return Outcome(SILENT, f"no error; {_describe(result)}")

    return run


def want_value(
    fn: Callable[[], Any],
    check: Callable[[Any], str | None],
    *,
    error_ok: Sequence[str] | None = None,
) -> Callable[[], Outcome]:
    """A result passing ``check`` is due (``error_ok``: or an error naming these)."""

    def run() -> Outcome:
        try:
            result = _quiet(fn)
        except DOCUMENTED as exc:
            if error_ok is not None and not _names(str(exc), error_ok):
                return Outcome(OK, f"clear error (allowed): {one_line(exc, 120)}")
            return Outcome(
                CLEAR, f"refused a valid input: {one_line(exc)}", refused=True
            )
        except Exception as exc:  # noqa: BLE001
            return _crash(exc)
        problem = _safe_check(check, result)
        if problem is None:
            return Outcome(OK, "correct result")
        return Outcome(SILENT, f"wrong result: {problem}")

    return run


def _safe_check(check: Callable[[Any], str | None], result: Any) -> str | None:
    try:
        return check(result)
    except Exception as exc:  # noqa: BLE001 - a result the check cannot read is wrong
        return f"unreadable result ({type(exc).__name__}: {one_line(exc, 120)})"


# ------------------------------------------------------- expected features
AS_OF = "2024-01-21"


def _utc(values: Sequence[Any]) -> pd.Series:
    """Timestamps as naive UTC, parsed independently of segml."""
    parsed = pd.to_datetime(
        pd.Series(list(values), dtype=object), utc=True, format="ISO8601"
    )
    return parsed.dt.tz_localize(None)


def expected_features(
    tx: dict[str, list],
    as_of: str | pd.Timestamp = AS_OF,
    customers: dict[str, list] | None = None,
    events: dict[str, list] | None = None,
) -> pd.DataFrame:
    """net_spend, orders, recency_days (and signup / event counts) by hand."""
    cutoff = pd.Timestamp(as_of)
    frame = pd.DataFrame({k: list(v) for k, v in tx.items()})
    frame["customer_id"] = frame["customer_id"].map(str)
    frame["ts"] = _utc(frame["ts"])
    frame["amount"] = frame["amount"].astype(float)
    if "order_id" in frame:
        dup = frame.duplicated(keep="first") & frame["order_id"].notna()
        frame = frame.loc[~dup]
    seen = frame.loc[frame["ts"] <= cutoff]
    by = seen.groupby("customer_id")
    net = by["amount"].sum()
    orders = by["order_id"].nunique() if "order_id" in seen else by["ts"].nunique()
    recency = (cutoff - by["ts"].max()).dt.total_seconds() / 86_400
    known = set(net.index)
    signup = None
    if customers is not None:
        c = pd.DataFrame({k: list(v) for k, v in customers.items()})
        c["customer_id"] = c["customer_id"].map(str)
        if "signup_ts" in c:
            c["signup_ts"] = _utc(c["signup_ts"])
            ok = c["signup_ts"].isna() | (c["signup_ts"] <= cutoff)
            signup = c.set_index("customer_id")["signup_ts"]
        else:
            ok = pd.Series(True, index=c.index)
        known |= set(c.loc[ok, "customer_id"])
    index = pd.Index(sorted(known), name="customer_id")
    out = pd.DataFrame(index=index)
    out["net_spend"] = net.reindex(index).fillna(0.0)
    out["orders"] = orders.reindex(index).fillna(0).astype(float)
    out["recency_days"] = recency.reindex(index)
    out["has_history"] = index.isin(net.index)
    if signup is not None:
        days = (cutoff - signup.reindex(index)).dt.total_seconds() / 86_400
        out["days_since_signup"] = days.where(days >= 0)
    if events is not None:
        e = pd.DataFrame({k: list(v) for k, v in events.items()})
        e["customer_id"] = e["customer_id"].map(str)
        e["ts"] = _utc(e["ts"])
        e = e.loc[e["ts"] <= cutoff]
        for kind, column in (
            ("complaint", "complaints"),
            ("support_ticket", "support_tickets"),
            ("web_visit", "web_visits"),
        ):
            counts = e.loc[e["kind"] == kind].groupby("customer_id").size()
            out[column] = counts.reindex(index).fillna(0).astype(float)
    return out


def check_features(expected: pd.DataFrame) -> Callable[[pd.DataFrame], str | None]:
    """Compare a feature table with the hand-built expectation."""

    def check(out: pd.DataFrame) -> str | None:
        if not isinstance(out, pd.DataFrame):
            return f"not a DataFrame: {type(out).__name__}"
        got = [str(i) for i in out.index]
        want = list(expected.index)
        if sorted(got) != sorted(want):
            extra = sorted(set(got) - set(want))[:3]
            lost = sorted(set(want) - set(got))[:3]
            return (
                f"customers {len(got)} vs {len(want)} expected "
                f"(extra {[one_line(x, 30) for x in extra]}, "
                f"missing {[one_line(x, 30) for x in lost]})"
            )
        if not len(want):
            return None
        aligned = out.copy()
        aligned.index = got
        aligned = aligned.loc[want]
        numeric = aligned.select_dtypes("number")
        if np.isinf(numeric.to_numpy(dtype=float)).any():
            bad = [c for c in numeric if np.isinf(numeric[c].to_numpy(float)).any()]
            return f"infinite values in {bad}"
        for column in expected.columns:
            if column not in aligned:
                return f"column {column} missing"
            a = aligned[column].to_numpy(dtype=float)
            b = expected[column].to_numpy(dtype=float)
            if not np.allclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True):
                diff = np.flatnonzero(
                    ~np.isclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True)
                )[0]
                return (
                    f"{column}[{one_line(want[diff], 30)}] = {a[diff]:g}, "
                    f"expected {b[diff]:g}"
                )
        if "spend_share" in aligned:
            share = aligned["spend_share"].to_numpy(dtype=float)
            total = expected["net_spend"].sum()
            if total != 0 and not math.isclose(np.nansum(share), 1.0, rel_tol=1e-9):
                return f"spend_share sums to {np.nansum(share):g}, expected 1"
        return None

    return check


# ------------------------------------------------------------ input forms
def _datetimes(values: list) -> pd.Series:
    """What a user gets converting text timestamps: datetime64 where pandas
    parses them, else one Timestamp per value (mixed zones), else the text."""
    series = pd.Series(values, dtype=object)
    try:
        return pd.to_datetime(series, format="ISO8601")
    except (ValueError, TypeError):
        pass
    try:
        return pd.Series(
            [pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype=object
        )
    except (ValueError, TypeError):
        return series


def _frame(raw: dict[str, list], dup_columns: Sequence[str] = ()) -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in raw.items()})
    for column in dup_columns:  # a second column of the same name
        frame = pd.concat([frame, frame[[column]] * 2], axis=1)
    return frame


def _numbers(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for column in columns:
        if column in frame and not isinstance(frame[column], pd.DataFrame):
            converted = pd.to_numeric(frame[column], errors="coerce")
            if (converted.notna() | frame[column].isna()).all():
                frame[column] = converted.astype(float)
    return frame


NUMERIC = ("amount", "value")


def make_form(
    form: str, raw: dict[str, list], folder: Path, name: str, dup: Sequence[str] = ()
) -> object:
    """The table ``raw`` as a user would hand it to segml in ``form``."""
    frame = _numbers(_frame(raw, dup), NUMERIC)
    ids = [c for c in ("customer_id", "order_id") if c in raw]
    stamps = [c for c in ("ts", "signup_ts") if c in raw]
    if form == "df-object":
        for c in stamps:
            frame[c] = _datetimes(raw[c])
        return frame
    if form in ("df-str", "parquet"):
        for c in ids:
            frame[c] = frame[c].astype("str").where(frame[c].notna())
        for c in stamps:
            frame[c] = _datetimes(raw[c])
        if form == "df-str":
            return frame
        path = folder / f"{name}.parquet"
        for c in frame.columns:
            if frame[c].dtype == object:  # mixed zones, mixed types: as text
                frame[c] = frame[c].map(lambda v: None if _missing(v) else str(v))
        frame.to_parquet(path, index=False)
        return path
    if form == "df-text-ts":
        for c in ids:
            frame[c] = frame[c].astype("str").where(frame[c].notna())
        return frame
    if form == "csv":
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        return path
    raise ValueError(form)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# ----------------------------------------------------------------- the data
BASE_TX: dict[str, list] = {
    "customer_id": ["a", "a", "b", "b", "c"],
    "ts": [
        "2024-01-01 10:00:00",
        "2024-01-11 09:30:00",
        "2024-01-05 12:00:00",
        "2024-01-25 12:00:00",  # after the cutoff
        "2024-01-21 10:00:00",  # after the cutoff (midnight)
    ],
    "amount": [10.0, 30.0, 8.0, 5.0, 20.0],
    "order_id": ["o1", "o2", "o3", "o4", "o5"],
}
BASE_CUSTOMERS: dict[str, list] = {
    "customer_id": ["a", "b", "d", "e"],
    "signup_ts": [
        "2023-12-01 00:00:00",
        "2023-06-01 12:00:00",
        "2024-01-10 08:00:00",  # a lead
        "2024-02-01 00:00:00",  # signs up after the cutoff
    ],
    "industry": ["retail", "finance", "retail", "energy"],
}
BASE_EVENTS: dict[str, list] = {
    "customer_id": ["a", "a", "b", "b"],
    "ts": [
        "2024-01-02 10:00:00",
        "2024-01-30 10:00:00",  # after the cutoff
        "2024-01-10 10:00:00",
        "2024-01-05 09:00:00",
    ],
    "kind": ["complaint", "complaint", "support_ticket", "web_visit"],
    "value": [None, None, None, None],
}


def edit(raw: dict[str, list], **changes: Any) -> dict[str, list]:
    """A copy of ``raw``; ``column=(row, value)`` or ``column=[...]`` edits."""
    out = {k: list(v) for k, v in raw.items()}
    for column, change in changes.items():
        if isinstance(change, tuple):
            row, value = change
            out[column][row] = value
        elif change is None:
            out.pop(column)
        else:
            out[column] = list(change)
    return out


def append(raw: dict[str, list], row: dict[str, Any]) -> dict[str, list]:
    return {k: [*v, row.get(k)] for k, v in raw.items()}


def take(raw: dict[str, list], rows: Sequence[int]) -> dict[str, list]:
    return {k: [v[i] for i in rows] for k, v in raw.items()}


LONG = "x" * 995
TX_SCENARIOS: list[tuple[str, dict[str, list], object]] = [
    # (name, transactions, expectation: "value", "value|error" or [names])
    ("clean table", BASE_TX, "value"),
    (
        "duplicate order line (o2 twice): net_spend counts it once",
        append(BASE_TX, {k: v[1] for k, v in BASE_TX.items()}),
        "value",
    ),
    (
        "two different lines of one order: both count",
        append(
            BASE_TX,
            {
                "customer_id": "a",
                "ts": "2024-01-11 09:30:00",
                "amount": 5.0,
                "order_id": "o2",
            },
        ),
        "value",
    ),
    (
        "NaN customer_id",
        edit(BASE_TX, customer_id=(2, None)),
        ["transactions", "customer_id"],
    ),
    ("NaN ts", edit(BASE_TX, ts=(1, None)), ["transactions", "ts"]),
    ("NaN amount", edit(BASE_TX, amount=(0, float("nan"))), ["transactions", "amount"]),
    (
        "non-numeric amount 'abc'",
        edit(BASE_TX, amount=(0, "abc")),
        ["transactions", "amount"],
    ),
    (
        "amount '1.234,50' (decimal comma)",
        edit(BASE_TX, amount=(0, "1.234,50")),
        ["transactions", "amount"],
    ),
    ("inf amount", edit(BASE_TX, amount=(0, float("inf"))), ["transactions", "amount"]),
    (
        "-inf amount",
        edit(BASE_TX, amount=(2, float("-inf"))),
        ["transactions", "amount"],
    ),
    (
        "two amounts of 1e308 (sum overflows)",
        edit(BASE_TX, amount=[1e308, 1e308, 8.0, 5.0, 20.0]),
        ["transactions", "amount"],
    ),
    (
        "unparseable ts 'notadate'",
        edit(BASE_TX, ts=(0, "notadate")),
        ["transactions", "ts"],
    ),
    (
        "ts '2024-13-01' (month 13)",
        edit(BASE_TX, ts=(0, "2024-13-01")),
        ["transactions", "ts"],
    ),
    (
        "mixed time zones (+01:00, -05:00, Z)",
        edit(
            BASE_TX,
            ts=[
                "2024-01-01T10:00:00Z",
                "2024-01-11T09:30:00+01:00",
                "2024-01-05T12:00:00-05:00",
                "2024-01-20T23:30:00-05:00",  # 04:30 UTC on the 21st: after
                "2024-01-21T00:30:00+01:00",  # 23:30 UTC on the 20th: before
            ],
        ),
        "value",
    ),
    (
        "naive and zoned timestamps mixed",
        edit(BASE_TX, ts=(1, "2024-01-11T09:30:00+02:00")),
        ("value|error", ["transactions", "ts"]),
    ),
    (
        "unicode ids",
        edit(BASE_TX, customer_id=["Jürgen", "Jürgen", "客户-1", "客户-1", "😀"]),
        "value",
    ),
    (
        "1,000-character ids",
        edit(
            BASE_TX, customer_id=[LONG + "a", LONG + "a", LONG + "b", LONG + "b", "c"]
        ),
        "value",
    ),
    (
        "ids with leading zeros ('007' vs '07')",
        edit(BASE_TX, customer_id=["007", "007", "07", "07", "7"]),
        "value",
    ),
    ("integer ids", edit(BASE_TX, customer_id=[1, 1, 2, 2, 3]), "value"),
    (
        "amounts as numeric text ('10.5')",
        edit(BASE_TX, amount=["10.5", "30", "8", "5", "20"]),
        "value",
    ),
    (
        "returns (negative amounts)",
        edit(BASE_TX, amount=[10.0, -4.0, 8.0, 5.0, 20.0]),
        "value",
    ),
    (
        "dates without a time",
        edit(
            BASE_TX,
            ts=["2024-01-01", "2024-01-11", "2024-01-05", "2024-01-25", "2024-01-22"],
        ),
        "value",
    ),
    ("missing amount column", edit(BASE_TX, amount=None), ["transactions", "amount"]),
    ("two columns named amount", "dup:amount", ["transactions", "amount"]),
    ("empty table (0 rows)", take(BASE_TX, []), ("value|error", ["transactions"])),
    ("one-row table", take(BASE_TX, [0]), "value"),
    ("every row after as_of", take(BASE_TX, [3, 4]), ("value|error", ["transactions"])),
]
TX_FORMS = ("df-object", "df-str", "df-text-ts", "csv", "parquet")
FORM_AREA = {
    "df-object": "transactions: DataFrame, object ids, datetime64 ts",
    "df-str": "transactions: DataFrame, str ids, datetime64 ts",
    "df-text-ts": "transactions: DataFrame, str ids, text ts",
    "csv": "transactions: CSV path",
    "parquet": "transactions: Parquet path",
}


def _expectation_run(
    fn: Callable[[], Any], expectation: object, expected: Callable[[], pd.DataFrame]
) -> tuple[str, Callable[[], Outcome]]:
    if expectation == "value":
        return "correct features", _lazy_value(fn, expected)
    if isinstance(expectation, tuple):
        names = expectation[1]
        return (
            f"correct features, or an error naming {'/'.join(names)}",
            _lazy_value(fn, expected, error_ok=names),
        )
    names = list(expectation)  # type: ignore[arg-type]
    return f"error naming {'/'.join(names)}", want_error(fn, names)


def _lazy_value(
    fn: Callable[[], Any],
    expected: Callable[[], pd.DataFrame],
    error_ok: Sequence[str] | None = None,
) -> Callable[[], Outcome]:
    def run() -> Outcome:
        try:
            want = expected()
        except Exception as exc:  # noqa: BLE001 - a bug of the sweep, shown as such
            return Outcome(CRASH, f"sweep could not compute the expectation: {exc}")
        return want_value(fn, check_features(want), error_ok=error_ok)()

    return run


def transaction_cases(tmp: Path) -> list[Case]:
    from segml.features import build_features

    folder = tmp / "tables"
    folder.mkdir(exist_ok=True)
    cases = []
    for k, (name, raw, expectation) in enumerate(TX_SCENARIOS):
        dup: tuple[str, ...] = ()
        if raw == "dup:amount":
            raw, dup = BASE_TX, ("amount",)
        for form in TX_FORMS:
            if dup and form == "parquet":
                continue  # Parquet cannot hold two columns of one name

            def fn(form=form, raw=raw, dup=dup, k=k):
                source = make_form(form, raw, folder, f"tx{k}-{form}", dup)
                return build_features(source, as_of=AS_OF)

            expect, run = _expectation_run(
                fn, expectation, lambda raw=raw: expected_features(raw)
            )
            cases.append(Case(FORM_AREA[form], name, expect, run))

    # same input, same bits
    def twice():
        frame = make_form("df-str", BASE_TX, folder, "twice")
        return build_features(frame, as_of=AS_OF), build_features(frame, as_of=AS_OF)

    def same_bits(pair) -> str | None:
        a, b = pair
        for column in a.select_dtypes("number"):
            x, y = a[column].to_numpy(float), b[column].to_numpy(float)
            if not np.array_equal(x.view(np.int64), y.view(np.int64)):
                return f"{column} differs between two identical calls"
        return None

    cases.append(
        Case(
            FORM_AREA["df-str"],
            "same input twice gives the same bits",
            "identical features",
            want_value(twice, same_bits),
        )
    )
    return cases


CUSTOMER_SCENARIOS: list[tuple[str, dict[str, list], object]] = [
    ("clean table with a lead and a late sign-up", BASE_CUSTOMERS, "value"),
    (
        "duplicate customer ids",
        edit(BASE_CUSTOMERS, customer_id=["a", "b", "d", "d"]),
        ["customers", "customer_id"],
    ),
    (
        "NaN customer_id",
        edit(BASE_CUSTOMERS, customer_id=(2, None)),
        ["customers", "customer_id"],
    ),
    ("NaN signup_ts (allowed)", edit(BASE_CUSTOMERS, signup_ts=(2, None)), "value"),
    (
        "unparseable signup_ts",
        edit(BASE_CUSTOMERS, signup_ts=(2, "soon")),
        ["customers", "signup_ts"],
    ),
    (
        "signup_ts in mixed time zones",
        edit(
            BASE_CUSTOMERS,
            signup_ts=[
                "2023-12-01T00:00:00+05:00",
                "2023-06-01T12:00:00Z",
                "2024-01-20T23:00:00-02:00",  # 01:00 UTC on the 21st: after
                "2024-02-01T00:00:00+01:00",
            ],
        ),
        "value",
    ),
    (
        "unicode and 1,000-character lead ids",
        edit(
            BASE_CUSTOMERS,
            customer_id=["a", "b", "Zoë-客户", LONG + "e"],
            signup_ts=(3, None),
        ),
        "value",
    ),
    ("empty table (0 rows)", take(BASE_CUSTOMERS, []), ("value|error", ["customers"])),
    ("one-row table", take(BASE_CUSTOMERS, [2]), "value"),
    (
        "missing customer_id column",
        edit(BASE_CUSTOMERS, customer_id=None),
        ["customers", "customer_id"],
    ),
]


def customer_cases(tmp: Path) -> list[Case]:
    from segml.features import build_features

    folder = tmp / "tables"
    folder.mkdir(exist_ok=True)
    tx = make_form("df-str", BASE_TX, folder, "base")
    cases = []
    for k, (name, raw, expectation) in enumerate(CUSTOMER_SCENARIOS):
        for form in ("df-object", "df-str", "csv", "parquet"):

            def fn(form=form, raw=raw, k=k):
                source = make_form(form, raw, folder, f"cu{k}-{form}")
                return build_features(tx, source, as_of=AS_OF)

            def expected(raw=raw):
                customers = raw if raw.get("customer_id") is not None else None
                if customers is not None and not customers["customer_id"]:
                    customers = None
                return expected_features(BASE_TX, customers=customers)

            expect, run = _expectation_run(fn, expectation, expected)
            cases.append(Case(f"customers: {_form_label(form)}", name, expect, run))
    return cases


def _form_label(form: str) -> str:
    return {
        "df-object": "DataFrame, object ids",
        "df-str": "DataFrame, str ids",
        "csv": "CSV path",
        "parquet": "Parquet path",
    }[form]


EVENT_SCENARIOS: list[tuple[str, dict[str, list], object]] = [
    ("clean event log", BASE_EVENTS, "value"),
    ("NaN kind", edit(BASE_EVENTS, kind=(2, None)), ["events", "kind"]),
    ("NaN ts", edit(BASE_EVENTS, ts=(0, None)), ["events", "ts"]),
    (
        "NaN customer_id",
        edit(BASE_EVENTS, customer_id=(0, None)),
        ["events", "customer_id"],
    ),
    (
        "non-numeric value 'high'",
        edit(BASE_EVENTS, value=(1, "high")),
        ["events", "value"],
    ),
    ("unknown kind 'tweet' (ignored)", edit(BASE_EVENTS, kind=(3, "tweet")), "value"),
    ("event of an unknown customer", edit(BASE_EVENTS, customer_id=(2, "zz")), "value"),
    (
        "mixed time zones",
        edit(
            BASE_EVENTS,
            ts=[
                "2024-01-02T10:00:00+09:00",
                "2024-01-20T23:00:00-03:00",
                "2024-01-10T10:00:00Z",
                "2024-01-05T09:00:00+01:00",
            ],
        ),
        "value",
    ),
    ("empty event log (0 rows)", take(BASE_EVENTS, []), ("value|error", ["events"])),
]


def event_cases(tmp: Path) -> list[Case]:
    from segml.features import build_features

    folder = tmp / "tables"
    folder.mkdir(exist_ok=True)
    tx = make_form("df-str", BASE_TX, folder, "base")
    cases = []
    for k, (name, raw, expectation) in enumerate(EVENT_SCENARIOS):
        for form in ("df-str", "csv", "parquet"):

            def fn(form=form, raw=raw, k=k):
                source = make_form(form, raw, folder, f"ev{k}-{form}")
                return build_features(tx, None, source, as_of=AS_OF)

            expect, run = _expectation_run(
                fn, expectation, lambda raw=raw: expected_features(BASE_TX, events=raw)
            )
            cases.append(Case(f"events: {_form_label(form)}", name, expect, run))
    return cases


def read_cases(tmp: Path) -> list[Case]:
    """``segml.data.read_*`` on files: the validated table, checked by hand."""
    from segml.data import read_customers, read_transactions

    folder = tmp / "tables"
    folder.mkdir(exist_ok=True)
    dup = append(BASE_TX, {k: v[1] for k, v in BASE_TX.items()})

    def table_is(raw: dict[str, list]) -> Callable[[pd.DataFrame], str | None]:
        want = expected_features(raw, as_of="2100-01-01")

        def check(out: pd.DataFrame) -> str | None:
            got = out.groupby(out["customer_id"].astype(str))["amount"].sum()
            if sorted(got.index) != sorted(want.index):
                return f"ids {sorted(got.index)} vs {sorted(want.index)}"
            diff = got.reindex(want.index) - want["net_spend"]
            if not np.allclose(diff.to_numpy(float), 0):
                return f"amount sums {got.to_dict()} vs {want['net_spend'].to_dict()}"
            return None

        return check

    cases = []
    for form in ("csv", "parquet"):
        area = f"read_*: {_form_label(form)}"

        def reader(raw, name, form=form, fn=read_transactions):
            return lambda: fn(make_form(form, raw, folder, f"rd-{name}-{form}"))

        cases += [
            Case(
                area,
                "read_transactions: clean",
                "the table",
                want_value(reader(BASE_TX, "clean"), table_is(BASE_TX)),
            ),
            Case(
                area,
                "read_transactions: duplicate order line",
                "dropped once",
                want_value(reader(dup, "dup"), table_is(dup)),
            ),
            Case(
                area,
                "read_transactions: NaN amount",
                "error naming transactions/amount",
                want_error(
                    reader(edit(BASE_TX, amount=(0, None)), "nanamt"),
                    ["transactions", "amount"],
                ),
            ),
            Case(
                area,
                "read_transactions: NaN customer_id",
                "error naming transactions/customer_id",
                want_error(
                    reader(edit(BASE_TX, customer_id=(0, None)), "nanid"),
                    ["transactions", "customer_id"],
                ),
            ),
            Case(
                area,
                "read_customers: duplicate ids",
                "error naming customers/customer_id",
                want_error(
                    reader(
                        edit(BASE_CUSTOMERS, customer_id=["a", "a", "d", "e"]),
                        "cudup",
                        fn=read_customers,
                    ),
                    ["customers", "customer_id"],
                ),
            ),
        ]
    xlsx = folder / "orders.xlsx"
    xlsx.write_bytes(b"PK\x03\x04 not really a workbook")
    cases.append(
        Case(
            "read_*: CSV path",
            "read_transactions: .xlsx file",
            "error naming transactions and the format",
            want_error(lambda: read_transactions(xlsx), ["transactions", "xlsx"]),
        )
    )
    cases.append(
        Case(
            "read_*: CSV path",
            "read_transactions: no such file",
            "error naming transactions and the path",
            want_error(
                lambda: read_transactions(folder / "nope.csv"),
                ["transactions", "nope.csv"],
            ),
        )
    )
    return cases


# ---------------------------------------------------------------- as_of
def as_of_cases(tmp: Path) -> list[Case]:
    from segml.features import build_features

    frame = make_form("df-str", BASE_TX, tmp, "asof")
    day = expected_features(BASE_TX, "2024-01-21")
    evening = expected_features(BASE_TX, "2024-01-21 23:59:59")
    area = "as_of forms (build_features)"
    valid = [
        ("ISO date '2024-01-21'", "2024-01-21", day),
        ("ISO datetime '2024-01-21T00:00:00'", "2024-01-21T00:00:00", day),
        ("ISO with zone '2024-01-21T01:00:00+01:00'", "2024-01-21T01:00:00+01:00", day),
        ("'2024-01-21 23:59:59' includes the day", "2024-01-21 23:59:59", evening),
        ("datetime.datetime", dt.datetime(2024, 1, 21), day),
        ("datetime.date", dt.date(2024, 1, 21), day),
        ("pandas Timestamp", pd.Timestamp("2024-01-21"), day),
        ("numpy datetime64", np.datetime64("2024-01-21"), day),
        (
            "aware datetime (UTC+1)",
            dt.datetime(2024, 1, 21, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            day,
        ),
    ]
    cases = [
        Case(
            area,
            name,
            "features as of 2024-01-21",
            want_value(
                lambda v=value: build_features(frame, as_of=v), check_features(want)
            ),
        )
        for name, value, want in valid
    ]
    either = [("int 20240121", 20240121)]
    for name, value in either:
        cases.append(
            Case(
                area,
                name,
                "read as 2024-01-21, or an error naming as_of",
                want_error(
                    lambda v=value: build_features(frame, as_of=v),
                    ["as_of"],
                    also=(ValueError, TypeError),
                    check_ok=check_features(day),
                ),
            )
        )
    bad = [
        ("'01/06/2024' (ambiguous day/month)", "01/06/2024"),
        ("'21/01/2024' (day first)", "21/01/2024"),
        ("'2024-13-01' (month 13)", "2024-13-01"),
        ("'notadate'", "notadate"),
        ("empty string", ""),
        ("None", None),
        ("NaT", pd.NaT),
        ("float 1705795200.0", 1705795200.0),
    ]
    for name, value in bad:
        cases.append(
            Case(
                area,
                name,
                "error naming as_of",
                want_error(
                    lambda v=value: build_features(frame, as_of=v),
                    ["as_of"],
                    also=(ValueError, TypeError),
                ),
            )
        )
    return cases


# ---------------------------------------------------------------- configs
CONFIG_BASE = [
    "data.synthetic.n_customers=400",
    "model.lgbm.n_estimators=10",
    "segments.k_max=3",
    "segments.sample_size=200",
    "training.n_cutoffs=2",
    "mlflow.experiment=reliability-config",
    "mlflow.registered_model=reliability-config",
]


def config_cases(ctx: Context) -> list[Case]:
    """``load_config`` then ``segml.train``: errors must name the key."""
    from segml.config import load_config

    root = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"
    blocker = ctx.tmp / "a-file"
    blocker.write_text("not a folder")
    base = [*CONFIG_BASE, f"models_dir={ctx.tmp / 'models-config'}"]

    def trained(overrides: list[str]):
        def fn():
            from segml.app.train import train

            cfg = load_config(root, [*base, *overrides])
            return train(cfg, quiet=True)

        return fn

    area = "config (load_config + segml.train)"
    bad = [
        (
            "model.lgbm.n_estimator=50 (typo)",
            ["model.lgbm.n_estimator=50"],
            ["n_estimator"],
        ),
        (
            "model.lgbm.learning_rat=0.1 (typo)",
            ["model.lgbm.learning_rat=0.1"],
            ["learning_rat"],
        ),
        (
            "model.value_ranker.n_estimator=5 (typo)",
            ["model.value_ranker.n_estimator=5"],
            ["n_estimator"],
        ),
        ("tiers.rulee=value (unknown key)", ["tiers.rulee=value"], ["tiers.rulee"]),
        ("tiers.rule=pareto", ["tiers.rule=pareto"], ["tiers.rule"]),
        (
            "tiers.count_shares=[0.5, 0.6]",
            ["tiers.count_shares=[0.5, 0.6]"],
            ["count_shares"],
        ),
        (
            "training.horizon_days=5000 (longer than the data)",
            ["training.horizon_days=5000"],
            ["horizon"],
        ),
        ("training.horizon_days=-1", ["training.horizon_days=-1"], ["horizon_days"]),
        ("training.n_cutoffs=1", ["training.n_cutoffs=1"], ["n_cutoffs"]),
        (
            "training.label_horizon_days=400 > horizon",
            ["training.label_horizon_days=400"],
            ["label_horizon_days"],
        ),
        (
            "training.cutoffs in the future",
            ["training.cutoffs=[2030-01-01, 2030-06-01]"],
            ["cutoffs"],
        ),
        (
            "data.synthetic.start=notadate",
            ["data.synthetic.start=notadate"],
            ["data.synthetic.start"],
        ),
        (
            "data.synthetic.start after end",
            ["data.synthetic.start=2025-06-01"],
            ["start"],
        ),
        (
            "data.synthetic.n_customers=0",
            ["data.synthetic.n_customers=0"],
            ["n_customers"],
        ),
        ("features.windows=[]", ["features.windows=[]"], ["features.windows"]),
        ("segments.k_min=1", ["segments.k_min=1"], ["k_min"]),
        (
            "tiers.composite_criteria with an unknown column",
            ["tiers.rule=composite", "tiers.composite_criteria={no_such_col: 1.0}"],
            ["no_such_col"],
        ),
        (
            "data.source=files without data.transactions",
            ["data.source=files"],
            ["data.transactions"],
        ),
        (
            "data.transactions: no such file",
            ["data.source=files", f"data.transactions={ctx.tmp / 'missing.csv'}"],
            ["missing.csv"],
        ),
        (
            "models_dir that cannot be written",
            [f"models_dir={blocker / 'models'}"],
            ["models_dir"],
        ),
        ("override without '='", ["training.horizon_days"], ["training.horizon_days"]),
        ("unknown section", ["nosuch.key=1"], ["nosuch"]),
    ]
    cases = [
        Case(
            area,
            name,
            f"SegmlConfigError naming {names[0]}",
            want_error(trained(overrides), names, also=(FileNotFoundError,)),
        )
        for name, overrides, names in bad
    ]

    def starts_2023(result) -> str | None:
        cfg = load_config(root, [*base, "data.synthetic.start=2023-01-01"])
        if str(cfg.data.synthetic.start)[:10] != "2023-01-01":
            return f"start read as {cfg.data.synthetic.start!r}"
        return None if result.run_id else "no run"

    cases.append(
        Case(
            area,
            "data.synthetic.start=2023-01-01 (a YAML date)",
            "trains from 2023-01-01",
            want_value(trained(["data.synthetic.start=2023-01-01"]), starts_2023),
        )
    )
    return cases


# ----------------------------------------------------------------- CLI
def run_cli(
    ctx: Context, args: list[str], timeout: float = 180, real: bool = False
) -> tuple[int, str, str]:
    """Run ``segml ARGS``: in this process through click's runner (the same
    command functions, exit codes and stderr; much faster than a fresh
    interpreter per case), or with ``real`` as the installed ``segml`` script
    in a subprocess."""
    if not real:
        return _run_in_process(ctx, args)
    command = [str(Path(sys.executable).parent / "segml"), *args]
    try:
        proc = subprocess.run(
            command,
            cwd=ctx.tmp,
            env=ctx.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        return -999, str(exc.stdout or ""), f"timed out after {timeout} s"
    return proc.returncode, proc.stdout, proc.stderr


def _run_in_process(ctx: Context, args: list[str]) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from segml.cli import main

    previous = os.getcwd()
    os.chdir(ctx.tmp)
    try:
        result = CliRunner().invoke(main, args, catch_exceptions=True)
    finally:
        os.chdir(previous)
    err = result.stderr
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        err += "\nTraceback (most recent call last, in process):\n" + "".join(
            traceback.format_exception(exc)
        )
        err += f"{type(exc).__name__}: {exc}"
    return result.exit_code, result.stdout, err


def _cli_error_lines(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if line.startswith("error:") or line.startswith("Error:")
    ]


def cli_error(
    ctx: Context,
    args: list[str],
    names: Sequence[str],
    timeout: float = 180,
    forbid: Sequence[str] = (),
    real: bool = False,
) -> Callable[[], Outcome]:
    """Exit 2, one ``error:`` line naming ``names``, no traceback."""

    def run() -> Outcome:
        code, out, err = run_cli(ctx, args, timeout, real)
        last = one_line(err.strip().splitlines()[-1] if err.strip() else "")
        if code == 0:
            return Outcome(
                SILENT, f"exit 0: {one_line(out.strip().splitlines()[-1:] or '')}"
            )
        if "Traceback" in err or code != 2:
            return Outcome(
                CRASH,
                f"exit {code}, {'traceback, ' if 'Traceback' in err else ''}"
                f"last line: {last}",
            )
        lines = _cli_error_lines(err)
        if len(lines) != 1:
            return Outcome(CRASH, f"exit 2 with {len(lines)} error lines: {last}")
        missing = _names(err, names)
        if missing:
            return Outcome(
                CRASH, f"exit 2 but does not name {missing}: {one_line(lines[0])}"
            )
        late = [f for f in forbid if f in err]
        if late:
            return Outcome(CRASH, f"exit 2 only after {late}: {one_line(lines[0])}")
        return Outcome(CLEAR, one_line(lines[0]))

    return run


def cli_value(
    ctx: Context,
    args: list[str],
    check: Callable[[str], str | None],
    timeout: float = 180,
    error_ok: Sequence[str] | None = None,
    real: bool = False,
) -> Callable[[], Outcome]:
    def run() -> Outcome:
        code, out, err = run_cli(ctx, args, timeout, real)
        last = one_line(err.strip().splitlines()[-1] if err.strip() else "")
        if code == 0:
            problem = _safe_check(check, out)
            return (
                Outcome(OK, "exit 0, correct")
                if problem is None
                else Outcome(SILENT, f"exit 0, wrong: {problem}")
            )
        if code == 2 and "Traceback" not in err and _cli_error_lines(err):
            if error_ok is not None and not _names(err, error_ok):
                return Outcome(OK, f"clear error (allowed): {last}")
            return Outcome(CLEAR, f"refused a valid input: {last}", refused=True)
        return Outcome(CRASH, f"exit {code}: {last}")

    return run


def known_at(as_of: str, config_overrides: list[str]) -> int:
    """Customers known at ``as_of`` in the configured synthetic data (by hand)."""
    from segml.app.tables import load_tables
    from segml.config import load_config

    tables = load_tables(load_config(None, config_overrides).data)
    cutoff = pd.Timestamp(as_of)
    tx = tables.transactions
    known = set(tx.loc[tx["ts"] <= cutoff, "customer_id"].astype(str))
    c = tables.customers
    ok = c["signup_ts"].isna() | (c["signup_ts"] <= cutoff)
    known |= set(c.loc[ok, "customer_id"].astype(str))
    return len(known)


def cli_cases(ctx: Context, small_overrides: list[str]) -> list[Case]:
    cfg = ["--config", str(ctx.config)]
    uri = ctx.model_uri
    out = str(ctx.tmp / "cli-out")
    leads_ok = ctx.tmp / "leads.csv"
    leads = ctx.rows.loc[~ctx.rows["has_history"].astype(bool)]
    attrs = [c for c in ctx.pipeline.attributes if c in leads.columns]
    lead_table = leads[["customer_id", *attrs]].copy()
    lead_table.to_csv(leads_ok, index=False)
    lead_table[["customer_id"]].to_csv(ctx.tmp / "leads-ids-only.csv", index=False)
    lead_table.rename(columns=str.title).rename(
        columns={"Customer_Id": "customer_id"}
    ).to_csv(ctx.tmp / "leads-misnamed.csv", index=False)
    pd.concat([lead_table, lead_table.head(1)]).to_csv(
        ctx.tmp / "leads-dup.csv", index=False
    )
    lead_table.assign(customer_id=[None, *lead_table["customer_id"][1:]]).to_csv(
        ctx.tmp / "leads-nan.csv", index=False
    )
    lead_table.head(0).to_csv(ctx.tmp / "leads-empty.csv", index=False)
    blocker = ctx.tmp / "a-file"
    blocker.write_text("not a folder")

    def rows_in(path: str, n: int) -> Callable[[str], str | None]:
        def check(_stdout: str) -> str | None:
            frame = (
                pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)
            )
            return None if len(frame) == n else f"{len(frame)} rows, expected {n}"

        return check

    n_known = known_at("2024-06-30", small_overrides)
    train = ["train", *cfg, "--quiet"]
    area_s = "CLI: segml score / score-leads"
    area_t = "CLI: segml train"
    area_o = "CLI: serve / promote / compare"
    champ = "models:/segml-tier@champoin"
    cases = [
        Case(
            area_s,
            "score: valid (as-of 2024-06-30)",
            f"{n_known} rows",
            cli_value(
                ctx,
                [
                    "score",
                    "--model",
                    uri,
                    "--as-of",
                    "2024-06-30",
                    *cfg,
                    "--out",
                    out + "-ok.csv",
                    "--no-reasons",
                ],
                rows_in(out + "-ok.csv", n_known),
            ),
        ),
        Case(
            area_s,
            "score: --model @champoin (alias typo)",
            "exit 2 naming the alias",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    champ,
                    "--as-of",
                    "2024-06-30",
                    *cfg,
                    "--out",
                    out + "1.csv",
                ],
                ["champoin"],
                real=True,
            ),
        ),
        Case(
            area_s,
            "score: unknown model name",
            "exit 2 naming the model",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    "models:/no-such-model@champion",
                    "--as-of",
                    "2024-06-30",
                    *cfg,
                    "--out",
                    out + "2.csv",
                ],
                ["no-such-model"],
            ),
        ),
        Case(
            area_s,
            "score: runs:/ URI of no run",
            "exit 2 naming the run",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    "runs:/0123456789abcdef/model",
                    "--as-of",
                    "2024-06-30",
                    *cfg,
                    "--out",
                    out + "3.csv",
                ],
                ["0123456789abcdef"],
            ),
        ),
        Case(
            area_s,
            "score: export path that does not exist",
            "exit 2 naming the path",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    str(ctx.tmp / "no-export"),
                    "--as-of",
                    "2024-06-30",
                    *cfg,
                    "--out",
                    out + "4.csv",
                ],
                ["no-export"],
            ),
        ),
        Case(
            area_s,
            "score: --out a.xlsx",
            "exit 2 naming --out, before scoring",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    uri,
                    "--as-of",
                    "2024-06-30",
                    *cfg,
                    "--out",
                    out + ".xlsx",
                ],
                ["--out"],
            ),
        ),
        Case(
            area_s,
            "score: --as-of 2024-13-01",
            "exit 2 naming as-of",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    uri,
                    "--as-of",
                    "2024-13-01",
                    *cfg,
                    "--out",
                    out + "5.csv",
                ],
                ["as-of"],
            ),
        ),
        Case(
            area_s,
            "score: --as-of 01/06/2024 (ambiguous)",
            "exit 2 naming as-of",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    uri,
                    "--as-of",
                    "01/06/2024",
                    *cfg,
                    "--out",
                    out + "6.csv",
                ],
                ["as-of"],
            ),
        ),
        Case(
            area_s,
            "score: --as-of notadate",
            "exit 2 naming as-of",
            cli_error(
                ctx,
                [
                    "score",
                    "--model",
                    uri,
                    "--as-of",
                    "notadate",
                    *cfg,
                    "--out",
                    out + "7.csv",
                ],
                ["as-of"],
            ),
        ),
        Case(
            area_s,
            "score: --as-of 20240630",
            "2024-06-30's rows, or exit 2 naming as-of",
            cli_value(
                ctx,
                [
                    "score",
                    "--model",
                    uri,
                    "--as-of",
                    "20240630",
                    *cfg,
                    "--out",
                    out + "8.csv",
                    "--no-reasons",
                ],
                rows_in(out + "8.csv", n_known),
                error_ok=["as-of"],
            ),
        ),
        Case(
            area_s,
            "score-leads: valid leads",
            f"{len(lead_table)} rows",
            cli_value(
                ctx,
                [
                    "score-leads",
                    str(leads_ok),
                    "--model",
                    uri,
                    "--out",
                    out + "-leads.csv",
                    "--as-of",
                    "2024-06-30",
                ],
                rows_in(out + "-leads.csv", len(lead_table)),
            ),
        ),
        Case(
            area_s,
            "score-leads: only customer_id (attributes missing)",
            "exit 2 naming the missing attributes",
            cli_error(
                ctx,
                [
                    "score-leads",
                    str(ctx.tmp / "leads-ids-only.csv"),
                    "--model",
                    uri,
                    "--out",
                    out + "9.csv",
                ],
                [attrs[0]] if attrs else [],
            ),
        ),
        Case(
            area_s,
            "score-leads: misnamed attribute columns (Industry)",
            "exit 2 naming the missing and present columns",
            cli_error(
                ctx,
                [
                    "score-leads",
                    str(ctx.tmp / "leads-misnamed.csv"),
                    "--model",
                    uri,
                    "--out",
                    out + "10.csv",
                ],
                [attrs[0], attrs[0].title()] if attrs else [],
            ),
        ),
        Case(
            area_s,
            "score-leads: duplicate customer ids",
            "exit 2 naming customers/customer_id",
            cli_error(
                ctx,
                [
                    "score-leads",
                    str(ctx.tmp / "leads-dup.csv"),
                    "--model",
                    uri,
                    "--out",
                    out + "11.csv",
                ],
                ["customers", "customer_id"],
            ),
        ),
        Case(
            area_s,
            "score-leads: empty customer_id",
            "exit 2 naming customers/customer_id",
            cli_error(
                ctx,
                [
                    "score-leads",
                    str(ctx.tmp / "leads-nan.csv"),
                    "--model",
                    uri,
                    "--out",
                    out + "12.csv",
                ],
                ["customers", "customer_id"],
            ),
        ),
        Case(
            area_s,
            "score-leads: header only (0 leads)",
            "0 rows, or exit 2 naming customers",
            cli_value(
                ctx,
                [
                    "score-leads",
                    str(ctx.tmp / "leads-empty.csv"),
                    "--model",
                    uri,
                    "--out",
                    out + "13.csv",
                ],
                rows_in(out + "13.csv", 0),
                error_ok=["customers"],
            ),
        ),
        Case(
            area_s,
            "score-leads: --model @champoin",
            "exit 2 naming the alias",
            cli_error(
                ctx,
                [
                    "score-leads",
                    str(leads_ok),
                    "--model",
                    champ,
                    "--out",
                    out + "14.csv",
                ],
                ["champoin"],
            ),
        ),
        Case(
            area_s,
            "score-leads: --out leads.xlsx",
            "exit 2 naming --out",
            cli_error(
                ctx,
                ["score-leads", str(leads_ok), "--model", uri, "--out", out + ".xlsx"],
                ["--out"],
            ),
        ),
        Case(
            area_s,
            "score-leads: no such file",
            "exit 2 naming the file",
            cli_error(
                ctx,
                [
                    "score-leads",
                    str(ctx.tmp / "nope.csv"),
                    "--model",
                    uri,
                    "--out",
                    out + "15.csv",
                ],
                ["nope.csv"],
            ),
        ),
        Case(
            area_t,
            "--set model.lgbm.n_estimator=50 (typo)",
            "exit 2 naming the key",
            cli_error(
                ctx,
                [*train, "--set", "model.lgbm.n_estimator=50"],
                ["n_estimator"],
                real=True,
            ),
        ),
        Case(
            area_t,
            "--set data.synthetic.start=notadate",
            "exit 2 naming the key",
            cli_error(
                ctx,
                [*train, "--set", "data.synthetic.start=notadate"],
                ["data.synthetic.start"],
            ),
        ),
        Case(
            area_t,
            "--set data.synthetic.start=2023-01-01",
            "trains (exit 0)",
            cli_value(
                ctx,
                [*train, "--set", "data.synthetic.start=2023-01-01"],
                lambda s: None if "MLflow run" in s else "no run summary",
            ),
        ),
        Case(
            area_t,
            "--set training.horizon_days=5000",
            "exit 2 naming horizon",
            cli_error(
                ctx, [*train, "--set", "training.horizon_days=5000"], ["horizon"]
            ),
        ),
        Case(
            area_t,
            "--set models_dir=<a file>/models",
            "exit 2 naming models_dir, before fitting",
            cli_error(
                ctx,
                [*train, "--set", f"models_dir={blocker / 'models'}"],
                ["models_dir"],
                forbid=["fitting the final model"],
            ),
        ),
        Case(
            area_t,
            "--set without '='",
            "exit 2 naming the override",
            cli_error(ctx, [*train, "--set", "tiers.rule"], ["tiers.rule"]),
        ),
        Case(
            area_t,
            "--set tiers.rule=pareto",
            "exit 2 naming tiers.rule",
            cli_error(ctx, [*train, "--set", "tiers.rule=pareto"], ["tiers.rule"]),
        ),
        Case(
            area_t,
            "--config that does not exist",
            "exit 2 naming the file",
            cli_error(
                ctx, ["train", "--config", str(ctx.tmp / "nope.yaml")], ["nope.yaml"]
            ),
        ),
        Case(
            area_t,
            "--set training.cutoffs=[2030-01-01, 2030-06-01]",
            "exit 2 naming cutoffs",
            cli_error(
                ctx,
                [*train, "--set", "training.cutoffs=[2030-01-01, 2030-06-01]"],
                ["cutoffs"],
            ),
        ),
        Case(
            area_o,
            "serve --model @champoin",
            "exit 2 naming the alias",
            cli_error(
                ctx,
                ["serve", "--model", champ, "--port", "0"],
                ["champoin"],
                timeout=90,
                real=True,
            ),
        ),
        Case(
            area_o,
            "serve --model <no such path>",
            "exit 2 naming the path",
            cli_error(
                ctx,
                ["serve", "--model", str(ctx.tmp / "no-export"), "--port", "0"],
                ["no-export"],
                timeout=90,
                real=True,
            ),
        ),
        Case(
            area_o,
            "promote --version 99 (no such version)",
            "exit 2 naming the version",
            cli_error(ctx, ["promote", *cfg, "--version", "99"], ["99"]),
        ),
        Case(
            area_o,
            "promote --name no-such-model",
            "exit 2 naming the model",
            cli_error(
                ctx, ["promote", *cfg, "--name", "no-such-model"], ["no-such-model"]
            ),
        ),
        Case(
            area_o,
            "promote --from-alias champoin",
            "exit 2 naming the alias",
            cli_error(ctx, ["promote", *cfg, "--from-alias", "champoin"], ["champoin"]),
        ),
        Case(
            area_o,
            "compare --experiment no-such-experiment",
            "exit 2 naming the experiment",
            cli_error(
                ctx,
                ["compare", *cfg, "--experiment", "no-such-experiment"],
                ["no-such-experiment"],
            ),
        ),
        Case(
            area_o,
            "compare --metric no/such_metric",
            "exit 2 naming the metric",
            cli_error(
                ctx, ["compare", *cfg, "--metric", "no/such_metric"], ["no/such_metric"]
            ),
        ),
    ]
    return cases


# ------------------------------------------------------------ model inputs
def model_cases(ctx: Context) -> list[Case]:
    import segml

    rows = ctx.rows.reset_index(drop=True)
    uri = ctx.model_uri
    reference = ctx.pipeline.predict(rows, reasons=False)
    cats = [c for c in ctx.pipeline.categorical_columns if c in rows.columns]
    numeric = [
        c
        for c in ctx.pipeline.history_features
        if c in rows.columns and c not in cats and c != "has_history"
    ]
    feature = "net_spend" if "net_spend" in numeric else numeric[0]

    def predict(frame, **kw):
        return lambda: segml.predict(frame, uri, reasons=kw.pop("reasons", False), **kw)

    def same_as(ref: pd.DataFrame) -> Callable[[pd.DataFrame], str | None]:
        def check(out: pd.DataFrame) -> str | None:
            if len(out) != len(ref):
                return f"{len(out)} rows, expected {len(ref)}"
            for column in ("customer_id", "tier", "route"):
                a, b = (
                    out[column].astype(str).tolist(),
                    ref[column].astype(str).tolist(),
                )
                if a != b:
                    k = next(i for i in range(len(a)) if a[i] != b[i])
                    return f"{column}[{k}] = {a[k]!r}, expected {b[k]!r}"
            probs = [c for c in ref.columns if c.startswith("p_")]
            if not np.allclose(out[probs].to_numpy(float), ref[probs].to_numpy(float)):
                return "probabilities differ"
            return None

        return check

    def ref_for(frame: pd.DataFrame) -> Callable[[pd.DataFrame], str | None]:
        return same_as(ctx.pipeline.predict(frame, reasons=False))

    hist = rows["has_history"].astype(bool)
    as_text = rows.assign(has_history=np.where(hist, "True", "False"))
    as_int = rows.assign(has_history=hist.astype(int))
    first_cat = cats[0] if cats else None
    unseen = rows.copy()
    blank = rows.copy()
    if first_cat:
        unseen[first_cat] = unseen[first_cat].astype(object)
        unseen.loc[0, first_cat] = "martian-industry"
        blank[first_cat] = blank[first_cat].astype(object)
        blank.loc[0, first_cat] = None
    numeric_text = rows.copy()
    numeric_text[feature] = numeric_text[feature].map(lambda v: f"{v}").astype(object)
    bad_number = rows.copy()
    bad_number[feature] = bad_number[feature].astype(object)
    bad_number.loc[0, feature] = "lots"
    missing_feature = rows.drop(columns=[feature])
    nan_feature = rows.assign(**{feature: np.nan})
    long_ids = rows.assign(customer_id=[LONG + str(i) for i in range(len(rows))])
    uni_ids = rows.assign(customer_id=[f"客户-{i}-é" for i in range(len(rows))])
    int_ids = rows.assign(customer_id=list(range(100, 100 + len(rows))))
    dup_ids = rows.assign(customer_id=["same"] * len(rows))
    null_id = rows.astype({"customer_id": object})
    null_id.loc[1, "customer_id"] = None
    maybe = rows.assign(has_history="maybe")
    shuffled = rows[list(reversed(rows.columns))]
    extra = rows.assign(favourite_colour="blue", unused_number=1.0)
    inf_feature = rows.assign(**{feature: np.inf})
    area = "model inputs (segml.predict)"
    cases = [
        Case(
            area,
            "valid rows (customers and leads)",
            "tiers, routes as has_history",
            want_value(
                predict(rows),
                lambda out: (
                    same_as(reference)(out)
                    or (
                        None
                        if (
                            out["route"].eq("history").to_numpy() == hist.to_numpy()
                        ).all()
                        else "route does not follow has_history"
                    )
                ),
            ),
        ),
        Case(
            area,
            "with reasons",
            "3 reason columns filled for history rows",
            want_value(
                predict(rows, reasons=True),
                lambda out: (
                    None
                    if out.loc[hist.to_numpy(), "reason_1"].notna().all()
                    else "empty reasons"
                ),
            ),
        ),
        Case(
            area,
            "customer_id as the index",
            "same answer",
            want_value(predict(rows.set_index("customer_id")), same_as(reference)),
        ),
        Case(
            area,
            "missing customer_id",
            "error naming customer_id",
            want_error(predict(rows.drop(columns=["customer_id"])), ["customer_id"]),
        ),
        Case(
            area,
            "a null customer_id",
            "error naming customer_id",
            want_error(predict(null_id), ["customer_id"]),
        ),
        Case(
            area,
            "integer customer ids",
            "ids as text, same tiers",
            want_value(
                predict(int_ids),
                same_as(
                    reference.assign(
                        customer_id=[str(i) for i in int_ids["customer_id"]]
                    )
                ),
            ),
        ),
        Case(
            area,
            "unicode ids",
            "echoed, same tiers",
            want_value(
                predict(uni_ids),
                same_as(reference.assign(customer_id=uni_ids["customer_id"].tolist())),
            ),
        ),
        Case(
            area,
            "1,000-character ids",
            "echoed, same tiers",
            want_value(
                predict(long_ids),
                same_as(reference.assign(customer_id=long_ids["customer_id"].tolist())),
            ),
        ),
        Case(
            area,
            "duplicate ids",
            "one row out per row in",
            want_value(predict(dup_ids), same_as(reference.assign(customer_id="same"))),
        ),
        Case(
            area,
            f"non-numeric {feature} ('lots')",
            f"error naming {feature}",
            want_error(predict(bad_number), [feature]),
        ),
        Case(
            area,
            f"{feature} as numeric text",
            "same answer",
            want_value(predict(numeric_text), same_as(reference)),
        ),
        Case(
            area,
            f"{feature} missing (column absent)",
            "treated as missing values",
            want_value(predict(missing_feature), ref_for(nan_feature)),
        ),
        Case(
            area,
            f"{feature} = inf",
            f"error naming {feature}, or scored as a huge value",
            want_error(
                predict(inf_feature),
                [feature],
                check_ok=ref_for(rows.assign(**{feature: 1e300})),
            ),
        ),
        Case(
            area,
            "has_history as 'True'/'False' strings",
            "same as booleans",
            want_value(predict(as_text), same_as(reference)),
        ),
        Case(
            area,
            "has_history as 0/1",
            "same as booleans",
            want_value(predict(as_int), same_as(reference)),
        ),
        Case(
            area,
            "has_history 'maybe'",
            "error naming has_history",
            want_error(predict(maybe), ["has_history"]),
        ),
        Case(
            area,
            "columns in reverse order",
            "same answer",
            want_value(predict(shuffled), same_as(reference)),
        ),
        Case(
            area,
            "extra unknown columns",
            "ignored",
            want_value(predict(extra), same_as(reference)),
        ),
        Case(
            area,
            "zero rows",
            "an empty answer",
            want_value(
                predict(rows.head(0)),
                lambda out: None if len(out) == 0 else f"{len(out)} rows",
            ),
        ),
        Case(
            area,
            "a dict instead of a DataFrame",
            "TypeError naming DataFrame",
            want_error(predict(rows.to_dict("list")), ["DataFrame"], also=(TypeError,)),
        ),
        Case(
            area,
            "model URI with alias typo @champoin",
            "error naming champoin",
            want_error(
                lambda: segml.predict(rows, "models:/segml-tier@champoin"),
                ["champoin"],
                also=_mlflow_errors(),
            ),
        ),
    ]
    if first_cat:
        cases += [
            Case(
                area,
                f"unseen category in {first_cat}",
                "treated as missing",
                want_value(predict(unseen), ref_for(blank)),
            ),
        ]
    if "days_since_signup" in ctx.pipeline.attributes and "days_since_signup" in rows:
        leads = rows.loc[~hist].reset_index(drop=True)
        as_of = pd.Timestamp("2024-06-30")
        with_signup = leads.drop(columns=["days_since_signup"]).assign(
            signup_ts=as_of - pd.to_timedelta(leads["days_since_signup"], unit="D")
        )
        cases += [
            Case(
                area,
                "lead with signup_ts and as_of",
                "days since sign-up derived",
                want_value(predict(with_signup, as_of="2024-06-30"), ref_for(leads)),
            ),
            Case(
                area,
                "lead with signup_ts and as_of '2024-13-01'",
                "error naming as_of",
                want_error(
                    predict(with_signup, as_of="2024-13-01"),
                    ["as_of"],
                    also=(ValueError,),
                ),
            ),
        ]
    return cases


def _mlflow_errors() -> tuple[type[BaseException], ...]:
    from mlflow.exceptions import MlflowException

    return (MlflowException, FileNotFoundError)


def _integrity() -> tuple[type[BaseException], ...]:
    try:
        from segml.persist import ModelIntegrityError
    except ImportError:
        return (ValueError, OSError)
    return (ModelIntegrityError, ValueError, OSError)


def trust_cases(ctx: Context) -> list[Case]:
    """What a model load leaves behind, and whether a tampered model loads."""
    import shutil
    import tempfile

    import mlflow

    area = "model files (load, integrity)"
    local = Path(
        mlflow.artifacts.download_artifacts(
            ctx.model_uri, dst_path=str(ctx.tmp / "downloaded")
        )
    )

    def leftovers() -> Outcome:
        from segml.scoring import _load_uri

        before = set(Path(tempfile.gettempdir()).glob("segml-model-*"))
        _load_uri.cache_clear()
        try:
            mlflow.pyfunc.load_model(str(local))
        except Exception as exc:  # noqa: BLE001
            return _crash(exc)
        import gc

        gc.collect()
        left = set(Path(tempfile.gettempdir()).glob("segml-model-*")) - before
        if left:
            size = sum(
                f.stat().st_size for d in left for f in d.rglob("*") if f.is_file()
            )
            return Outcome(
                SILENT, f"{len(left)} segml-model-* copy left ({size / 1e6:.1f} MB)"
            )
        return Outcome(OK, "no temporary copy left")

    def tampered(target: str) -> Outcome:
        copy = ctx.tmp / f"tampered-{target.replace('/', '_')}"
        shutil.copytree(local, copy)
        files = [p for p in copy.rglob("*") if p.is_file() and p.name.endswith(target)]
        if not files:
            return Outcome(CRASH, f"sweep found no {target} in the logged model")
        with open(files[0], "ab") as handle:
            handle.write(b"\nimport os  # added by the reliability sweep\n")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mlflow.pyfunc.load_model(str(copy))
        except DOCUMENTED + _mlflow_errors() + _integrity() as exc:
            text = str(exc)
            if "sha256" in text.lower() or target.split("/")[-1] in text:
                return Outcome(CLEAR, f"{type(exc).__name__}: {one_line(exc)}")
            return Outcome(
                CRASH, f"{type(exc).__name__} not naming the file: {one_line(exc)}"
            )
        except Exception as exc:  # noqa: BLE001
            return _crash(exc)
        return Outcome(
            SILENT, f"a model with a modified {target} loaded without a word"
        )

    return [
        Case(
            area,
            "loading the model leaves no segml-model-* copy",
            "nothing left",
            leftovers,
        ),
        Case(
            area,
            "a line added to the logged _pyfunc_model.py",
            "load refused (sha256)",
            lambda: tampered("_pyfunc_model.py"),
        ),
        Case(
            area,
            "a byte added to the joblib pipeline",
            "load refused (sha256)",
            lambda: tampered(".joblib"),
        ),
    ]


# ------------------------------------------------------------------ HTTP
def http_post(
    url: str, body: bytes, content_type: str = "application/json", timeout: float = 60
) -> tuple[int, str]:
    import http.client
    from urllib.parse import urlparse

    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request(
            "POST", "/invocations", body=body, headers={"Content-Type": content_type}
        )
        answer = conn.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def split_body(frame: pd.DataFrame) -> bytes:
    return json.dumps(
        {
            "dataframe_split": json.loads(
                frame.to_json(orient="split", index=False, date_format="iso")
            )
        }
    ).encode()


def http_cases(ctx: Context) -> list[Case]:
    from segml.tracking.serve import as_served

    rows = as_served(ctx.rows.reset_index(drop=True))
    reference = ctx.pipeline.predict(rows, reasons=False)
    hist = rows["has_history"].astype(bool).to_numpy()
    area = "HTTP bodies (mlflow models serve)"
    cats = [c for c in ctx.pipeline.categorical_columns if c in rows.columns]
    numeric = [
        c
        for c in ctx.pipeline.history_features
        if c in rows.columns and c not in cats and c != "has_history"
    ]
    feature = "net_spend" if "net_spend" in numeric else numeric[0]

    def served(
        body: bytes,
        check: Callable[[dict], str | None] | None,
        names: Sequence[str] = (),
        content_type: str = "application/json",
        either: bool = False,
    ) -> Callable[[], Outcome]:
        def run() -> Outcome:
            try:
                status, text = http_post(ctx.server_url, body, content_type)
            except Exception as exc:  # noqa: BLE001
                return _crash(exc)
            if status >= 500:
                return Outcome(CRASH, f"HTTP {status}: {one_line(text, 160)}")
            if 200 <= status < 300:
                if check is None:
                    return Outcome(
                        SILENT, f"HTTP {status}, no error: {one_line(text, 120)}"
                    )
                problem = _safe_check(check, json.loads(text))
                return (
                    Outcome(OK, f"HTTP {status}, correct")
                    if problem is None
                    else Outcome(SILENT, f"HTTP {status}, wrong: {problem}")
                )
            missing = _names(text, names)
            if missing or not text.strip():
                return Outcome(
                    CRASH, f"HTTP {status} not naming {missing}: {one_line(text, 160)}"
                )
            if check is not None and not either:
                return Outcome(
                    CLEAR,
                    f"refused a valid body: HTTP {status} {one_line(text, 120)}",
                    refused=True,
                )
            return Outcome(CLEAR, f"HTTP {status}: {one_line(text, 160)}")

        return run

    def like(ref: pd.DataFrame) -> Callable[[dict], str | None]:
        def check(payload: dict) -> str | None:
            out = pd.DataFrame(payload["predictions"])
            if len(out) != len(ref):
                return f"{len(out)} rows, expected {len(ref)}"
            for column in ("customer_id", "tier", "route"):
                got = out[column].astype(str).tolist()
                want = ref[column].astype(str).tolist()
                if got != want:
                    k = next(i for i in range(len(got)) if got[i] != want[i])
                    return f"{column}[{k}] = {got[k]!r}, expected {want[k]!r}"
            return None

        return check

    def with_split(frame: pd.DataFrame) -> bytes:
        return split_body(frame)

    text_flag = rows.assign(has_history=np.where(hist, "True", "False"))
    good_split = json.loads(split_body(rows))["dataframe_split"]
    ragged = {
        **good_split,
        "data": [good_split["data"][0][:-2], *good_split["data"][1:]],
    }
    null_id = json.loads(split_body(rows))
    col = null_id["dataframe_split"]["columns"].index("customer_id")
    null_id["dataframe_split"]["data"][0][col] = None
    bad_type = json.loads(split_body(rows))
    fcol = bad_type["dataframe_split"]["columns"].index(feature)
    bad_type["dataframe_split"]["data"][0][fcol] = "lots"
    records = json.loads(rows.to_json(orient="records", date_format="iso"))
    uni = rows.assign(customer_id=[f"客户-{i}" for i in range(len(rows))])
    return [
        Case(
            area,
            "valid dataframe_split",
            "HTTP 200, same tiers as predict",
            served(split_body(rows), like(reference)),
        ),
        Case(
            area,
            "valid dataframe_records",
            "HTTP 200, same tiers",
            served(
                json.dumps({"dataframe_records": records}).encode(), like(reference)
            ),
        ),
        Case(
            area,
            "unicode ids",
            "HTTP 200, ids echoed",
            served(
                split_body(uni), like(reference.assign(customer_id=uni["customer_id"]))
            ),
        ),
        Case(
            area,
            "has_history 'True'/'False' strings",
            "HTTP 200, leads on cold start",
            served(split_body(text_flag), like(reference)),
        ),
        Case(
            area,
            "has_history 'maybe'",
            "HTTP 4xx naming has_history",
            served(split_body(rows.assign(has_history="maybe")), None, ["has_history"]),
        ),
        Case(area, "invalid JSON", "HTTP 4xx", served(b'{"dataframe_split": {', None)),
        Case(area, "empty body", "HTTP 4xx", served(b"", None)),
        Case(
            area, "a JSON list, not an object", "HTTP 4xx", served(b"[1, 2, 3]", None)
        ),
        Case(
            area,
            "unknown top-level key",
            "HTTP 4xx",
            served(json.dumps({"rows": records}).encode(), None),
        ),
        Case(
            area,
            "dataframe_split without columns",
            "HTTP 4xx",
            served(
                json.dumps({"dataframe_split": {"data": good_split["data"]}}).encode(),
                None,
            ),
        ),
        Case(
            area,
            "ragged rows (a row too short)",
            "HTTP 4xx",
            served(json.dumps({"dataframe_split": ragged}).encode(), None),
        ),
        Case(
            area,
            "missing customer_id column",
            "HTTP 4xx naming customer_id",
            served(
                with_split(rows.drop(columns=["customer_id"])), None, ["customer_id"]
            ),
        ),
        Case(
            area,
            "null customer_id",
            "HTTP 4xx naming customer_id",
            served(json.dumps(null_id).encode(), None, ["customer_id"]),
        ),
        Case(
            area,
            f"{feature} as text 'lots'",
            f"HTTP 4xx naming {feature}",
            served(json.dumps(bad_type).encode(), None, [feature]),
        ),
        Case(
            area,
            "Content-Type text/plain",
            "HTTP 4xx",
            served(split_body(rows), None, content_type="text/plain"),
        ),
        Case(
            area,
            "zero rows",
            "HTTP 200 with no predictions, or 4xx",
            served(
                split_body(rows.head(0)),
                lambda p: (
                    None if len(p.get("predictions", [])) == 0 else "rows returned"
                ),
                either=True,
            ),
        ),
    ]


def timed(case: Case) -> tuple[Outcome, float]:
    start = time.perf_counter()
    try:
        outcome = case.run()
    except Exception as exc:  # noqa: BLE001 - the sweep itself never stops
        outcome = Outcome(CRASH, f"sweep error: {one_line(exc)}")
    return outcome, time.perf_counter() - start


__all__ = [
    "CLEAR",
    "CRASH",
    "OK",
    "SILENT",
    "STATUSES",
    "Case",
    "Context",
    "Outcome",
    "as_of_cases",
    "cli_cases",
    "config_cases",
    "customer_cases",
    "event_cases",
    "http_cases",
    "http_post",
    "model_cases",
    "one_line",
    "read_cases",
    "run_cli",
    "split_body",
    "timed",
    "transaction_cases",
    "trust_cases",
]
_ = os  # os is used by callers through Context.env
