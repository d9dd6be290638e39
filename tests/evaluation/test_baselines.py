"""Tests of segml.evaluation.baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.evaluation import (
    LogisticColdStart,
    evaluate_routes,
    majority_baseline,
    persistence_baseline,
    rank_cut,
    tier_metrics,
)

TIER_DTYPE = pd.CategoricalDtype(["A", "B", "C"], ordered=True)


# --- majority -------------------------------------------------------------


def test_majority_predicts_most_frequent_tier_with_frequencies():
    # B 3 times, C once, A once -> B everywhere; p = (1/5, 3/5, 1/5)
    out = majority_baseline(["B", "B", "C", "A", "B"], pd.Index([10, 11, 12]))
    assert out["tier"].tolist() == ["B", "B", "B"]
    assert out["tier"].dtype == TIER_DTYPE
    assert out.index.tolist() == [10, 11, 12]
    first = out[["p_A", "p_B", "p_C"]].to_numpy()[0]
    np.testing.assert_allclose(first, [0.2, 0.6, 0.2])


def test_majority_with_count_absent_tier_and_tie():
    # A and C tie (2 each): the better tier wins; B absent -> probability 0.
    out = majority_baseline(["C", "A", "C", "A"], 2)
    assert out.index.equals(pd.RangeIndex(2))
    assert out["tier"].tolist() == ["A", "A"]
    assert out["p_B"].tolist() == [0.0, 0.0]


def test_majority_rejects_unknown_and_empty():
    with pytest.raises(ValueError, match="not in tiers"):
        majority_baseline(["A", "D"], 1)
    with pytest.raises(ValueError, match="empty"):
        majority_baseline([], 1)


# --- persistence ----------------------------------------------------------


def _threshold_cut(v: pd.Series) -> pd.Series:
    return pd.Series(
        np.where(v >= 100, "A", np.where(v >= 10, "B", "C")), index=v.index
    )


def test_persistence_applies_cut_to_past_value():
    past = pd.Series([150.0, 50.0, 5.0, np.nan, 100.0], index=list("abcde"))
    seen = []

    def cut(v: pd.Series) -> pd.Series:
        seen.append(v)
        return _threshold_cut(v)

    out = persistence_baseline(past, cut)
    assert seen[0].loc["d"] == 0.0  # filled before the rule sees it
    assert past.isna().sum() == 1  # input not mutated
    assert out.columns.tolist() == ["tier"]
    assert out.index.equals(past.index)
    # NaN (no purchase in the last horizon) counts as 0 spend -> C
    assert out["tier"].tolist() == ["A", "B", "C", "C", "A"]
    assert out["tier"].dtype == TIER_DTYPE


def test_persistence_with_rank_based_cut_and_reordered_result():
    past = pd.Series([1.0, 30.0, 20.0, 10.0], index=["w", "x", "y", "z"])

    def cut(v: pd.Series) -> pd.Series:
        return rank_cut(v, (0.25, 0.25, 0.5)).sort_values()  # index reordered

    out = persistence_baseline(past, cut)
    assert out["tier"].tolist() == ["C", "A", "B", "C"]


def test_persistence_rejects_bad_cut():
    past = pd.Series([1.0, 2.0], index=["a", "b"])
    with pytest.raises(ValueError, match="not in tiers"):
        persistence_baseline(past, lambda v: ["A", "Z"])
    with pytest.raises(ValueError, match="another index"):
        persistence_baseline(past, lambda v: pd.Series(["A", "B"], index=["x", "y"]))
    with pytest.raises(TypeError):
        persistence_baseline([1.0, 2.0], _threshold_cut)


# --- rank_cut -------------------------------------------------------------


def test_rank_cut_sizes_follow_shares():
    score = pd.Series(np.arange(20, dtype=float))
    tiers = rank_cut(score, (0.05, 0.15, 0.80))
    # 20 rows: b = round(20 * (0.05, 0.20, 1.0)) = (1, 4, 20) -> sizes 1, 3, 16
    assert tiers.value_counts().reindex(["A", "B", "C"]).tolist() == [1, 3, 16]
    assert tiers.loc[19] == "A"  # highest score
    assert set(tiers.loc[[16, 17, 18]]) == {"B"}
    assert tiers.name == "tier" and tiers.dtype == TIER_DTYPE


def test_rank_cut_ties_broken_by_index():
    score = pd.Series([7.0, 7.0, 7.0, 7.0], index=["d", "b", "a", "c"])
    tiers = rank_cut(score, (0.25, 0.25, 0.5))
    assert tiers.to_dict() == {"d": "C", "b": "B", "a": "A", "c": "C"}
    # same result whatever the row order
    again = rank_cut(score.iloc[::-1], (0.25, 0.25, 0.5))
    assert again.reindex(tiers.index).tolist() == tiers.tolist()


def test_rank_cut_nan_last_and_bad_shares():
    score = pd.Series([np.nan, 1.0, 2.0, 3.0])
    assert rank_cut(score, (0.25, 0.25, 0.5)).tolist() == ["C", "C", "B", "A"]
    with pytest.raises(ValueError, match="sum to 1"):
        rank_cut(score, (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="entries"):
        rank_cut(score, (0.5, 0.5))


# --- LogisticColdStart ----------------------------------------------------


def _synthetic_attributes(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """Industry drives the tier, employees nudge it, with 5 % label noise."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(["bank", "retail", "craft"], size=n, p=[0.2, 0.3, 0.5])
    employees = np.where(industry == "bank", 500.0, 50.0) * rng.lognormal(0, 0.3, n)
    tier = pd.Series(industry).map({"bank": "A", "retail": "B", "craft": "C"})
    noisy = rng.random(n) < 0.05
    tier[noisy] = rng.choice(["A", "B", "C"], size=int(noisy.sum()))
    X = pd.DataFrame(
        {
            "industry": pd.Series(industry, dtype="str"),
            "region": rng.choice(["n", "s"], size=n),
            "employees": employees,
        }
    )
    return X, tier


