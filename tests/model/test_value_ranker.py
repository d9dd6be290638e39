"""Tests of segml.model.value_ranker: the offset regression and the rank shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segml.evaluation import rank_cut, tier_metrics
from segml.model.value_ranker import (
    ValueRanker,
    _macro_f1,
    simulated_rank_shares,
)

SMALL = {"n_estimators": 60, "learning_rate": 0.1, "min_child_samples": 20}


def _data(n=4000, seed=0):
    """Value = Poisson around a baseline, three times higher in region s."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "btyd_expected_value": rng.gamma(2.0, 10.0, n),
            "btyd_expected_purchases": rng.random(n),
            "region": pd.Categorical(rng.choice(["n", "s"], n)),
            "noise": rng.normal(size=n),
        }
    )
    truth = X["btyd_expected_value"] * np.where(X["region"] == "s", 3.0, 1.0)
    y = pd.Series(rng.poisson(truth.to_numpy() / 10.0) * 10.0)
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return ValueRanker(**SMALL).fit(X, y), X


def test_learns_the_multiplicative_correction(fitted):
    model, _ = fitted
    new = pd.DataFrame(
        {
            "btyd_expected_value": [10.0, 10.0, 40.0],
            "region": ["n", "s", "n"],
            "noise": [0.0, 0.0, 0.0],
        },
        index=["x", "y", "z"],
    )
    pred = model.predict(new)
    assert list(pred.index) == ["x", "y", "z"]
    assert 2.4 < pred["y"] / pred["x"] < 3.6
    assert 0.75 < pred["x"] / 10.0 < 1.25  # the baseline was right in region n
    assert pred["z"] / pred["x"] == pytest.approx(4.0, rel=1e-9)


def test_offset_and_horizon_columns_are_not_features(fitted):
    model, _ = fitted
    assert model.columns_ == ["region", "noise"]
    assert set(model.feature_importances_.index) == {"region", "noise"}
    assert model.feature_importances_["region"] > model.feature_importances_["noise"]


@settings(max_examples=25, deadline=None)
@given(factor=st.floats(0.01, 100.0), row=st.integers(0, 99))
def test_scaling_the_offset_scales_the_prediction(fitted, factor, row):
    model, X = fitted
    one = X.iloc[[row]]
    scaled = one.assign(btyd_expected_value=one["btyd_expected_value"] * factor)
    # the horizon column changes too, as it would for another window
    scaled = scaled.assign(btyd_expected_purchases=0.5)
    ratio = model.predict(scaled).iloc[0] / model.predict(one).iloc[0]
    assert ratio == pytest.approx(factor, rel=1e-9)


def test_a_custom_offset_is_never_a_feature():
    X, y = _data(n=300)
    X = X.rename(columns={"btyd_expected_value": "base"})
    model = ValueRanker(offset="base", exclude=(), **SMALL).fit(X, y)
    assert model.columns_ == ["btyd_expected_purchases", "region", "noise"]


def test_missing_or_tiny_offsets_are_raised_to_the_floor(fitted):
    model, X = fitted
    rows = X.iloc[:3].copy()
    floor = rows.assign(btyd_expected_value=model.min_offset)
    rows["btyd_expected_value"] = [np.nan, 0.0, -5.0]
    np.testing.assert_allclose(model.predict(rows), model.predict(floor), rtol=1e-12)


def test_negative_values_count_as_zero():
    X, y = _data(n=800, seed=1)
    refunds = y.copy()
    refunds[y == 0] = -25.0
    a = ValueRanker(**SMALL).fit(X, refunds).predict(X)
    b = ValueRanker(**SMALL).fit(X, y).predict(X)
    np.testing.assert_allclose(a, b)


def test_without_offset_it_is_a_plain_regression():
    X, y = _data(n=2000, seed=2)
    model = ValueRanker(offset=None, exclude=(), **SMALL).fit(X, y)
    assert "btyd_expected_value" in model.columns_
    corr = np.corrcoef(model.predict(X), X["btyd_expected_value"])[0, 1]
    assert corr > 0.5


def test_predict_tiers_cuts_by_rank(fitted):
    model, X = fitted
    tiers = model.predict_tiers(X, (0.1, 0.2, 0.7))
    assert tiers.value_counts().to_dict() == {"A": 400, "B": 800, "C": 2800}
    expected = rank_cut(model.predict(X), (0.1, 0.2, 0.7))
    pd.testing.assert_series_equal(tiers, expected)


