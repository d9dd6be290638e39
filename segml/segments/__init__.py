"""Segments: named RFM segments and profiled, named k-means clusters."""

from segml.segments.naming import name_clusters
from segml.segments.plots import plot_profiles
from segml.segments.profiles import profile_clusters
from segml.segments.rfm_segments import (
    DEFAULT_SEGMENT_MAP,
    RFMSegmenter,
    rfm_scores,
    rfm_segments,
)
from segml.segments.segmenter import DEFAULT_FEATURES, Segmenter, select_k, signed_log1p

__all__ = [
    "DEFAULT_FEATURES",
    "DEFAULT_SEGMENT_MAP",
    "RFMSegmenter",
    "Segmenter",
    "name_clusters",
    "plot_profiles",
    "profile_clusters",
    "rfm_scores",
    "rfm_segments",
    "select_k",
    "signed_log1p",
]
