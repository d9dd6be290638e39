"""The compiled boosters answer exactly as LightGBM, and fall back to it cleanly."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
import pytest
from test_predictor import make_data

from segml.model import TierPredictor, compiled
from segml.model.batch import score_rows


def _lleaves_works() -> bool:
    try:
        import lleaves  # noqa: F401
        import llvmlite.binding as llvm
    except ImportError:
        return False
    return hasattr(llvm, "PassManagerBuilder")  # gone in llvmlite 0.45


needs_lleaves = pytest.mark.skipif(
    not _lleaves_works(), reason="lleaves with llvmlite < 0.45 is not installed"
)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh cache folder and in-memory state; compile even tiny batches."""
    monkeypatch.setenv("SEGML_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SEGML_COMPILE", raising=False)
    monkeypatch.setattr(compiled, "COMPILE_MIN_ROWS", 1)
    monkeypatch.setattr(compiled, "LOAD_MIN_ROWS", 1)
    monkeypatch.setattr(compiled, "_compiled", compiled.weakref.WeakKeyDictionary())
    monkeypatch.setattr(compiled, "_warned", set())


@pytest.fixture(scope="module")
def fitted():
    X, y, cutoff = make_data(n=1500, seed=3)
    model = TierPredictor(attributes=["size", "region"], n_estimators=30)
    return model.fit(X, y, cutoff=cutoff), X


def awkward_rows(X: pd.DataFrame) -> pd.DataFrame:
    """Rows with missing numbers, missing and unseen categories."""
    rows = X.copy()
    rows.iloc[::7, rows.columns.get_loc("orders")] = np.nan
    rows.iloc[::5, rows.columns.get_loc("recency_days")] = np.nan
    size = rows["size"].astype(object)
    size.iloc[::11] = None
    size.iloc[::13] = "huge"  # never seen in training
    return rows.assign(size=pd.array(size, dtype="str"))


@needs_lleaves
@pytest.mark.parametrize("route_name", ["history", "cold_start"])
@pytest.mark.parametrize("raw_score", [True, False])
def test_compiled_equals_lightgbm(fitted, route_name, raw_score):
    model, X = fitted
    route = model.routes_[route_name]
    matrix = route.encoder.matrix(awkward_rows(X))
    assert np.isnan(matrix).any()
    booster = route.model.booster_
    expected = booster.predict(matrix, raw_score=raw_score, num_threads=1)
    got = compiled.booster_predict(booster, matrix, raw_score=raw_score)
    assert compiled._compiled[booster][raw_score].forest is not None  # compiled
    assert got.shape == expected.shape  # binary when a route saw two tiers
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@needs_lleaves
def test_binary_booster_compiles_too():
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    X[::9, 1] = np.nan
    booster = lgb.train(
        {"objective": "binary", "verbose": -1}, lgb.Dataset(X, X[:, 0] > 0), 20
    )
    got = compiled.booster_predict(booster, X)
    np.testing.assert_allclose(got, booster.predict(X), rtol=0, atol=1e-9)


@needs_lleaves
def test_cache_is_reused_across_processes(fitted, tmp_path, monkeypatch):
    model, X = fitted
    booster = model.routes_["history"].model.booster_
    matrix = model.routes_["history"].encoder.matrix(X)
    first = compiled.booster_predict(booster, matrix, raw_score=True)
    files = list((tmp_path / "compiled").glob("*.o"))
    assert len(files) == 1
    assert not list((tmp_path / "compiled").glob("*.partial"))
    # a new process: nothing in memory, compiling not allowed, cache present
    monkeypatch.setattr(compiled, "_compiled", compiled.weakref.WeakKeyDictionary())
    monkeypatch.setattr(compiled, "COMPILE_MIN_ROWS", 10**9)
    second = compiled.booster_predict(booster, matrix, raw_score=True)
    assert compiled._compiled[booster][True].forest is not None
    np.testing.assert_array_equal(first, second)


def test_falls_back_when_lleaves_is_missing(fitted, monkeypatch, caplog):
    model, X = fitted
    booster = model.routes_["history"].model.booster_
    matrix = model.routes_["history"].encoder.matrix(X)
    monkeypatch.setitem(sys.modules, "lleaves", None)  # import fails
    with caplog.at_level(logging.WARNING, logger=compiled.__name__):
        got = compiled.booster_predict(booster, matrix)
    np.testing.assert_array_equal(got, booster.predict(matrix, num_threads=1))
    assert "lleaves is not installed" in caplog.text
    assert "segml[fast]" in caplog.text


