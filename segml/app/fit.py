"""Fit everything a run needs from a config and its tables (no MLflow here)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from segml.app.baselines import best_baseline, lift_metrics, run_baselines
from segml.app.choice import (
    MODEL,
    choose_routes,
    fit_fallbacks,
    lift_band,
    ship_choices,
    tier_codes,
)
from segml.app.plan import CutoffPlan, plan_cutoffs
from segml.app.tables import Tables
from segml.app.value import add_btyd, set_value_cut
from segml.config import Config
from segml.errors import SegmlConfigError
from segml.model import TierPredictor
from segml.model.compiled import lightgbm_only
from segml.model.predictor import COLD_START, HISTORY
from segml.model.value_ranker import ValueRanker
from segml.pipeline import SegmlPipeline
from segml.tracking.serve import as_served
from segml.training import TrainingSet, build_training_set, label_tiers
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
    test_ids: pd.Index = field(default_factory=pd.Index)
    tags: dict[str, str] = field(default_factory=dict)
    plan: CutoffPlan | None = None


def label_shares(cfg: Config) -> tuple[str, tuple[float, ...]]:
    """The count or value rule (and its shares) that cuts value into labels."""
    rule = cfg.tiers.rule if cfg.tiers.rule != "composite" else cfg.tiers.composite_cut
    shares = cfg.tiers.count_shares if rule == "count" else cfg.tiers.value_shares
    return rule, tuple(shares)


def fit_everything(
    cfg: Config, tables: Tables, *, step: Callable[[str], None] = lambda _: None
) -> FitOutcome:
    """Training set, choice per route, out-of-time test with baselines, final fit.

    See :mod:`segml.app.plan` for where each stage sits in time and
    :mod:`segml.app.choice` for how a route's model or baseline is chosen.
    With ``model.decision: value``, data on which BG/NBD + Gamma-Gamma cannot
    be fitted (or simulated) train with the rank decision instead, with one
    warning and the tag ``segml.decision``.
    """
    if cfg.model.decision != "value":
        return _fit_everything(cfg, tables, step)
    try:
        outcome = _fit_everything(cfg, tables, step)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as err:
        if not _from_btyd(err):
            raise
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        warnings.warn(
            f"BG/NBD + Gamma-Gamma cannot be fitted on this data ({reason}); "
            "the run uses the rank decision instead",
            UserWarning,
            stacklevel=2,
        )
        rank = cfg.model_copy(
            update={"model": cfg.model.model_copy(update={"decision": "rank"})}
        )
        outcome = _fit_everything(rank, tables, step)
        outcome.tags["segml.decision"] = f"rank (value dropped: {reason})"[:500]
        return outcome
    outcome.tags["segml.decision"] = "value"
    return outcome


def _from_btyd(err: BaseException) -> bool:
    """Whether ``err`` was raised inside the BTYD models or the value decision."""
    import traceback

    places = ("/btyd/", "/app/value.py", "/model/value_")
    frames = traceback.extract_tb(err.__traceback__)
    return any(any(p in f.filename.replace("\\", "/") for p in places) for f in frames)


# the run's own scoring never reads a compiled forest another process cached:
# it differs from LightGBM in the last bits, enough to move a tier cut-off
@lightgbm_only()
def _fit_everything(
    cfg: Config, tables: Tables, step: Callable[[str], None]
) -> FitOutcome:
    from segml.evaluation import evaluate_routes, flatten_metrics

    tx = tables.transactions
    tiers = tuple(cfg.tiers.labels)
    rule, shares = label_shares(cfg)
    label, horizon = cfg.training.label_horizon, cfg.training.horizon_days
    _check_criteria(cfg, tables)
    plan = plan_cutoffs(cfg, tx["ts"].min(), tx["ts"].max())
    for note in plan.notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    # the persistence fallback reads each scoring window's past value
    windows = sorted({*cfg.features.windows, horizon, label})
    feature_params = {"windows": tuple(windows)}
    value = cfg.model.decision == "value"
    tested = (
        f"out-of-time test at {plan.test.date()} over {plan.test_horizon} days"
        if plan.test is not None
        else "no out-of-time test (history too short)"
    )
    step(
        f"building the training set: {len(plan.final)} cutoffs "
        f"{plan.final[0].date()}..{plan.final[-1].date()}, label windows of "
        f"{label} days; {tested}"
    )
    tset_args = {
        "rule": rule,
        "shares": shares,
        "tiers": tiers,
        "feature_params": feature_params,
    }
    tables_args = (tx, tables.customers, tables.events)
    more_cuts = [c for _, cuts in plan.select_more for c in cuts]
    stacked_cuts = {*plan.final, *plan.evaluation, *plan.selection, *more_cuts}
    extra = {}  # cutoffs scored over a window other than the label window
    for cut, days in (
        (plan.test, plan.test_horizon),
        (plan.select, plan.select_horizon),
        *((c, plan.select_horizon) for c, _ in plan.select_more),
    ):
        if cut is None:
            continue
        if days == label:
            stacked_cuts.add(cut)
        else:
            extra[cut] = days
    stacked = build_training_set(
        *tables_args, cutoffs=sorted(stacked_cuts), horizon_days=label, **tset_args
    )
    if value:  # once per cutoff, shared by the evaluated and the final model
        offsets = add_btyd(
            stacked.X, horizon_days=label, penalizer=cfg.model.btyd_penalizer
        )
        stacked = replace(stacked, X=offsets)

    def scored_at(cut: pd.Timestamp) -> TrainingSet:
        if cut in extra:
            return build_training_set(
                *tables_args, cutoffs=[cut], horizon_days=extra[cut], **tset_args
            )
        return stacked.subset(stacked.cutoff == cut)

    final_set = stacked.subset(stacked.cutoff.isin(plan.final))
    columns = stacked.X.columns
    # days_since_signup only where the customers table gives sign-up times
    signup = [c for c in SIGNUP_FEATURES if c in columns and stacked.X[c].notna().any()]
    cold_columns = [*tables.attributes, *signup]

    def codes_of(values: np.ndarray) -> np.ndarray:  # the run's rule, as codes
        tiered = label_tiers(pd.Series(values), rule=rule, shares=shares, tiers=tiers)
        return tier_codes(tiered, tiers)

    fallback_args = {"cold_columns": cold_columns, "tiers": tiers, "codes_of": codes_of}

    def run_stage(
        train_set: TrainingSet, scored: TrainingSet, cut: pd.Timestamp, days: int
    ) -> _Stage:
        """A model fitted on ``train_set`` and the fallbacks, scoring ``scored``
        (the population at ``cut``, its truth over ``days``)."""
        X = scored.X.drop(columns=["cutoff", "customer_id"])
        predictor = _fit_predictor(cfg, cold_columns, train_set)
        btyd = None
        if value:
            fitted, _ = _value_cut(cfg, predictor, X, cut, rule, shares, days)
            btyd = (fitted, days, X)
        fallbacks = fit_fallbacks(
            train_set,
            **_reference(scored, tiers),
            persistence_column=f"spend_{days}d",
            btyd=btyd,
            **fallback_args,
        )
        prediction = predictor.predict_frame(X, reasons=False)
        return _Stage(predictor, X, prediction, fallbacks)

    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    for note_i, note in enumerate(plan.notes):
        tags[f"segml.plan.note{note_i + 1}"] = note

    # 1. choose per route, on the selection cutoff (before the test)
    choices = {}
    if plan.select is not None:
        also = "".join(f" and {c.date()}" for c, _ in plan.select_more)
        n_rows = int(stacked.cutoff.isin(plan.selection).sum())
        step(
            f"choosing per route at {plan.select.date()}{also} over "
            f"{plan.select_horizon} days: model vs baselines "
            f"(trained on {n_rows} rows of {len(plan.selection)} cutoffs)"
        )
        # the selection cutoff, then the earlier ones: their rows are pooled
        stages = []
        for cut, cuts in [(plan.select, plan.selection), *plan.select_more]:
            scored = scored_at(cut)
            staged = run_stage(
                stacked.subset(stacked.cutoff.isin(cuts)),
                scored,
                cut,
                plan.select_horizon,
            )
            codes = tier_codes(staged.prediction["tier"], tiers)
            stages.append((scored.y, staged.X, codes, staged.fallbacks))
        choices = choose_routes(*stages[0], tiers, seed=cfg.model.seed, more=stages[1:])
        for route, choice in choices.items():
            for kind, f1 in choice.scores.items():
                metrics[f"select/{route}/{kind}/macro_f1"] = f1
            metrics[f"select/{route}/chance/macro_f1"] = choice.chance
            if not np.isnan(choice.wins):
                metrics[f"select/{route}/model_wins"] = choice.wins
            if choice.cutoff_gaps:
                worst = min(choice.cutoff_gaps)
                metrics[f"select/{route}/worst_cutoff_gap"] = worst
        tags["eval.select_cutoff"] = ", ".join(
            str(c.date()) for c in [plan.select, *(c for c, _ in plan.select_more)]
        )
        metrics["eval/select_horizon_days"] = float(plan.select_horizon)
    for route in (HISTORY, COLD_START):
        choice = choices.get(route)
        chosen = choice.chosen if choice is not None else MODEL
        tags[f"segml.choice.{route}"] = chosen
        tags[f"segml.choice.{route}.why"] = (
            choice.reason
            if choice is not None
            else "no selection cutoff before the test: the model ships by default"
        )

    # 2. the out-of-time test of the model, the baselines and what ships
    truth = pd.Series(dtype="str")
    prediction = pd.DataFrame()
    routes = pd.DataFrame()
    baselines: dict[str, pd.DataFrame] = {}
    test_ids = pd.Index([], name="customer_id")
    n_test = 0
    if plan.test is not None:
        eval_set = stacked.subset(stacked.cutoff.isin(plan.evaluation))
        test_set = scored_at(plan.test)
        X_test = test_set.X.drop(columns=["cutoff", "customer_id"])
        n_test = len(X_test)
        test_ids = pd.Index(test_set.X["customer_id"], name="customer_id")
        step(
            f"evaluating out of time on {len(X_test)} rows of {plan.test.date()} "
            f"over {plan.test_horizon} days (trained on {len(eval_set.X)} rows of "
            f"{len(plan.evaluation)} cutoffs)"
        )
        stage = run_stage(eval_set, test_set, plan.test, plan.test_horizon)
        evaluator, prediction, test_fallbacks = (
            stage.predictor,
            stage.prediction,
            stage.fallbacks,
        )
        truth = test_set.y
        routes = evaluate_routes(truth, prediction, tiers)
        baselines, baseline_codes = run_baselines(
            truth, X_test, prediction["route"].to_numpy(), test_fallbacks, tiers
        )
        metrics.update(flatten_metrics(routes, dropna=True))
        for name, table in baselines.items():
            metrics.update(flatten_metrics(table, f"baseline/{name}", dropna=True))
        shipped = ship_choices(evaluator, choices, test_fallbacks)
        if shipped:  # a baseline answers some route: score what ships
            prediction = evaluator.predict_frame(X_test, reasons=False)
        shipped_routes = evaluate_routes(truth, prediction, tiers)
        metrics.update(flatten_metrics(shipped_routes, "shipped", dropna=True))
        metrics.update(lift_metrics(metrics, baselines))
        metrics["eval/horizon_days"] = float(plan.test_horizon)
        tags["eval.test_cutoff"] = str(plan.test.date())
        shipped_codes = tier_codes(prediction["tier"], tiers)
        for route in (HISTORY, COLD_START):
            best = best_baseline(metrics, baselines, route)
            if best is None:
                continue
            tags[f"segml.best_baseline.{route}"] = best
            rows = np.flatnonzero(prediction["route"].to_numpy() == route)
            if len(rows):
                low, high = lift_band(
                    truth.iloc[rows],
                    shipped_codes[rows],
                    baseline_codes[best][rows],
                    tiers,
                    seed=cfg.model.seed,
                )
                metrics[f"lift/{route}/p05"] = low
                metrics[f"lift/{route}/p95"] = high

    step(f"fitting the final model on all {len(final_set.X)} rows")
    final = _fit_predictor(cfg, cold_columns, final_set)

    step("tiers, Pareto analysis and segments on the latest snapshot")
    snapshot, current_value, current_tiers, segmenter = _snapshot(
        cfg, tables, feature_params, rule, shares, tiers
    )
    final_btyd = None
    cut = None
    if value:
        fitted, cut = _value_cut(
            cfg, final, snapshot, snapshot_as_of(tx), rule, shares, horizon
        )
        final_btyd = (fitted, horizon, snapshot)
    pipeline_btyd = _pipeline_btyd(cfg, final_btyd, snapshot, snapshot_as_of(tx))
    if pipeline_btyd is not None:
        metrics.update(pipeline_btyd.summary_metrics())
        pipeline_btyd = pipeline_btyd.without_rfm()
    if choices:
        reference_codes = tier_codes(
            label_tiers(current_value, rule=rule, shares=shares, tiers=tiers), tiers
        )
        ship_choices(
            final,
            choices,
            fit_fallbacks(
                final_set,
                reference_values=current_value.to_numpy(),
                reference_codes=reference_codes,
                persistence_column=f"spend_{horizon}d",
                btyd=final_btyd,
                **fallback_args,
            ),
        )
    metadata = {
        "rule": cfg.tiers.rule,
        "label_rule": rule,
        "shares": shares,
        "decision": cfg.model.decision,
        "horizon_days": horizon,
        "label_horizon_days": label,
        "cutoffs": [str(c.date()) for c in plan.final],
        "test_cutoff": str(plan.test.date()) if plan.test is not None else None,
        "test_horizon_days": plan.test_horizon,
        "snapshot_as_of": str(tx["ts"].max()),
        "routes": {route: final.route_kind(route) for route in (HISTORY, COLD_START)},
        "events": tables.events is not None,
    }
    if cut is not None:
        metadata["value_cut_shares"] = cut
        metrics.update(
            {f"value_cut/share/{t}": s for t, s in zip(tiers, cut, strict=True)}
        )
    metrics.update(_tier_metrics(current_value, current_tiers, tiers))
    if segmenter is not None:
        chosen = segmenter.scores_.loc[segmenter.k_]
        metrics["segments/k"] = float(segmenter.k_)
        metrics["segments/silhouette"] = float(chosen["silhouette"])
        metrics["segments/prediction_strength"] = float(chosen["prediction_strength"])
        metrics["segments/leads"] = float(segmenter.n_leads_)
    metrics["data/customers"] = float(len(snapshot))
    metrics["data/transactions"] = float(len(tx))
    metrics["training/rows"] = float(len(final_set.X))
    metrics["training/cutoffs"] = float(len(plan.final))
    metrics["evaluation/rows"] = float(n_test)

    history_features = [
        c
        for c in final_set.X.columns
        if c not in ("cutoff", "customer_id")
        and c not in cold_columns
        and not str(c).startswith("btyd_")
    ]
    pipeline = SegmlPipeline(
        predictor=final,
        attributes=cold_columns,
        history_features=history_features,
        tiers=tiers,
        segmenter=segmenter,
        feature_params=feature_params,
        metadata=metadata,
        btyd=pipeline_btyd,
    )
    # the bins of every model input at the snapshot: segml monitor measures
    # drift against them without the training data
    from segml.monitor import reference_profile

    watched = [
        c
        for c in dict.fromkeys([*history_features, *cold_columns])
        if c in snapshot.columns and c != "has_history"
    ]
    profile = reference_profile(snapshot, watched, bins=cfg.monitor.bins)
    metadata["reference_profile"] = {k: v.to_dict() for k, v in profile.items()}
    metadata["reference_as_of"] = str(snapshot_as_of(tx))
    return FitOutcome(
        pipeline=pipeline,
        metrics={k: float(v) for k, v in metrics.items() if np.isfinite(v)},
        input_example=_example(snapshot),
        training=final_set,
        test_truth=truth,
        test_prediction=prediction,
        route_metrics=routes,
        baseline_metrics=baselines,
        snapshot=snapshot,
        current_value=current_value,
        current_tiers=current_tiers,
        importance=_importance(final),
        cutoffs=plan.final,
        test_ids=test_ids,
        tags=tags,
        plan=plan,
    )


@dataclass
class _Stage:
    """A model and its fallbacks, fitted on one stretch and scoring the next."""

    predictor: TierPredictor
    X: pd.DataFrame
    prediction: pd.DataFrame
    fallbacks: dict


def _check_criteria(cfg: Config, tables: Tables) -> None:
    """Composite criteria must name feature or attribute columns (before fitting)."""
    criteria = cfg.tiers.composite_criteria
    if cfg.tiers.rule != "composite" or not criteria:
        return
    from segml.features.catalogue import feature_names

    known = {*feature_names(tuple(cfg.features.windows)), *tables.attributes}
    missing = sorted(c for c in criteria if c not in known)
    if missing:
        raise SegmlConfigError(
            f"tiers.composite_criteria: column(s) {missing} not found among the "
            f"feature and attribute columns (e.g. {', '.join(sorted(known)[:8])}; "
            "see docs/features.md)"
        )


def _reference(scored: TrainingSet, tiers: tuple[str, ...]) -> dict[str, object]:
    """Past values and persistence tiers of a scored cutoff's population."""
    return {
        "reference_values": scored.past_value.to_numpy(),
        "reference_codes": tier_codes(scored.persistence, tiers),
    }


