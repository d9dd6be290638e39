"""The report's numbers on the tiny hand-made log (see conftest.py): by hand, equal
to the library's functions, and written as they are into the HTML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from report_helpers import (
    AS_OF,
    as_text_rows,
    make_tiny_config,
    make_tiny_tx,
    read_tables,
)

from segml.errors import SegmlConfigError
from segml.report import build_report, report_sections

SECTIONS = ["periods", "pareto", "migration", "rfm", "clusters", "btyd", "stability"]


@pytest.fixture(scope="module")
def report():
    return report_sections(
        make_tiny_tx(), config=make_tiny_config(), as_of=AS_OF, n_periods=3
    )


def test_sections_in_order(report):
    assert [s.key for s in report.sections] == SECTIONS


def test_tiers_per_period_by_hand(report):
    table = report.section("periods").tables["tiers_per_period"]
    assert table.index.tolist() == ["2024-01", "2024-02", "2024-03"]
    assert table[["customers_A", "customers_B", "customers_C"]].to_numpy().tolist() == [
        [1, 1, 3],
        [1, 1, 3],
        [1, 1, 3],
    ]
    assert table[["value_A", "value_B", "value_C"]].to_numpy().tolist() == [
        [100.0, 50.0, 35.0],
        [80.0, 60.0, 45.0],
        [200.0, 90.0, 41.0],
    ]
    flows = report.section("periods").tables["A_flows"]
    assert flows["new_A"].tolist()[1:] == [1, 1]  # b in Feb, a in Mar
    assert pd.isna(flows["new_A"].iloc[0])
    periods = report.section("periods").tables
    assert periods["new_A"][["customer_id", "before", "value"]].to_numpy().tolist() == [
        ["a", "C", 200.0]
    ]
    assert periods["left_A"][["customer_id", "after", "value"]].to_numpy().tolist() == [
        ["b", "C", 0.0]
    ]
    assert report.cards["new in A"] == "1" and report.cards["left A"] == "1"


def test_pareto_equals_library_and_hand(report, tiny_tx):
    from segml.tiers import pareto_table

    table = report.section("pareto").tables["pareto"]
    assert table["value"].tolist() == [200.0, 90.0, 41.0]
    assert table["value_share"].tolist() == pytest.approx(
        [200 / 331, 90 / 331, 41 / 331]
    )
    march = pd.Series({"a": 200.0, "b": 0.0, "c": 90.0, "d": 40.0, "e": 1.0})
    tiers = pd.Series(
        pd.Categorical(
            ["A", "C", "B", "C", "C"], categories=["A", "B", "C"], ordered=True
        ),
        index=march.index,
    )
    assert_frame_equal(table, pareto_table(march, tiers))


def test_migration_by_hand(report):
    tables = report.section("migration").tables
    counts = tables["migration_counts"]
    assert counts.index.tolist() == ["A", "B", "C", "new"]
    assert counts.columns.tolist() == ["A", "B", "C", "gone"]
    assert counts.to_numpy().tolist() == [
        [0, 0, 1, 0],
        [0, 0, 1, 0],
        [1, 1, 1, 0],
        [0, 0, 0, 0],
    ]
    stars = tables["rising_stars"]
    assert stars.to_dict("list") == {
        "customer_id": ["a", "c"],
        "before": ["C", "C"],
        "after": ["A", "B"],
        "steps": [2, 1],
        "value_before": [10.0, 30.0],
        "value_after": [200.0, 90.0],
        "change": [190.0, 60.0],
    }
    fallers = tables["fallers"]
    assert fallers[
        ["customer_id", "before", "after", "change"]
    ].to_numpy().tolist() == [
        ["b", "A", "C", -80.0],
        ["e", "B", "C", -59.0],
    ]
    assert report.section("migration").title == "Tier migration 2024-02 -> 2024-03"


def test_compare_to_an_earlier_period(tiny_tx, tiny_config):
    report = report_sections(
        tiny_tx, config=tiny_config, as_of=AS_OF, n_periods=3, compare_to="2024-01-15"
    )
    counts = report.section("migration").tables["migration_counts"]
    # Jan -> Mar: a A->A, b B->C, c C->B, d C->C, e C->C
    assert counts.loc[["A", "B", "C"], ["A", "B", "C"]].to_numpy().tolist() == [
        [1, 0, 0],
        [0, 0, 1],
        [0, 1, 2],
    ]
    same = report_sections(
        tiny_tx, config=tiny_config, as_of=AS_OF, n_periods=3, compare_to="2024-01"
    )
    assert_frame_equal(same.section("migration").tables["migration_counts"], counts)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"compare_to": "2024-03-02"}, "its month 2024-03 is not an earlier period"),
        ({"compare_to": "soon"}, "--compare-to"),
        ({"period": "week"}, "--period must be one of month, quarter, year"),
        ({"as_of": "2023-01-01"}, "is before the first transaction"),
    ],
)
def test_bad_options_are_config_errors(tiny_tx, tiny_config, kwargs, message):
    args = {"as_of": AS_OF, "n_periods": 3, **kwargs}
    with pytest.raises(SegmlConfigError, match=message):
        report_sections(tiny_tx, config=tiny_config, **args)


def test_one_period_has_nothing_to_compare(tiny_tx, tiny_config):
    with pytest.raises(SegmlConfigError, match="only one month up to as-of"):
        report_sections(tiny_tx, config=tiny_config, as_of="2024-01-31")


def test_rfm_equals_library(report, tiny_tx):
    from segml.features import build_features
    from segml.segments import rfm_segments

    features = build_features(tiny_tx, as_of=AS_OF, windows=(90, 365))
    expected = rfm_segments(features)
    tables = report.section("rfm").tables
    grid = tables["rfm_grid"]
    assert int(grid.to_numpy().sum()) == 5
    for (r, fm), n in expected.groupby(["R", "FM"]).size().items():
        assert grid.loc[r, fm] == n
    counts = expected["segment"].value_counts()
    summary = tables["rfm_segments"]
    assert summary["customers"].to_dict() == counts[counts > 0].to_dict()
    # value shares by hand: net spend over the whole log per segment / 701
    total = features["net_spend"].sum()
    assert total == pytest.approx(701.0)
    for segment, row in summary.iterrows():
        members = expected.index[expected["segment"] == segment]
        share = features.loc[members, "net_spend"].sum() / total
        assert row["value_share"] == pytest.approx(share)


def test_too_few_to_cluster_says_so(report):
    clusters = report.section("clusters")
    assert clusters.charts == []
    assert clusters.notes == ["5 customers with history: too few to cluster"]


def test_stability_by_hand(report):
    tables = report.section("stability").tables
    changes = tables["tier_changes"]
    assert changes.index.tolist() == ["2024-02", "2024-03"]
    assert changes[["changed", "up", "down"]].to_numpy().tolist() == [
        [3, 2, 1],
        [4, 2, 2],
    ]
    assert changes["share_changed"].tolist() == [0.6, 0.8]
    near = tables["near_threshold"]
    # thresholds are the lowest values of A (a: 200) and of A+B (c: 90)
    assert near["threshold"].tolist() == [200.0, 90.0]
    assert near["near"].tolist() == [1, 1]
    assert "psi" not in tables  # no model: no training snapshot to compare with


def test_html_holds_the_same_numbers(report):
    tables = read_tables(report.html())
    for section in report.sections:
        for name, frame in section.tables.items():
            assert tables[name] == as_text_rows(frame), name
    assert tables["pareto"][1] == ["A", "1", "0.2", "200", "0.6042", "0.2", "0.6042"]


def test_page_is_self_contained(tiny_tx, tiny_config, tmp_path):
    path = build_report(
        tiny_tx, config=tiny_config, as_of=AS_OF, n_periods=3, out=tmp_path / "r.html"
    )
    html = path.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html
    srcs = [part.split('"', 1)[0] for part in html.split('src="')[1:]]
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    assert "default-src 'none'" in html  # the browser refuses anything else


def test_out_must_be_html(tiny_tx, tiny_config, tmp_path):
    with pytest.raises(SegmlConfigError, match="--out must end in .html, got"):
        build_report(
            tiny_tx,
            config=tiny_config,
            as_of=AS_OF,
            n_periods=3,
            out=tmp_path / "r.csv",
        )


def test_value_rule_follows_the_config(tiny_tx):
    from segml.config import Config
    from segml.config.models import TiersConfig
    from segml.tiers.periods import period_tiers

    cfg = Config(tiers=TiersConfig(rule="value", value_shares=(0.6, 0.3, 0.1)))
    report = report_sections(tiny_tx, config=cfg, as_of=AS_OF, n_periods=3)
    pt = period_tiers(
        tiny_tx, as_of=AS_OF, rule="value", shares=(0.6, 0.3, 0.1), start="2024-01-01"
    )
    table = report.section("periods").tables["tiers_per_period"]
    for label in pt.periods:
        rows = pt.summary.loc[pt.summary["period"] == label].set_index("tier")
        for tier in ("A", "B", "C"):
            assert table.loc[label, f"customers_{tier}"] == rows.loc[tier, "customers"]
            assert table.loc[label, f"value_{tier}"] == rows.loc[tier, "value"]
    assert np.isclose(
        table["value_A"].sum() + table["value_B"].sum() + table["value_C"].sum(), 701.0
    )


def test_tier_changes_equal_tier_change_per_period(tiny_tx):
    """The fast count from the movers equals segml.monitor's tier_change."""
    from segml.monitor.drift import tier_change
    from segml.report.stability import tier_changes
    from segml.tiers.periods import period_tiers

    # a customer arriving in February ("new" there) is not counted as a change
    late = pd.DataFrame(
        {"customer_id": ["f"], "ts": [pd.Timestamp("2024-02-20")], "amount": [500.0]}
    )
    tx = pd.concat([tiny_tx, late.astype({"ts": "M8[us]"})], ignore_index=True)
    pt = period_tiers(tx, as_of=AS_OF, rule="count", shares=(0.2, 0.2, 0.6))
    table = tier_changes(pt)
    for before, after in zip(pt.periods[:-1], pt.periods[1:], strict=True):
        want = tier_change(pt.at(before), pt.at(after), tiers=["A", "B", "C"])
        got = table.loc[after]
        assert [got["customers"], got["changed"], got["up"], got["down"]] == [
            want.customers,
            want.changed,
            want.up,
            want.down,
        ]
        assert got["share_changed"] == pytest.approx(want.share)
