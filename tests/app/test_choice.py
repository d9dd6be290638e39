"""Choosing per route: the model, or the best baseline, by evidence."""

import numpy as np
import pandas as pd
import pytest

from segml.app.choice import choose_routes, route_f1, tier_codes
from segml.model.fallback import MajorityFallback, PersistenceFallback


def test_a_model_without_signal_loses_to_majority_even_when_it_scores_higher():
    rng = np.random.default_rng(0)
    n = 2000
    truth = pd.Series(rng.choice(["A", "B", "C"], n, p=[0.05, 0.15, 0.80]))
    X = pd.DataFrame({"has_history": np.zeros(n, dtype=bool)})
    # random tiers at the label shares: macro-F1 about 1/3, majority about 0.30
    noise = rng.choice([0, 1, 2], n, p=[0.05, 0.15, 0.80])
    fallbacks = {"cold_start": {"majority": MajorityFallback.fit(noise, 3)}}
    picked = choose_routes(truth, X, noise, fallbacks, ["A", "B", "C"])["cold_start"]
    assert picked.scores["model"] > picked.scores["majority"]
    assert picked.chosen == "majority" and "chance" in picked.reason
    # the same tiers, now tied to the truth for a third of the rows: it ships
    codes = noise.copy()
    informed = rng.random(n) < 0.33
    codes[informed] = truth[informed].map({"A": 0, "B": 1, "C": 2}).to_numpy()
    picked = choose_routes(truth, X, codes, fallbacks, ["A", "B", "C"])["cold_start"]
    assert picked.chosen == "model", picked.reason
    assert picked.scores["model"] > picked.chance


def test_a_tie_with_a_baseline_ships_the_baseline():
    truth = pd.Series(["C"] * 10)
    X = pd.DataFrame({"has_history": [True] * 10})
    fallbacks = {"history": {"majority": MajorityFallback.fit(np.full(10, 2), 3)}}
    picked = choose_routes(truth, X, np.full(10, 2), fallbacks, ["A", "B", "C"])
    assert picked["history"].chosen == "majority"
    assert "at least as good" in picked["history"].reason
    assert picked["cold_start"].chosen == "model"  # no rows: nothing to choose


def test_macro_f1_equals_tier_metrics_on_random_codes():
    from segml.app.choice import macro_f1, route_f1
    from segml.evaluation import tier_metrics

    rng = np.random.default_rng(3)
    for k, n in ((3, 50), (4, 7), (2, 400)):
        tiers = list("ABCD"[:k])
        truth = rng.integers(0, k, n)
        codes = rng.integers(0, k, n)
        expected = tier_metrics(
            np.array(tiers)[truth], np.array(tiers)[codes], tiers=tiers
        )["macro_f1"]
        assert macro_f1(truth, codes, k)[0] == pytest.approx(expected, abs=1e-12)
        labels = pd.Series(np.array(tiers)[truth])
        assert route_f1(labels, codes, np.ones(n, bool), tiers) == pytest.approx(
            expected, abs=1e-12
        )
    # weights are counts of each row: a row counted twice is that row duplicated
    truth, codes = np.array([0, 2, 2, 1]), np.array([0, 2, 1, 1])
    twice = macro_f1(np.r_[truth, truth[:1]], np.r_[codes, codes[:1]], 3)[0]
    assert macro_f1(truth, codes, 3, np.array([[2.0, 1, 1, 1]]))[0] == twice


def test_a_model_that_wins_on_a_handful_of_rows_does_not_ship():
    # 200 leads, 4 of them in the best tiers: the model finds two of them, the
    # logistic one. The model scores far higher, but on one customer's evidence.
    truth = pd.Series(["A", "B", "B", "A"] + ["C"] * 196)
    X = pd.DataFrame({"has_history": np.zeros(200, dtype=bool)})
    model = np.full(200, 2)
    model[[0, 1]] = [0, 1]
    logistic = np.full(200, 2)
    logistic[0] = 0

    class Fixed(MajorityFallback):
        def predict_rows(self, frame, rows):
            return logistic[rows], np.zeros((len(rows), 3)), np.zeros(len(rows))

    fallbacks = {"cold_start": {"logistic": Fixed.fit(logistic, 3)}}
    picked = choose_routes(truth, X, model, fallbacks, ["A", "B", "C"])["cold_start"]
    assert picked.scores["model"] > picked.scores["logistic"] + 0.1
    assert picked.chosen == "logistic", picked.reason
    assert picked.wins < 0.9 and "not clearly better" in picked.reason
    # the same gap on 50 times the rows is evidence: the model ships
    many = pd.Series(np.tile(truth.to_numpy(), 50))
    X = pd.DataFrame({"has_history": np.zeros(10_000, dtype=bool)})
    logistic = np.tile(logistic, 50)
    picked = choose_routes(many, X, np.tile(model, 50), fallbacks, ["A", "B", "C"])
    assert picked["cold_start"].chosen == "model", picked["cold_start"].reason
    assert picked["cold_start"].wins >= 0.9


