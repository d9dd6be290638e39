"""The report on CDNOW (23,570 real customers): its figures equal the library's
functions on the same data, month by month."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from segml.config import Config
from segml.config.models import TiersConfig
from segml.datasets import load_cdnow
from segml.report import report_sections

AS_OF = "1998-06-30 23:59:59.999999"
WINDOW = 365


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return load_cdnow()


@pytest.fixture(scope="module", params=["count", "value"])
def case(request, tx):
    cfg = Config(tiers=TiersConfig(rule=request.param))
    report = report_sections(
        tx,
        config=cfg,
        as_of=AS_OF,
        n_periods=6,
        window_days=WINDOW,
        compare_to="1998-03-15",
    )
    from segml.tiers.periods import period_tiers

    shares = cfg.tiers.count_shares if request.param == "count" else None
    shares = shares or cfg.tiers.value_shares
    pt = period_tiers(
        tx,
        as_of=AS_OF,
        rule=request.param,
        shares=shares,
        window_days=WINDOW,
        start="1998-01-01",
    )
    return request.param, report, pt


def test_months_shown(case):
    _, report, pt = case
    table = report.section("periods").tables["tiers_per_period"]
    assert table.index.tolist() == [
        "1998-01",
        "1998-02",
        "1998-03",
        "1998-04",
        "1998-05",
        "1998-06",
    ]
    assert pt.periods == table.index.tolist()


def test_tiers_per_month_equal_period_tiers(case):
    _, report, pt = case
    table = report.section("periods").tables["tiers_per_period"]
    for label in pt.periods:
        rows = pt.summary.loc[pt.summary["period"] == label].set_index("tier")
        for tier in ("A", "B", "C"):
            assert table.loc[label, f"customers_{tier}"] == rows.loc[tier, "customers"]
            assert table.loc[label, f"value_{tier}"] == rows.loc[tier, "value"]
    # every CDNOW customer is known in 1998 (the cohort joined in Q1 1997)
    assert (table.filter(like="customers_").sum(axis=1) == 23_570).all()
    flows = report.section("periods").tables["A_flows"]
    best = pt.summary.loc[pt.summary["tier"] == "A"].set_index("period")
    assert flows["new_A"].tolist() == best["entered"].tolist()
    assert flows["left_A"].tolist() == best["left"].tolist()
    new = report.section("periods").tables["new_A"]
    assert_frame_equal(new, pt.entered("A", -1).head(25))


def test_pareto_and_migration_equal_the_library(case):
    from segml.tiers import pareto_table, tier_migration

    _, report, pt = case
    june = pt.tiers.loc[pt.tiers["period"] == "1998-06"].set_index("customer_id")
    march = pt.tiers.loc[pt.tiers["period"] == "1998-03"].set_index("customer_id")
    assert_frame_equal(
        report.section("pareto").tables["pareto"],
        pareto_table(june["value"], june["tier"]),
    )
    m = tier_migration(march["tier"], june["tier"], tiers=["A", "B", "C"])
    tables = report.section("migration").tables
    assert_frame_equal(tables["migration_counts"], m.counts)
    stars = m.risers.loc[m.risers["before"] == "C"]
    got = tables["rising_stars"]
    assert set(got["customer_id"]) <= set(stars["customer_id"])
    assert len(got) == min(25, len(stars))
    # the listed stars moved from C, with their trailing-year values
    for row in got.itertuples():
        assert row.before == "C" and row.after in ("A", "B")
        assert row.value_after == june.loc[row.customer_id, "value"]
        assert row.value_before == march.loc[row.customer_id, "value"]
    # the biggest rises first: C -> A before C -> B
    assert (got["steps"].diff().dropna() <= 0).all()


def test_rfm_grid_equals_rfm_segments(case, tx):
    from segml.features import build_features
    from segml.segments import rfm_segments

    rule, report, _ = case
    if rule != "count":
        pytest.skip("the RFM grid does not depend on the tier rule")
    features = build_features(tx, as_of=AS_OF, windows=(90, 365))
    segments = rfm_segments(features)
    grid = report.section("rfm").tables["rfm_grid"]
    want = pd.crosstab(segments["R"], segments["FM"])
    for r in want.index:
        for fm in want.columns:
            assert grid.loc[r, fm] == want.loc[r, fm]
    summary = report.section("rfm").tables["rfm_segments"]
    counts = segments["segment"].value_counts()
    assert summary["customers"].to_dict() == counts[counts > 0].to_dict()
    # in the order of the segment map (champions first), not alphabetical
    order = [str(s) for s in segments["segment"].cat.categories]
    assert summary.index.tolist() == [s for s in order if s in counts[counts > 0]]
