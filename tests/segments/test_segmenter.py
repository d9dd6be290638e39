"""Segmenter: k chosen, clusters ordered by value, reproducible, profiled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from segml.segments import Segmenter, signed_log1p
from segml.tiers import assign_tiers


def test_signed_log1p_keeps_sign_and_zero():
    got = signed_log1p(pd.DataFrame({"x": [0.0, -99.0, 99.0]}, index=list("abc")))
    expected = pd.DataFrame(
        {"x": [0.0, -np.log(100.0), np.log(100.0)]}, index=list("abc")
    )
    pd.testing.assert_frame_equal(got, expected)


def test_finds_the_true_k_and_recovers_the_groups(blobs):
    seg = Segmenter(k_range=(2, 6)).fit(blobs.drop(columns="group"))
    assert seg.k_ == 3
    assert sorted(seg.silhouette_) == [2, 3, 4, 5, 6]
    assert max(seg.silhouette_, key=seg.silhouette_.get) == 3
    assert adjusted_rand_score(blobs["group"], seg.labels_) == 1.0
    assert seg.features_ == ["net_spend", "orders", "recency_days", "tenure_days"]


def test_cluster_zero_is_the_most_valuable(blobs):
    seg = Segmenter(k_range=(3, 3)).fit(blobs)
    means = blobs.groupby(seg.labels_)["net_spend"].mean()
    assert list(means.index) == [0, 1, 2]
    assert means.is_monotonic_decreasing
    # the true groups are numbered by value too
    assert (seg.labels_ == blobs["group"].to_numpy()).all()


def test_same_seed_same_clusters(blob_factory):
    a = Segmenter(k_range=(2, 5), random_state=7).fit(blob_factory(seed=1))
    b = Segmenter(k_range=(2, 5), random_state=7).fit(blob_factory(seed=1))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    pd.testing.assert_frame_equal(a.cluster_centers_, b.cluster_centers_)
    pd.testing.assert_frame_equal(a.profiles_, b.profiles_)
    assert a.silhouette_ == b.silhouette_


def test_predict_uses_the_same_relabelling(blobs, blob_factory):
    seg = Segmenter(k_range=(2, 4)).fit(blobs)
    got = seg.predict(blobs)
    assert got.name == "cluster" and got.index.equals(blobs.index)
    np.testing.assert_array_equal(got.to_numpy(), seg.labels_)
    fresh = blob_factory(seed=5, n=20)
    np.testing.assert_array_equal(
        seg.predict(fresh).to_numpy(), fresh["group"].to_numpy()
    )
    fp = Segmenter(k_range=(2, 4)).fit_predict(blobs)
    pd.testing.assert_series_equal(fp, got)


def test_minibatch_path_and_small_silhouette_sample(blobs):
    seg = Segmenter(k_range=(2, 5), minibatch_threshold=100, sample_size=150).fit(blobs)
    assert type(seg.model_).__name__ == "MiniBatchKMeans"
    assert seg.k_ == 3
    assert adjusted_rand_score(blobs["group"], seg.labels_) == 1.0


def test_profiles_names_and_mixes(blobs):
    frame = blobs.assign(
        lifecycle_stage=np.where(blobs["recency_days"] > 200, "churned", "active")
    )
    tiers = assign_tiers(frame["net_spend"], rule="value")
    seg = Segmenter(k_range=(3, 3)).fit(frame, tiers=tiers)
    p = seg.profiles_
    assert p.index.name == "cluster"
    assert p["size"].tolist() == [100, 100, 100]
    assert p["customer_share"].sum() == pytest.approx(1.0)
    assert p["value_share"].sum() == pytest.approx(1.0)
    assert p["value_share"].is_monotonic_decreasing
    assert {"median_net_spend", "median_orders", "median_recency_days"} <= set(
        p.columns
    )
    assert p[["tier_A", "tier_B", "tier_C"]].sum(axis=1).tolist() == pytest.approx(
        [1] * 3
    )
    assert p["stage_churned"].tolist() == [0.0, 0.0, 1.0]
    assert p["name"].tolist() == seg.names_.tolist()
    assert seg.names_.is_unique
    assert seg.names_.tolist() == [
        "recent high-value frequent",
        "mid-value occasional",
        "lapsed low-value one-off",
    ]


def test_explicit_features_and_fallback_to_numeric_columns(blobs):
    seg = Segmenter(features=["net_spend", "orders"], k_range=(3, 3)).fit(blobs)
    assert list(seg.cluster_centers_.columns) == ["net_spend", "orders"]
    other = blobs.rename(columns={"orders": "n", "recency_days": "r"})
    other = other[["net_spend", "n", "r", "region"]].rename(columns={"net_spend": "v"})
    seg = Segmenter(value_col="v", k_range=(3, 3)).fit(other)
    assert seg.features_ == ["v", "n", "r"]


@pytest.mark.parametrize(
    ("kwargs", "frame_change", "match"),
    [
        ({"k_range": (1, 3)}, None, "k_range must satisfy"),
        ({"k_range": 3}, None, "k_range must be a pair"),
        ({"value_col": "spend"}, None, "value_col 'spend' is not a column"),
        (
            {"features": ["net_spend", "visits"]},
            None,
            r"features \['visits'\] not found",
        ),
        ({}, "nan", r"features \['orders'\] contain NaN"),
        ({"features": ["region"]}, None, "must be numeric"),
    ],
)
def test_invalid_input(blobs, kwargs, frame_change, match):
    frame = blobs.copy()
    if frame_change == "nan":
        frame.loc[frame.index[0], "orders"] = np.nan
    with pytest.raises(ValueError, match=match):
        Segmenter(**kwargs).fit(frame)


def test_not_fitted_and_too_few_rows(blobs):
    with pytest.raises(NotFittedError):
        Segmenter().predict(blobs)
    with pytest.raises(ValueError, match="at least 2 customers"):
        Segmenter().fit(blobs.iloc[:1])
    seg = Segmenter(k_range=(2, 8)).fit(blobs.iloc[:3])
    assert sorted(seg.silhouette_) == [2, 3]
