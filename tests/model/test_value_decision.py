"""The decision="value" path: value thresholds, and TierPredictor around them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.btyd.features import fit_btyd
from segml.model import TierPredictor
from segml.model.value_decision import ValueDecision

TX = pd.DataFrame(
    {
        "customer_id": list("aaabbbccd"),
        "ts": pd.to_datetime(
            [
                "2024-01-01",
                "2024-01-20",
                "2024-02-25",
                "2024-01-05",
                "2024-01-09",
                "2024-01-30",
                "2024-01-02",
                "2024-02-01",
                "2024-01-15",
            ]
        ),
        "amount": [10.0, 12.0, 14.0, 50.0, 40.0, 45.0, 5.0, 6.0, 20.0],
    }
)


class ScoreColumn:
    """A ranker stub: the expected value is the ``score`` column."""

    def predict(self, X: pd.DataFrame) -> pd.Series:
        assert "btyd_expected_value" in X  # the offset reaches the ranker
        return X["score"].astype("float64")


def rows(scores: list[float]) -> pd.DataFrame:
    n = len(scores)
    return pd.DataFrame(
        {
            "has_history": True,
            "order_days": 2,
            "tenure_days": 50.0,
            "recency_days": 10.0,
            "net_spend": 30.0,
            "first_order_value": 10.0,
            "score": scores,
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )


@pytest.fixture(scope="module")
def btyd():
    return fit_btyd(TX, as_of="2024-03-01", penalizer=0.01)


def test_thresholds_cut_the_reference_by_shares(btyd):
    reference = rows([10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    cut = ValueDecision.fit_cut(
        ScoreColumn(), reference, btyd=btyd, horizon_days=30, shares=(0.1, 0.2, 0.7)
    )
    # by hand: A is the top 1 of 10 (value >= 10), B the next 2 (>= 8)
    np.testing.assert_array_equal(cut.thresholds, [10.0, 8.0])
    np.testing.assert_array_equal(cut.codes(reference), [0, 1, 1] + [2] * 7)
    # new rows are cut by the same thresholds, one at a time or together
    new = rows([100.0, 8.5, 7.99])
    np.testing.assert_array_equal(cut.codes(new), [0, 1, 2])
    for i in range(3):
        assert cut.codes(new.iloc[[i]])[0] == cut.codes(new)[i]
    assert cut.btyd.rfm.empty  # the fitted models travel without their data


def test_a_tier_without_reference_rows_stays_empty(btyd):
    cut = ValueDecision.fit_cut(
        ScoreColumn(),
        rows([3.0, 2.0, 1.0]),
        btyd=btyd,
        horizon_days=30,
        shares=(0.01, 0.33, 0.66),
    )
    assert cut.thresholds[0] == np.inf
    assert 0 not in cut.codes(rows([1e9]))


@pytest.mark.parametrize("shares", [(0.5, 0.6), (1.0,)])
def test_bad_shares_are_rejected(btyd, shares):
    with pytest.raises(ValueError, match="shares"):
        ValueDecision.fit_cut(
            ScoreColumn(),
            rows([1.0, 2.0]),
            btyd=btyd,
            horizon_days=30,
            shares=shares,
        )


def small_training():
    """Customers with varied histories; region s spends twice what BTYD expects."""
    from segml.btyd.features import with_btyd_features

    rng = np.random.default_rng(0)
    n = 600
    days = rng.integers(1, 8, n)
    tenure = rng.uniform(20.0, 60.0, n)
    X = pd.DataFrame(
        {
            "has_history": rng.random(n) < 0.8,
            "order_days": days,
            "tenure_days": tenure,
            "recency_days": tenure * rng.uniform(0.0, 1.0, n),
            "net_spend": days * rng.gamma(4.0, 5.0, n),
            "first_order_value": rng.gamma(4.0, 5.0, n),
            "region": rng.choice(["n", "s"], n),
        }
    )
    X = with_btyd_features(X, fit_btyd(TX, as_of="2024-03-01", penalizer=0.01), 30)
    mean = X["btyd_expected_value"] * np.where(X["region"] == "s", 2.0, 1.0)
    value = rng.poisson(mean.fillna(0.0) / 5.0) * 5.0
    y = np.where(value > 40, "A", np.where(value > 25, "B", "C"))
    return X, pd.Series(y), value


def test_predictor_needs_future_value_and_a_cut():
    X, y, value = small_training()
    model = TierPredictor(decision="value", attributes=["region"], n_estimators=5)
    with pytest.raises(ValueError, match="future_value"):
        model.fit(X, y)
    model.fit(X, y, future_value=value)
    with pytest.raises(ValueError, match="set_value_cut"):
        model.predict(X)
    assert model.value_ranker_ is not None
    # the btyd_* columns feed the ranker only, never the classifiers
    assert not any(c.startswith("btyd_") for c in model.history_columns_)


def test_predictor_value_tiers_follow_the_cut(btyd):
    X, y, value = small_training()
    model = TierPredictor(decision="value", attributes=["region"], n_estimators=5).fit(
        X, y, future_value=value
    )
    with pytest.raises(ValueError, match="decision='value'"):
        TierPredictor(attributes=["region"], n_estimators=5).fit(X, y).set_value_cut(
            X, btyd=btyd, horizon_days=30, shares=(0.1, 0.2, 0.7)
        )
    model.set_value_cut(X, btyd=btyd, horizon_days=30, shares=(0.1, 0.2, 0.7))
    out = model.predict_frame(X, reasons=False)
    history = X["has_history"].to_numpy()
    shares = out.loc[history, "tier"].value_counts(normalize=True)
    assert shares["A"] == pytest.approx(0.1, abs=0.01)
    assert shares["B"] == pytest.approx(0.2, abs=0.01)
    expected = model.value_decision_.expected_value(X.loc[history])
    top = np.argsort(-expected)[: int(0.1 * history.sum()) - 1]
    assert (out.loc[history, "tier"].to_numpy()[top] == "A").all()
    # leads keep the rank decision of the cold-start route
    assert (out.loc[~history, "route"] == "cold_start").all()
    one = model.predict_frame(X.iloc[[3]], reasons=False)
    assert one["tier"].iloc[0] == out["tier"].iloc[3]
