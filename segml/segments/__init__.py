"""Segments: named RFM segments and behavioural segments, k chosen by evidence."""

from segml.segments.choose_k import choose_k, prediction_strength
from segml.segments.naming import name_clusters, name_segments
from segml.segments.plots import plot_profiles
from segml.segments.profiles import (
    describe_effects,
    distinguishing_features,
    profile_clusters,
)
from segml.segments.rfm_segments import (
    DEFAULT_SEGMENT_MAP,
    RFMSegmenter,
    rfm_scores,
    rfm_segments,
)
from segml.segments.segmenter import (
    DEFAULT_FEATURES,
    LEAD,
    LEAD_NAME,
    Segmenter,
    select_k,
    signed_log1p,
)
from segml.segments.stability import Stability, segment_stability

__all__ = [
    "DEFAULT_FEATURES",
    "DEFAULT_SEGMENT_MAP",
    "LEAD",
    "LEAD_NAME",
    "RFMSegmenter",
    "Segmenter",
    "Stability",
    "choose_k",
    "describe_effects",
    "distinguishing_features",
    "name_clusters",
    "name_segments",
    "plot_profiles",
    "prediction_strength",
    "profile_clusters",
    "rfm_scores",
    "rfm_segments",
    "segment_stability",
    "select_k",
    "signed_log1p",
]
