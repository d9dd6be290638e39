"""Prediction strength and the choice of k, on hand-computed inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.segments import choose_k, name_segments, prediction_strength
from segml.segments.choose_k import _strength


def test_strength_is_the_worst_reproduced_cluster():
    # test cluster 0 = rows 0-3, predicted [0, 0, 0, 1]: 3*2 of 4*3 pairs kept;
    # test cluster 1 = rows 4-6, predicted [1, 1, 1]: all pairs kept
    test = np.array([0, 0, 0, 0, 1, 1, 1])
    predicted = np.array([0, 0, 0, 1, 1, 1, 1])
    assert _strength(test, predicted, 2) == pytest.approx(6 / 12)
    # a singleton test cluster has no pair and does not count
    assert _strength(np.array([0, 0, 1]), np.array([1, 1, 0]), 2) == 1.0


def test_well_separated_groups_reach_full_strength_at_their_k():
    rng = np.random.default_rng(1)
    Z = np.r_[
        rng.normal(0, 0.1, (50, 2)),
        rng.normal(4, 0.1, (50, 2)),
        rng.normal(-4, 0.1, (50, 2)),
    ]
    scores = prediction_strength(Z, [2, 3, 4, 5], repeats=4)
    assert list(scores.columns) == [
        "prediction_strength",
        "prediction_strength_sd",
        "prediction_strength_se",
        "silhouette",
    ]
    se = scores["prediction_strength_sd"] / np.sqrt(4)
    np.testing.assert_allclose(scores["prediction_strength_se"], se)
    assert scores.loc[3, "prediction_strength"] == 1.0
    assert scores.loc[[4, 5], "prediction_strength"].max() < 0.8
    assert choose_k(scores, threshold=0.8) == 3


def test_too_few_rows_for_k_scores_nan():
    scores = prediction_strength(np.arange(8.0).reshape(4, 2), [2, 3], repeats=2)
    assert scores.loc[2].notna()["prediction_strength"]
    assert np.isnan(scores.loc[3, "prediction_strength"])


def test_choose_k_rules():
    scores = pd.DataFrame(
        {
            "prediction_strength": [0.9, 0.95, 0.7, 0.85, 0.5],
            "silhouette": [0.3, 0.5, 0.5, 0.2, 0.1],
        },
        index=pd.Index([2, 3, 4, 5, 6], name="k"),
    )
    # the largest k that reaches the threshold, not the highest strength
    assert choose_k(scores, threshold=0.8) == 5
    assert choose_k(scores, threshold=0.9) == 3
    # nothing reaches it: the highest strength
    assert choose_k(scores, threshold=0.99) == 3
    # silhouette: the best, ties to the smaller k
    assert choose_k(scores, criterion="silhouette", threshold=0.8) == 3
    # a k passes by a margin of one standard deviation over the repeats
    with_sd = scores.assign(prediction_strength_sd=[0.0, 0.0, 0.0, 0.1, np.nan])
    assert choose_k(with_sd, threshold=0.8) == 3
    assert choose_k(with_sd, threshold=0.75) == 5
    nan = scores.assign(prediction_strength=np.nan)
    assert choose_k(nan, threshold=0.8) == 2
    with pytest.raises(ValueError, match="criterion must be one of"):
        choose_k(scores, criterion="gap", threshold=0.8)


def test_names_are_unique_even_when_descriptions_collide():
    effects = pd.DataFrame(
        {
            "discount_share": [1.5, 1.4, 1.6, -0.2],
            "tenure_days": [-1.0, 0.9, -1.0, 0.0],
            "gap_cv": [0.6, 0.1, 0.6, 0.0],
        }
    )
    levels = pd.Series([0.1, 0.2, 0.15, 0.5])
    got = name_segments(effects, levels, words=1).tolist()
    assert got == [
        "low-value discount-driven new irregular",
        "low-value discount-driven long-standing",
        "low-value discount-driven new irregular (2)",
        "mid-value",
    ]
    assert len(set(got)) == len(got)
