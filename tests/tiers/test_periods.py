"""Tiers per period: period ends, hand-computed blocks, who entered and left."""

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from segml.tiers import assign_tiers, period_ends, period_tiers

THIRDS = (1 / 3, 1 / 3, 1 / 3)


def log(rows):
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows]).as_unit("us"),
            "amount": [float(r[2]) for r in rows],
        }
    )


TX = log(
    [
        ("a", "2024-01-05", 50),
        ("b", "2024-01-09", 30),
        ("c", "2024-01-20", 10),
        ("a", "2024-02-03", 5),
        ("c", "2024-02-10", 40),
        ("d", "2024-03-01", 100),  # midnight of March 1st: March, not February
        ("b", "2024-03-15", 20),
    ]
)
END = "2024-03-31 23:59:59.999999"


def test_period_ends_month_quarter_year():
    months = period_ends("2024-01-15", "2024-03-10")
    assert months["period"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert months["as_of"].tolist() == [
        pd.Timestamp("2024-01-31 23:59:59.999999"),
        pd.Timestamp("2024-02-29 23:59:59.999999"),
        pd.Timestamp("2024-03-10"),
    ]
    assert months["complete"].tolist() == [True, True, False]
    assert months["start"].iloc[1] == pd.Timestamp("2024-02-01")
    quarters = period_ends("2023-11-02", "2024-06-30 23:59:59.999999", "quarter")
    assert quarters["period"].tolist() == ["2023Q4", "2024Q1", "2024Q2"]
    assert quarters["complete"].all()
    years = period_ends("2023-11-02", "2024-02-01", "year")
    assert years["period"].tolist() == ["2023", "2024"]
    assert years["complete"].tolist() == [True, False]


def test_period_ends_errors():
    with pytest.raises(ValueError, match=r"period must be one of \['month', 'qua"):
        period_ends("2024-01-01", "2024-02-01", "week")
    with pytest.raises(ValueError, match="is before the first transaction"):
        period_ends("2024-03-01", "2024-02-01")


def test_blocks_by_hand_with_the_value_of_each_month():
    pt = period_tiers(TX, as_of=END, rule="count", shares=THIRDS)
    # Jan: a 50, b 30, c 10 -> A a, B b, C c (3 customers: one per tier)
    # Feb: a 5, b 0, c 40 -> c A, a B, b C (b at 0 is always C)
    # Mar: d 100, b 20, a 0, c 0; bounds round(4/3)=1, round(8/3)=3
    #      -> d A, b B, a and c at 0 are C
    # March moves: d new -> A, c A -> C, b C -> B, a B -> C (C gains a and c)
    mar = pt.tiers.loc[pt.tiers["period"] == "2024-03"]
    assert mar["customer_id"].tolist() == ["d", "b", "a", "c"]
    assert mar["tier"].astype(str).tolist() == ["A", "B", "C", "C"]
    assert mar["rank"].tolist() == [1, 2, 3, 4]
    assert mar["value"].tolist() == [100.0, 20.0, 0.0, 0.0]
    assert (mar["as_of"] == pd.Timestamp(END)).all()
    assert pt.at("2024-02").astype(str).to_dict() == {"a": "B", "b": "C", "c": "A"}
    summary = pt.summary.set_index(["period", "tier"])
    expected = pd.DataFrame(
        {
            "customers": [1, 1, 1, 1, 1, 1, 1, 1, 2],
            "value": [50.0, 30, 10, 40, 5, 0, 100, 20, 0],
            "entered": [pd.NA, pd.NA, pd.NA, 1, 1, 1, 1, 1, 2],
            "left": [pd.NA, pd.NA, pd.NA, 1, 1, 1, 1, 1, 1],
        },
        index=pd.MultiIndex.from_product(
            [["2024-01", "2024-02", "2024-03"], ["A", "B", "C"]],
            names=["period", "tier"],
        ),
    ).astype({"entered": "Int64", "left": "Int64"})
    assert_frame_equal(summary[["customers", "value", "entered", "left"]], expected)
    assert summary.loc[("2024-03", "A"), "customer_share"] == 0.25
    assert summary.loc[("2024-03", "A"), "value_share"] == pytest.approx(100 / 120)
    # ids: who entered and left the top tier in March
    assert pt.entered("A", "2024-03").to_dict("list") == {
        "customer_id": ["d"],
        "before": ["new"],
        "after": ["A"],
        "value": [100.0],
    }
    assert pt.left().to_dict("list") == {
        "customer_id": ["c"],
        "before": ["A"],
        "after": ["C"],
        "value": [0.0],
    }
    assert pt.periods == ["2024-01", "2024-02", "2024-03"]


def test_last_block_equals_assign_tiers_at_as_of_with_a_trailing_window():
    pt = period_tiers(TX, as_of="2024-03-20", rule="value", window_days=60)
    last = pt.tiers.loc[pt.tiers["period"] == "2024-03"].set_index("customer_id")
    # value in (2024-01-20, 2024-03-20]: a 5, b 20, c 40 (the 10 of 01-20 is out)
    assert last["value"].sort_index().tolist() == [5.0, 20.0, 40.0, 100.0]
    expected = assign_tiers(last["value"], rule="value").astype(str)
    assert last["tier"].astype(str).to_dict() == expected.to_dict()
    assert pt.summary["complete"].tolist()[-3:] == [False] * 3


def test_negative_value_counts_as_zero_in_the_value_share():
    tx = log(
        [("a", "2024-01-02", 90), ("b", "2024-01-03", 10), ("c", "2024-01-04", -5)]
    )
    pt = period_tiers(tx, as_of="2024-02-01", rule="count", shares=THIRDS)
    s = pt.summary.loc[pt.summary["period"] == "2024-01"].set_index("tier")
    assert s["value"].tolist() == [90.0, 10.0, -5.0]
    assert s["value_share"].tolist() == [0.9, 0.1, 0.0]


def test_leads_join_the_population_when_they_sign_up():
    crm = pd.DataFrame(
        {
            "customer_id": ["a", "z"],
            "signup_ts": pd.to_datetime(["2023-12-01", "2024-02-15"]).as_unit("us"),
        }
    )
    pt = period_tiers(TX, as_of=END, customers=crm, shares=THIRDS)
    counts = pt.summary.groupby("period")["customers"].sum().tolist()
    assert counts == [3, 4, 5]
    assert pt.at("2024-02").astype(str)["z"] == "C"


def test_hysteresis_keeps_a_customer_near_the_threshold():
    # a and b alternate at the top by a few percent every month
    rows = []
    for month, (va, vb) in enumerate([(100, 98), (98, 100), (100, 98)], start=1):
        rows += [("a", f"2024-0{month}-05", va), ("b", f"2024-0{month}-06", vb)]
        rows += [("c", f"2024-0{month}-07", 10)]
    tx = log(rows)
    fresh = period_tiers(tx, as_of=END, shares=THIRDS)
    assert fresh.summary["entered"].tolist()[3:] == [1, 1, 0, 1, 1, 0]
    sticky = period_tiers(tx, as_of=END, shares=THIRDS, hysteresis=0.05)
    assert sticky.summary["entered"].tolist()[3:] == [0, 0, 0, 0, 0, 0]
    assert sticky.at(-1).astype(str).to_dict() == {"a": "A", "b": "B", "c": "C"}
    assert len(sticky.changes) == 0


def test_composite_rule_ranks_by_the_score():
    pt = period_tiers(
        TX,
        as_of=END,
        rule="composite",
        criteria={"net_spend": 1.0},
        shares=THIRDS,
        feature_params={"windows": (30,)},
    )
    # net spend to date at March's end: a 55, b 50, c 50, d 100
    # percentile ranks: d 1, a .75, b = c .5; bounds 1 and 3 of 4 ranked
    # customers -> d A, a and b (tie broken by id) B, c C
    mar = pt.tiers.loc[pt.tiers["period"] == "2024-03"]
    assert mar["customer_id"].tolist() == ["d", "a", "b", "c"]
    assert mar["score"].tolist() == [1.0, 0.75, 0.5, 0.5]
    assert mar["tier"].astype(str).tolist() == ["A", "B", "B", "C"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule": "pareto"}, "rule must be 'count', 'value' or 'composite'"),
        ({"window_days": 0}, "window_days must be a positive number"),
        ({"hysteresis": 1.5}, r"hysteresis must lie in \[0, 1\)"),
        ({"period": "week"}, "period must be one of"),
        ({"as_of": "2023-01-01"}, "is before the first transaction"),
    ],
)
def test_errors_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        period_tiers(TX, **{"as_of": END, **kwargs})
