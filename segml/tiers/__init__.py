"""ABC tiers: count, cumulative value and composite rules; Pareto; migration."""

from segml.tiers._validate import DEFAULT_TIERS
from segml.tiers.composite import (
    DEFAULT_CRITERIA,
    DEFAULT_HIGHER_IS_BETTER,
    composite_score,
    percentile_rank,
)
from segml.tiers.estimator import TierAssigner
from segml.tiers.migration import TierMigration, tier_migration
from segml.tiers.pareto import pareto_table
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
    "VALUE_SHARES",
    "TierAssigner",
    "TierMigration",
    "assign_tiers",
    "composite_score",
    "count_rule",
    "cut_by_thresholds",
    "learn_thresholds",
    "pareto_table",
    "percentile_rank",
    "plot_pareto",
    "tier_migration",
    "value_rule",
]
