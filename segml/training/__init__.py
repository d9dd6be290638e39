"""Training sets over time: cutoffs, label windows, stacked rolling origins."""

from segml.training.cutoffs import choose_cutoffs
from segml.training.dataset import TrainingSet, build_training_set, label_tiers
from segml.training.split import CutoffSplit
from segml.training.windows import future_value, past_value, window_value

__all__ = [
    "CutoffSplit",
    "TrainingSet",
    "build_training_set",
    "choose_cutoffs",
    "future_value",
    "label_tiers",
    "past_value",
    "window_value",
]