@pytest.mark.parametrize("missing", [("lleaves",), ("lleaves", "llvmlite")])
def test_scoring_without_the_fast_extra(fitted, monkeypatch, caplog, missing):
    """Without lleaves (``segml[fast]`` not installed) every batch of both routes
    is scored by LightGBM: one warning in all, the predictor's own answers."""
    model, X = fitted
    rows = awkward_rows(X).reset_index()
    monkeypatch.setenv("SEGML_COMPILE", "0")  # LightGBM's own answers
    expected = model.predict_frame(rows, reasons=False)
    monkeypatch.delenv("SEGML_COMPILE")
    assert not compiled._compiled
    for name in missing:  # the import fails as if the package were absent
        monkeypatch.setitem(sys.modules, name, None)
    if "llvmlite" in missing:
        monkeypatch.setitem(sys.modules, "llvmlite.binding", None)
    history = rows["has_history"].to_numpy(dtype=bool)
    with caplog.at_level(logging.WARNING, logger=compiled.__name__):
        for _ in range(3):
            scores = score_rows(model, rows, history, reasons=False)
    warnings = [r for r in caplog.records if r.name == compiled.__name__]
    assert [r.getMessage() for r in warnings] == [
        "lleaves is not installed; scoring with LightGBM "
        "(pip install 'segml[fast]' for compiled boosters)"
    ]
    assert all(
        slot.forest is None for s in compiled._compiled.values() for slot in s.values()
    )
    np.testing.assert_array_equal(scores.proba, expected.filter(like="p_").to_numpy())
    assert (model.classes_[scores.codes] == expected["tier"].astype(str)).all()


def test_falls_back_when_compiled_disagrees(fitted, monkeypatch, caplog):
    model, X = fitted
    booster = model.routes_["history"].model.booster_
    matrix = model.routes_["history"].encoder.matrix(X)

    class Wrong:
        def predict(self, data, n_jobs=None):
            return np.zeros((len(data), 3))

    monkeypatch.setattr(compiled, "_build", lambda *args, **kwargs: Wrong())
    with caplog.at_level(logging.WARNING, logger=compiled.__name__):
        got = compiled.booster_predict(booster, matrix)
    np.testing.assert_array_equal(got, booster.predict(matrix, num_threads=1))
    assert "disagrees" in caplog.text
    assert compiled._compiled[booster][False].failed  # not tried again


def test_compile_can_be_switched_off(fitted, monkeypatch):
    model, X = fitted
    booster = model.routes_["history"].model.booster_
    monkeypatch.setenv("SEGML_COMPILE", "0")
    compiled.booster_predict(booster, model.routes_["history"].encoder.matrix(X))
    assert booster not in compiled._compiled


@needs_lleaves
@pytest.mark.parametrize("reasons", [False, True])
def test_array_scoring_equals_predictor_predict(fitted, reasons, monkeypatch):
    """score_rows (compiled, in blocks) gives TierPredictor.predict_frame's answers."""
    model, X = fitted
    from segml.model import route as route_module

    monkeypatch.setattr(route_module, "CHUNK_ROWS", 100)  # several blocks
    rows = awkward_rows(X).reset_index()
    expected = model.predict_frame(rows, reasons=reasons)
    history = rows["has_history"].to_numpy(dtype=bool)
    scores = score_rows(model, rows, history, reasons=reasons)
    assert compiled._compiled  # the compiled path was taken
    np.testing.assert_allclose(
        scores.proba, expected.filter(like="p_").to_numpy(), rtol=0, atol=1e-9
    )
    assert (model.classes_[scores.codes] == expected["tier"].astype(str)).all()
    route = np.where(scores.history, "history", "cold_start")
    assert (route == expected["route"]).all()
    for k in range(model.n_reasons):
        got = pd.Series(scores.reasons[k], dtype="str")
        pd.testing.assert_series_equal(
            got, expected[f"reason_{k + 1}"], check_names=False
        )


def test_small_batches_do_not_compile_or_rehash(fitted, monkeypatch):
    model, X = fitted
    booster = model.routes_["history"].model.booster_
    matrix = model.routes_["history"].encoder.matrix(X)
    monkeypatch.setattr(compiled, "COMPILE_MIN_ROWS", 10**9)
    hashed = []
    original = compiled._key
    monkeypatch.setattr(compiled, "_key", lambda *a: hashed.append(1) or original(*a))
    for _ in range(3):
        got = compiled.booster_predict(booster, matrix)
    np.testing.assert_array_equal(got, booster.predict(matrix, num_threads=1))
    slot = compiled._compiled[booster][False]
    assert slot.forest is None and not slot.failed and len(hashed) == 1


@needs_lleaves
def test_route_compile_ahead_of_a_batch(fitted, monkeypatch):
    model, X = fitted
    monkeypatch.setattr(compiled, "LOAD_MIN_ROWS", 10**9)  # batches never load
    route = model.routes_["history"]
    assert route.compile()
    slot = compiled._compiled[route.model.booster_][route._margins]
    assert slot.forest is not None and not slot.checked
    rows = np.flatnonzero(X["has_history"].to_numpy())[:5]
    expected = route.predict_proba(X.iloc[rows])  # the compiled forest, checked
    assert slot.checked and slot.forest is not None
    monkeypatch.setenv("SEGML_COMPILE", "0")
    np.testing.assert_allclose(
        route.predict_proba(X.iloc[rows]), expected, rtol=0, atol=1e-9
    )
