"""Log a fitted pipeline as one MLflow pyfunc model and register it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from segml.pipeline import SegmlPipeline

__all__ = ["log_pipeline_model", "model_signature", "pip_requirements"]

MODEL_CODE = Path(__file__).with_name("_pyfunc_model.py")


def pip_requirements() -> list[str]:
    """Pinned requirements of the served model (passed explicitly: inference of
    requirements costs seconds per model)."""
    import joblib
    import lightgbm
    import mlflow
    import numpy
    import sklearn

    return [
        f"mlflow=={mlflow.__version__}",
        f"pandas=={pd.__version__}",
        f"numpy=={numpy.__version__}",
        f"scikit-learn=={sklearn.__version__}",
        f"lightgbm=={lightgbm.__version__}",
        f"joblib=={joblib.__version__}",
        *_installed("lleaves", "llvmlite"),  # compiled boosters; optional
    ]


def _installed(*names: str) -> list[str]:
    """``name==version`` of the packages of ``names`` that are installed."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def model_signature(pipeline: SegmlPipeline, example: pd.DataFrame):
    """Input schema (``customer_id`` required, everything else optional) and the
    output schema of the predict contract."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    categorical = set(pipeline.categorical_columns)
    inputs = [ColSpec("string", "customer_id")]
    inputs.append(ColSpec("boolean", "has_history", required=False))
    inputs.append(ColSpec("string", "signup_ts", required=False))
    seen = {"customer_id", "has_history", "signup_ts"}
    for column in [*pipeline.attributes, *pipeline.history_features]:
        if column in seen:
            continue
        seen.add(column)
        kind = "string" if column in categorical else "double"
        if column in example.columns and example[column].dtype == bool:
            kind = "boolean"
        inputs.append(ColSpec(kind, column, required=False))
    outputs = [
        ColSpec("string", "customer_id"),
        ColSpec("string", "tier"),
        *[ColSpec("double", f"p_{t}") for t in pipeline.tiers],
        ColSpec("string", "route"),
        ColSpec("string", "segment"),
        *[
            ColSpec("string", f"reason_{k + 1}")
            for k in range(pipeline.predictor.n_reasons)
        ],
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def log_pipeline_model(
    export_dir: str | Path,
    pipeline: SegmlPipeline,
    example: pd.DataFrame,
    *,
    registered_model: str | None,
    alias: str | None = "candidate",
):
    """Log the exported pipeline as the run's pyfunc model ``model``.

    Must be called inside an active MLflow run. Registers a new version of
    ``registered_model`` (when given) and points ``alias`` at it.

    Returns
    -------
    mlflow.models.model.ModelInfo
    """
    import mlflow

    from segml.persist import ARTIFACT_NAME, CARD_NAME

    export_dir = Path(export_dir)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(MODEL_CODE),
        artifacts={
            "pipeline": str(export_dir / ARTIFACT_NAME),
            "model_card": str(export_dir / CARD_NAME),
        },
        code_paths=[str(Path(__file__).resolve().parents[1])],
        signature=model_signature(pipeline, example),
        input_example=example,
        pip_requirements=pip_requirements(),
        registered_model_name=registered_model,
    )
    if registered_model and alias:
        client = mlflow.MlflowClient()
        client.set_registered_model_alias(
            registered_model, alias, info.registered_model_version
        )
    return info
