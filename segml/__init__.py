"""segml: customer segmentation and tiering for data scientists."""

from segml._version import __version__
from segml.errors import SegmlConfigError, SegmlDataError

__all__ = ["SegmlConfigError", "SegmlDataError", "__version__"]