def test_logistic_cold_start_learns_obvious_signal():
    X, y = _synthetic_attributes(600, seed=1)
    X_test, y_test = _synthetic_attributes(300, seed=2)
    model = LogisticColdStart().fit(X, y)
    assert model.categorical_columns_ == ["industry", "region"]
    assert model.numeric_columns_ == ["employees"]
    pred = model.predict(X_test)
    assert pred.dtype == TIER_DTYPE and pred.index.equals(X_test.index)
    assert tier_metrics(y_test, pred)["balanced_accuracy"] > 0.8
    proba = model.predict_proba(X_test)
    assert proba.columns.tolist() == ["p_A", "p_B", "p_C"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_logistic_cold_start_unseen_categories_and_missing_values():
    X, y = _synthetic_attributes(300, seed=3)
    model = LogisticColdStart().fit(X, y)
    new = pd.DataFrame(
        {
            "industry": pd.Series(["mining", None, "bank"], dtype="str"),
            "region": ["w", "n", None],
            "employees": [np.nan, 40.0, 600.0],
            "extra": [1, 2, 3],  # ignored: not an attribute seen in fit
        },
        index=[7, 8, 9],
    )
    out = model.predict_frame(new)
    assert out.index.tolist() == [7, 8, 9]
    assert out.loc[9, "tier"] == "A"
    np.testing.assert_allclose(out[["p_A", "p_B", "p_C"]].sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="employees"):
        model.predict(new.drop(columns="employees"))


def test_logistic_cold_start_missing_tier_gets_zero_probability():
    X = pd.DataFrame({"size": ["big", "small"] * 10, "age": np.arange(20.0)})
    y = ["A", "C"] * 10
    model = LogisticColdStart(attributes=["size"]).fit(X, y)
    proba = model.predict_proba(X)
    assert (proba["p_B"] == 0.0).all()
    assert model.predict(X).tolist() == y
    single = LogisticColdStart().fit(X, ["B"] * 20)
    assert single.predict(X.head(2)).tolist() == ["B", "B"]
    assert single.predict_proba(X.head(1)).to_numpy().tolist() == [[0.0, 1.0, 0.0]]


def test_logistic_cold_start_rejects_datetime_attribute():
    X = pd.DataFrame({"signup_ts": pd.date_range("2024-01-01", periods=4)})
    with pytest.raises(ValueError, match="signup_ts"):
        LogisticColdStart().fit(X, ["A", "B", "C", "C"])


def test_baselines_plug_into_evaluate_routes():
    X, y = _synthetic_attributes(200, seed=4)
    route = np.where(np.arange(200) % 2 == 0, "history", "cold_start")
    frame = LogisticColdStart().fit(X, y).predict_frame(X)
    table = evaluate_routes(y, frame, route=route)
    assert table.loc["history", "n"] == 100
    assert table.loc["all", "log_loss"] > 0
    majority = majority_baseline(y, X.index)
    worse = evaluate_routes(y, majority, route=route)
    assert worse.loc["all", "macro_f1"] < table.loc["all", "macro_f1"]


def test_logistic_leaves_out_a_numeric_attribute_without_any_value():
    # a customers table without signup_ts leaves days_since_signup all missing;
    # the logistic baseline used to crash in StandardScaler on 0 columns
    X = pd.DataFrame({"size": ["s", "s", "l", "l"] * 10, "days_since_signup": np.nan})
    y = pd.Series(["C", "C", "A", "A"] * 10)
    model = LogisticColdStart(tiers=("A", "B", "C")).fit(X, y)
    assert model.numeric_columns_ == [] and model.categorical_columns_ == ["size"]
    assert model.predict(X.head(4)).tolist() == ["C", "C", "A", "A"]
    with pytest.raises(ValueError, match="all missing"):
        LogisticColdStart().fit(X[["days_since_signup"]], y)
