"""``segml report``: one self-contained HTML file with tiers per period, Pareto,
migration, RFM, clusters and, with a model, its evaluation, drift and stability.

The names are imported on first use, so that ``segml --help`` (which registers
the ``report`` command from :mod:`segml.report.cli`) does not load pandas and
matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # type checkers see the real objects, not __getattr__'s object
    from segml.report.builder import Report, build_report, report_sections
    from segml.report.model import ModelEvidence

__all__ = ["ModelEvidence", "Report", "build_report", "report_sections"]

_WHERE = {
    "ModelEvidence": "segml.report.model",
    "Report": "segml.report.builder",
    "build_report": "segml.report.builder",
    "report_sections": "segml.report.builder",
}


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'segml.report' has no attribute {name!r}")
