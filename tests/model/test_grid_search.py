"""GridSearchCV over TierPredictor with time-ordered folds (and docs/sklearn.md)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score

from segml.model import TierPredictor
from segml.training import CutoffSplit

TIERS = ["A", "B", "C"]
HORIZON = 30
CUTOFFS = pd.to_datetime(
    ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]
)
CANDIDATES = [
    {"n_estimators": 2, "num_leaves": 2},
    {"n_estimators": 30, "num_leaves": 8},
]
DOC = Path(__file__).resolve().parents[2] / "docs" / "sklearn.md"


def stacked(n_per_cutoff: int = 160, seed: int = 0):
    """Rolling origins: one row per customer and cutoff, tier from orders + noise."""
    rng = np.random.default_rng(seed)
    n = n_per_cutoff * len(CUTOFFS)
    has_history = rng.random(n) < 0.8
    orders = np.where(has_history, rng.gamma(2.0, 2.0, n), 0.0)
    region = rng.choice(["n", "s"], n)
    # leads: the region says B or C
    latent = np.where(has_history, orders, np.where(region == "s", 5.0, 2.0))
    latent = latent + rng.normal(0, 1.0, n)
    tier = np.where(latent >= 8.0, "A", np.where(latent >= 4.0, "B", "C"))
    X = pd.DataFrame(
        {
            "cutoff": np.repeat(CUTOFFS, n_per_cutoff),
            "has_history": has_history,
            "orders": orders,
            "region": pd.array(region, dtype="str"),
        }
    )
    return X, pd.Series(tier)


def macro_f1_by_hand(truth: list[str], predicted: list[str]) -> float:
    scores = []
    for tier in TIERS:
        pairs = list(zip(truth, predicted, strict=True))
        tp = sum(t == p == tier for t, p in pairs)
        fp = sum(p == tier and t != tier for t, p in pairs)
        fn = sum(t == tier and p != tier for t, p in pairs)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(TIERS)


@pytest.fixture(scope="module")
def searched():
    X, y = stacked()
    cv = CutoffSplit(horizon_days=HORIZON, n_splits=3)
    model = TierPredictor(attributes=["region"], random_state=0)
    grid = [{name: [value] for name, value in c.items()} for c in CANDIDATES]
    search = GridSearchCV(model, grid, cv=cv, n_jobs=1)
    search.fit(X, y, cutoff=X["cutoff"])
    return search, X, y, cv


def test_folds_never_train_on_labels_after_their_test_cutoff(searched):
    _, X, _, cv = searched
    folds = list(cv.split(X))
    assert len(folds) == 3
    tests = []
    for train, test in folds:
        test_cutoffs = X["cutoff"].iloc[test].unique()
        assert len(test_cutoffs) == 1  # one whole cutoff per fold
        test_cutoff = test_cutoffs[0]
        latest_train = X["cutoff"].iloc[train].max()
        assert latest_train + pd.Timedelta(days=HORIZON) <= test_cutoff
        tests.append(test_cutoff)
    assert tests == sorted(tests) == list(CUTOFFS[-3:])
    # 1 Feb + 30 days = 2 Mar: the March fold may train on January only
    march = folds[0][0]
    assert set(X["cutoff"].iloc[march]) == {CUTOFFS[0]}


def test_best_score_is_the_mean_macro_f1_of_the_folds_by_hand(searched):
    search, X, y, cv = searched
    means = []
    for params in CANDIDATES:
        per_fold = []
        for train, test in cv.split(X):
            model = clone(search.estimator).set_params(**params)
            model.fit(X.iloc[train], y.iloc[train], cutoff=X["cutoff"].iloc[train])
            predicted = model.predict(X.iloc[test]).astype(str).tolist()
            per_fold.append(macro_f1_by_hand(y.iloc[test].tolist(), predicted))
        means.append(float(np.mean(per_fold)))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], means, atol=1e-12)
    best = int(np.argmax(means))
    assert search.best_params_ == CANDIDATES[best]
    assert search.best_score_ == pytest.approx(means[best], abs=1e-12)
    assert means[0] != means[1]  # the two settings are told apart


def test_refit_model_is_the_best_setting_on_all_rows(searched):
    search, X, y, _ = searched
    refit = search.best_estimator_
    assert refit.get_params()["n_estimators"] == search.best_params_["n_estimators"]
    assert refit.routes_["history"].model.n_estimators == refit.n_estimators
    assert isinstance(search.score(X, y), float)
    assert search.predict(X.head(4)).tolist() == refit.predict(X.head(4)).tolist()


def test_cross_val_score_with_time_series_split_returns_floats():
    X, y = stacked(n_per_cutoff=120, seed=1)
    model = TierPredictor(attributes=["region"], n_estimators=3, calibration=None)
    scores = cross_val_score(model, X, y, cv=TimeSeriesSplit(n_splits=2))
    assert scores.shape == (2,) and scores.dtype == np.float64
    assert ((scores >= 0) & (scores <= 1)).all()


def test_docs_snippet_runs_and_finds_a_setting():
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/sklearn.md has no python block"
    namespace: dict = {}
    exec(compile("\n".join(blocks), str(DOC), "exec"), namespace)  # noqa: S102
    search = namespace["search"]
    assert search.best_params_ in [
        {"n_estimators": 5, "num_leaves": 4},
        {"n_estimators": 40, "num_leaves": 15},
    ]
    assert 0.0 <= search.best_score_ <= 1.0
    assert (
        namespace["tiers"].tolist() == search.predict(namespace["X"].head(3)).tolist()
    )