def test_errors():
    X, y = _data(n=100)
    with pytest.raises(ValueError, match="offset column"):
        ValueRanker().fit(X.drop(columns=["btyd_expected_value"]), y)
    with pytest.raises(ValueError, match="log link"):
        ValueRanker(objective="regression").fit(X, y)
    with pytest.raises(ValueError, match="finite"):
        ValueRanker().fit(X, y.where(y.index > 0))
    with pytest.raises(ValueError, match="rows"):
        ValueRanker().fit(X, y.iloc[:-1])
    # an array is read as numeric columns x0, x1, ...: text needs a frame
    with pytest.raises(ValueError, match="pass a DataFrame for categorical columns"):
        ValueRanker().fit(X.to_numpy(), y)


# ---------------------------------------------------------------- rank shares
def test_value_rule_shares_are_the_mean_over_draws_by_hand():
    score = pd.Series([4.0, 3.0, 2.0, 1.0])
    # value rule, 80/15/5: [60, 25, 10, 5] -> A A B C; [90, 5, 3, 2] -> A B C C
    draws = np.array([[60.0, 25.0, 10.0, 5.0], [90.0, 5.0, 3.0, 2.0]])
    out = simulated_rank_shares(score, draws, rule="value", multipliers=None)
    assert out.expected_shares == pytest.approx((0.375, 0.25, 0.375))
    assert out.shares == pytest.approx(out.expected_shares)
    # cut at 0.375/0.25/0.375 of 4 rows: bounds round(1.5)=2, round(2.5)=2
    # -> predicted A A C C; F1 draw 1: A 1, B 0, C 2/3; draw 2: A 2/3, B 0, C 1
    f1 = np.mean([(1 + 0 + 2 / 3) / 3, (2 / 3 + 0 + 1) / 3])
    assert out.expected_macro_f1 == pytest.approx(f1)


def test_best_candidate_is_kept_and_ties_keep_the_expected_shares():
    rng = np.random.default_rng(0)
    n = 500
    latent = rng.gamma(0.5, 20.0, n)
    score = pd.Series(latent + rng.normal(0, 5.0, n))
    draws = rng.poisson(np.tile(latent, (20, 1))) * 10.0
    out = simulated_rank_shares(score, draws, rule="count")
    table = out.candidates
    assert out.expected_macro_f1 == table["expected_macro_f1"].max()
    best = table.iloc[0]
    assert out.shares == pytest.approx(tuple(best[["share_A", "share_B", "share_C"]]))
    assert sum(out.shares) == pytest.approx(1.0)
    # a perfect ranking of deterministic draws keeps the expected shares
    exact = np.tile(np.arange(n, 0, -1.0), (3, 1))
    perfect = simulated_rank_shares(pd.Series(np.arange(n, 0, -1.0)), exact)
    assert perfect.shares == pytest.approx((0.05, 0.15, 0.80))
    assert perfect.expected_macro_f1 == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=60)
)
def test_fast_macro_f1_equals_tier_metrics(pairs):
    truth = np.array([p[0] for p in pairs])
    pred = np.array([p[1] for p in pairs])
    labels = np.array(["A", "B", "C"])
    expected = tier_metrics(labels[truth], labels[pred])["macro_f1"]
    assert _macro_f1(truth, pred, 3) == pytest.approx(expected)


def test_rank_shares_errors():
    with pytest.raises(ValueError, match="shape"):
        simulated_rank_shares(pd.Series([1.0, 2.0]), np.zeros((3, 5)))
    with pytest.raises(TypeError, match="Series"):
        simulated_rank_shares(np.array([1.0]), np.zeros((1, 1)))


def test_predict_equals_lightgbm_on_the_encoded_frame(fitted):
    model = fitted[0]
    X = _data(n=300, seed=5)[0]
    X["region"] = X["region"].astype("str")
    X.loc[X.index[:5], "region"] = "unseen"  # unseen categories are missing
    X.loc[X.index[5:10], "noise"] = np.nan
    got = model.predict(X).to_numpy()
    raw = model.model_.predict(model.encoder_.transform(X), raw_score=True)
    offset = np.maximum(X["btyd_expected_value"].to_numpy(), model.min_offset)
    np.testing.assert_allclose(got, np.exp(raw) * offset, rtol=1e-12)
