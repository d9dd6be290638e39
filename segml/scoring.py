"""``segml.predict``: one function to score customers and leads with any model form."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from segml.pipeline import SegmlPipeline

__all__ = ["load_pipeline", "predict", "score_tables"]

_URI_PREFIXES = ("models:/", "runs:/", "file:", "s3://", "gs://", "dbfs:/", "http")


def load_pipeline(model: str | os.PathLike | SegmlPipeline | object) -> SegmlPipeline:
    """Resolve ``model`` to a fitted :class:`SegmlPipeline`.

    ``model`` may be a pipeline, a loaded MLflow pyfunc model, a model URI such
    as ``"models:/segml-tier@champion"`` or ``"runs:/<id>/model"``, or the path of
    a joblib export (checked against its model card's sha256). URIs are loaded
    once per process and cached.
    """
    if isinstance(model, SegmlPipeline):
        return model
    if hasattr(model, "unwrap_python_model"):
        return model.unwrap_python_model().pipeline
    text = os.fspath(model)
    if text.startswith(_URI_PREFIXES):
        return _load_uri(text)
    from segml.persist import load_model_file

    path = Path(text)
    if path.is_dir() and (path / "MLmodel").is_file():
        return _load_uri(str(path.resolve()))
    return load_model_file(path)


@lru_cache(maxsize=8)
def _load_uri(uri: str) -> SegmlPipeline:
    import mlflow

    return mlflow.pyfunc.load_model(uri).unwrap_python_model().pipeline


def predict(
    frame: pd.DataFrame,
    model: str | os.PathLike | object,
    *,
    reasons: bool = True,
    as_of: object | None = None,
) -> pd.DataFrame:
    """Score customers and leads: same rows, same order, same ids.

    Parameters
    ----------
    frame : DataFrame
        One row per customer: ``customer_id``, attribute columns and, when known,
        history feature columns (see :meth:`SegmlPipeline.predict`).
    model : str, path, SegmlPipeline or pyfunc model
        For example ``"models:/segml-tier@champion"``.
    reasons : bool
        Compute the per-row reasons (``False`` is much faster for bulk scoring).
    as_of : date, optional
        Reference date for leads given with ``signup_ts`` only (default: today).

    Returns
    -------
    DataFrame
        ``customer_id``, ``tier``, ``p_<tier>``, ``route``, ``segment``,
        ``reason_1..3``, indexed like ``frame``.
    """
    return load_pipeline(model).predict(frame, reasons=reasons, as_of=as_of)


def score_tables(
    model: str | os.PathLike | object,
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    as_of: object,
    reasons: bool = True,
) -> pd.DataFrame:
    """Build features as of ``as_of`` from raw tables and score every known customer.

    Customers in ``customers`` without transactions (leads) are scored by the
    cold-start route.
    """
    from segml.features import build_features

    pipeline = load_pipeline(model)
    features = build_features(
        transactions, customers, events, as_of=as_of, **pipeline.feature_params
    )
    return pipeline.predict(features.reset_index(), reasons=reasons)
