"""The segments section of a config reaches the run's segmenter."""

from __future__ import annotations

import pytest

from segml.app.fit import _snapshot, label_shares
from segml.app.tables import load_tables
from segml.config.load import load_config


@pytest.fixture(scope="module")
def tables():
    cfg = load_config(overrides=["data.synthetic.n_customers=800"])
    return load_tables(cfg.data)


def _segmenter(tables, *overrides):
    cfg = load_config(
        overrides=[
            "data.synthetic.n_customers=800",
            "segments.sample_size=400",
            *overrides,
        ]
    )
    rule, shares = label_shares(cfg)
    *_, segmenter = _snapshot(
        cfg, tables, {"windows": (90, 365)}, rule, shares, tuple(cfg.tiers.labels)
    )
    return segmenter


def test_a_fixed_k_is_honoured(tables):
    seg = _segmenter(tables, "segments.k=7")
    assert seg.k_ == 7
    assert seg.scores_.index.tolist() == [7]
    assert seg.names_.is_unique and len(seg.names_) == 7


def test_the_search_respects_k_min_and_reports_both_rules(tables):
    seg = _segmenter(tables, "segments.k_min=5", "segments.k_max=6")
    assert seg.k_ in (5, 6)
    assert seg.scores_.index.tolist() == [5, 6]
    # the leads of the snapshot are labelled, and the tier mix is given under
    # the count rule and the value rule
    assert seg.n_leads_ > 0
    for rule in ("count", "value"):
        shares = seg.profiles_[[f"tier_{rule}_{t}" for t in "ABC"]].sum(axis=1)
        assert shares.round(9).eq(1).all()
