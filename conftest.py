"""Suite-wide isolation, set before any test (notebook kernels included) runs.

- MLflow writes to a temporary SQLite store, never into the working tree.
- Plots render off-screen.
- ``SEGML_SMALL=1`` tells the notebooks to shrink their settings.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_SAVED: dict[str, str | None] = {}
_STORE: list[str] = []


def pytest_configure(config):
    store = tempfile.mkdtemp(prefix="segml-test-mlflow-")
    _STORE.append(store)
    settings = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlflow.db",
        "MPLBACKEND": "Agg",
        "SEGML_SMALL": "1",
        "SEGML_SCRATCH": store,
    }
    for key, value in settings.items():
        _SAVED[key] = os.environ.get(key)
        os.environ[key] = value


def pytest_unconfigure(config):
    for key, value in _SAVED.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    for store in _STORE:
        shutil.rmtree(store, ignore_errors=True)
