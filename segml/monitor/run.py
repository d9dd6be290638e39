"""``segml monitor``: drift and tier stability of a trained model, as of a date.

Three numbers a scheduler can watch (no MLflow here; see
:mod:`segml.monitor.tracking` for the logging):

* **drift**: the population stability index of every model input (history
  features and attributes) between the model's *training snapshot* and the
  features at ``as_of`` (:func:`~segml.monitor.drift.psi_table`). The
  reference is the profile stored with the model (``metadata
  ["reference_profile"]``) when the training run logged one; otherwise the
  features are recomputed at the snapshot date (``metadata
  ["snapshot_as_of"]``) from the configured data, which gives the training
  snapshot exactly as long as rows up to that date were not changed since
  (features are point in time: later rows never reach them);
* **tier change**: the share of customers tiered at both dates whose tier
  (the config's rule, with ``tiers.hysteresis`` if set) changed between the
  end of the previous period (``monitor.period``) and ``as_of``;
* **near threshold**: how many customers sit within
  ``monitor.near_threshold_within`` of a tier threshold at ``as_of``.

A threshold crossed (PSI above ``monitor.psi_alert``, and the optional
``monitor.tier_change_alert`` and ``monitor.near_threshold_alert``) is an
*alert*: the command exits with :data:`ALERT_EXIT_CODE`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segml.config.models import Config
from segml.errors import SegmlConfigError
from segml.monitor.descriptive import (
    config_period_tiers,
    previous_period_end,
    tier_options,
)
from segml.monitor.drift import (
    BinnedReference,
    TierChange,
    near_threshold,
    psi_table,
    reference_profile,
    tier_change,
)

__all__ = ["ALERT_EXIT_CODE", "MonitorResult", "monitor_model"]

#: Exit code of ``segml monitor`` when a threshold is crossed (2: user error).
ALERT_EXIT_CODE = 3
#: Metadata keys a training run may set on the pipeline for the monitor.
PROFILE_KEY = "reference_profile"
PROFILE_AS_OF_KEY = "reference_as_of"


@dataclass
class MonitorResult:
    """What :func:`monitor_model` measured, and whether it alerts.

    Attributes
    ----------
    as_of, previous_as_of, reference_as_of : Timestamp or None
        The date monitored, the end of the previous period (tier change) and
        the training snapshot's date (drift reference).
    reference : str
        Where the reference came from (stored profile, or recomputed).
    psi : DataFrame
        :func:`~segml.monitor.drift.psi_table` plus ``status`` (``ok``,
        ``warn``, ``alert``).
    tier_change : TierChange
    near_count, customers : int
        Customers near a tier threshold at ``as_of``, and all tiered then.
    near_within : float
    thresholds : dict
        The ``monitor.*`` settings applied.
    alerts, notes : list of str
    model : dict
        ``uri``, ``name``, ``version``, ``run_id`` of the model monitored.
    """

    as_of: pd.Timestamp
    previous_as_of: pd.Timestamp | None
    reference_as_of: pd.Timestamp | None
    reference: str
    psi: pd.DataFrame
    tier_change: TierChange
    near_count: int
    customers: int
    near_within: float
    thresholds: dict[str, Any]
    alerts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    model: dict[str, str | None] = field(default_factory=dict)

    @property
    def near_share(self) -> float:
        return self.near_count / self.customers if self.customers else math.nan

    @property
    def status(self) -> str:
        """``alert`` when a threshold is crossed, ``warn`` for a moderate PSI."""
        if self.alerts:
            return "alert"
        return "warn" if (self.psi["status"] == "warn").any() else "ok"

    @property
    def exit_code(self) -> int:
        return ALERT_EXIT_CODE if self.alerts else 0

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metrics (finite values only)."""
        psi = self.psi.set_index("feature")["psi"]
        out = {
            "drift/psi_max": float(psi.max()) if len(psi) else 0.0,
            "drift/features": float(len(psi)),
            "drift/features_warn": float((self.psi["status"] == "warn").sum()),
            "drift/features_alert": float((self.psi["status"] == "alert").sum()),
            "stability/tier_change_share": self.tier_change.share,
            "stability/tier_changed": float(self.tier_change.changed),
            "stability/tier_up": float(self.tier_change.up),
            "stability/tier_down": float(self.tier_change.down),
            "stability/customers_both": float(self.tier_change.customers),
            "stability/near_threshold_count": float(self.near_count),
            "stability/near_threshold_share": self.near_share,
            "monitor/alert": float(bool(self.alerts)),
        }
        out.update({f"drift/psi/{name}": float(v) for name, v in psi.items()})
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (what ``segml monitor --out`` writes)."""

        def stamp(t: pd.Timestamp | None) -> str | None:
            return None if t is None else t.isoformat()

        change = self.tier_change
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "alerts": list(self.alerts),
            "notes": list(self.notes),
            "model": dict(self.model),
            "as_of": stamp(self.as_of),
            "previous_as_of": stamp(self.previous_as_of),
            "reference_as_of": stamp(self.reference_as_of),
            "reference": self.reference,
            "thresholds": dict(self.thresholds),
            "drift": json.loads(self.psi.to_json(orient="records")),
            "tier_change": {
                "customers": change.customers,
                "changed": change.changed,
                "up": change.up,
                "down": change.down,
                "share": None if math.isnan(change.share) else change.share,
            },
            "near_threshold": {
                "within": self.near_within,
                "count": self.near_count,
                "customers": self.customers,
                "share": None if math.isnan(self.near_share) else self.near_share,
            },
        }

    def render(self, top: int = 15) -> str:
        """The table ``segml monitor`` prints."""
        lines = [
            f"monitor {self.model.get('uri') or 'model'} as of {self.as_of}: "
            f"{self.status.upper()}",
            f"drift: PSI per feature, reference {self.reference}",
        ]
        shown = self.psi.head(top)
        if len(shown):
            width = max(8, *(len(f) for f in shown["feature"]))
            lines.append(f"  {'feature':<{width}}  {'psi':>8}  status")
            for row in shown.itertuples(index=False):
                lines.append(f"  {row.feature:<{width}}  {row.psi:8.4f}  {row.status}")
            if len(self.psi) > top:
                lines.append(f"  ... {len(self.psi) - top} more (all in the JSON)")
        change = self.tier_change
        share = "n/a" if math.isnan(change.share) else f"{change.share:.1%}"
        since = self.previous_as_of or "n/a"
        lines.append(
            f"tier change since {since}: {share} of {change.customers} customers "
            f"({change.up} up, {change.down} down)"
        )
        near = "n/a" if math.isnan(self.near_share) else f"{self.near_share:.1%}"
        lines.append(
            f"near a tier threshold (within {self.near_within:.0%}): "
            f"{self.near_count} customers ({near} of {self.customers})"
        )
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"ALERT: {a}" for a in self.alerts]
        return "\n".join(lines)


def _stored_profile(metadata: Mapping[str, Any]) -> dict[str, BinnedReference] | None:
    stored = metadata.get(PROFILE_KEY)
    if not stored:
        return None
    return {name: BinnedReference.from_dict(d) for name, d in dict(stored).items()}


def _model_columns(pipeline: Any) -> list[str]:
    columns = [*pipeline.history_features, *pipeline.attributes]
    return list(dict.fromkeys(c for c in columns if c != "has_history"))


def monitor_model(
    pipeline: Any,
    tables: Any,
    cfg: Config,
    *,
    as_of: object,
    model: Mapping[str, str | None] | None = None,
) -> MonitorResult:
    """Drift, tier change and near-threshold counts of ``pipeline`` at ``as_of``.

    Parameters
    ----------
    pipeline : SegmlPipeline
        The model (:func:`segml.scoring.load_pipeline`).
    tables : Tables
        The configured data (:func:`segml.app.tables.load_tables`).
    cfg : Config
        ``tiers.*`` define the tiers, ``monitor.*`` the thresholds.
    as_of : str or Timestamp
    model : mapping, optional
        ``uri``, ``name``, ``version``, ``run_id``: carried into the result.
    """
    from segml.features import build_features_many
    from segml.features.asof import to_as_of
    from segml.tiers import assign_tiers, learn_thresholds

    mon = cfg.monitor
    when = to_as_of(as_of, name="--as-of")
    notes: list[str] = []
    columns = _model_columns(pipeline)
    metadata = dict(getattr(pipeline, "metadata", {}) or {})
    profile = _stored_profile(metadata)
    ref_text = metadata.get(PROFILE_AS_OF_KEY) or metadata.get("snapshot_as_of")
    ref_as_of = to_as_of(ref_text, name="snapshot_as_of") if ref_text else None
    as_ofs = [when] if profile is not None else [when, ref_as_of]
    if profile is None and ref_as_of is None:
        raise SegmlConfigError(
            "the model records neither a reference profile nor its snapshot date "
            "(metadata 'snapshot_as_of'): retrain it with this segml version"
        )
    params = dict(getattr(pipeline, "feature_params", {}) or {})
    frames = build_features_many(
        tables.transactions,
        tables.customers,
        tables.events,
        as_ofs=sorted(set(as_ofs)),
        **params,
    )
    current = frames.xs(when, level="cutoff")
    if profile is None:
        reference = frames.xs(ref_as_of, level="cutoff")
        usable = [c for c in columns if c in reference.columns]
        profile = reference_profile(reference, usable, bins=mon.bins)
        source = (
            f"recomputed at the training snapshot {ref_as_of} from the configured "
            "data (the model stores no reference profile)"
        )
    else:
        source = f"stored with the model (training snapshot {ref_as_of})"
    if ref_as_of is not None and when < ref_as_of:
        notes.append(f"as of {when} is before the training snapshot {ref_as_of}")
    compared = [c for c in columns if c in profile and c in current.columns]
    absent = [c for c in columns if c not in compared]
    if absent:
        notes.append(
            f"not compared (absent from the data now or then): {', '.join(absent)}"
        )
    psi = psi_table(profile, current, columns=compared)
    psi["status"] = "ok"
    psi.loc[psi["psi"] > mon.psi_warn, "status"] = "warn"
    psi.loc[psi["psi"] > mon.psi_alert, "status"] = "alert"

    period = mon.period
    previous_as_of: pd.Timestamp | None = previous_period_end(when, period)
    first_ts = to_as_of(tables.transactions["ts"].min())
    if previous_as_of < first_ts:
        previous_as_of = None
    # with hysteresis every tier depends on the last: step from the beginning
    start = None if cfg.tiers.hysteresis is not None else previous_as_of
    periods = config_period_tiers(cfg, tables, as_of=when, period=period, start=start)
    after = periods.at(-1)
    if previous_as_of is not None:
        ends = periods.summary.drop_duplicates("period").set_index("as_of")["period"]
        before = periods.at(ends[previous_as_of])
        change = tier_change(before, after, tiers=periods.labels)
    else:
        change = TierChange(0, 0, 0, 0, math.nan)
        notes.append(f"no {period} ended before {when} in the data: no tier change")
    last = periods.tiers.loc[periods.tiers["period"] == periods.periods[-1]]
    last = last.set_index("customer_id")
    measure = last["score"] if "score" in last.columns else last["value"]
    options = tier_options(cfg.tiers)
    cut_rule = options.get("cut", options["rule"])
    fresh = assign_tiers(
        measure, rule=cut_rule, shares=options["shares"], tiers=options["tiers"]
    )
    near = near_threshold(
        measure, learn_thresholds(measure, fresh), within=mon.near_threshold_within
    )
    model_rule = metadata.get("rule")
    if model_rule is not None and model_rule != cfg.tiers.rule:
        notes.append(
            f"the model was trained with tiers.rule={model_rule}; these tiers use "
            f"{cfg.tiers.rule}"
        )

    result = MonitorResult(
        as_of=when,
        previous_as_of=previous_as_of,
        reference_as_of=ref_as_of,
        reference=source,
        psi=psi,
        tier_change=change,
        near_count=int(near["near"].sum()),
        customers=len(near),
        near_within=mon.near_threshold_within,
        thresholds=mon.model_dump(),
        notes=notes,
        model=dict(model or {}),
    )
    result.alerts.extend(_alerts(result, cfg))
    return result


def _alerts(result: MonitorResult, cfg: Config) -> list[str]:
    mon = cfg.monitor
    alerts = []
    hot = result.psi.loc[result.psi["status"] == "alert"]
    if len(hot):
        listed = ", ".join(f"{r.feature} ({r.psi:.3f})" for r in hot.itertuples())
        alerts.append(f"PSI above monitor.psi_alert={mon.psi_alert}: {listed}")
    share = result.tier_change.share
    if mon.tier_change_alert is not None and share > mon.tier_change_alert:
        alerts.append(
            f"{share:.1%} of customers changed tier, above "
            f"monitor.tier_change_alert={mon.tier_change_alert}"
        )
    near = result.near_share
    if mon.near_threshold_alert is not None and near > mon.near_threshold_alert:
        alerts.append(
            f"{near:.1%} of customers are near a tier threshold, above "
            f"monitor.near_threshold_alert={mon.near_threshold_alert}"
        )
    return alerts
