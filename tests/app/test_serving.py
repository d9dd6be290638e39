"""The registered model behind a real `mlflow models serve` on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout} s")


@pytest.fixture(scope="module")
def server(trained, workdir):
    port = free_port()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    log = open(workdir / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            str(Path(bindir) / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/segml-test-tier@candidate",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/ping", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def post(url: str, frame: pd.DataFrame) -> pd.DataFrame:
    body = json.dumps(
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    ).encode()
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        payload = json.loads(answer.read())
    return pd.DataFrame(payload["predictions"])


def test_server_answers_customers_and_leads_like_predict(server, trained):
    snapshot = trained.outcome.snapshot.reset_index()
    history = snapshot.loc[snapshot["has_history"]].head(6)
    leads = snapshot.loc[~snapshot["has_history"]].head(4)
    rows = pd.concat([leads.head(2), history, leads.tail(2)], ignore_index=True)
    for column in rows.columns:
        if isinstance(rows[column].dtype, pd.CategoricalDtype):
            rows[column] = rows[column].astype("str")
    served = post(server, rows)
    expected = trained.outcome.pipeline.predict(rows)
    assert len(served) == len(rows)
    assert served["customer_id"].tolist() == rows["customer_id"].tolist()
    assert served["route"].tolist() == expected["route"].tolist()
    assert served["tier"].tolist() == expected["tier"].tolist()
    assert served["segment"].tolist() == expected["segment"].tolist()
    for tier in ("A", "B", "C"):
        np.testing.assert_allclose(served[f"p_{tier}"], expected[f"p_{tier}"])
    assert (served["route"] == "cold_start").sum() == 4


def test_server_scores_a_bare_lead(server, trained):
    lead = pd.DataFrame(
        {"customer_id": ["new-1"], "industry": ["retail"], "region": ["north"]}
    )
    served = post(server, lead)
    assert served.loc[0, "route"] == "cold_start"
    assert served.loc[0, "customer_id"] == "new-1"
    assert abs(served.loc[0, ["p_A", "p_B", "p_C"]].sum() - 1) < 1e-9
