"""Choose, per route, between the LightGBM model and the obvious answers.

A run never ships a route that its own evidence says is worse than what a user
would do without segml. On the selection cutoff of the plan (before the test,
see :mod:`segml.app.plan`) each route's model is compared with its fallbacks
(:mod:`segml.model.fallback`): majority and persistence (and BG/NBD +
Gamma-Gamma with the value decision) for customers with history, majority and
the one-hot logistic regression for leads. Where persistence and BG/NBD both
exist, their blend (:mod:`segml.model.blend`) is one more candidate: which of
the two is better changes from date to date, and the blend stays close to the
better one.

The model ships when its macro-F1 there is higher than every fallback's by
more than the noise of the comparison **and** clearly above chance:

- *clearly better*: in a paired bootstrap of the route's selection rows
  (``N_BOOTSTRAP`` resamples, the same rows for both), the model beats the best
  fallback in at least ``CONFIDENCE`` of the resamples. Macro-F1 on a route
  whose best tiers hold a handful of rows (leads, often) swings by 0.1 or more
  with one customer; a model that wins by that much on a few rows has not shown
  anything, and the simpler answer ships;
- *above chance*: above the mean plus two standard deviations of the macro-F1
  of its own tiers shuffled across the route's rows (a permutation test; a
  ranking without signal, cut at the label shares, scores about 1/k and can
  beat majority);
- *at every cutoff*: with several selection cutoffs, the model also beats that
  fallback on each of them alone. The bootstrap resamples rows, but what
  changes between a selection cutoff and the test is the date: a model that
  wins one cutoff by 0.08 and loses the next by 0.03 wins the pooled rows in
  nearly every resample and has still not shown it holds over time.

Otherwise the best fallback ships. The test then measures what ships.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.evaluation.metrics import tier_codes as metric_codes
from segml.model.blend import BLEND, BlendFallback, blend_codes
from segml.model.fallback import (
    BTYDFallback,
    Fallback,
    LogisticFallback,
    MajorityFallback,
    PersistenceFallback,
)
from segml.model.predictor import COLD_START, HISTORY
from segml.training import TrainingSet

__all__ = [
    "MODEL",
    "RouteChoice",
    "choose_routes",
    "bootstrap_differences",
    "fit_fallbacks",
    "lift_band",
    "macro_f1",
    "route_f1",
    "ship_choices",
    "tier_codes",
]

MODEL = "model"
MIN_LOGISTIC_ROWS = 20
#: Shuffles of the model's tiers in the permutation test against chance.
N_PERMUTATIONS = 30
#: Paired bootstrap resamples of the selection rows, and the share of them the
#: model must win against the best fallback to ship.
N_BOOTSTRAP = 200
CONFIDENCE = 0.9


@dataclass
class RouteChoice:
    """What a route ships and the evidence for it.

    ``scores`` maps each candidate (``model`` and fallback kinds) to its
    macro-F1 on the selection cutoffs (pooled); ``chance`` is the bar the model
    must clear against its own shuffled tiers; ``wins`` the share of paired
    bootstrap resamples in which the model beat the best fallback;
    ``cutoff_gaps`` the model's macro-F1 minus that fallback's on each selection
    cutoff alone (latest first); ``reason`` says in words why.
    """

    route: str
    chosen: str = MODEL
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    chance: float = float("nan")
    wins: float = float("nan")
    cutoff_gaps: list[float] = field(default_factory=list)


def fit_fallbacks(
    tset: TrainingSet,
    *,
    reference_values: pd.Series | np.ndarray | None,
    reference_codes: np.ndarray | None,
    persistence_column: str,
    cold_columns: Sequence[str],
    tiers: Sequence[str],
    btyd: tuple[object, float, pd.DataFrame] | None = None,
    codes_of: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, dict[str, Fallback]]:
    """The fallbacks of each route, fitted on a training set.

    Persistence thresholds come from ``reference_values`` (each reference
    customer's value over the scoring horizon) and their tiers
    ``reference_codes``; without them there is no persistence fallback.
    ``btyd`` (a BTYD fit, its horizon and the reference feature rows it was
    fitted on) adds the BTYD fallback, whose reference values are tiered by
    ``codes_of`` (the run's rule); its training tiers come from each training
    row's ``btyd_expected_value``. With both, the blend of persistence and BTYD
    (:class:`~segml.model.blend.BlendFallback`) is fitted on the same
    reference. A fallback that cannot be fitted is left out with one warning.
    """
    codes = tier_codes(tset.y, tiers)
    persisted = tier_codes(tset.persistence, tiers)
    history = tset.X["has_history"].to_numpy(dtype=bool)
    k = len(tiers)
    out: dict[str, dict[str, Fallback]] = {HISTORY: {}, COLD_START: {}}
    for route, mask in ((HISTORY, history), (COLD_START, ~history)):
        if mask.any():
            out[route]["majority"] = MajorityFallback.fit(codes[mask], k)
    if history.any() and reference_values is not None:
        out[HISTORY]["persistence"] = PersistenceFallback.fit(
            persistence_column,
            reference_values,
            reference_codes,
            persisted[history],
            codes[history],
            k,
        )
    if (
        btyd is not None
        and codes_of is not None
        and history.any()
        and "btyd_expected_value" in tset.X.columns
    ):
        fitted, horizon_days, reference = btyd
        blend = "persistence" in out[HISTORY] and reference_codes is not None
        train_codes = np.empty(len(tset.X), dtype=int)
        blend_train = np.empty(len(tset.X), dtype=int)
        for _, rows in tset.X.groupby("cutoff", sort=False):
            at = tset.X.index.get_indexer(rows.index)
            values = np.nan_to_num(rows["btyd_expected_value"].to_numpy(dtype=float))
            train_codes[at] = codes_of(values)
            if blend:
                blend_train[at] = blend_codes(
                    [-persisted[at].astype(float), values],
                    np.bincount(persisted[at], minlength=k),
                )
        out[HISTORY]["btyd"] = BTYDFallback.fit(
            fitted,
            horizon_days,
            reference,
            codes_of,
            train_codes[history],
            codes[history],
            k,
        )
        if blend:
            out[HISTORY][BLEND] = BlendFallback.fit(
                (out[HISTORY]["persistence"], out[HISTORY]["btyd"]),
                reference,
                reference_codes,
                blend_train[history],
                codes[history],
                k,
            )
    leads = ~history
    columns = list(cold_columns)
    if columns and leads.sum() >= MIN_LOGISTIC_ROWS and len(set(codes[leads])) >= 2:
        from segml.evaluation import LogisticColdStart

        try:
            model = LogisticColdStart(tiers=tuple(tiers), attributes=columns)
            model.fit(tset.X.loc[leads, columns], tset.y[leads])
            out[COLD_START]["logistic"] = LogisticFallback(model=model)
        except ValueError as err:
            warnings.warn(
                f"the logistic baseline for leads could not be fitted ({err}); "
                "it is left out",
                UserWarning,
                stacklevel=2,
            )
    return out


def route_f1(
    truth: pd.Series, tier_codes: np.ndarray, mask: np.ndarray, tiers: Sequence[str]
) -> float:
    """Macro-F1 over ``tiers`` of the rows in ``mask`` (NaN without rows).

    Examples
    --------
    >>> truth = pd.Series(["A", "C", "C", "B"])
    >>> round(route_f1(truth, np.array([0, 2, 1, 1]), np.ones(4, bool), "ABC"), 4)
    0.7778
    """
    if not mask.any():
        return float("nan")
    truth_codes = metric_codes(truth, tiers, "truth")[mask]
    return float(macro_f1(truth_codes, np.asarray(tier_codes)[mask], len(tiers))[0])


def macro_f1(
    truth: np.ndarray, codes: np.ndarray, k: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Macro-F1 (zero_division=0, over all ``k`` tiers) of tier codes.

    ``weights`` (resamples x rows, counts of each row in a resample) gives one
    value per resample; without it, one value. The same numbers as
    :func:`segml.evaluation.tier_metrics`, from the confusion matrix alone.
    """
    cell = truth.astype(np.int64) * k + codes.astype(np.int64)
    if weights is None:
        weights = np.ones((1, len(cell)))
    cm = np.stack([np.bincount(cell, w, minlength=k * k) for w in weights])
    cm = cm.reshape(len(weights), k, k)
    hits = np.diagonal(cm, axis1=1, axis2=2)
    wrong = cm.sum(axis=2) + cm.sum(axis=1) - 2 * hits  # false negatives + positives
    denom = 2 * hits + wrong
    f1 = np.divide(2 * hits, denom, out=np.zeros_like(hits), where=denom > 0)
    return f1.mean(axis=1)


def choose_routes(
    truth: pd.Series,
    X: pd.DataFrame,
    model_codes: np.ndarray,
    fallbacks: dict[str, dict[str, Fallback]],
    tiers: Sequence[str],
    *,
    seed: int = 0,
    more: Sequence[tuple[pd.Series, pd.DataFrame, np.ndarray, dict]] = (),
) -> dict[str, RouteChoice]:
    """Per route, the model or the best fallback, by macro-F1 on ``truth``.

    ``more`` holds the same four things (truth, rows, model codes, fallbacks)
    from earlier selection cutoffs; their rows are pooled with these, and a
    fallback counts only if every cutoff has it.

    Examples
    --------
    >>> X = pd.DataFrame({"has_history": [True] * 4, "spend_90d": [9.0, 1, 0, 0]})
    >>> truth = pd.Series(["A", "B", "C", "C"])
    >>> fb = PersistenceFallback(column="spend_90d", thresholds=np.array([5.0, 1]),
    ...                          proba=np.eye(3))
    >>> picked = choose_routes(truth, X, np.array([2, 2, 2, 0]),
    ...                        {"history": {"persistence": fb}}, ["A", "B", "C"])
    >>> picked["history"].chosen, round(picked["history"].scores["model"], 4)
    ('persistence', 0.1333)
    """
    stages = [(truth, X, np.asarray(model_codes), fallbacks), *more]
    k = len(tiers)
    out = {}
    for route in (HISTORY, COLD_START):
        choice = RouteChoice(route)
        pooled = _pool(stages, route, tiers)
        if pooled is None:
            choice.reason = "no rows of this route at the selection cutoff"
            out[route] = choice
            continue
        observed, model, candidates, sizes = pooled
        n = len(observed)
        choice.scores[MODEL] = float(macro_f1(observed, model, k)[0])
        for kind, codes in candidates.items():
            choice.scores[kind] = float(macro_f1(observed, codes, k)[0])
        baselines = {k_: v for k_, v in choice.scores.items() if k_ != MODEL}
        model_f1 = choice.scores[MODEL]
        choice.chance = _chance_bar(observed, model, k, seed)
        if not baselines:
            choice.reason = "no baseline could be fitted"
            out[route] = choice
            continue
        best = max(baselines, key=lambda k_: baselines[k_])
        choice.wins = _bootstrap_wins(observed, model, candidates[best], k, seed)
        choice.cutoff_gaps = _cutoff_gaps(observed, model, candidates[best], sizes, k)
        worst = int(np.argmin(choice.cutoff_gaps))
        where = "on the selection cutoff" + ("s" if more else "")
        if baselines[best] >= model_f1:
            choice.chosen = best
            choice.reason = (
                f"{best} ({baselines[best]:.4f}) is at least as good as the "
                f"model ({model_f1:.4f}) {where}"
            )
        elif model_f1 <= choice.chance:
            choice.chosen = best
            choice.reason = (
                f"the model ({model_f1:.4f}) is not clearly above chance "
                f"({choice.chance:.4f}: its own tiers shuffled) {where}; "
                f"{best} ({baselines[best]:.4f}) ships"
            )
        elif choice.wins < CONFIDENCE:
            choice.chosen = best
            choice.reason = (
                f"the model ({model_f1:.4f}) is not clearly better than {best} "
                f"({baselines[best]:.4f}) {where}: it wins in "
                f"{choice.wins:.0%} of {N_BOOTSTRAP} resamples of its "
                f"{n:,} rows (needs {CONFIDENCE:.0%}); {best} ships"
            )
        elif choice.cutoff_gaps[worst] <= 0:
            choice.chosen = best
            choice.reason = (
                f"the model ({model_f1:.4f}) beats {best} ({baselines[best]:.4f}) "
                f"on the {len(sizes)} selection cutoffs pooled, but not on each: "
                f"on the {_ordinal(worst)} it scores "
                f"{choice.cutoff_gaps[worst]:+.4f} against {best}, which ships"
            )
        else:
            choice.reason = (
                f"the model ({model_f1:.4f}) beats {best} "
                f"({baselines[best]:.4f}) in {choice.wins:.0%} of "
                f"{N_BOOTSTRAP} resamples of its {n:,} rows and chance "
                f"({choice.chance:.4f}) {where}"
            )
        out[route] = choice
    return out


def _ordinal(i: int) -> str:
    """``'latest selection cutoff'`` for 0, ``'selection cutoff 2 (counting
    back from the latest)'`` for 1, ..."""
    if i == 0:
        return "latest selection cutoff"
    return f"selection cutoff {i + 1} (counting back from the latest)"


def _cutoff_gaps(
    truth: np.ndarray,
    model: np.ndarray,
    other: np.ndarray,
    sizes: Sequence[int],
    k: int,
) -> list[float]:
    """Macro-F1 of ``model`` minus that of ``other`` on each stage's rows
    (consecutive stages of ``sizes`` rows, in order)."""
    gaps = []
    for part in np.split(np.arange(len(truth)), np.cumsum(sizes)[:-1]):
        gap = macro_f1(truth[part], model[part], k) - macro_f1(
            truth[part], other[part], k
        )
        gaps.append(float(gap[0]))
    return gaps


def _pool(
    stages: Sequence[tuple[pd.Series, pd.DataFrame, np.ndarray, dict]],
    route: str,
    tiers: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], list[int]] | None:
    """Truth codes, model codes and each fallback's codes of ``route``'s rows,
    pooled over the stages, and the number of rows of each stage with rows
    (None without rows)."""
    observed, model, found = [], [], []
    for truth, X, codes, fallbacks in stages:
        history = X["has_history"].to_numpy(dtype=bool)
        rows = np.flatnonzero(history if route == HISTORY else ~history)
        if not len(rows):
            continue
        observed.append(metric_codes(truth.iloc[rows], tiers, "truth"))
        model.append(np.asarray(codes)[rows])
        found.append(
            {
                kind: fallback.predict_rows(X, rows)[0]
                for kind, fallback in fallbacks.get(route, {}).items()
            }
        )
    if not observed:
        return None
    kinds = [kind for kind in found[0] if all(kind in f for f in found)]
    candidates = {kind: np.concatenate([f[kind] for f in found]) for kind in kinds}
    sizes = [len(o) for o in observed]
    return np.concatenate(observed), np.concatenate(model), candidates, sizes


def _chance_bar(observed: np.ndarray, codes: np.ndarray, k: int, seed: int) -> float:
    """Mean + 2 sd of the macro-F1 of ``codes`` shuffled across the rows.

    The same tiers in the same shares, with the link to each row broken: what a
    ranking without signal scores under this decision.
    """
    rng = np.random.default_rng(seed)
    values = [
        macro_f1(observed, rng.permutation(codes), k)[0] for _ in range(N_PERMUTATIONS)
    ]
    return float(np.mean(values) + 2.0 * np.std(values))


def _bootstrap_wins(
    truth: np.ndarray, model: np.ndarray, other: np.ndarray, k: int, seed: int
) -> float:
    """Share of paired bootstrap resamples of the rows in which ``model`` has a
    higher macro-F1 than ``other`` (ties count as losses)."""
    return float((bootstrap_differences(truth, model, other, k, seed) > 0).mean())


def bootstrap_differences(
    truth: np.ndarray, ours: np.ndarray, theirs: np.ndarray, k: int, seed: int
) -> np.ndarray:
    """Macro-F1 of ``ours`` minus that of ``theirs`` (tier codes of the same
    rows) over ``N_BOOTSTRAP`` paired resamples of the rows.

    Examples
    --------
    >>> truth = np.array([0, 1, 2, 2])
    >>> d = bootstrap_differences(truth, truth, np.full(4, 2), 3, seed=0)
    >>> len(d), bool((d >= 0).all())
    (200, True)
    """
    rng = np.random.default_rng(seed)
    n = len(truth)
    out = []
    for start in range(0, N_BOOTSTRAP, 50):  # bounded memory on large routes
        size = min(50, N_BOOTSTRAP - start)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(float)
        gap = macro_f1(truth, ours, k, weights) - macro_f1(truth, theirs, k, weights)
        out.append(gap)
    return np.concatenate(out)


def lift_band(
    truth: pd.Series,
    shipped: np.ndarray,
    baseline: np.ndarray,
    tiers: Sequence[str],
    *,
    seed: int = 0,
) -> tuple[float, float]:
    """5th and 95th percentiles of the lift (shipped minus baseline macro-F1)
    over paired bootstrap resamples of the test rows.

    A lift whose band straddles zero is not evidence either way: on a route
    whose best tiers hold a handful of rows, one customer moves macro-F1 by 0.1.

    Examples
    --------
    >>> truth = pd.Series(list("ABCC") * 25)
    >>> perfect = np.tile([0, 1, 2, 2], 25)
    >>> low, high = lift_band(truth, perfect, np.full(100, 2), "ABC")
    >>> round(1 - 2 / 9, 3), round(low, 3), round(high, 3)  # lift on all rows 7/9
    (0.778, 0.753, 0.806)
    """
    codes = metric_codes(truth, tiers, "truth")
    diffs = bootstrap_differences(codes, shipped, baseline, len(tiers), seed)
    return float(np.percentile(diffs, 5)), float(np.percentile(diffs, 95))


def tier_codes(labels: pd.Series, tiers: Sequence[str]) -> np.ndarray:
    """Positions of ``labels`` in ``tiers`` (0 = best); unknown: the last tier."""
    lookup = {t: i for i, t in enumerate(tiers)}
    return labels.astype("str").map(lookup).fillna(len(tiers) - 1).to_numpy(int)


def ship_choices(
    predictor: object,
    choices: dict[str, RouteChoice],
    fallbacks: dict[str, dict[str, Fallback]],
) -> list[str]:
    """Put each route's chosen fallback on ``predictor``; returns the routes
    changed (a fallback that could not be fitted here keeps the model)."""
    changed = []
    for route, choice in choices.items():
        fallback = fallbacks.get(route, {}).get(choice.chosen)
        if choice.chosen == MODEL or fallback is None:
            continue
        predictor.use_fallback(route, fallback)  # type: ignore[attr-defined]
        changed.append(route)
    return changed
