"""The Segmenter recovers the personas make_crm plants (fixed seed, small data)."""

from __future__ import annotations

import pytest
from sklearn.metrics import adjusted_rand_score

from segml.datasets import make_crm
from segml.features import build_features
from segml.segments import LEAD, Segmenter


@pytest.fixture(scope="module")
def planted():
    crm = make_crm(3000, seed=1)
    features = build_features(
        crm.transactions,
        crm.customers,
        crm.events,
        as_of=crm.transactions["ts"].max(),
    )
    truth = crm.personas.set_index("customer_id")["persona"].reindex(features.index)
    return features, truth


def test_personas_are_recovered(planted):
    features, truth = planted
    seg = Segmenter(repeats=5).fit(features)
    history = seg.labels_ != LEAD
    # six buyer personas: the criterion finds six, and they match the truth
    assert seg.k_ == 6
    assert adjusted_rand_score(truth[history], seg.labels_[history]) >= 0.7
    # the leads are exactly the planted leads, labelled and not clustered
    assert ((truth == "lead").to_numpy() == ~history).all()
    assert seg.names_.is_unique


def test_the_silhouette_settles_for_fewer_segments(planted):
    features, truth = planted
    history = features["has_history"].to_numpy(dtype=bool)
    scores = {}
    for criterion in ("prediction_strength", "silhouette"):
        seg = Segmenter(repeats=5, criterion=criterion).fit(features)
        scores[criterion] = (
            seg.k_,
            adjusted_rand_score(truth[history], seg.labels_[history]),
        )
    assert scores["silhouette"][0] < 6
    assert scores["silhouette"][1] < scores["prediction_strength"][1] - 0.03
