"""Library entry points: bad inputs are errors naming what is wrong, before work."""

from __future__ import annotations

import numpy as np
import pytest

import segml
from segml.errors import SegmlConfigError, SegmlDataError


def test_infinite_feature_value_is_an_error_naming_column_and_rows(trained):
    rows = trained.outcome.snapshot.reset_index().head(6)
    history = rows.index[rows["has_history"].to_numpy(dtype=bool)][:2]
    bad = rows.copy()
    bad.loc[history, "net_spend"] = [np.inf, -np.inf]
    with pytest.raises(SegmlDataError) as err:
        segml.predict(bad, trained.model_uri)
    message = str(err.value)
    assert "column 'net_spend'" in message and "2 value(s) are infinite" in message
    assert rows.loc[history[0], "customer_id"] in message
    # text that parses to inf is caught too
    text = rows.astype({"net_spend": "str"})
    text.loc[history[0], "net_spend"] = "inf"
    with pytest.raises(SegmlDataError, match="infinite"):
        segml.predict(text, trained.model_uri)


def test_train_checks_models_dir_before_fitting(make_config, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cfg = make_config(f"models_dir={blocker / 'models'}")

    def never(*args, **kwargs):  # fitting must not start
        raise AssertionError("fitted before checking models_dir")

    monkeypatch.setattr("segml.app.train.load_tables", never)
    with pytest.raises(SegmlConfigError, match="models_dir: cannot write"):
        segml.train(cfg, quiet=True)
