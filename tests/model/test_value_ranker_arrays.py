"""ValueRanker on numpy arrays (columns x0, x1, ...) and its input errors."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import DataConversionWarning

from segml.model.value_ranker import ValueRanker

SMALL = {"n_estimators": 20, "learning_rate": 0.1, "min_child_samples": 5}


def _arrays(n=300, seed=0):
    """Column 0 a baseline value, column 1 a factor that triples it when > 0."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(2.0, 10.0, n)
    signal = rng.normal(size=n)
    X = np.column_stack([base, signal])
    y = rng.poisson(base * np.where(signal > 0, 3.0, 1.0) / 10.0) * 10.0
    return X, y


def test_array_is_the_frame_with_columns_x0_x1():
    X, y = _arrays()
    frame = pd.DataFrame(X, columns=["x0", "x1"])
    by_array = ValueRanker(offset="x0", **SMALL).fit(X, y)
    by_frame = ValueRanker(offset="x0", **SMALL).fit(frame, y)
    assert by_array.columns_ == ["x1"]
    np.testing.assert_array_equal(by_array.predict(X), by_frame.predict(frame))
    # an array fit records the array's width, a frame fit its feature columns
    assert by_array.n_features_in_ == 2
    assert not hasattr(by_array, "feature_names_in_")
    assert by_frame.n_features_in_ == 1
    assert list(by_frame.feature_names_in_) == ["x1"]
    # both read a frame or an array at predict time, by the same names
    np.testing.assert_array_equal(by_frame.predict(X), by_array.predict(frame))


def test_offset_still_carries_the_scale_with_arrays():
    X, y = _arrays()
    model = ValueRanker(offset="x0", **SMALL).fit(X, y)
    doubled = X.copy()
    doubled[:, 0] *= 2.0
    np.testing.assert_allclose(model.predict(doubled), 2.0 * model.predict(X))


def test_array_of_another_width_is_refused():
    X, y = _arrays()
    model = ValueRanker(offset=None, **SMALL).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 1 features, but ValueRanker is expecting 2 features"
    ):
        model.predict(X[:, :1])


def test_array_for_a_model_fitted_on_named_columns_names_what_is_missing():
    X, y = _arrays()
    frame = pd.DataFrame({"base": X[:, 0], "signal": X[:, 1]})
    model = ValueRanker(offset="base", **SMALL).fit(frame, y)
    message = (
        "X lacks the column(s) ['signal', 'base'] it was fitted on "
        "(an array's are x0, x1, ...)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        model.predict(X)
    with pytest.raises(ValueError, match=r"^X lacks the column\(s\) \['base'\] it"):
        model.predict(frame[["signal"]])


def test_y_errors_are_clear():
    X, y = _arrays(n=20)
    with pytest.raises(ValueError, match="requires y to be passed, but the target y"):
        ValueRanker(offset=None).fit(X, None)
    with pytest.raises(ValueError, match="^Complex data not supported: y"):
        ValueRanker(offset=None).fit(X, y + 1j)
    with pytest.raises(ValueError, match="y is 0 .* on every row: no value to rank"):
        ValueRanker(offset=None).fit(X, -np.abs(y))
    with pytest.raises(ValueError, match=r"^cannot fit on 1 sample\(s\)"):
        ValueRanker(offset=None).fit(X[:1], y[:1])
    with pytest.raises(ValueError, match="y should be a 1d array"):
        ValueRanker(offset=None).fit(X, np.column_stack([y, y]))


def test_column_y_warns_and_fits_like_1d_y():
    X, y = _arrays()
    flat = ValueRanker(offset=None, **SMALL).fit(X, y)
    with pytest.warns(DataConversionWarning):
        column = ValueRanker(offset=None, **SMALL).fit(X, y[:, None])
    np.testing.assert_array_equal(flat.predict(X), column.predict(X))


def test_sample_weight_is_checked_and_used():
    X, y = _arrays()
    model = ValueRanker(offset=None, **SMALL)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(300,\)"):
        model.fit(X, y, sample_weight=np.ones(299))
    with pytest.raises(ValueError, match="sample_weight is zero on every row"):
        model.fit(X, y, sample_weight=np.zeros(300))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        model.fit(X, y, sample_weight=np.r_[-1.0, np.ones(299)])
    # weights as a list or a Series equal the array
    weights = np.linspace(0.5, 2.0, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_array = ValueRanker(offset=None, **SMALL).fit(X, y, sample_weight=weights)
    by_list = ValueRanker(offset=None, **SMALL).fit(
        X, y, sample_weight=pd.Series(weights).tolist()
    )
    np.testing.assert_array_equal(by_array.predict(X), by_list.predict(X))
    unweighted = ValueRanker(offset=None, **SMALL).fit(X, y)
    assert not np.allclose(by_array.predict(X), unweighted.predict(X))
