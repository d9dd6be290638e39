"""Point-in-time customer features (value, behaviour, lifecycle, loyalty,
attributes), built by Ibis expressions on in-process DuckDB."""

from segml.features.asof import to_as_of
from segml.features.builder import build_features, build_features_many
from segml.features.catalogue import CATALOGUE, FEATURES, feature_names, to_markdown
from segml.features.estimator import FeatureBuilder
from segml.features.rfm import rfm_summary

__all__ = [
    "CATALOGUE",
    "FEATURES",
    "FeatureBuilder",
    "build_features",
    "build_features_many",
    "feature_names",
    "rfm_summary",
    "to_as_of",
    "to_markdown",
]
