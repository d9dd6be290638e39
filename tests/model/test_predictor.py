"""TierPredictor: routing, order, decisions, calibration, reasons, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import balanced_accuracy_score

from segml.model import TierPredictor

TIERS = ["A", "B", "C"]


def make_data(n: int = 1500, seed: int = 0, shuffle_labels: bool = False):
    """Tier driven by `orders` for buyers and by `size` for leads, plus noise."""
    rng = np.random.default_rng(seed)
    size = rng.choice(["small", "mid", "large"], n, p=[0.6, 0.3, 0.1])
    has_history = rng.random(n) < 0.7
    orders = np.where(has_history, rng.gamma(2.0, 2.0, n), 0.0)
    region = rng.choice(["north", "south"], n)
    size_effect = pd.Series(size).map({"small": 0.0, "mid": 3.0, "large": 7.0})
    latent = np.where(has_history, orders, size_effect.to_numpy())
    latent = latent + rng.normal(0, 0.8, n)
    q80, q95 = np.quantile(latent, [0.80, 0.95])
    tier = np.where(latent >= q95, "A", np.where(latent >= q80, "B", "C"))
    if shuffle_labels:
        tier = rng.permutation(tier)
    cutoff = np.repeat(
        pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"]),
        [n // 3, n // 3, n - 2 * (n // 3)],
    )
    X = pd.DataFrame(
        {
            "has_history": has_history,
            "orders": orders,
            "recency_days": np.where(has_history, rng.exponential(60, n), np.nan),
            "size": pd.array(size, dtype="str"),
            "region": pd.array(region, dtype="str"),
        },
        index=pd.Index([f"c{i:05d}" for i in range(n)], name="customer_id"),
    )
    return X, pd.Series(tier, index=X.index), pd.Series(cutoff, index=X.index)


@pytest.fixture(scope="module")
def fitted():
    X, y, cutoff = make_data()
    model = TierPredictor(
        attributes=["size", "region"], n_estimators=60, learning_rate=0.1
    )
    return model.fit(X, y, cutoff=cutoff), X, y


def test_routes_follow_has_history(fitted):
    model, X, _ = fitted
    out = model.predict_frame(X)
    expected = np.where(X["has_history"], "history", "cold_start")
    assert out["route"].tolist() == expected.tolist()


def test_learns_both_routes(fitted):
    model, X, y = fitted
    Xt, yt, _ = make_data(seed=1)
    out = model.predict_frame(Xt)
    for route in ("history", "cold_start"):
        rows = out["route"] == route
        score = balanced_accuracy_score(yt[rows], out.loc[rows, "tier"].astype(str))
        assert score > 0.6, (route, score)


def test_cold_start_ignores_history_columns(fitted):
    model, X, _ = fitted
    leads = X.loc[~X["has_history"]].head(20)
    changed = leads.assign(orders=999.0, recency_days=1.0)
    pd.testing.assert_frame_equal(
        model.predict_frame(leads), model.predict_frame(changed)
    )


def test_probabilities_are_calibrated_distributions(fitted):
    model, X, _ = fitted
    proba = model.predict_proba(X)
    assert list(proba.columns) == ["p_A", "p_B", "p_C"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.routes_["history"].calibrator is not None


def test_rank_decision_reproduces_label_shares(fitted):
    model, X, y = fitted
    out = model.predict_frame(X)
    got = out["tier"].astype(str).value_counts(normalize=True)
    want = y.value_counts(normalize=True)
    for tier in TIERS:
        assert abs(got.get(tier, 0) - want[tier]) < 0.05, tier


def test_argmax_decision_takes_most_probable(fitted):
    model, X, _ = fitted
    model_argmax = TierPredictor(**{**model.get_params(), "decision": "argmax"})
    model_argmax.routes_ = model.routes_
    model_argmax.classes_ = model.classes_
    out = model_argmax.predict_frame(X.head(50))
    proba = out[["p_A", "p_B", "p_C"]].to_numpy()
    assert out["tier"].astype(str).tolist() == [TIERS[i] for i in proba.argmax(1)]


def test_single_row_matches_batch(fitted):
    model, X, _ = fitted
    batch = model.predict_frame(X.head(40))
    for i in (0, 7, 33):
        one = model.predict_frame(X.iloc[[i]])
        pd.testing.assert_frame_equal(one, batch.iloc[[i]])


def test_reasons_name_the_driving_feature(fitted):
    model, X, _ = fitted
    buyers = X.loc[X["has_history"]].head(30)
    out = model.predict_frame(buyers)
    assert out["reason_1"].str.startswith("orders=").mean() > 0.5
    assert out["reason_1"].str.contains(r"\([+-]\d+\.\d\d\)$").all()


def test_unseen_category_is_missing_not_an_error(fitted):
    model, X, _ = fitted
    leads = X.loc[~X["has_history"]].head(3).assign(size="gigantic")
    out = model.predict_frame(leads)
    assert len(out) == 3 and out["tier"].notna().all()


def test_shuffled_labels_bring_the_model_to_chance():
    X, y, cutoff = make_data(seed=3, shuffle_labels=True)
    model = TierPredictor(attributes=["size", "region"], n_estimators=60)
    model.fit(X, y, cutoff=cutoff)
    Xt, yt, _ = make_data(seed=4)
    score = balanced_accuracy_score(yt, model.predict_frame(Xt)["tier"].astype(str))
    assert abs(score - 1 / 3) < 0.08


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flags=st.lists(st.booleans(), min_size=0, max_size=30),
    seed=st.integers(0, 10_000),
)
def test_predict_keeps_rows_order_and_ids(fitted, flags, seed):
    model, X, _ = fitted
    rng = np.random.default_rng(seed)
    rows = X.iloc[rng.integers(0, len(X), len(flags))].copy()
    rows["has_history"] = flags
    rows.index = pd.Index([f"id{seed}-{i}" for i in range(len(flags))])
    out = model.predict_frame(rows)
    assert out.index.tolist() == rows.index.tolist()
    assert out["route"].tolist() == ["history" if f else "cold_start" for f in flags]


def test_missing_has_history_is_a_clear_error(fitted):
    model, X, _ = fitted
    with pytest.raises(ValueError, match="has_history"):
        model.predict_frame(X.drop(columns="has_history"))


def test_labels_outside_tiers_are_rejected():
    X, y, _ = make_data(n=100)
    with pytest.raises(ValueError, match="outside tiers"):
        TierPredictor(attributes=["size"]).fit(X, y.replace("A", "Z"))


def test_unknown_attribute_is_rejected():
    X, y, _ = make_data(n=100)
    with pytest.raises(ValueError, match="colour"):
        TierPredictor(attributes=["colour"]).fit(X, y)


def test_calibration_is_skipped_when_a_class_is_too_rare_in_the_slice():
    X, y, cutoff = make_data(n=900, seed=8)
    history = X["has_history"].to_numpy()
    slice_rows = (cutoff == cutoff.max()).to_numpy() & history
    y = y.copy()
    a_rows = np.flatnonzero(slice_rows & (y == "A").to_numpy())
    assert len(a_rows) >= 2
    y.iloc[a_rows[1:]] = "B"  # a single A left in the history calibration slice
    model = TierPredictor(attributes=["size"], n_estimators=20).fit(X, y, cutoff=cutoff)
    assert model.routes_["history"].calibrator is None
    proba = model.predict_proba(X.head(20))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# --- the scikit-learn contract -------------------------------------------------


def test_predict_returns_the_tier_column_of_predict_frame(fitted):
    model, X, _ = fitted
    rows = X.iloc[[5, 0, 17, 3]]
    tiers = model.predict(rows)
    frame = model.predict_frame(rows, reasons=False)
    assert isinstance(tiers, pd.Series) and tiers.name == "tier"
    assert tiers.index.tolist() == rows.index.tolist()
    pd.testing.assert_series_equal(tiers, frame["tier"])
    assert list(tiers.cat.categories) == TIERS


def test_predict_proba_is_predict_frame_probabilities(fitted):
    model, X, _ = fitted
    rows = X.head(25)
    frame = model.predict_frame(rows, reasons=False)
    pd.testing.assert_frame_equal(
        model.predict_proba(rows), frame[["p_A", "p_B", "p_C"]]
    )


def test_score_is_macro_f1_over_every_tier(fitted):
    model, X, _ = fitted
    rows = X.head(12)
    predicted = model.predict(rows).astype(str).tolist()
    # flip the first two predictions' truth to a different tier, by hand
    truth = list(predicted)
    truth[0] = "A" if predicted[0] != "A" else "C"
    truth[1] = "B" if predicted[1] != "B" else "C"
    k = len(TIERS)
    f1 = []
    for tier in TIERS:
        tp = sum(t == p == tier for t, p in zip(truth, predicted, strict=True))
        fp = sum(p == tier != t for t, p in zip(truth, predicted, strict=True))
        fn = sum(t == tier != p for t, p in zip(truth, predicted, strict=True))
        f1.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    got = model.score(rows, truth)
    assert isinstance(got, float)
    assert got == pytest.approx(sum(f1) / k, abs=1e-12)
    assert got < 1.0


def test_score_counts_an_absent_tier_as_zero(fitted):
    model, X, _ = fitted
    predicted = model.predict(X).astype(str)
    rows = predicted[predicted != "A"].index[:40]
    assert set(predicted[rows]) == {"B", "C"}
    # truth = prediction and no A anywhere: F1 of B and C is 1, that of A is 0
    assert model.score(X.loc[rows], predicted[rows]) == pytest.approx(2 / 3)


def test_score_rejects_labels_outside_tiers(fitted):
    model, X, _ = fitted
    with pytest.raises(ValueError, match=r"tiers=\['A', 'B', 'C'\]: \['Z'\]"):
        model.score(X.head(2), ["A", "Z"])


def test_the_table_through_predict_reasons_is_a_deprecated_shim(fitted):
    model, X, _ = fitted
    with pytest.warns(FutureWarning, match="predict_frame"):
        out = model.predict(X.head(3), reasons=False)
    pd.testing.assert_frame_equal(out, model.predict_frame(X.head(3), reasons=False))


def test_lightgbm_parameters_are_parameters():
    model = TierPredictor(n_estimators=7, reg_lambda=2.0)
    params = model.get_params()
    assert params["n_estimators"] == 7 and params["reg_lambda"] == 2.0
    assert "lgbm_params" not in params and "lgbm_params" not in vars(model)
    model.set_params(reg_lambda=3.0, subsample=0.5, num_leaves=4)
    assert model.get_params()["reg_lambda"] == 3.0
    assert model.get_params()["subsample"] == 0.5
    assert model._lgbm_settings() == {
        "n_estimators": 7,
        "learning_rate": 0.1,
        "num_leaves": 4,
        "max_depth": -1,
        "min_child_samples": 20,
        "reg_lambda": 3.0,
        "subsample": 0.5,
    }
    from sklearn.base import clone

    copy = clone(model)
    assert copy.get_params() == model.get_params()


def test_lightgbm_receives_every_parameter():
    X, y, _ = make_data(n=300)
    model = TierPredictor(attributes=["size"], n_estimators=4, reg_lambda=2.0)
    model.set_params(num_leaves=5).fit(X, y)
    booster = model.routes_["history"].model
    assert booster.n_estimators == 4 and booster.num_leaves == 5
    assert booster.get_params()["reg_lambda"] == 2.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"decision": "best"}, "decision must be one of"),
        ({"calibration": "platt"}, "calibration must be one of"),
        ({"n_reasons": -1}, "n_reasons must be an int >= 0"),
    ],
)
def test_bad_settings_fail_in_fit_not_in_init(params, message):
    X, y, _ = make_data(n=100)
    model = TierPredictor(attributes=["size"], **params)  # no error here
    model.set_params(**params)  # nor here
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)


def test_a_predictor_pickled_with_the_old_lgbm_params_dict_still_works(fitted):
    model, X, _ = fitted
    state = dict(model.__getstate__())
    # the state segml 0.1 pickled: a dict plus attributes for the given keys
    for name in ("_lgbm_extra", "learning_rate", "num_leaves", "max_depth"):
        state.pop(name)
    state["lgbm_params"] = {"n_estimators": 60, "reg_lambda": 1.0}
    state["reg_lambda"] = 1.0
    old = TierPredictor.__new__(TierPredictor)
    old.__setstate__(state)
    params = old.get_params()
    assert params["n_estimators"] == 60 and params["reg_lambda"] == 1.0
    assert params["learning_rate"] == 0.1 and params["num_leaves"] == 31
    assert "lgbm_params" not in vars(old)
    pd.testing.assert_series_equal(old.predict(X.head(5)), model.predict(X.head(5)))


def test_nested_value_ranker_parameters_reach_the_template():
    from segml.model.value_ranker import ValueRanker

    model = TierPredictor(decision="value", value_ranker=ValueRanker(), reg_alpha=0.5)
    model.set_params(value_ranker__n_estimators=7, n_estimators=9)
    params = model.get_params()
    assert params["value_ranker__n_estimators"] == 7
    assert model.value_ranker.n_estimators == 7
    assert params["n_estimators"] == 9 and params["reg_alpha"] == 0.5
    assert "value_ranker__n_estimators" not in vars(model)
