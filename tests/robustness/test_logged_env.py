"""The logged model's own requirements are enough to load it and predict.

A fresh virtual environment gets only the model's ``requirements.txt`` and
segml itself without its dependencies; the registered model (with its
segmenter, which imports matplotlib) then loads there and must answer as the
pipeline does in this process. Needs PyPI (the pip cache makes re-runs
faster): about 1-3 minutes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from segml.tracking.serve import as_served

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import mlflow, pandas as pd
import segml
model = mlflow.pyfunc.load_model(sys.argv[1])
model.predict(pd.read_parquet(sys.argv[2])).to_parquet(sys.argv[3])
print(json.dumps({"segml": segml.__file__}))
"""


def _index_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=900, **kwargs
    )
    assert done.returncode == 0, f"{command[:4]} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.skipif(not _index_reachable(), reason="PyPI is not reachable")
def test_model_loads_and_predicts_from_its_own_requirements(trained, tmp_path):
    started = time.perf_counter()
    local = Path(mlflow.artifacts.download_artifacts(trained.model_uri))
    requirements = (local / "requirements.txt").read_text().split()
    assert any(r.startswith("matplotlib==") for r in requirements)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "-r", str(local / "requirements.txt")])
    _run([*pip, "--no-deps", str(ROOT)])  # segml, but none of its dependencies
    installed = time.perf_counter() - started

    snapshot = trained.outcome.snapshot.reset_index()
    rows = as_served(
        pd.concat(
            [
                snapshot.loc[snapshot["has_history"]].head(3),
                snapshot.loc[~snapshot["has_history"]].head(2),
            ],
            ignore_index=True,
        )
    )
    rows.to_parquet(tmp_path / "rows.parquet")
    (tmp_path / "score.py").write_text(SCRIPT)
    done = _run(
        [python, "score.py", str(local), "rows.parquet", "served.parquet"],
        cwd=tmp_path,
    )
    where = json.loads(done.stdout.strip().splitlines()[-1])["segml"]
    assert not where.startswith(str(ROOT / "segml")), where
    served = pd.read_parquet(tmp_path / "served.parquet")
    expected = trained.outcome.pipeline.predict(rows)
    assert served["customer_id"].tolist() == expected["customer_id"].tolist()
    for column in ("tier", "route", "segment", "reason_1"):
        assert served[column].tolist() == expected[column].tolist(), column
    probabilities = [f"p_{t}" for t in trained.outcome.pipeline.tiers]
    np.testing.assert_allclose(
        served[probabilities].to_numpy(dtype=float),
        expected[probabilities].to_numpy(dtype=float),
        rtol=0,
        atol=1e-12,
    )
    assert (served["route"] == "cold_start").sum() == 2
    print(
        f"venv from requirements: {installed:.0f} s to install, "
        f"{time.perf_counter() - started:.0f} s in all"
    )
