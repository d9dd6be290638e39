"""Out-of-time evaluation of tier predictions, per route and beside baselines."""

from segml.evaluation.baselines import (
    LogisticColdStart,
    majority_baseline,
    persistence_baseline,
    rank_cut,
)
from segml.evaluation.metrics import (
    DEFAULT_TIERS,
    ROUTES,
    compare_routes,
    confusion,
    evaluate_routes,
    expected_calibration_error,
    flatten_metrics,
    metric_names,
    tier_metrics,
)
from segml.evaluation.plots import calibration_table, plot_calibration, plot_confusion

__all__ = [
    "DEFAULT_TIERS",
    "ROUTES",
    "LogisticColdStart",
    "calibration_table",
    "compare_routes",
    "confusion",
    "evaluate_routes",
    "expected_calibration_error",
    "flatten_metrics",
    "majority_baseline",
    "metric_names",
    "persistence_baseline",
    "plot_calibration",
    "plot_confusion",
    "rank_cut",
    "tier_metrics",
]
