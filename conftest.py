"""Suite-wide isolation and shared fixtures.

Set before any test (notebook kernels included) runs:

- MLflow writes to a temporary SQLite store, never into the working tree.
- Plots render off-screen.
- ``SEGML_SMALL=1`` tells the notebooks to shrink their settings.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

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
        # compiled boosters (segml.model.compiled) are cached here, not in ~/.cache
        "SEGML_CACHE_DIR": f"{store}/compiled",
        # the test machines have 2 shared cores: OpenMP's spin-waiting threads
        # made LightGBM and k-means many times slower under load (measured)
        "OMP_NUM_THREADS": "1",
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


# --- shared fixtures -------------------------------------------------------

ROOT = Path(__file__).resolve().parent

SMALL = [
    "data.synthetic.n_customers=1500",
    "data.synthetic.seed=3",
    "training.n_cutoffs=3",
    "model.lgbm.n_estimators=40",
    "segments.k_max=4",
    "segments.sample_size=1000",
    "mlflow.experiment=segml-test",
    "mlflow.registered_model=segml-test-tier",
]


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    """A scratch working directory: exports and artifacts land here."""
    path = tmp_path_factory.mktemp("work")
    previous = Path.cwd()
    os.chdir(path)
    yield path
    os.chdir(previous)


@pytest.fixture(scope="session")
def small_config(workdir):
    from segml.config import load_config

    return load_config(ROOT / "configs" / "default.yaml", SMALL)


@pytest.fixture(scope="session")
def make_config():
    """Load configs/default.yaml with the small settings plus ``overrides``."""
    from segml.config import load_config

    def make(*overrides: str):
        return load_config(ROOT / "configs" / "default.yaml", [*SMALL, *overrides])

    return make


@pytest.fixture(scope="session")
def trained(small_config):
    from segml.app.train import train

    return train(small_config, quiet=True)


@pytest.fixture(scope="session")
def spark():
    """A local Spark session in UTC (skipped where pyspark is not installed)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 on PATH (Debian: openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("segml-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
