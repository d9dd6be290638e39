"""Data sets: the real CDNOW log and a synthetic CRM generator."""

from segml.datasets.cdnow import load_cdnow
from segml.datasets.synthetic import PERSONA_NAMES, CRMData, make_crm

__all__ = ["PERSONA_NAMES", "CRMData", "load_cdnow", "make_crm"]
