"""The baselines a run is measured against, on its out-of-time test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.config import Config
from segml.training import TrainingSet

__all__ = ["run_baselines"]


def run_baselines(
    cfg: Config,
    train_set: TrainingSet,
    test_set: TrainingSet,
    prediction: pd.DataFrame,
    cold_columns: list[str],
) -> dict[str, pd.DataFrame]:
    """Majority class, persistence and (for leads) logistic regression.

    Each is evaluated per route on the test rows, as the model is; the
    majority and logistic baselines learn from ``train_set`` only.
    """
    from segml.evaluation import LogisticColdStart, evaluate_routes, majority_baseline

    tiers = tuple(cfg.tiers.labels)
    truth = test_set.y
    route = prediction["route"].to_numpy()
    index = truth.index
    out = {
        "majority": evaluate_routes(
            truth,
            majority_baseline(train_set.y, index, tiers=tiers),
            tiers,
            route=route,
        ),
        "persistence": evaluate_routes(
            truth,
            pd.DataFrame({"tier": test_set.persistence}, index=index),
            tiers,
            route=route,
        ),
    }
    X_train = train_set.X
    leads_train = ~X_train["has_history"].to_numpy(dtype=bool)
    leads_test = route == "cold_start"
    if cold_columns and leads_train.sum() >= 20 and leads_test.any():
        logistic = LogisticColdStart(tiers=tiers, attributes=cold_columns)
        logistic.fit(X_train.loc[leads_train, cold_columns], train_set.y[leads_train])
        rows = test_set.X.loc[leads_test, cold_columns]
        guess = pd.DataFrame({"tier": logistic.predict(rows)}, index=rows.index)
        guess = pd.concat([guess, logistic.predict_proba(rows)], axis=1)
        out["logistic"] = evaluate_routes(
            truth[leads_test], guess, tiers, route=np.full(len(rows), "cold_start")
        )
    return out
