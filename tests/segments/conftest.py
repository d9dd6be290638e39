"""Shared fixtures for the segment tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread():
    # OpenMP start-up dominates k-means on tiny arrays when the box is busy.
    with threadpool_limits(1):
        yield


def make_blobs(seed: int = 0, n: int = 100) -> pd.DataFrame:
    """Three well-separated groups of customers; ``group`` 0 spends most."""
    rng = np.random.default_rng(seed)
    centres = [
        (5000.0, 20, 5.0, 700.0),
        (300.0, 5, 60.0, 300.0),
        (20.0, 1, 400.0, 450.0),
    ]
    parts = []
    for g, (spend, orders, recency, tenure) in enumerate(centres):
        parts.append(
            pd.DataFrame(
                {
                    "net_spend": spend * rng.lognormal(0, 0.15, n),
                    "orders": np.maximum(
                        1, np.round(orders * rng.lognormal(0, 0.1, n))
                    ),
                    "recency_days": recency * rng.lognormal(0, 0.15, n),
                    "tenure_days": tenure * rng.lognormal(0, 0.05, n),
                    "region": rng.choice(["north", "south"], n),
                    "group": g,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame.index = pd.Index([f"c{i:04d}" for i in range(len(frame))], name="customer_id")
    return frame.sample(frac=1.0, random_state=seed)


@pytest.fixture
def blobs() -> pd.DataFrame:
    return make_blobs()


@pytest.fixture
def blob_factory():
    """``make_blobs`` itself, for tests that need other seeds or sizes."""
    return make_blobs
