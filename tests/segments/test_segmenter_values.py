"""Segmenter.predict_values: the numpy path gives Segmenter.predict's clusters."""

from __future__ import annotations

import numpy as np
import pytest

from segml.segments import Segmenter


@pytest.mark.parametrize("minibatch_threshold", [50_000, 10])
def test_predict_values_equals_predict(blob_factory, minibatch_threshold):
    X = blob_factory(seed=1, n=80)
    seg = Segmenter(
        features=["net_spend", "orders", "recency_days", "tenure_days"],
        k_range=(2, 5),
        repeats=3,
        minibatch_threshold=minibatch_threshold,
    ).fit(X)
    rng = np.random.default_rng(0)
    # new rows between the blobs too, where the nearest centre is a close call
    noisy = X.sample(200, replace=True, random_state=0)
    for column in seg.features_:
        noisy[column] = noisy[column] * rng.lognormal(0, 0.8, len(noisy))
    for frame in (X, noisy, X.head(1)):
        expected = seg.predict(frame).to_numpy()
        got = seg.predict_values(frame[seg.features_].to_numpy(dtype=float))
        np.testing.assert_array_equal(got, expected)


def test_predict_values_checks_its_input(blob_factory):
    X = blob_factory(seed=2, n=30)
    seg = Segmenter(k=3).fit(X)
    values = X[seg.features_].to_numpy(dtype=float).copy()
    with pytest.raises(ValueError, match="shape"):
        seg.predict_values(values[:, :1])
    values[0, 1] = np.inf
    with pytest.raises(ValueError, match=r"features \['\w+'\] contain infinity"):
        seg.predict_values(values)
