"""The DuckDB-only shortcuts give the same features as the generic Ibis path.

* low-cardinality columns (``lookups.levels``): distinct counts and channel
  shares from per-customer bit masks instead of tables of (customer, value)
  pairs;
* several cutoffs (``build_features_many``): line-grain partials computed once
  (``behaviour.shared_tables``) instead of once per cutoff;
* active months (``lookups.month_base``): a per-customer bit mask of the
  active months (count and longest run of set bits) instead of a second
  window over the orders.

Each is compared with the generic path on random logs with missing order ids,
missing categories and channels, same-day and same-timestamp orders, returns
and events on order days.
"""

import numpy as np
import pandas as pd
import pytest

from segml.features import build_features, build_features_many, builder

START = pd.Timestamp("2023-01-01")
CUTOFFS = ["2023-06-30", "2023-12-31 12:00", "2024-03-31"]


def _log(seed: int, n: int, n_customers: int, resolution: str) -> dict:
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:03d}" for i in range(n_customers)])
    order = rng.integers(0, n // 2, n)
    customer = ids[order % n_customers]
    minutes = rng.integers(0, 500 * 24 * 60, n // 2)[order]
    ts = (START + pd.to_timedelta(minutes, unit="min")).floor(resolution)
    # a line of an order may come a little later than the order's first line
    ts = ts + pd.to_timedelta(rng.integers(0, 3, n) * (rng.random(n) < 0.1), "D")

    def text(values: np.ndarray, missing: float) -> pd.Series:
        out = values.astype(object)
        out[rng.random(n) < missing] = None
        return pd.Series(out, dtype="str")

    amount = rng.lognormal(3, 1, n).round(2)
    amount[rng.random(n) < 0.1] *= -1
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series(customer, dtype="str"),
            "ts": pd.Series(ts).astype("M8[us]"),
            "amount": amount,
            "order_id": text(np.char.add("o", order.astype(str)), 0.2),
            "cost": (np.abs(amount) * 0.6).round(2),
            "discount": np.where(rng.random(n) < 0.3, 0.1, 0.0),
            "quantity": rng.integers(1, 4, n).astype("float64"),
            "product_id": text(np.char.add("p", rng.integers(0, 9, n).astype(str)), 0),
            "category": text(np.array(list("XYZW"))[rng.integers(0, 4, n)], 0.1),
            "channel": text(np.array(["web", "store"])[rng.integers(0, 2, n)], 0.1),
        }
    )
    n_events = n // 3
    visit_day = tx["ts"].sample(n_events, replace=True, random_state=seed)
    events = pd.DataFrame(
        {
            "customer_id": pd.Series(
                tx["customer_id"].sample(n_events, replace=True, random_state=seed)
            )
            .astype("str")
            .to_numpy(),
            "ts": visit_day.dt.floor("D").to_numpy(),
            "kind": pd.Series(
                np.array(["web_visit", "nps", "payment", "complaint"])[
                    rng.integers(0, 4, n_events)
                ],
                dtype="str",
            ),
            "value": rng.integers(0, 11, n_events).astype("float64"),
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": pd.Series([*ids, "lead1", "lead2"], dtype="str"),
            "signup_ts": pd.Series(
                START + pd.to_timedelta(rng.integers(0, 600, n_customers + 2), "D")
            ).astype("M8[us]"),
        }
    )
    return {"transactions": tx, "customers": customers, "events": events}


LOGS = [(0, 400, 30, "min"), (1, 1500, 60, "D"), (2, 3000, 20, "h")]


@pytest.fixture(params=LOGS, ids=lambda p: f"seed{p[0]}")
def log(request):
    return _log(*request.param)


def _generic(monkeypatch):
    monkeypatch.setattr(builder, "_levels", lambda con, tx: {})


def test_level_masks_equal_pair_tables(log, monkeypatch):
    fast = build_features(**log, as_of=CUTOFFS[1])
    _generic(monkeypatch)
    slow = build_features(**log, as_of=CUTOFFS[1])
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-9)


def test_level_masks_are_used(log):
    con = builder.engine.connect()
    levels = builder._levels(con, builder.engine.memtable(log["transactions"]))
    assert levels == {
        "product_id": [f"p{i}" for i in range(9)],
        "category": ["W", "X", "Y", "Z"],
        "channel": ["store", "web"],
    }