def _pipeline_btyd(cfg, final_btyd, snapshot, as_of):
    """The BTYD fit the pipeline carries for its lifetime-value columns: the
    value decision's, else one fitted on the snapshot's customers with history
    (None, with a warning, when BG/NBD or Gamma-Gamma cannot be fitted)."""
    if final_btyd is not None:
        return final_btyd[0]
    history = snapshot["has_history"].to_numpy(dtype=bool)
    if not history.any():
        return None
    from segml.app.value import fit_reference_btyd

    try:
        return fit_reference_btyd(
            snapshot.loc[history], as_of=as_of, penalizer=cfg.model.btyd_penalizer
        )
    except (ValueError, ArithmeticError) as err:
        warnings.warn(
            f"BG/NBD + Gamma-Gamma could not be fitted on the latest snapshot "
            f"({err}); the model will not give lifetime-value columns",
            UserWarning,
            stacklevel=2,
        )
        return None


def snapshot_as_of(tx: pd.DataFrame) -> pd.Timestamp:
    """The date of the latest snapshot: the last transaction's timestamp."""
    from segml.features.asof import to_as_of

    return to_as_of(tx["ts"].max())


def _fit_predictor(cfg: Config, cold_columns: list[str], tset: TrainingSet):
    """A TierPredictor fitted on a training set (with its BTYD columns for
    ``value``, whose ranker also learns each row's future value)."""
    kwargs = {}
    if cfg.model.decision == "value":
        kwargs["future_value"] = tset.future_value
    return _predictor(cfg, cold_columns).fit(
        tset.X.drop(columns=["customer_id", "cutoff"]),
        tset.y,
        cutoff=tset.cutoff,
        **kwargs,
    )


def _value_cut(cfg, predictor, reference, as_of, rule, shares, horizon_days):
    return set_value_cut(
        predictor,
        reference,
        as_of=as_of,
        horizon_days=horizon_days,
        rule=rule,
        shares=shares,
        tiers=tuple(cfg.tiers.labels),
        n_draws=cfg.model.rank_draws,
        penalizer=cfg.model.btyd_penalizer,
        seed=cfg.model.seed,
    )


def _predictor(cfg: Config, cold_columns: list[str]) -> TierPredictor:
    ranker = None
    if cfg.model.decision == "value":
        ranker = ValueRanker(random_state=cfg.model.seed, **cfg.model.value_ranker)
    return TierPredictor(
        tiers=tuple(cfg.tiers.labels),
        attributes=cold_columns,
        decision=cfg.model.decision,
        random_state=cfg.model.seed,
        value_ranker=ranker,
        **cfg.model.lgbm,
    )


def _snapshot(cfg, tables, feature_params, rule, shares, tiers):
    from segml.app.segments import fit_segmenter
    from segml.features import build_features
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
    segmenter = fit_segmenter(cfg, snapshot, value)
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
