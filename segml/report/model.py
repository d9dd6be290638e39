"""The model section: out-of-time evaluation, choice, calibration, reasons,
and the tiers the model predicts next to today's.

The evaluation numbers are the training run's own (its MLflow metrics and
tags, see :class:`ModelEvidence`); calibration and confusion matrices are
recomputed from the run's out-of-time predictions when the caller has them
(:func:`segml.evaluation.calibration_table`, :func:`segml.evaluation.confusion`)
and otherwise taken from the run's logged artifacts.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.report.charts import figure_chart, plot_heatmap, plot_reason_summary
from segml.report.page import Chart, Section

__all__ = [
    "ModelEvidence",
    "choice_table",
    "evaluation_table",
    "model_section",
    "predicted_vs_today",
    "reason_summary",
]

ROUTE_NAMES = ("all", "history", "cold_start")
#: Metrics shown in the evaluation table, in order.
SHOWN_METRICS = ("n", "macro_f1", "balanced_accuracy", "accuracy", "log_loss", "ece")


@dataclass
class ModelEvidence:
    """What the report shows about a model: the pipeline and its run's evidence.

    Attributes
    ----------
    pipeline : SegmlPipeline
        The fitted pipeline (``segml.scoring.load_pipeline`` of a model URI).
    metrics, tags : mapping
        The training run's metrics and tags (``shipped/*``, ``best_baseline/*``,
        ``lift/*``, ``baseline/*``, ``<route>/*``, ``segml.choice.*``, ...).
    test_truth, test_prediction : Series and DataFrame, optional
        The out-of-time test's true tiers and the evaluated model's predictions
        (``tier``, ``p_<tier>``, ``route``): a training run has them in its
        ``FitOutcome``. Without them, ``confusion`` and ``images`` are used.
    confusion : dict of DataFrame, optional
        Confusion counts per route (the run's ``confusion_<route>.csv``).
    images : dict of bytes, optional
        PNG charts of the run by name (``calibration.png``), shown as they are
        when they cannot be recomputed.
    name : str
        How the model is called (its URI), for the headings.
    """

    pipeline: object
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    test_truth: pd.Series | None = None
    test_prediction: pd.DataFrame | None = None
    confusion: dict[str, pd.DataFrame] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)
    name: str = "model"

    @classmethod
    def from_outcome(cls, outcome: object, *, name: str = "this run") -> ModelEvidence:
        """The evidence of a training run's ``FitOutcome`` (``segml.app.fit``)."""
        return cls(
            pipeline=outcome.pipeline,
            metrics=dict(outcome.metrics),
            tags=dict(outcome.tags),
            test_truth=outcome.test_truth,
            test_prediction=outcome.test_prediction,
            name=name,
        )


def evaluation_table(metrics: Mapping[str, float]) -> pd.DataFrame:
    """Out-of-time metrics per route: the model, what shipped, every baseline.

    Reads ``<route>/<metric>`` (the model), ``shipped/<route>/<metric>`` and
    ``baseline/<name>/<route>/<metric>``; rows ``(route, answer)``.

    Examples
    --------
    >>> m = {"history/macro_f1": 0.6, "shipped/history/macro_f1": 0.6,
    ...      "baseline/persistence/history/macro_f1": 0.5, "history/n": 10.0}
    >>> evaluation_table(m)
                                n  macro_f1
    route   answer
    history model            10.0       0.6
            shipped           NaN       0.6
            persistence       NaN       0.5
    """
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for key, value in metrics.items():
        parts = key.split("/")
        if len(parts) == 2 and parts[0] in ROUTE_NAMES:
            route, answer, metric = parts[0], "model", parts[1]
        elif len(parts) == 3 and parts[0] == "shipped" and parts[1] in ROUTE_NAMES:
            route, answer, metric = parts[1], "shipped", parts[2]
        elif len(parts) == 4 and parts[0] == "baseline" and parts[2] in ROUTE_NAMES:
            route, answer, metric = parts[2], parts[1], parts[3]
        else:
            continue
        if metric in SHOWN_METRICS:
            rows.setdefault((route, answer), {})[metric] = float(value)
    if not rows:
        return pd.DataFrame(columns=list(SHOWN_METRICS))
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["route", "answer"])
    order = {r: i for i, r in enumerate(ROUTE_NAMES)}
    answers = {"model": 0, "shipped": 1}
    keys = sorted(frame.index, key=lambda k: (order[k[0]], answers.get(k[1], 2), k[1]))
    columns = [m for m in SHOWN_METRICS if m in frame.columns]
    return frame.loc[keys, columns]


def choice_table(metrics: Mapping[str, float], tags: Mapping[str, str]) -> pd.DataFrame:
    """Per route: what the run shipped and why, the best baseline and the lift.

    Examples
    --------
    >>> m = {"shipped/history/macro_f1": 0.6, "lift/history": 0.1,
    ...      "best_baseline/history/macro_f1": 0.5}
    >>> t = {"segml.choice.history": "model", "segml.best_baseline.history": "majority"}
    >>> row = choice_table(m, t).loc["history"]
    >>> row["ships"], row["best_baseline"], float(row["lift"])
    ('model', 'majority', 0.1)
    """
    rows = {}
    for route in ("history", "cold_start"):
        if not any(k.endswith(f"/{route}") or f"/{route}/" in k for k in metrics) and (
            f"segml.choice.{route}" not in tags
        ):
            continue
        rows[route] = {
            "ships": tags.get(f"segml.choice.{route}", "model"),
            "why": tags.get(f"segml.choice.{route}.why", ""),
            "shipped_macro_f1": metrics.get(f"shipped/{route}/macro_f1", np.nan),
            "best_baseline": tags.get(f"segml.best_baseline.{route}", ""),
            "best_baseline_macro_f1": metrics.get(
                f"best_baseline/{route}/macro_f1", np.nan
            ),
            "lift": metrics.get(f"lift/{route}", np.nan),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "route"
    return frame


_REASON = re.compile(r"^(?P<feature>.+?)=.* \((?P<value>[+-]?\d+(?:\.\d+)?)\)$")


def reason_summary(prediction: pd.DataFrame) -> pd.DataFrame:
    """A SHAP summary of the predictions' reasons, per route and feature.

    Each reason ``feature=value (+0.42)`` is a feature's SHAP contribution to
    the log-odds of the row's predicted tier; per route and feature the table
    counts how often it is among a row's top reasons, with the mean signed and
    absolute contribution. Reasons of a fallback (no contribution) are counted
    under their text.

    Examples
    --------
    >>> pred = pd.DataFrame({"route": ["history", "history"],
    ...     "reason_1": ["orders=3 (+0.50)", "orders=1 (-0.30)"],
    ...     "reason_2": ["recency_days=4 (+0.10)", ""]})
    >>> reason_summary(pred)[["feature", "rows", "mean_abs_contribution"]]
           feature  rows  mean_abs_contribution
    0       orders     2                    0.4
    1  recency_days     1                    0.1
    """
    columns = [c for c in prediction.columns if re.fullmatch(r"reason_\d+", str(c))]
    records = []
    for column in columns:
        for route, text in zip(
            prediction["route"].astype("str"),
            prediction[column].astype("str"),
            strict=True,
        ):
            if not text or text == "nan":
                continue
            found = _REASON.match(text)
            if found:
                records.append((route, found["feature"], float(found["value"])))
            else:
                records.append((route, text, np.nan))
    out_cols = [
        "route",
        "feature",
        "rows",
        "mean_contribution",
        "mean_abs_contribution",
    ]
    if not records:
        return pd.DataFrame(columns=out_cols)
    frame = pd.DataFrame(records, columns=["route", "feature", "value"])
    frame["abs"] = frame["value"].abs()
    grouped = frame.groupby(["route", "feature"], sort=True)
    out = pd.DataFrame(
        {
            "rows": grouped.size(),
            "mean_contribution": grouped["value"].mean(),
            "mean_abs_contribution": grouped["abs"].mean(),
        }
    ).reset_index()
    out = out.sort_values(
        ["route", "mean_abs_contribution", "rows", "feature"],
        ascending=[True, False, False, True],
        na_position="last",
    )
    return out.reset_index(drop=True)[out_cols]


def predicted_vs_today(
    today: pd.Series, predicted: pd.Series, labels: list[str]
) -> pd.DataFrame:
    """Customers per (today's tier, predicted tier); rows today, columns predicted.

    Examples
    --------
    >>> today = pd.Series(["A", "C", "C"], index=list("abc"))
    >>> pred = pd.Series(["A", "B", "C"], index=list("abc"))
    >>> predicted_vs_today(today, pred, ["A", "B", "C"]).to_numpy().tolist()
    [[1, 0, 0], [0, 0, 0], [0, 1, 1]]
    """
    from segml.evaluation import confusion

    aligned = predicted.reindex(today.index).astype("str")
    table = confusion(today.astype("str"), aligned, labels)
    table.index.name, table.columns.name = "today", "predicted"
    return table


def _png_chart(name: str, caption: str, data: bytes) -> Chart:
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return Chart(name=name, caption=caption, uri=uri)


def model_section(
    evidence: ModelEvidence,
    prediction: pd.DataFrame,
    today: pd.Series,
    *,
    labels: list[str],
    as_of: str,
    horizon_days: int | None,
    top: int = 25,
) -> Section:
    """Model section: ``prediction`` is the pipeline's output at ``as_of``
    (indexed by ``customer_id``; reasons on the rows where they were asked),
    ``today`` the tiers of the same customers by the model's label rule over
    the horizon up to ``as_of``."""
    from segml.evaluation import (
        calibration_table,
        confusion,
        plot_calibration,
        plot_confusion,
    )

    tables: dict[str, pd.DataFrame] = {}
    captions: dict[str, str] = {}
    charts: list[Chart] = []
    notes: list[str] = []
    m, tags = evidence.metrics, evidence.tags
    evaluation = evaluation_table(m)
    test_at = tags.get("eval.test_cutoff")
    if len(evaluation):
        tables["evaluation"] = evaluation
        horizon = m.get("eval/horizon_days")
        captions["evaluation"] = (
            f"Out-of-time test at {test_at or '?'}"
            + (f" over {horizon:.0f} days" if horizon else "")
            + ": the model, what the run shipped, and each baseline"
        )
    elif not m:
        notes.append("the model's training run is not known: no out-of-time test")
    else:
        notes.append("the run has no out-of-time test (its history was too short)")
    choices = choice_table(m, tags)
    if len(choices):
        tables["choice"] = choices
        captions["choice"] = "What the run chose per route, and its lift"

    truth, test = evidence.test_truth, evidence.test_prediction
    confusions = dict(evidence.confusion)  # the run's logged tables, if any
    if truth is not None and test is not None and len(test):
        proba = test[[f"p_{t}" for t in labels]]
        calib = calibration_table(truth, proba, labels)
        tables["calibration"] = calib
        captions["calibration"] = "Reliability per tier and bin, with row counts (n)"
        charts.append(
            figure_chart(
                plot_calibration(truth, proba, labels, title="Reliability (test)"),
                "calibration",
                "Mean predicted probability against the observed share, one-vs-rest "
                "per tier, on the out-of-time test; bin counts are in the table.",
            )
        )
        for route in ("history", "cold_start"):
            rows = (test["route"] == route).to_numpy()
            if rows.any():
                table = confusion(truth[rows], test.loc[rows, "tier"], labels)
                confusions[route] = table
    else:
        if "calibration.png" in evidence.images:
            charts.append(
                _png_chart(
                    "calibration",
                    "Reliability diagram logged by the training run (its out-of-"
                    "time test)",
                    evidence.images["calibration.png"],
                )
            )
            notes.append(
                "calibration bins are recomputed only from the run's test "
                "predictions; shown here is the run's logged reliability diagram"
            )
        else:
            notes.append("no out-of-time predictions of the run: no calibration")
    for route, table in confusions.items():
        tables[f"confusion_{route}"] = table
        captions[f"confusion_{route}"] = f"Confusion matrix, {route} (out of time)"
        charts.append(
            figure_chart(
                plot_confusion(
                    table, title=f"Confusion, {route.replace('_', ' ')} (test)"
                ),
                f"confusion_{route}",
                f"True against predicted tiers of the {route.replace('_', ' ')} "
                "route on the out-of-time test.",
            )
        )

    reasons = reason_summary(prediction.loc[prediction["reason_1"].astype(bool)])
    if len(reasons):
        tables["reasons"] = reasons
        captions["reasons"] = (
            "SHAP summary of the top reasons (a sample of rows; a fallback's "
            "reason has no contribution)"
        )
    if reasons["mean_abs_contribution"].notna().any():
        charts.append(
            figure_chart(
                plot_reason_summary(reasons),
                "reasons",
                "Features most often among the top reasons, by mean absolute SHAP "
                "contribution to the predicted tier's log-odds.",
            )
        )
    cross = predicted_vs_today(today, prediction["tier"], labels)
    tables["predicted_vs_today"] = cross
    when = f"the next {horizon_days} days" if horizon_days else "the next horizon"
    captions["predicted_vs_today"] = f"Today's tier and the one predicted for {when}"
    charts.append(
        figure_chart(
            plot_heatmap(
                cross,
                title=f"Today's tier vs predicted for {when}",
                xlabel="predicted tier",
                ylabel="today's tier",
                cmap="Purples",
            ),
            "predicted_vs_today",
            f"Customers per (tier over the last {horizon_days or '?'} days, tier "
            f"predicted for {when}).",
        )
    )
    per_route = pd.crosstab(
        prediction["route"].astype("str"), prediction["tier"].astype("str")
    ).reindex(columns=labels, fill_value=0)
    per_route.index.name, per_route.columns.name = "route", None
    tables["predicted_per_route"] = per_route
    captions["predicted_per_route"] = "Predicted tiers per route"
    rank = {t: i for i, t in enumerate(labels)}
    now = today.reindex(prediction.index).astype("str").map(rank)
    then = prediction["tier"].astype("str").map(rank)
    up = prediction.loc[(then < now).to_numpy()].assign(
        today=today.reindex(prediction.index).astype("str")
    )
    best = f"p_{labels[0]}"
    cols = ["today", "tier", *[f"p_{t}" for t in labels], "route"]
    up = up.sort_values([best], ascending=False)[cols].head(top)
    up = up.rename(columns={"tier": "predicted"})
    tables["predicted_risers"] = up
    captions["predicted_risers"] = (
        f"Customers predicted to rise, top {top} by {best} ({int((then < now).sum())} "
        "in all)"
    )
    return Section(
        key="model",
        title="Model",
        intro=(
            f"{evidence.name}, scored as of {as_of}: tiers the model predicts "
            f"for {when}, beside today's; the out-of-time evaluation and choice "
            "of its training run."
        ),
        tables=tables,
        charts=charts,
        notes=notes,
        captions=captions,
    )
