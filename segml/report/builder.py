"""Build the report: from canonical tables (and optionally a model) to one HTML file.

:func:`report_sections` computes every section with the library's functions;
:func:`build_report` renders them into a single self-contained HTML file. No
config file is read and MLflow is never called here: the caller passes a
validated :class:`~segml.config.Config` and, for the model sections, a
:class:`~segml.report.model.ModelEvidence`.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from segml.config import Config
from segml.errors import SegmlConfigError
from segml.features.asof import check_not_before_data, to_as_of
from segml.report.descriptive import (
    clusters_section,
    migration_section,
    pareto_section,
    periods_section,
    rfm_section,
)
from segml.report.model import ModelEvidence, model_section
from segml.report.page import Section, render_page
from segml.report.stability import stability_section

__all__ = ["PERIODS", "Report", "build_report", "report_sections"]

PERIODS = ("month", "quarter", "year")
#: Rows whose reasons (SHAP contributions) are computed for the summary.
REASON_ROWS = 5_000


@dataclass
class Report:
    """The computed report: its sections, header facts and headline cards."""

    title: str
    sections: list[Section]
    facts: dict[str, str] = field(default_factory=dict)
    cards: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def section(self, key: str) -> Section:
        """The section with this key."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"no section {key!r}; have {[s.key for s in self.sections]}")

    def html(self) -> str:
        """The whole page."""
        from segml._version import __version__

        return render_page(
            self.title,
            self.sections,
            facts=self.facts,
            cards=self.cards,
            footer=f"segml {__version__}; built in {self.seconds:.1f} s. "
            "Every number is computed by segml's library functions on the same "
            "data (segml.tiers, segml.segments, segml.evaluation, segml.monitor).",
        )


def _rule_args(cfg: Config) -> dict[str, object]:
    t = cfg.tiers
    cut = t.composite_cut if t.rule == "composite" else t.rule
    shares = t.count_shares if cut == "count" else t.value_shares
    args: dict[str, object] = {
        "rule": t.rule,
        "shares": tuple(shares),
        "tiers": tuple(t.labels),
    }
    if t.rule == "composite":
        args.update(
            criteria=dict(t.composite_criteria),
            cut=t.composite_cut,
            feature_params={"windows": tuple(cfg.features.windows)},
        )
    hysteresis = getattr(t, "hysteresis", None)
    if hysteresis is not None:
        args["hysteresis"] = hysteresis
    return args


def _first_period(as_of: pd.Timestamp, period: str, n_periods: int) -> pd.Timestamp:
    from segml.tiers.periods import PERIODS as FREQ

    p = as_of.to_period(FREQ[period]) - (n_periods - 1)
    return p.start_time


def _compare_label(pt: object, compare_to: str | None, period: str) -> str:
    """The period label holding ``compare_to`` (a label or a date); default:
    the previous period."""
    periods = pt.periods
    if compare_to is None:
        if len(periods) < 2:
            raise SegmlConfigError(
                f"--compare-to: only one {period} up to as-of, nothing to compare with"
            )
        return periods[-2]
    if compare_to in periods:
        return compare_to
    from segml.tiers.periods import PERIODS as FREQ

    try:
        label = str(to_as_of(compare_to, name="--compare-to").to_period(FREQ[period]))
    except ValueError as err:
        raise SegmlConfigError(f"--compare-to: {err}") from None
    if label not in periods or label == periods[-1]:
        raise SegmlConfigError(
            f"--compare-to {compare_to}: its {period} {label} is not an earlier "
            f"period of the report (from {periods[0]})"
        )
    return label


