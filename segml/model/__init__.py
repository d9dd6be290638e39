"""The tier predictor (history and cold-start routes) and the value ranker."""

from segml.model.encoding import CategoryEncoder
from segml.model.predictor import COLD_START, HISTORY, TierPredictor
from segml.model.route import expected_score, rank_thresholds
from segml.model.value_ranker import RankShares, ValueRanker, simulated_rank_shares

__all__ = [
    "COLD_START",
    "HISTORY",
    "CategoryEncoder",
    "RankShares",
    "TierPredictor",
    "ValueRanker",
    "expected_score",
    "rank_thresholds",
    "simulated_rank_shares",
]
