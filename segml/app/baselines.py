"""The baselines a run is measured against, on its out-of-time test.

Each baseline is the fallback a route would ship in its place
(:mod:`segml.model.fallback`), fitted on the evaluated model's training rows:
so when a route ships a baseline, its shipped score on the test is that
baseline's score, to the last digit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.model.blend import BLEND
from segml.model.fallback import Fallback

__all__ = ["best_baseline", "lift_metrics", "run_baselines"]


def run_baselines(
    truth: pd.Series,
    X: pd.DataFrame,
    route: np.ndarray,
    fallbacks: dict[str, dict[str, Fallback]],
    tiers: tuple[str, ...],
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """Per-route metrics of every fallback kind on the test rows, and each
    kind's tier codes of the rows (the last tier where a route lacks it).

    ``fallbacks`` maps route -> kind -> fitted fallback (see
    :func:`segml.app.choice.fit_fallbacks`). A kind is evaluated on the routes
    that have it; its metrics for the other routes are NaN (not logged). The
    blend of persistence and BG/NBD (:mod:`segml.model.blend`) is a candidate a
    route may ship, not a baseline: it is not evaluated here.
    """
    from segml.evaluation import evaluate_routes

    kinds = dict.fromkeys(
        k for per_route in fallbacks.values() for k in per_route if k != BLEND
    )
    route = np.asarray(route, dtype=object)
    out, all_codes = {}, {}
    for kind in kinds:
        codes = np.full(len(X), len(tiers) - 1, dtype=int)
        proba = np.zeros((len(X), len(tiers)))
        covered = np.zeros(len(X), dtype=bool)
        for name, per_route in fallbacks.items():
            rows = np.flatnonzero(route == name)
            if kind not in per_route or len(rows) == 0:
                continue
            codes[rows], proba[rows], _ = per_route[kind].predict_rows(X, rows)
            covered[rows] = True
        proba[~covered] = 1.0 / len(tiers)  # not scored: metrics dropped below
        guess = pd.DataFrame(
            proba, index=truth.index, columns=[f"p_{t}" for t in tiers]
        )
        guess.insert(0, "tier", np.asarray(tiers, dtype=object)[codes])
        table = evaluate_routes(truth, guess, tiers, route=route)
        for name in table.index:
            if name != "all" and not covered[route == name].any():
                table.loc[name] = np.nan
        if not covered.all():
            table.loc["all"] = np.nan
        out[kind] = table
        all_codes[kind] = codes
    return out, all_codes


def best_baseline(
    metrics: dict[str, float], baselines: dict[str, pd.DataFrame], route: str
) -> str | None:
    """The baseline with the highest ``baseline/<name>/<route>/macro_f1``."""
    found = {
        name: metrics[f"baseline/{name}/{route}/macro_f1"]
        for name in baselines
        if f"baseline/{name}/{route}/macro_f1" in metrics
    }
    return max(found, key=lambda name: found[name]) if found else None


def lift_metrics(
    metrics: dict[str, float], baselines: dict[str, pd.DataFrame]
) -> dict[str, float]:
    """``best_baseline/<route>/macro_f1`` and ``lift/<route>`` (shipped - best).

    Examples
    --------
    >>> m = {"shipped/history/macro_f1": 0.6, "baseline/majority/history/macro_f1":
    ...      0.3, "baseline/persistence/history/macro_f1": 0.55}
    >>> lift_metrics(m, {"majority": None, "persistence": None})
    {'best_baseline/history/macro_f1': 0.55, 'lift/history': 0.04999999999999993}
    """
    out = {}
    for route in ("history", "cold_start"):
        best = best_baseline(metrics, baselines, route)
        shipped = metrics.get(f"shipped/{route}/macro_f1")
        if best is None or shipped is None:
            continue
        value = metrics[f"baseline/{best}/{route}/macro_f1"]
        out[f"best_baseline/{route}/macro_f1"] = value
        out[f"lift/{route}"] = shipped - value
    return out
