"""Fit everything a run needs from a config and its tables (no MLflow here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.app.tables import Tables
from segml.config import Config
from segml.model import TierPredictor
from segml.pipeline import SegmlPipeline
from segml.tracking.serve import as_served
from segml.training import TrainingSet, build_training_set, choose_cutoffs
from segml.training.windows import past_value

__all__ = ["FitOutcome", "fit_everything", "label_shares"]

SIGNUP_FEATURES = ("days_since_signup",)


@dataclass
class FitOutcome:
    """Everything a run learned and measured."""

    pipeline: SegmlPipeline
    metrics: dict[str, float]
    input_example: pd.DataFrame
    training: TrainingSet
    test_truth: pd.Series
    test_prediction: pd.DataFrame
    route_metrics: pd.DataFrame
    baseline_metrics: dict[str, pd.DataFrame]
    snapshot: pd.DataFrame
    current_value: pd.Series
    current_tiers: pd.Series
    importance: pd.DataFrame
    cutoffs: list[pd.Timestamp] = field(default_factory=list)


def label_shares(cfg: Config) -> tuple[str, tuple[float, ...]]:
    """The count or value rule (and its shares) that cuts value into labels."""
    rule = cfg.tiers.rule if cfg.tiers.rule != "composite" else cfg.tiers.composite_cut
    shares = cfg.tiers.count_shares if rule == "count" else cfg.tiers.value_shares
    return rule, tuple(shares)


def fit_everything(
    cfg: Config, tables: Tables, *, step: Callable[[str], None] = lambda _: None
) -> FitOutcome:
    """Training set, out-of-time evaluation with baselines, final fit, segments."""
    from segml.evaluation import evaluate_routes, flatten_metrics

    tx = tables.transactions
    tiers = tuple(cfg.tiers.labels)
    rule, shares = label_shares(cfg)
    feature_params = {"windows": tuple(cfg.features.windows)}
    cutoffs = choose_cutoffs(
        tx["ts"].min(),
        tx["ts"].max(),
        horizon_days=cfg.training.horizon_days,
        n_cutoffs=cfg.training.n_cutoffs,
        step_days=cfg.training.cutoff_step_days,
        cutoffs=cfg.training.cutoffs,
    )
    step(
        f"building the training set: {len(cutoffs)} cutoffs "
        f"{cutoffs[0].date()}..{cutoffs[-1].date()}, "
        f"horizon {cfg.training.horizon_days} days"
    )
    tset = build_training_set(
        tx,
        tables.customers,
        tables.events,
        cutoffs=cutoffs,
        horizon_days=cfg.training.horizon_days,
        rule=rule,
        shares=shares,
        tiers=tiers,
        feature_params=feature_params,
    )
    X = tset.X.drop(columns=["cutoff", "customer_id"])
    cold_columns = [*tables.attributes] + [c for c in SIGNUP_FEATURES if c in X]
    train, test = (m.to_numpy() for m in tset.split_latest())

    step(f"evaluating out of time on {test.sum()} rows of {cutoffs[-1].date()}")
    evaluator = _predictor(cfg, cold_columns).fit(
        X.loc[train], tset.y[train], cutoff=tset.cutoff[train]
    )
    prediction = evaluator.predict(X.loc[test], reasons=False)
    truth = tset.y[test]
    routes = evaluate_routes(truth, prediction, tiers)
    baselines = _baselines(cfg, tset, X, train, test, prediction, cold_columns)
    metrics = flatten_metrics(routes, dropna=True)
    for name, table in baselines.items():
        metrics.update(flatten_metrics(table, f"baseline/{name}", dropna=True))

    step(f"fitting the final model on all {len(X)} rows")
    final = _predictor(cfg, cold_columns).fit(X, tset.y, cutoff=tset.cutoff)

    step("tiers, Pareto analysis and segments on the latest snapshot")
    snapshot, current_value, current_tiers, segmenter = _snapshot(
        cfg, tables, feature_params, rule, shares, tiers
    )
    metrics.update(_tier_metrics(current_value, current_tiers, tiers))
    if segmenter is not None:
        metrics["segments/k"] = float(segmenter.k_)
        metrics["segments/silhouette"] = float(segmenter.silhouette_[segmenter.k_])
    metrics["data/customers"] = float(len(snapshot))
    metrics["data/transactions"] = float(len(tx))
    metrics["training/rows"] = float(len(X))
    metrics["training/cutoffs"] = float(len(cutoffs))

    pipeline = SegmlPipeline(
        predictor=final,
        attributes=cold_columns,
        history_features=[c for c in X.columns if c not in cold_columns],
        tiers=tiers,
        segmenter=segmenter,
        feature_params=feature_params,
        metadata={
            "rule": cfg.tiers.rule,
            "label_rule": rule,
            "shares": shares,
            "horizon_days": cfg.training.horizon_days,
            "cutoffs": [str(c.date()) for c in cutoffs],
            "snapshot_as_of": str(tx["ts"].max()),
        },
    )
    return FitOutcome(
        pipeline=pipeline,
        metrics={k: float(v) for k, v in metrics.items() if np.isfinite(v)},
        input_example=_example(snapshot),
        training=tset,
        test_truth=truth,
        test_prediction=prediction,
        route_metrics=routes,
        baseline_metrics=baselines,
        snapshot=snapshot,
        current_value=current_value,
        current_tiers=current_tiers,
        importance=_importance(final),
        cutoffs=cutoffs,
    )


def _predictor(cfg: Config, cold_columns: list[str]) -> TierPredictor:
    return TierPredictor(
        tiers=tuple(cfg.tiers.labels),
        attributes=cold_columns,
        decision=cfg.model.decision,
        random_state=cfg.model.seed,
        **cfg.model.lgbm,
    )


def _baselines(cfg, tset, X, train, test, prediction, cold_columns):
    from segml.evaluation import LogisticColdStart, evaluate_routes, majority_baseline

    tiers = tuple(cfg.tiers.labels)
    truth = tset.y[test]
    route = prediction["route"].to_numpy()
    index = truth.index
    out = {
        "majority": evaluate_routes(
            truth,
            majority_baseline(tset.y[train], index, tiers=tiers),
            tiers,
            route=route,
        ),
        "persistence": evaluate_routes(
            truth,
            pd.DataFrame({"tier": tset.persistence[test]}, index=index),
            tiers,
            route=route,
        ),
    }
    leads_train = train & ~X["has_history"].to_numpy(dtype=bool)
    leads_test = route == "cold_start"
    if cold_columns and leads_train.sum() >= 20 and leads_test.any():
        logistic = LogisticColdStart(tiers=tiers, attributes=cold_columns)
        logistic.fit(X.loc[leads_train, cold_columns], tset.y[leads_train])
        rows = X.loc[test].loc[leads_test, cold_columns]
        guess = pd.DataFrame({"tier": logistic.predict(rows)}, index=rows.index)
        guess = pd.concat([guess, logistic.predict_proba(rows)], axis=1)
        out["logistic"] = evaluate_routes(
            truth[leads_test], guess, tiers, route=np.full(len(rows), "cold_start")
        )
    return out


def _snapshot(cfg, tables, feature_params, rule, shares, tiers):
    from segml.features import build_features
    from segml.segments import DEFAULT_FEATURES, Segmenter
    from segml.tiers import assign_tiers

    tx = tables.transactions
    as_of = tx["ts"].max()
    snapshot = build_features(
        tx, tables.customers, tables.events, as_of=as_of, **feature_params
    )
    value = past_value(
        tx,
        cutoff=as_of,
        horizon_days=cfg.training.horizon_days,
        customers=snapshot.index,
    )
    if cfg.tiers.rule == "composite":
        current = assign_tiers(
            snapshot,
            rule="composite",
            criteria=cfg.tiers.composite_criteria,
            cut=rule,
            shares=shares,
            tiers=tiers,
        )
    else:
        current = assign_tiers(value, rule=rule, shares=shares, tiers=tiers)
    buyers = snapshot.loc[snapshot["has_history"].to_numpy(dtype=bool)]
    segmenter = None
    if len(buyers) >= 3 * cfg.segments.k_min:
        s = cfg.segments
        k_max = max(s.k_min, min(s.k_max, len(buyers) // 3))
        features = [c for c in DEFAULT_FEATURES if c in buyers.columns]
        shown = features + [c for c in ("lifecycle_stage",) if c in buyers.columns]
        segmenter = Segmenter(
            features=features,
            k_range=(s.k_min, k_max),
            sample_size=s.sample_size,
            random_state=s.seed,
        ).fit(buyers[shown], tiers=current.loc[buyers.index])
    return snapshot, value, current, segmenter


def _tier_metrics(value: pd.Series, tiers: pd.Series, labels) -> dict[str, float]:
    positive = value.clip(lower=0)
    total = positive.sum()
    out = {}
    for tier in labels:
        members = (tiers == tier).to_numpy()
        out[f"tiers/customer_share/{tier}"] = float(members.mean())
        share = positive[members].sum() / total if total > 0 else 0.0
        out[f"tiers/value_share/{tier}"] = float(share)
    return out


def _example(snapshot: pd.DataFrame) -> pd.DataFrame:
    history = snapshot["has_history"].to_numpy(dtype=bool)
    rows = pd.concat([snapshot.loc[history].head(3), snapshot.loc[~history].head(2)])
    return as_served(rows.reset_index())


def _importance(model: TierPredictor) -> pd.DataFrame:
    parts = []
    for name, route in model.routes_.items():
        if route.model is None:
            continue
        gain = route.model.booster_.feature_importance(importance_type="gain")
        parts.append(
            pd.DataFrame({"route": name, "feature": route.columns, "gain": gain})
        )
    if not parts:
        return pd.DataFrame(columns=["route", "feature", "gain"])
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["route", "gain"], ascending=[False, False])
