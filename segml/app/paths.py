"""Checks on the folders an entry point writes to, done before any work."""

from __future__ import annotations

import tempfile
from pathlib import Path

from segml.errors import SegmlConfigError

__all__ = ["check_writable"]


def check_writable(folder: str, key: str) -> None:
    """Create ``folder`` and a file in it now, not after an hour of fitting.

    Raises
    ------
    SegmlConfigError
        Naming ``key`` (the config key or option), the folder and the reason.

    Examples
    --------
    >>> check_writable("/proc/segml", "models_dir")
    Traceback (most recent call last):
    ...
    segml.errors.SegmlConfigError: models_dir: cannot write to /proc/segml (...)
    """
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".segml-write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SegmlConfigError(f"{key}: cannot write to {folder} ({reason})") from exc
