"""RFM scores and named segments, hand-computed."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from segml.segments import DEFAULT_SEGMENT_MAP, RFMSegmenter, rfm_scores, rfm_segments
from segml.segments.rfm_segments import segment_names


@pytest.fixture
def five() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recency_days": [5, 40, 200, 10, 90],
            "orders": [8, 3, 1, 1, 2],
            "net_spend": [900.0, 150.0, 20.0, 60.0, 80.0],
        },
        index=pd.Index(list("abcde"), name="customer_id"),
    )


def test_scores_five_customers(five):
    expected = pd.DataFrame(
        {"R": [5, 3, 1, 4, 2], "F": [5, 4, 2, 1, 3], "M": [5, 4, 1, 2, 3]},
        index=five.index,
    )
    pd.testing.assert_frame_equal(rfm_scores(five), expected)


def test_scores_equal_frequency_with_ties_broken_by_customer_id():
    ids = list("abcdefghij")
    feats = pd.DataFrame(
        {
            "recency_days": [1] * 5 + [50] * 5,
            "orders": [1] * 10,
            "net_spend": np.arange(10, 0, -1, dtype=float),
        },
        index=ids,
    )
    got = rfm_scores(feats)
    # ten tied orders: two per score, smaller id ranks higher
    assert got["F"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert got["R"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert got["M"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert got["F"].value_counts().tolist() == [2] * 5


def test_single_customer_scores_in_the_middle_and_nan_is_worst():
    one = pd.DataFrame({"recency_days": [3], "orders": [2], "net_spend": [9.0]})
    assert rfm_scores(one).iloc[0].tolist() == [3, 3, 3]
    feats = pd.DataFrame(
        {
            "recency_days": [np.nan, 10.0],
            "orders": [np.nan, 1],
            "net_spend": [5.0, 1.0],
        },
        index=["x", "y"],
    )
    got = rfm_scores(feats, n_bins=2)
    assert got.loc["x"].tolist() == [1, 1, 2]
    assert got.loc["y"].tolist() == [2, 2, 1]


def test_custom_column_names():
    feats = pd.DataFrame({"r": [1, 9], "f": [3, 1], "m": [1.0, 2.0]}, index=["p", "q"])
    got = rfm_scores(
        feats, recency_col="r", frequency_col="f", monetary_col="m", n_bins=2
    )
    assert got.to_dict("list") == {"R": [2, 1], "F": [2, 1], "M": [1, 2]}


def test_default_mapping_covers_the_grid_with_eleven_segments():
    cells = segment_names(None)
    assert len(cells) == 25 and "other" not in cells.values()
    assert set(cells.values()) == set(DEFAULT_SEGMENT_MAP.values())
    assert len(set(cells.values())) == 11
    spot = {
        (5, 5): "champions",
        (4, 4): "loyal",
        (4, 2): "potential loyalists",
        (5, 1): "new",
        (4, 1): "promising",
        (3, 3): "need attention",
        (3, 1): "about to sleep",
        (1, 3): "at risk",
        (1, 5): "cannot lose",
        (2, 2): "hibernating",
        (1, 1): "lost",
    }
    assert {k: cells[k] for k in spot} == spot


def test_segments_five_customers(five):
    got = rfm_segments(five)
    # FM = floor((F + M) / 2 + 1/2): a 5, b 4, c 2 (1.5 up), d 2, e 3
    assert got["FM"].tolist() == [5, 4, 2, 2, 3]
    assert got["segment"].tolist() == [
        "champions",
        "loyal",
        "lost",
        "potential loyalists",
        "at risk",
    ]
    assert list(got.columns) == ["R", "F", "M", "FM", "segment"]
    assert list(got["segment"].cat.categories) == list(
        dict.fromkeys(DEFAULT_SEGMENT_MAP.values())
    )


def test_custom_mapping_leaves_other(five):
    got = rfm_segments(five, mapping={"5.": "best", "[34][45]": "good"})
    assert got["segment"].tolist() == ["best", "good", "other", "other", "other"]
    assert list(got["segment"].cat.categories) == ["best", "good", "other"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_bins": 4}, "mapping must be given when n_bins is not 5"),
        (
            {"n_bins": 1, "mapping": {"1.": "x"}},
            r"n_bins must be an integer in \[2, 9\]",
        ),
        ({"mapping": {"[": "x"}}, "not a valid regex"),
        ({"mapping": {}}, "non-empty mapping"),
        ({"monetary_col": "spend"}, "column 'spend' .for the M score. not found"),
    ],
)
def test_invalid_arguments(five, kwargs, match):
    with pytest.raises(ValueError, match=match):
        rfm_segments(five, **kwargs)


def test_empty_and_non_unique_input(five):
    with pytest.raises(ValueError, match="features is empty"):
        rfm_scores(five.iloc[:0])
    with pytest.raises(ValueError, match="one row per customer"):
        rfm_scores(pd.concat([five, five]))


def test_estimator_fit_transform_is_the_function_and_transform_uses_edges(five):
    seg = RFMSegmenter()
    pd.testing.assert_frame_equal(seg.fit_transform(five), rfm_segments(five))
    # edges: lowest (best-oriented) value of bins 2..5
    np.testing.assert_array_equal(seg.edges_["R"], [-90.0, -40.0, -10.0, -5.0])
    np.testing.assert_array_equal(seg.edges_["M"], [60.0, 80.0, 150.0, 900.0])
    new = pd.DataFrame(
        {"recency_days": [1, 300], "orders": [9, 1], "net_spend": [1000.0, 1.0]},
        index=["new1", "new2"],
    )
    got = seg.transform(new)
    assert got[["R", "F", "M"]].to_numpy().tolist() == [[5, 5, 5], [1, 2, 1]]
    assert seg.predict(new).tolist() == ["champions", "lost"]
    again = pickle.loads(pickle.dumps(seg)).transform(new)
    pd.testing.assert_frame_equal(got, again)
    assert seg.get_feature_names_out().tolist() == ["R", "F", "M", "FM", "segment"]


def test_estimator_transform_is_row_wise(five):
    seg = RFMSegmenter().fit(five)
    full = seg.transform(five)
    pd.testing.assert_frame_equal(seg.transform(five.iloc[::-1]), full.iloc[::-1])
    pd.testing.assert_frame_equal(seg.transform(five.iloc[1:3]), full.iloc[1:3])
    pd.testing.assert_frame_equal(seg.fit(five).transform(five), full)
    # c and d are tied on orders: the fresh cut splits them by id (F 2 and 1),
    # the learned edges give both the higher bin; everything else agrees
    fresh = rfm_segments(five)
    assert full["F"].tolist() == [5, 4, 2, 2, 3]
    assert fresh["F"].tolist() == [5, 4, 2, 1, 3]
    pd.testing.assert_frame_equal(full[["R", "M"]], fresh[["R", "M"]])
