"""The registered model behind a real `mlflow models serve` on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from segml.tracking.serve import as_served, local_server


@pytest.fixture(scope="module")
def server(trained, workdir):
    with local_server(
        "models:/segml-test-tier@candidate", workdir=workdir, workers=1, timeout=180
    ) as running:
        yield running.url


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
    rows = as_served(
        pd.concat([leads.head(2), history, leads.tail(2)], ignore_index=True)
    )
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


def post_status(url: str, frame: pd.DataFrame) -> tuple[int, dict]:
    body = json.dumps(
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    ).encode()
    request = urllib.request.Request(
        f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_server_reads_has_history_strings_strictly(server, trained):
    snapshot = trained.outcome.snapshot.reset_index()
    history = as_served(snapshot.loc[snapshot["has_history"]].head(4))
    sent = ["False", "true", "0", "YES"]  # MLflow's bool cast read all as true
    rows = history.assign(has_history=pd.Series(sent, dtype="str").to_numpy())
    served = post(server, rows)
    assert served["route"].tolist() == [
        "cold_start",
        "history",
        "cold_start",
        "history",
    ]
    as_bools = history.assign(has_history=[False, True, False, True])
    expected = trained.outcome.pipeline.predict(as_bools)
    assert served["tier"].tolist() == expected["tier"].tolist()
    np.testing.assert_allclose(served["p_A"], expected["p_A"])


def test_server_rejects_has_history_that_is_not_a_boolean(server, trained):
    lead = pd.DataFrame(
        {
            "customer_id": ["n1", "n2"],
            "industry": ["retail"] * 2,
            "has_history": ["true", "maybe"],
        }
    )
    status, payload = post_status(server, lead)
    assert status == 400
    message = payload["message"]
    assert "table 'scoring input', column 'has_history'" in message
    assert "values must be true or false" in message and "maybe" in message


def test_server_rejects_a_row_that_is_too_short(server):
    # pandas would pad the short row with missing values: a row scored on
    # values nobody sent
    body = {
        "dataframe_split": {
            "columns": ["customer_id", "industry", "has_history"],
            "data": [["n1", "retail", False], ["n2", "retail"]],
        }
    }
    request = urllib.request.Request(
        f"{server}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=60)
    assert error.value.code == 400
    assert "mismatched lengths" in json.loads(error.value.read())["message"]
