"""``segml.predict``: one function to score customers and leads with any model form."""

from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path

import pandas as pd

from segml.errors import SegmlConfigError, SegmlDataError
from segml.pipeline import SegmlPipeline

__all__ = [
    "check_attributes",
    "events_features",
    "load_pipeline",
    "predict",
    "score_tables",
]

_URI_PREFIXES = ("models:/", "runs:/", "file:", "s3://", "gs://", "dbfs:/", "http")


def load_pipeline(model: str | os.PathLike | SegmlPipeline | object) -> SegmlPipeline:
    """Resolve ``model`` to a fitted :class:`SegmlPipeline`.

    ``model`` may be a pipeline, a loaded MLflow pyfunc model, a model URI such
    as ``"models:/segml-tier@champion"`` or ``"runs:/<id>/model"``, or the path of
    a joblib export (checked against its model card's sha256). URIs are loaded
    once per process and cached.

    Raises
    ------
    SegmlConfigError
        The URI does not resolve (unknown model name, alias or version, unknown
        run, malformed URI, or a folder without an ``MLmodel`` file).
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
    from mlflow.exceptions import MlflowException

    from segml.tracking.model import load_verified

    try:  # the files are checked against the manifest before any of them runs
        model = load_verified(uri)
    except MlflowException as exc:
        raise SegmlConfigError(f"model {uri!r} not found: {exc.message}") from exc
    return model.unwrap_python_model().pipeline


def check_attributes(
    frame: pd.DataFrame,
    pipeline: SegmlPipeline,
    *,
    allow_missing: bool = False,
    table: str = "scoring input",
) -> list[str]:
    """The attribute columns of the cold-start route that ``frame`` lacks.

    ``days_since_signup`` counts as present when ``signup_ts`` is given (it is
    derived from it). A missing attribute would be scored as a missing value
    for every row, so this is an error unless ``allow_missing`` (then one
    ``UserWarning``).

    Parameters
    ----------
    frame : DataFrame
        The rows to score (columns as given).
    pipeline : SegmlPipeline
        The fitted pipeline; ``pipeline.attributes`` lists the columns.
    allow_missing : bool
        Warn instead of raising.
    table : str
        How the error names the input.

    Returns
    -------
    list of str
        The missing attribute columns (empty when all are present).

    Raises
    ------
    SegmlDataError
        Some attributes are missing and ``allow_missing`` is false; the message
        names the missing and the present columns.
    """
    present = {str(c) for c in frame.columns}
    if frame.index.name is not None:
        present.add(str(frame.index.name))
    if "signup_ts" in present:
        present.add("days_since_signup")
    missing = [a for a in pipeline.attributes if a not in present]
    if not missing:
        return []
    shown = ", ".join(map(str, frame.columns)) or "(none)"
    problem = (
        f"missing attribute column(s) {', '.join(missing)} that the model's "
        f"cold-start route was trained on (present: {shown}); map your column "
        "names to these, or allow scoring them as missing values"
    )
    if not allow_missing:
        raise SegmlDataError(table, missing[0], problem)
    warnings.warn(
        f"scoring without attribute column(s) {', '.join(missing)}: they are "
        "missing values for every row",
        UserWarning,
        stacklevel=3,
    )
    return missing


def events_features(pipeline: SegmlPipeline) -> list[str]:
    """History features the model computed from an event log and learned from.

    These are the catalogue's event features (NaN for everyone without an
    event log) that a route of the fitted model splits on; empty when the
    model was trained without events.
    """
    from segml.features.catalogue import FEATURES

    windows = tuple(pipeline.feature_params.get("windows", (90, 365)))
    from_events = {
        name
        for feature in FEATURES
        if "without an event log" in feature.missing
        for name in feature.expand(windows)
    }
    used: list[str] = []
    for route in getattr(pipeline.predictor, "routes_", {}).values():
        model = getattr(route, "model", None)
        if model is None or not hasattr(model, "feature_importances_"):
            continue
        splits_by_column = zip(route.columns, model.feature_importances_, strict=True)
        for column, splits in splits_by_column:
            if column in from_events and splits > 0 and column not in used:
                used.append(column)
    return used


def predict(
    frame: pd.DataFrame,
    model: str | os.PathLike | object,
    *,
    reasons: bool = True,
    as_of: object | None = None,
    allow_missing_attributes: bool = False,
    lifetime_value: bool = False,
    clv_months: int = 12,
    discount_rate: float = 0.01,
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
    allow_missing_attributes : bool
        By default a frame lacking an attribute column the cold-start route was
        trained on (``pipeline.attributes``; ``signup_ts`` stands in for
        ``days_since_signup``) is a :class:`~segml.errors.SegmlDataError`:
        scoring it would treat the attribute as missing for every row. ``True``
        scores anyway, with one warning.
    lifetime_value : bool
        Also return ``clv`` (discounted expected spend over ``clv_months``),
        ``p_alive`` and ``expected_purchases`` (over the same months) from the
        model's BG/NBD + Gamma-Gamma fit, for rows with history; NaN for
        leads. See :meth:`SegmlPipeline.predict`.
    clv_months : int
        Horizon of ``clv`` and ``expected_purchases``, in months of 30 days.
    discount_rate : float
        Monthly discount rate of ``clv`` (lifetimes' semantics).

    Returns
    -------
    DataFrame
        ``customer_id``, ``tier``, ``p_<tier>``, ``route``, ``model``,
        ``tier_score``, ``segment``, ``reason_1..3`` (then ``clv``,
        ``p_alive``, ``expected_purchases`` with ``lifetime_value``), indexed
        like ``frame``.
    """
    pipeline = load_pipeline(model)
    if isinstance(frame, pd.DataFrame):  # anything else: predict's TypeError
        check_attributes(frame, pipeline, allow_missing=allow_missing_attributes)
    return pipeline.predict(
        frame,
        reasons=reasons,
        as_of=as_of,
        lifetime_value=lifetime_value,
        clv_months=clv_months,
        discount_rate=discount_rate,
    )


def score_tables(
    model: str | os.PathLike | object,
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    as_of: object,
    reasons: bool = True,
    lifetime_value: bool = False,
    clv_months: int = 12,
    discount_rate: float = 0.01,
) -> pd.DataFrame:
    """Build features as of ``as_of`` from raw tables and score every known customer.

    Customers in ``customers`` without transactions (leads) are scored by the
    cold-start route. ``lifetime_value``, ``clv_months`` and ``discount_rate``
    add the lifetime-value columns as in :func:`predict`. Without ``events``
    while the model learned from event features (:func:`events_features`),
    one ``UserWarning`` says which features are missing for everyone.
    """
    from segml.features import build_features

    pipeline = load_pipeline(model)
    if events is None:
        used = events_features(pipeline)
        if used:
            warnings.warn(
                "scoring without an events table, but the model was trained with "
                f"one: {', '.join(used)} are missing for every customer, so "
                "scores differ from the training's; pass the events table",
                UserWarning,
                stacklevel=2,
            )
    features = build_features(
        transactions, customers, events, as_of=as_of, **pipeline.feature_params
    )
    return pipeline.predict(
        features.reset_index(),
        reasons=reasons,
        lifetime_value=lifetime_value,
        clv_months=clv_months,
        discount_rate=discount_rate,
    )
