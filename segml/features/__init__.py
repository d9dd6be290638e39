"""Point-in-time customer features."""

from segml.features.asof import to_as_of
from segml.features.rfm import rfm_summary

__all__ = ["rfm_summary", "to_as_of"]
