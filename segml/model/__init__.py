"""The tier predictor (history and cold-start routes)."""

from segml.model.encoding import CategoryEncoder
from segml.model.predictor import COLD_START, HISTORY, TierPredictor
from segml.model.route import expected_score, rank_thresholds

__all__ = [
    "COLD_START",
    "HISTORY",
    "CategoryEncoder",
    "TierPredictor",
    "expected_score",
    "rank_thresholds",
]