def report_sections(
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    config: Config | None = None,
    as_of: object | None = None,
    period: str = "month",
    compare_to: str | None = None,
    n_periods: int = 12,
    window_days: int | None = None,
    model: ModelEvidence | None = None,
    top: int = 25,
) -> Report:
    """Compute every section of the report.

    Parameters
    ----------
    transactions, customers, events : DataFrame
        Canonical tables (:func:`segml.app.tables.load_tables`).
    config : Config, optional
        Tier rule, segments and feature windows (default: the defaults).
    as_of : date, optional
        The report's date (default: the last transaction). The last period
        ends here.
    period : {"month", "quarter", "year"}
        Tiers are cut at the end of each period.
    compare_to : str, optional
        A period label (``1997-03``) or a date inside an earlier period: the
        migration goes from that period to the last (default: the previous one).
        The report starts early enough to hold it.
    n_periods : int
        Periods shown (the last ``n_periods`` up to as-of).
    window_days : int, optional
        A customer's value at a period end is the net amount over this many
        days up to it (default: the period itself).
    model : ModelEvidence, optional
        Adds the model and the drift sections.
    top : int
        Customers listed in each list of movers.
    """
    started = time.perf_counter()
    from segml.features import build_features
    from segml.tiers.periods import period_tiers

    cfg = config if config is not None else Config()
    if period not in PERIODS:
        raise SegmlConfigError(
            f"--period must be one of {', '.join(PERIODS)}, got {period!r}"
        )
    if n_periods < 2:
        raise SegmlConfigError(f"--periods must be at least 2, got {n_periods}")
    tx = transactions
    if len(tx) == 0:
        raise SegmlConfigError("the transaction log is empty: nothing to report")
    end = check_not_before_data(
        as_of if as_of is not None else tx["ts"].max(), tx["ts"]
    )
    first = to_as_of(tx["ts"].min())
    start = max(_first_period(end, period, n_periods), first)
    if compare_to:  # start early enough to hold the period compared with
        try:
            wanted = to_as_of(compare_to, name="--compare-to")
        except ValueError:
            wanted = None  # not a date: a period label, checked below
        if wanted is not None:
            start = max(min(start, wanted), first)
    args = _rule_args(cfg)
    labels = list(cfg.tiers.labels)
    pt = period_tiers(
        tx,
        as_of=end,
        period=period,
        window_days=window_days,
        customers=customers,
        events=events,
        start=start,
        **args,
    )
    last = pt.periods[-1]
    before_label = _compare_label(pt, compare_to, period)
    rows = pt.tiers
    now_rows = rows.loc[rows["period"] == last].set_index("customer_id")
    then_rows = rows.loc[rows["period"] == before_label].set_index("customer_id")
    tiers_now = now_rows["tier"]
    value_now = now_rows["value"]
    measure = now_rows["score"] if "score" in now_rows.columns else value_now

    feature_params = {"windows": tuple(cfg.features.windows)}
    if model is not None:
        feature_params = dict(model.pipeline.feature_params)
    features = build_features(tx, customers, events, as_of=end, **feature_params)

    when = f"{period} {last} (as of {end.date()})"
    sections = [
        periods_section(pt, period=period, top=top),
        pareto_section(value_now, tiers_now, when=when),
        migration_section(
            then_rows["tier"],
            tiers_now,
            then_rows["value"],
            value_now,
            labels=labels,
            before_name=before_label,
            after_name=last,
            top=top,
        ),
        rfm_section(features, when=f"as of {end.date()}"),
    ]
    from segml.app.segments import tier_mixes

    s = cfg.segments
    with warnings.catch_warnings():
        # k-means on few distinct points warns per k; the criterion decides
        warnings.simplefilter("ignore", category=UserWarning)
        sections.append(
            clusters_section(
                features,
                tier_mixes(cfg, value_now.reindex(features.index).fillna(0.0)),
                k_range=(s.k_min, s.k_max),
                sample_size=s.sample_size,
                seed=s.seed,
                k=s.k,
                criterion=s.criterion,
                threshold=s.threshold,
            )
        )
    # BG/NBD judged on the horizon after a calibration period (at most half
    # the log, so the calibration keeps the other half)
    span_days = int((end - first) / pd.Timedelta(days=1))
    holdout = min(cfg.training.horizon_days, span_days // 2)
    if holdout >= 30:
        from segml.report.btyd import btyd_section

        sections.append(
            btyd_section(
                tx,
                as_of=end,
                holdout_days=holdout,
                penalizer=cfg.model.btyd_penalizer,
            )
        )
    facts = {
        "as of": str(end.date()) if end == end.normalize() else str(end),
        "rule": cfg.tiers.rule,
        "period": period,
        "periods shown": f"{pt.periods[0]} .. {last}",
        "customers": f"{len(tiers_now):,}",
        "transactions": f"{len(tx):,}",
    }
    best = labels[0]
    summary_now = pt.summary.loc[pt.summary["period"] == last].set_index("tier")
    cards = {
        f"{best} customers ({last})": f"{int(summary_now.loc[best, 'customers']):,}",
        f"share of value in {best}": f"{summary_now.loc[best, 'value_share']:.1%}",
        f"new in {best}": _count(summary_now.loc[best, "entered"]),
        f"left {best}": _count(summary_now.loc[best, "left"]),
    }
    reference = current = None
    reference_name = "training snapshot"
    if model is not None:
        pipeline = model.pipeline
        meta = getattr(pipeline, "metadata", {}) or {}
        horizon = meta.get("horizon_days")
        prediction = _predict(pipeline, features)
        today = _today(tx, features.index, meta, labels, end)
        sections.append(
            model_section(
                model,
                prediction,
                today,
                labels=labels,
                as_of=str(end.date()),
                horizon_days=horizon,
                top=top,
            )
        )
        facts["model"] = model.name
        reference, current, reference_name = _drift_frames(
            tx, customers, events, pipeline, features, meta
        )
    sections.append(
        stability_section(
            pt,
            measure,
            reference=reference,
            current=current,
            reference_name=reference_name,
        )
    )
    if model is None:
        sections[-1].notes.append(
            "PSI per feature compares with a model's training snapshot: pass "
            "--model to see it"
        )
    title = f"segml tier report, {when}"
    return Report(
        title=title,
        sections=sections,
        facts=facts,
        cards=cards,
        seconds=time.perf_counter() - started,
    )


def _count(value: object) -> str:
    return "n/a" if pd.isna(value) else f"{int(value):,}"


def _predict(pipeline: object, features: pd.DataFrame) -> pd.DataFrame:
    """Tiers of every customer; reasons on an evenly spread sample of rows."""
    frame = features.reset_index()
    prediction = pipeline.predict(frame, reasons=False)
    prediction.index = features.index
    if len(frame) == 0:
        return prediction
    step = max(1, len(frame) // REASON_ROWS)
    sample = frame.iloc[::step]
    explained = pipeline.predict(sample, reasons=True)
    explained.index = features.index[::step]
    for column in [c for c in prediction.columns if c.startswith("reason_")]:
        prediction[column] = ""
        prediction.loc[explained.index, column] = explained[column].to_numpy()
    return prediction


def _today(
    tx: pd.DataFrame,
    ids: pd.Index,
    meta: dict,
    labels: list[str],
    end: pd.Timestamp,
) -> pd.Series:
    """Tiers by the model's label rule over the horizon up to as-of (what the
    persistence baseline predicts)."""
    from segml.training import label_tiers
    from segml.training.windows import past_value

    horizon = int(meta.get("horizon_days") or 365)
    value = past_value(tx, cutoff=end, horizon_days=horizon, customers=ids)
    rule = meta.get("label_rule", "count")
    shares = meta.get("shares")
    return label_tiers(value, rule=rule, shares=shares, tiers=labels)


def _drift_frames(tx, customers, events, pipeline, features, meta):
    """The training snapshot's features and today's, over the model's columns."""
    from segml.features import build_features

    columns = [
        c
        for c in [*pipeline.history_features, *pipeline.attributes]
        if c in features.columns
    ]
    snapshot_at = meta.get("snapshot_as_of")
    if not columns or snapshot_at is None:
        return None, None, "training snapshot"
    when = to_as_of(snapshot_at)
    reference = build_features(
        tx.loc[tx["ts"] <= when],
        customers,
        events,
        as_of=when,
        **dict(pipeline.feature_params),
    )
    return (
        reference[columns],
        features[columns],
        f"training snapshot ({when.date()})",
    )


def build_report(
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    out: str | os.PathLike,
    config: Config | None = None,
    as_of: object | None = None,
    period: str = "month",
    compare_to: str | None = None,
    n_periods: int = 12,
    window_days: int | None = None,
    model: ModelEvidence | None = None,
    top: int = 25,
) -> Path:
    """Write the tier report as one self-contained HTML file; returns its path.

    The arguments are those of :func:`report_sections`; ``out`` is the file
    written (its folder is created).

    Examples
    --------
    From a training run (``segml.app.train``), after ``fit_everything``::

        build_report(tables.transactions, tables.customers, tables.events,
                     out=folder / "report.html", config=cfg,
                     model=ModelEvidence.from_outcome(outcome))
    """
    target = Path(out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise SegmlConfigError(f"--out must end in .html, got {out}")
    report = report_sections(
        transactions,
        customers,
        events,
        config=config,
        as_of=as_of,
        period=period,
        compare_to=compare_to,
        n_periods=n_periods,
        window_days=window_days,
        model=model,
        top=top,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report.html(), encoding="utf-8")
    return target
