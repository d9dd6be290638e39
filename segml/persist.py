"""Export a fitted pipeline with joblib and a model card; verify it on load."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import joblib

from segml._version import __version__

__all__ = ["ModelIntegrityError", "export_model", "load_model_file", "sha256_file"]

CARD_NAME = "model_card.json"
ARTIFACT_NAME = "pipeline.joblib"


class ModelIntegrityError(RuntimeError):
    """The pipeline file does not match the sha256 recorded in its model card."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_model(
    pipeline: object,
    directory: str | os.PathLike,
    *,
    metrics: Mapping[str, float] | None = None,
    data_fingerprint: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``pipeline.joblib`` and ``model_card.json`` into ``directory``.

    The card records the metrics, the data fingerprint, library versions and the
    sha256 of the joblib file, which :func:`load_model_file` checks.

    Returns
    -------
    Path
        The directory written.
    """
    import lightgbm
    import pandas
    import sklearn

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    artifact = target / ARTIFACT_NAME
    joblib.dump(pipeline, artifact, compress=3)
    card = {
        "segml_version": __version__,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "artifact": ARTIFACT_NAME,
        "sha256": sha256_file(artifact),
        "data_fingerprint": data_fingerprint,
        "metrics": dict(metrics or {}),
        "versions": {
            "python": platform.python_version(),
            "pandas": pandas.__version__,
            "scikit-learn": sklearn.__version__,
            "lightgbm": lightgbm.__version__,
        },
        **dict(extra or {}),
    }
    (target / CARD_NAME).write_text(json.dumps(card, indent=2, default=str) + "\n")
    return target


def load_model_file(path: str | os.PathLike) -> object:
    """Load a pipeline exported by :func:`export_model`, verifying its sha256.

    ``path`` is the export directory or the joblib file inside it. A joblib file
    without a model card beside it is refused: its origin cannot be checked.
    """
    target = Path(path)
    directory = target if target.is_dir() else target.parent
    artifact = directory / ARTIFACT_NAME if target.is_dir() else target
    card_path = directory / CARD_NAME
    if not artifact.is_file():
        raise FileNotFoundError(f"no exported pipeline at {artifact}")
    if not card_path.is_file():
        raise ModelIntegrityError(f"no {CARD_NAME} beside {artifact}")
    card = json.loads(card_path.read_text())
    actual = sha256_file(artifact)
    if actual != card.get("sha256"):
        raise ModelIntegrityError(
            f"{artifact} has sha256 {actual}, but its model card records "
            f"{card.get('sha256')}; the file was changed or damaged"
        )
    return joblib.load(artifact)
