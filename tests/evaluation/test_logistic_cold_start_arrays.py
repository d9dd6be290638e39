"""LogisticColdStart on numpy arrays: numeric columns x0, x1, ..., tier labels."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from segml.evaluation import LogisticColdStart


def _arrays(n=200, seed=0):
    """Column 0 decides the tier (A above 1, B above 0, else C); column 1 noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.where(X[:, 0] > 1.0, "A", np.where(X[:, 0] > 0.0, "B", "C"))
    return X, y


def test_array_is_the_frame_with_columns_x0_x1():
    X, y = _arrays()
    frame = pd.DataFrame(X, columns=["x0", "x1"])
    by_array = LogisticColdStart().fit(X, y)
    by_frame = LogisticColdStart().fit(frame, y)
    assert by_array.numeric_columns_ == ["x0", "x1"]
    assert by_array.categorical_columns_ == []
    out = by_array.predict_frame(X)
    pd.testing.assert_frame_equal(out, by_frame.predict_frame(frame))
    assert out.index.equals(pd.RangeIndex(len(X)))
    assert by_array.predict(X).tolist() == out["tier"].tolist()
    assert by_array.predict_proba(X).columns.tolist() == ["p_A", "p_B", "p_C"]
    assert by_array.score(X, y) == pytest.approx(by_frame.score(frame, y))
    assert by_array.score(X, y) > 0.8
    # an array fit records its width; a frame fit the attribute names
    assert by_array.n_features_in_ == 2
    assert not hasattr(by_array, "feature_names_in_")
    assert list(by_frame.feature_names_in_) == ["x0", "x1"]


def test_attributes_pick_array_columns_by_their_x_names():
    X, y = _arrays()
    model = LogisticColdStart(attributes=["x0"]).fit(X, y)
    assert model.numeric_columns_ == ["x0"]
    # the noise column changes nothing: only x0 is read
    shuffled = X.copy()
    shuffled[:, 1] = shuffled[::-1, 1]
    pd.testing.assert_frame_equal(model.predict_frame(X), model.predict_frame(shuffled))
    with pytest.raises(ValueError, match=r"lacks the attribute columns \['x5'\] "):
        LogisticColdStart(attributes=["x5"]).fit(X, y)


def test_missing_values_in_an_array_are_imputed():
    X, y = _arrays()
    X[:10, 1] = np.nan
    model = LogisticColdStart().fit(X, y)
    proba = model.predict_proba(np.array([[np.nan, np.nan], [2.0, 0.0]]))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.predict(np.array([[3.0, np.nan]])).tolist() == ["A"]


def test_array_errors_are_clear():
    X, y = _arrays()
    model = LogisticColdStart().fit(X, y)
    with pytest.raises(
        ValueError,
        match="X has 1 features, but LogisticColdStart is expecting 2 features",
    ):
        model.predict(X[:, :1])
    with pytest.raises(
        ValueError, match="^an array X must be numeric .*pass a DataFrame for cat"
    ):
        LogisticColdStart().fit(np.array([["big"], ["small"]] * 5), ["A", "C"] * 5)
    with pytest.raises(TypeError, match="sparse input is not supported"):
        LogisticColdStart().fit(sparse.csr_array(X), y)
    with pytest.raises(ValueError, match="Complex data not supported"):
        LogisticColdStart().fit(X + 1j, y)
    with pytest.raises(ValueError, match="requires y to be passed, but the target"):
        LogisticColdStart().fit(X, None)


def test_array_for_a_model_fitted_on_named_columns_names_what_is_missing():
    frame = pd.DataFrame({"size": ["big", "small"] * 10, "age": np.arange(20.0)})
    model = LogisticColdStart().fit(frame, ["A", "C"] * 10)
    message = (
        "X lacks the attribute columns ['size', 'age'] "
        "(the columns of an array are named x0, x1, ...)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        model.predict(np.zeros((2, 2)))
