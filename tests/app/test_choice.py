"""Choosing per route: the model, or the best baseline, by evidence."""

import numpy as np
import pandas as pd

from segml.app.choice import choose_routes
from segml.model.fallback import MajorityFallback


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