def test_too_many_levels_fall_back(log, monkeypatch):
    tx = log["transactions"].copy()
    tx["category"] = pd.Series([f"k{i % 70}" for i in range(len(tx))], dtype="str")
    fast = build_features(tx, as_of=CUTOFFS[2])
    _generic(monkeypatch)
    slow = build_features(tx, as_of=CUTOFFS[2])
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("levels", [True, False], ids=["masks", "pairs"])
def test_shared_partials_equal_a_loop(log, monkeypatch, levels):
    if not levels:
        _generic(monkeypatch)
    many = build_features_many(**log, as_ofs=CUTOFFS)
    loop = pd.concat(
        {pd.Timestamp(c): build_features(**log, as_of=c) for c in CUTOFFS},
        names=["cutoff"],
    )
    loop.index = loop.index.set_levels(
        loop.index.levels[0].astype("M8[us]"), level="cutoff"
    )
    pd.testing.assert_frame_equal(many, loop, check_exact=False, rtol=1e-9)


def _no_month_mask(monkeypatch):
    monkeypatch.setattr(builder, "_month_base", lambda con, tx, last: {})


@pytest.mark.parametrize("cutoff", CUTOFFS)
def test_month_mask_equals_month_windows(log, monkeypatch, cutoff):
    fast = build_features(**log, as_of=cutoff)
    _no_month_mask(monkeypatch)
    slow = build_features(**log, as_of=cutoff)
    assert fast["longest_streak_months"].max() >= 3  # streaks are exercised
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("strategy", ["loop", "join"])
def test_month_mask_equals_month_windows_over_cutoffs(log, monkeypatch, strategy):
    fast = build_features_many(**log, as_ofs=CUTOFFS, strategy=strategy)
    _no_month_mask(monkeypatch)
    slow = build_features_many(**log, as_ofs=CUTOFFS, strategy=strategy)
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-9)


def test_month_mask_only_when_the_months_fit(log):
    con = builder.engine.connect()
    tx = log["transactions"]
    # START is 2023-01: 62 months later is 2028-03, 63 months 2028-04
    assert builder._month_base(
        con, builder.engine.memtable(tx), pd.Timestamp("2028-03-31")
    ) == {"month_base": 2023 * 12}
    assert (
        builder._month_base(
            con, builder.engine.memtable(tx), pd.Timestamp("2028-04-01")
        )
        == {}
    )


def test_long_logs_fall_back_to_windows(log, monkeypatch):
    tx = log["transactions"].copy()
    tx.loc[0, "ts"] = pd.Timestamp("2015-01-01")  # 9+ years before the cutoff
    fast = build_features(tx, as_of=CUTOFFS[2])
    _no_month_mask(monkeypatch)
    slow = build_features(tx, as_of=CUTOFFS[2])
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-9)


def test_longest_run_by_hand():
    from segml.features.base import longest_run

    masks = np.array([0, 1, 0b1011, 0b111000111100, (1 << 63) - 1], dtype="int64")
    assert longest_run(masks).tolist() == [0.0, 1.0, 2.0, 4.0, 63.0]


def test_month_mask_keeps_its_high_bits(monkeypatch):
    # months 0, 58, 59 and 60 of the mask: float64 would round bit 60 away
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series(["a", "a", "a", "a", "b"], dtype="str"),
            "ts": pd.to_datetime(
                ["2023-01-05", "2027-11-05", "2027-12-05", "2028-01-05", "2028-01-06"]
            ).astype("M8[us]"),
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    fast = build_features(tx, as_of="2028-01-31")
    assert builder._month_base(
        builder.engine.connect(),
        builder.engine.memtable(tx),
        pd.Timestamp("2028-01-31"),
    ) == {"month_base": 2023 * 12}
    assert fast.loc["a", "longest_streak_months"] == 3.0
    assert fast.loc["a", "active_months"] == 4.0
    _no_month_mask(monkeypatch)
    slow = build_features(tx, as_of="2028-01-31")
    pd.testing.assert_frame_equal(fast, slow)
