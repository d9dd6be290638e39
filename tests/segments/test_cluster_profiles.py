"""profile_clusters and name_clusters on hand-computed inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.segments import (
    describe_effects,
    distinguishing_features,
    name_clusters,
    profile_clusters,
)


@pytest.fixture
def feats() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "net_spend": [500.0, 300.0, 20.0, 10.0, 0.0],
            "orders": [9, 5, 1, 1, 0],
            "lifecycle_stage": ["active", "active", "at-risk", None, "churned"],
        },
        index=pd.Index(list("abcde"), name="customer_id"),
    )


def test_profile_clusters_hand_computed(feats):
    clusters = pd.Series([1, 1, 0, 0, 0], index=feats.index)
    tiers = pd.Series(
        ["A", "B", "C", "C", "C"],
        index=feats.index,
        dtype=pd.CategoricalDtype(["A", "B", "C"], ordered=True),
    )
    got = profile_clusters(feats, clusters, tiers=tiers)
    expected = pd.DataFrame(
        {
            "size": [3, 2],
            "customer_share": [0.6, 0.4],
            "value_share": [30 / 830, 800 / 830],
            "mean_net_spend": [10.0, 400.0],
            "median_net_spend": [10.0, 400.0],
            "median_orders": [1.0, 7.0],
            "tier_A": [0.0, 0.5],
            "tier_B": [0.0, 0.5],
            "tier_C": [1.0, 0.0],
            "stage_active": [0.0, 1.0],
            "stage_at-risk": [1 / 3, 0.0],
            "stage_churned": [1 / 3, 0.0],
            "stage_unknown": [1 / 3, 0.0],
        },
        index=pd.Index([0, 1], name="cluster"),
    )
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)


def test_profile_clusters_errors(feats):
    with pytest.raises(ValueError, match="value_col 'spend'"):
        profile_clusters(feats, [0] * 5, value_col="spend")
    with pytest.raises(ValueError, match="one cluster per row"):
        profile_clusters(feats, pd.Series([0, 1], index=["a", "b"]))


def test_name_clusters_hand_computed():
    feats = pd.DataFrame(
        {
            "net_spend": [900.0, 700.0, 30.0, 20.0, 10.0, 5.0],
            "orders": [12, 9, 1, 1, 2, 1],
            "recency_days": [3, 10, 300, 250, 200, 400],
        }
    )
    profiles = pd.DataFrame(
        {
            "median_net_spend": [800.0, 7.5, 25.0],
            "median_orders": [10.5, 1.0, 2.0],
            "median_recency_days": [6.5, 350.0, 220.0],
        }
    )
    got = name_clusters(profiles, feats)
    # third: spend 25 sits at the 50th percentile (mid), orders 2 at the 58th
    # (occasional: not in the top third), recency 220 at the 50th (no word)
    expected = pd.Series(
        [
            "recent high-value frequent",
            "lapsed low-value one-off",
            "mid-value occasional",
        ],
        name="name",
        dtype="str",
    )
    pd.testing.assert_series_equal(got, expected)


def test_name_collisions_get_tenure_then_a_number():
    feats = pd.DataFrame(
        {"net_spend": [10.0, 20.0, 30.0], "tenure_days": [10.0, 500.0, 1000.0]}
    )
    profiles = pd.DataFrame(
        {
            "median_net_spend": [30.0, 30.0, 30.0, 30.0],
            "median_tenure_days": [1000.0, 10.0, 500.0, 500.0],
        }
    )
    got = name_clusters(profiles, feats).tolist()
    assert got == [
        "long-standing high-value",
        "new high-value",
        "high-value",
        "high-value (2)",
    ]


def test_cluster_without_descriptor_is_named_by_number():
    got = name_clusters(pd.DataFrame({"median_x": [1.0]}), pd.DataFrame({"x": [1.0]}))
    assert got.tolist() == ["cluster 0"]


def test_tier_mix_under_several_rules_and_distinguishing_features():
    feats = pd.DataFrame(
        {"net_spend": [500.0, 300.0, 20.0, 10.0], "orders": [9, 5, 1, 1]},
        index=list("abcd"),
    )
    tiers = {
        "count": pd.Series(["A", "B", "C", "C"], index=list("abcd")),
        "value": pd.Series(["A", "A", "B", "C"], index=list("abcd")),
    }
    got = profile_clusters(feats, [0, 0, 1, 1], tiers=tiers)
    assert got[
        ["tier_count_A", "tier_count_B", "tier_count_C"]
    ].to_numpy().tolist() == [
        [0.5, 0.5, 0.0],
        [0.0, 0.0, 1.0],
    ]
    assert got[
        ["tier_value_A", "tier_value_B", "tier_value_C"]
    ].to_numpy().tolist() == [
        [1.0, 0.0, 0.0],
        [0.0, 0.5, 0.5],
    ]
    # effects: cluster mean minus the others' mean, here (2 - 0) and (0 - 2)
    coords = pd.DataFrame({"x": [2.0, 2.0, 0.0, 0.0], "y": [0.1, -0.1, 0.2, 0.0]})
    effects = distinguishing_features(coords, np.array([0, 0, 1, 1]))
    assert effects["x"].tolist() == [2.0, -2.0]
    assert effects["y"].round(6).tolist() == [-0.1, 0.1]
    assert describe_effects(effects).tolist() == ["x +2.0", "x -2.0"]
    assert describe_effects(effects, min_effect=0.05).tolist() == [
        "x +2.0, y -0.1",
        "x -2.0, y +0.1",
    ]
