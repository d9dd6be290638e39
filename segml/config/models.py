"""Typed configuration, validated from YAML by the entry points.

Every key is documented in ``docs/config.md``; a test keeps the two in sync.
Unknown keys and wrong values are errors that name the key.
"""

from __future__ import annotations

import difflib
import inspect
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segml.config.dates import iso_text, parse_iso

__all__ = [
    "Config",
    "DataConfig",
    "FeaturesConfig",
    "MlflowConfig",
    "ModelConfig",
    "MonitorConfig",
    "SegmentsConfig",
    "SyntheticConfig",
    "TiersConfig",
    "TrainingConfig",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticConfig(_Section):
    """Settings of the synthetic CRM generator (``data.source: synthetic``)."""

    n_customers: int = Field(5000, gt=0)
    seed: int = 0
    start: str = "2022-01-01"
    end: str = "2024-12-31"
    lead_share: float = Field(0.15, ge=0.0, lt=1.0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value: object, info) -> str:
        # YAML reads an unquoted 2023-01-01 as a date: accept it, keep it as text
        return iso_text(value, f"data.synthetic.{info.field_name}")

    @model_validator(mode="after")
    def _start_before_end(self) -> SyntheticConfig:
        start = parse_iso(self.start, "data.synthetic.start")
        end = parse_iso(self.end, "data.synthetic.end")
        if start >= end:
            raise ValueError(
                f"data.synthetic.start ({self.start}) must be before "
                f"data.synthetic.end ({self.end})"
            )
        return self


class TableColumns(_Section):
    """Canonical name -> your column name, per table."""

    transactions: dict[str, str] = Field(default_factory=dict)
    customers: dict[str, str] = Field(default_factory=dict)
    events: dict[str, str] = Field(default_factory=dict)


class DataConfig(_Section):
    """Where the tables come from."""

    source: Literal["synthetic", "cdnow", "files"] = "synthetic"
    synthetic: SyntheticConfig = Field(default_factory=SyntheticConfig)
    transactions: str | None = None
    customers: str | None = None
    events: str | None = None
    columns: TableColumns = Field(default_factory=TableColumns)
    ts_format: str | None = None

    @model_validator(mode="after")
    def _files_need_transactions(self) -> DataConfig:
        if self.source == "files" and not self.transactions:
            raise ValueError("data.transactions is required when data.source is files")
        return self


class FeaturesConfig(_Section):
    """Feature builder settings."""

    windows: tuple[int, ...] = (90, 365)

    @field_validator("windows")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(w <= 0 for w in value):
            raise ValueError("windows must be positive numbers of days")
        return value


class TiersConfig(_Section):
    """How customers are cut into tiers (see ``docs/tiers.md``)."""

    rule: Literal["count", "value", "composite"] = "count"
    labels: tuple[str, ...] = ("A", "B", "C")
    count_shares: tuple[float, ...] = (0.05, 0.15, 0.80)
    value_shares: tuple[float, ...] = (0.80, 0.15, 0.05)
    composite_criteria: dict[str, float] = Field(
        default_factory=lambda: {
            "net_spend": 0.4,
            "margin": 0.2,
            "orders": 0.2,
            "mean_days_late": 0.1,
            "spend_trend": 0.1,
        }
    )
    composite_cut: Literal["count", "value"] = "count"
    hysteresis: float | None = Field(None, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _shares_match_labels(self) -> TiersConfig:
        for name in ("count_shares", "value_shares"):
            shares = getattr(self, name)
            if len(shares) != len(self.labels):
                raise ValueError(
                    f"tiers.{name} has {len(shares)} entries but tiers.labels has "
                    f"{len(self.labels)}"
                )
            if any(not 0 < s < 1 for s in shares) or abs(sum(shares) - 1) > 1e-9:
                raise ValueError(f"tiers.{name} must lie in (0, 1) and sum to 1")
        weights = self.composite_criteria.values()
        if any(w <= 0 for w in weights) or abs(sum(weights) - 1) > 1e-9:
            raise ValueError("tiers.composite_criteria weights must be > 0, sum to 1")
        return self


class SegmentsConfig(_Section):
    """Clustering settings."""

    k: int | None = Field(None, ge=2)
    k_min: int = Field(2, ge=2)
    k_max: int = Field(8, ge=2)
    criterion: Literal["prediction_strength", "silhouette"] = "prediction_strength"
    threshold: float = Field(0.8, gt=0, le=1)
    sample_size: int = Field(10_000, gt=100)
    seed: int = 0

    @model_validator(mode="after")
    def _range(self) -> SegmentsConfig:
        if self.k_max < self.k_min:
            raise ValueError("segments.k_max must be >= segments.k_min")
        return self


class TrainingConfig(_Section):
    """Training sets over time (rolling origins)."""

    horizon_days: int = Field(180, gt=0)
    label_horizon_days: int | None = Field(None, gt=0)
    n_cutoffs: int = Field(4, ge=2)
    cutoff_step_days: int | None = Field(None, gt=0)
    cutoffs: tuple[str, ...] | None = None

    @field_validator("cutoffs", mode="before")
    @classmethod
    def _dates_as_text(cls, value: object) -> object:
        # YAML reads an unquoted 2024-03-01 as a date; keep it as written.
        if isinstance(value, list | tuple):
            return [iso_text(v, "training.cutoffs") for v in value]
        return value

    @model_validator(mode="after")
    def _label_window_fits(self) -> TrainingConfig:
        if self.label_horizon_days is not None and (
            self.label_horizon_days > self.horizon_days
        ):
            raise ValueError(
                f"training.label_horizon_days ({self.label_horizon_days}) must not "
                f"exceed training.horizon_days ({self.horizon_days})"
            )
        return self

    @property
    def label_horizon(self) -> int:
        """Days of each training label window (``horizon_days`` by default)."""
        return self.label_horizon_days or self.horizon_days


class ModelConfig(_Section):
    """The tier predictor."""

    decision: Literal["rank", "argmax", "value"] = "rank"
    seed: int = 0
    value_ranker: dict[str, float | int | str | bool] = Field(
        default_factory=lambda: {
            "n_estimators": 100,
            "learning_rate": 0.02,
            "num_leaves": 7,
            "min_child_samples": 200,
        }
    )
    rank_draws: int = Field(100, ge=1)
    btyd_penalizer: float = Field(0.0, ge=0.0)
    lgbm: dict[str, float | int | str | bool] = Field(
        default_factory=lambda: {
            "n_estimators": 200,
            "learning_rate": 0.05,
            "num_leaves": 15,
            "max_depth": 6,
            "min_child_samples": 20,
        }
    )

    @field_validator("lgbm")
    @classmethod
    def _lgbm_names(cls, value: dict) -> dict:
        for name in _SEED_NAMES:
            if name in value:
                raise ValueError(
                    f"model.lgbm.{name}: set the seed with model.seed instead"
                )
        _check_names(value, "model.lgbm", _lgbm_parameters(), "lightgbm.LGBMClassifier")
        return value

    @field_validator("value_ranker")
    @classmethod
    def _ranker_names(cls, value: dict) -> dict:
        if "random_state" in value:
            raise ValueError(
                "model.value_ranker.random_state: set the seed with model.seed instead"
            )
        _check_names(
            value, "model.value_ranker", _ranker_parameters(), "segml ValueRanker"
        )
        return value


#: LightGBM's names of the seed, which segml sets from ``model.seed``
_SEED_NAMES = ("random_state", "seed", "random_seed")


def _check_names(params: dict, key: str, valid: frozenset[str], owner: str) -> None:
    """Raise naming the first key of ``params`` that ``owner`` does not take."""
    for name in params:
        if name in valid:
            continue
        close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"{key}.{name}: not a parameter of {owner}{hint}")


@lru_cache(maxsize=1)
def _lgbm_parameters() -> frozenset[str]:
    """``LGBMClassifier`` arguments and every LightGBM parameter and alias."""
    import lightgbm

    names = set(lightgbm.LGBMClassifier().get_params())
    try:  # a private table of LightGBM's; without it, the sklearn names only
        from lightgbm.basic import _ConfigAliases

        aliases = _ConfigAliases._get_all_param_aliases()
        names |= set(aliases) | {a for group in aliases.values() for a in group}
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    return frozenset(names - set(_SEED_NAMES))


@lru_cache(maxsize=1)
def _ranker_parameters() -> frozenset[str]:
    """Keyword arguments of :class:`~segml.model.value_ranker.ValueRanker`."""
    from segml.model.value_ranker import ValueRanker

    params = inspect.signature(ValueRanker.__init__).parameters
    return frozenset(set(params) - {"self", "random_state"})


class MlflowConfig(_Section):
    """Tracking and registry."""

    tracking_uri: str | None = None
    experiment: str = "segml"
    registered_model: str = "segml-tier"
    artifact_location: str | None = None


class MonitorConfig(_Section):
    """``segml monitor``: drift and stability thresholds (see ``docs/monitor.md``)."""

    psi_warn: float = Field(0.10, gt=0.0)
    psi_alert: float = Field(0.25, gt=0.0)
    bins: int = Field(10, ge=2)
    period: Literal["month", "quarter", "year"] = "month"
    tier_change_alert: float | None = Field(None, gt=0.0, le=1.0)
    near_threshold_within: float = Field(0.05, gt=0.0, lt=1.0)
    near_threshold_alert: float | None = Field(None, gt=0.0, le=1.0)
    experiment: str | None = None

    @model_validator(mode="after")
    def _warn_below_alert(self) -> MonitorConfig:
        if self.psi_warn > self.psi_alert:
            raise ValueError(
                f"monitor.psi_warn ({self.psi_warn}) must not exceed "
                f"monitor.psi_alert ({self.psi_alert})"
            )
        return self


class Config(_Section):
    """The whole configuration of a segml run."""

    data: DataConfig = Field(default_factory=DataConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    tiers: TiersConfig = Field(default_factory=TiersConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    models_dir: str = "models"
