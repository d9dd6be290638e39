"""Data sets: the real CDNOW log and a synthetic CRM generator."""

from segml.datasets.cdnow import load_cdnow

__all__ = ["load_cdnow"]
