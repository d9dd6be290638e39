"""segml: customer segmentation and tiering for data scientists.

The two entry points are imported lazily so ``import segml`` stays light:

- :func:`segml.train` (``segml.app.train.train``): config in, one MLflow run
  and a registered model out;
- :func:`segml.predict` (``segml.scoring.predict``): score customers and leads
  with a model URI, an export path or a loaded model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segml._version import __version__
from segml.errors import SegmlConfigError, SegmlDataError

if TYPE_CHECKING:  # type checkers see the real signatures, not __getattr__'s Any
    from segml.app.train import train
    from segml.scoring import predict

__all__ = ["SegmlConfigError", "SegmlDataError", "__version__", "predict", "train"]


def __getattr__(name: str) -> Any:
    if name == "train":
        from segml.app.train import train

        return train
    if name == "predict":
        from segml.scoring import predict

        return predict
    raise AttributeError(f"module 'segml' has no attribute {name!r}")