def test_earlier_selection_cutoffs_are_pooled_with_the_first():
    tiers = ["A", "B", "C"]
    X = pd.DataFrame({"has_history": np.ones(10, dtype=bool)})
    truth = pd.Series(["A", "B"] + ["C"] * 8)
    right = np.array([0, 1] + [2] * 8)
    fallbacks = {"history": {"majority": MajorityFallback.fit(np.full(10, 2), 3)}}
    alone = choose_routes(truth, X, right, fallbacks, tiers)["history"]
    assert alone.scores["model"] == 1.0
    # an earlier cutoff where the model gets everything wrong: pooled, the
    # model scores what it scores on the 20 rows together
    wrong = np.array([2, 2] + [0] * 8)
    pooled = choose_routes(
        truth, X, right, fallbacks, tiers, more=[(truth, X, wrong, fallbacks)]
    )["history"]
    both = pd.Series(np.r_[truth, truth])
    expected = route_f1(both, np.r_[right, wrong], np.ones(20, bool), tiers)
    assert pooled.scores["model"] == pytest.approx(expected)
    assert pooled.chosen == "majority" and "selection cutoffs" in pooled.reason
    # a fallback only some cutoffs have is not a candidate
    other = {"history": {}}
    partial = choose_routes(
        truth, X, right, fallbacks, tiers, more=[(truth, X, right, other)]
    )
    assert set(partial["history"].scores) == {"model"}


def test_a_model_that_loses_one_selection_cutoff_does_not_ship():
    # 100 rows per cutoff; the model is perfect on the latest cutoff and worse
    # than persistence on the earlier one, so pooled it still wins clearly
    tiers = ["A", "B", "C"]
    X = pd.DataFrame({"has_history": np.ones(100, dtype=bool), "spend_90d": 0.0})
    truth = pd.Series(["A"] * 5 + ["B"] * 15 + ["C"] * 80)
    right = tier_codes(truth, tiers)
    # persistence: the earlier cutoff's spend puts 10 of the 20 A/B rows right
    fallback = PersistenceFallback(
        column="spend_90d", thresholds=np.array([5.0, 1.0]), proba=np.eye(3)
    )
    earlier = X.assign(spend_90d=np.r_[[9.0] * 5, [2.0] * 5, [0.0] * 90])
    late = X.assign(spend_90d=np.r_[[9.0] * 3, [0.0] * 97])
    # the model on the earlier cutoff: 2 A right, 5 B right, the rest C
    weak = np.r_[[0] * 2, [2] * 3, [1] * 5, [2] * 90]
    stages = (truth, late, right, {"history": {"persistence": fallback}})
    earlier_stage = (truth, earlier, weak, {"history": {"persistence": fallback}})
    picked = choose_routes(*stages, tiers, more=[earlier_stage])["history"]
    # by hand: persistence on the earlier cutoff gets A 5/5 and B 5/15 right
    f1_persist = np.mean([1.0, 2 * 5 / (2 * 5 + 10), 2 * 80 / (2 * 80 + 10)])
    f1_model = np.mean(
        [2 * 2 / (2 * 2 + 3), 2 * 5 / (2 * 5 + 10), 2 * 80 / (2 * 80 + 13)]
    )
    # pooled, the model wins clearly: only the earlier cutoff stops it
    assert picked.scores["model"] > picked.scores["persistence"]
    assert picked.wins >= 0.9 and picked.scores["model"] > picked.chance
    assert picked.cutoff_gaps[0] == pytest.approx(
        1.0
        - route_f1(
            truth,
            fallback.predict_rows(late, np.arange(100))[0],
            np.ones(100, bool),
            tiers,
        )
    )
    assert picked.cutoff_gaps[1] == pytest.approx(f1_model - f1_persist)
    assert picked.cutoff_gaps[1] < 0
    assert picked.chosen == "persistence", picked.reason
    assert "not on each" in picked.reason and "counting back" in picked.reason
    # the same evidence on the latest cutoff alone ships the model
    alone = choose_routes(*stages, tiers)["history"]
    assert alone.chosen == "model" and len(alone.cutoff_gaps) == 1
