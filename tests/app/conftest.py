"""One small training run shared by the entry-point tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segml.config import load_config

ROOT = Path(__file__).resolve().parents[2]

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
    return load_config(ROOT / "configs" / "default.yaml", SMALL)


@pytest.fixture(scope="session")
def trained(small_config):
    from segml.app.train import train

    return train(small_config, quiet=True)
