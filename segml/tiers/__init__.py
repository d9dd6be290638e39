"""ABC tiers: count, cumulative value and composite rules; Pareto; migration;
tiers per period; hysteresis."""

from segml.tiers._validate import DEFAULT_TIERS
from segml.tiers.composite import (
    DEFAULT_CRITERIA,
    DEFAULT_HIGHER_IS_BETTER,
    composite_score,
    percentile_rank,
)
from segml.tiers.estimator import TierAssigner
from segml.tiers.hysteresis import apply_hysteresis
from segml.tiers.migration import TierMigration, tier_migration
from segml.tiers.pareto import pareto_table
from segml.tiers.periods import PeriodTiers, period_ends, period_tiers
from segml.tiers.plots import plot_pareto
from segml.tiers.rules import (
    COUNT_SHARES,
    VALUE_SHARES,
    assign_tiers,
    count_rule,
    cut_by_thresholds,
    learn_thresholds,
    value_rule,
)

__all__ = [
    "COUNT_SHARES",
    "DEFAULT_CRITERIA",
    "DEFAULT_HIGHER_IS_BETTER",
    "DEFAULT_TIERS",
    "PeriodTiers",
    "VALUE_SHARES",
    "TierAssigner",
    "TierMigration",
    "apply_hysteresis",
    "assign_tiers",
    "composite_score",
    "count_rule",
    "cut_by_thresholds",
    "learn_thresholds",
    "pareto_table",
    "percentile_rank",
    "period_ends",
    "period_tiers",
    "plot_pareto",
    "tier_migration",
    "value_rule",
]
