"""Data sets: the real CDNOW log and a synthetic CRM generator."""

from segml.datasets.cdnow import load_cdnow
from segml.datasets.synthetic import CRMData, make_crm

__all__ = ["CRMData", "load_cdnow", "make_crm"]
