"""Log a fitted pipeline as one MLflow pyfunc model and register it.

The logged model is sealed: after MLflow writes it, a manifest with the sha256
of each of its files (``segml_manifest.json``, see :mod:`segml.persist`) is
added to it, and the model is registered only then. The pyfunc model checks the
manifest when it loads; :func:`load_verified` checks it *before* MLflow runs
any of the model's code.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import pandas as pd

from segml.errors import SegmlDataError
from segml.pipeline import SegmlPipeline

__all__ = [
    "LOGGED_EXCLUDED",
    "column_kinds",
    "conform_example",
    "load_verified",
    "log_pipeline_model",
    "model_root",
    "model_signature",
    "pip_requirements",
    "strict_booleans",
    "verify_logged_model",
    "verify_model_uri",
]

MODEL_CODE = Path(__file__).with_name("_pyfunc_model.py")
#: Files of a logged model the manifest leaves out: MLflow writes
#: ``registered_model_meta`` (the registered name and version, data only) into
#: the model folder when it is downloaded by its registered name.
LOGGED_EXCLUDED = frozenset({"registered_model_meta"})
#: Packages of the ``fast`` extra, pinned in the model only where installed.
FAST_EXTRA = ("lleaves", "llvmlite")
_TABLE = "scoring input"
# True only while this process runs mlflow.pyfunc.log_model for segml: MLflow
# then loads the freshly saved model to check the serving example, before the
# manifest can exist (it covers the files MLflow is writing).
_LOGGING: ContextVar[bool] = ContextVar("segml_logging_model", default=False)
_TRUE = frozenset({"true", "1", "1.0", "yes"})
_FALSE = frozenset({"false", "0", "0.0", "no"})


# --- requirements ----------------------------------------------------------


def pip_requirements() -> list[str]:
    """Pinned requirements of the served model: segml's runtime dependencies.

    The names come from segml's own dependency list (``pyproject.toml`` in a
    source tree, else the installed package's metadata), each pinned to the
    installed version, so the model needs exactly what segml imports
    (matplotlib included: the pickled pipeline imports ``segml.segments.plots``).
    lleaves and llvmlite (the ``fast`` extra) are added only when installed.
    Passed explicitly: inferring requirements costs seconds per model.
    """
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    for text in [*_runtime_requirements(), *FAST_EXTRA]:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate(
            {"extra": ""}
        ):
            continue
        key = requirement.name.lower().replace("_", "-")
        if key in pins:
            continue
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            if text in FAST_EXTRA:
                continue  # optional: the model falls back to LightGBM
            raise
        extras = ",".join(sorted(requirement.extras))
        name = f"{requirement.name}[{extras}]" if extras else requirement.name
        pins[key] = f"{name}=={installed}"
    return list(pins.values())


def _runtime_requirements() -> list[str]:
    """segml's ``[project] dependencies`` (no extras)."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if project.get("name") == "segml":
            return list(project.get("dependencies", []))
    from importlib.metadata import requires

    return [r for r in requires("segml") or [] if "extra ==" not in r]


# --- signature -------------------------------------------------------------


def column_kinds(pipeline: SegmlPipeline) -> dict[str, str]:
    """Type of each input column, from what the fitted pipeline reads.

    ``"string"`` for columns a route encodes as categories, ``"boolean"`` for
    those whose categories are only ``True``/``False``, ``"double"`` for
    columns a route reads as numbers, ``"any"`` for columns no route reads
    (a route with too little data predicts its prior). Never inferred from an
    input example, which may be all missing.
    """
    levels: dict[str, set[str]] = {}
    numeric: set[str] = set()
    for route in pipeline.predictor.routes_.values():
        encoder = route.encoder
        if encoder is None:
            continue
        for column in encoder.columns_:
            if column in encoder.categories_:
                levels.setdefault(column, set()).update(
                    str(v) for v in encoder.categories_[column]
                )
            else:
                numeric.add(column)
    kinds = {"customer_id": "string", "has_history": "boolean", "signup_ts": "string"}
    for column in [*pipeline.attributes, *pipeline.history_features]:
        if column in kinds:
            continue
        if column in levels:
            boolean = bool(levels[column]) and levels[column] <= {"True", "False"}
            kinds[column] = "boolean" if boolean else "string"
        elif column in numeric:
            kinds[column] = "double"
        else:
            kinds[column] = "any"
    return kinds


def model_signature(pipeline: SegmlPipeline, example: pd.DataFrame | None = None):
    """Input schema (``customer_id`` required, everything else optional) and the
    output schema of the predict contract.

    Column types come from :func:`column_kinds`. Boolean columns (and
    ``has_history``) are declared ``Any``: MLflow casts a declared boolean
    with ``astype(bool)``, which reads the string ``"False"`` as true; the
    pyfunc model parses them strictly instead (:func:`strict_booleans`).
    ``example`` is not used (kept for callers).
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    inputs = []
    for column, kind in column_kinds(pipeline).items():
        dtype = AnyType() if kind in ("boolean", "any") else kind
        inputs.append(ColSpec(dtype, column, required=column == "customer_id"))
    probabilities = {f"p_{t}" for t in pipeline.tiers} | {"tier_score"}
    outputs = [
        ColSpec("double" if c in probabilities else "string", c)
        for c in pipeline.output_columns
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def conform_example(example: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """The input example with the signature's types (an all-missing text column
    read as float becomes ``str``), so MLflow's check of it passes."""
    out = example.copy()
    for column in out.columns:
        kind = kinds.get(column)
        if kind == "string":
            series = out[column]
            out[column] = series.astype("str").where(series.notna())
            out[column] = out[column].astype("str")
        elif kind == "double":
            out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64")
    return out


def strict_booleans(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``columns`` of ``frame`` read strictly as booleans.

    Accepted (any case): ``true``/``false``, ``1``/``0``, ``yes``/``no`` and
    booleans; missing values (and empty strings) stay missing. Anything else is a
    :class:`~segml.errors.SegmlDataError` naming the column and the rows.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["a", "b"], "flag": ["False", True]})
    >>> strict_booleans(frame, ["flag"])["flag"].tolist()
    [False, True]
    """
    out = frame
    for column in columns:
        if column not in frame.columns or frame[column].dtype == bool:
            continue
        series = frame[column]
        text = series.astype("str").str.strip().str.lower()
        truthy = text.isin(_TRUE).to_numpy()
        falsy = text.isin(_FALSE).to_numpy()
        missing = (series.isna() | (text == "")).to_numpy()
        bad = ~(truthy | falsy | missing)
        if bad.any():
            shown = [c for c in ("customer_id", column) if c in frame.columns]
            raise SegmlDataError(
                _TABLE,
                column,
                "values must be true or false (also 1/0, yes/no)",
                frame.loc[bad, shown],
            )
        values = np.where(truthy, True, False).astype(object)
        values[missing] = None
        if out is frame:
            out = frame.copy()
        out[column] = values if missing.any() else values.astype(bool)
    return out


# --- logging and loading ----------------------------------------------------


def verify_logged_model(artifact: str | os.PathLike) -> None:
    """Check the files of the logged model holding ``artifact`` (the pyfunc
    model's ``load_context``).

    The one exception: while this process is logging a segml model, MLflow
    loads the just-saved copy to check the input example, and that copy has no
    manifest yet; its artifacts are still checked against the model card.
    """
    from segml.persist import MANIFEST_NAME, verify_manifest

    root = model_root(artifact)
    if _LOGGING.get() and not (root / MANIFEST_NAME).exists():
        return
    verify_manifest(root, exclude=LOGGED_EXCLUDED)


def model_root(artifact: str | os.PathLike) -> Path:
    """The logged model's folder (the one holding ``MLmodel``) above a file."""
    path = Path(artifact).resolve()
    for folder in path.parents:
        if (folder / "MLmodel").is_file():
            return folder
    from segml.persist import ModelIntegrityError

    raise ModelIntegrityError(f"no MLmodel file in any folder above {path}")


def log_pipeline_model(
    export_dir: str | Path,
    pipeline: SegmlPipeline,
    example: pd.DataFrame,
    *,
    registered_model: str | None,
    alias: str | None = "candidate",
    description: str | None = None,
):
    """Log the exported pipeline as the run's pyfunc model ``model``.

    Must be called inside an active MLflow run. Seals the logged model (adds
    the manifest of its files), then registers a new version of
    ``registered_model`` (when given), gives it ``description`` and points
    ``alias`` at it.

    Returns
    -------
    mlflow.models.model.ModelInfo
        With ``registered_model_version`` set when registered.
    """
    import mlflow

    from segml.persist import ARTIFACT_NAME, CARD_NAME

    export_dir = Path(export_dir)
    kinds = column_kinds(pipeline)
    token = _LOGGING.set(True)
    try:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts={
                "pipeline": str(export_dir / ARTIFACT_NAME),
                "model_card": str(export_dir / CARD_NAME),
            },
            code_paths=[str(Path(__file__).resolve().parents[1])],
            signature=model_signature(pipeline),
            input_example=conform_example(example, kinds),
            pip_requirements=pip_requirements(),
        )
    finally:
        _LOGGING.reset(token)
    seal_logged_model(info.model_id, info.model_uri)
    if registered_model:
        version = mlflow.register_model(info.model_uri, registered_model).version
        info.registered_model_version = version
        client = mlflow.MlflowClient()
        if description:
            client.update_model_version(registered_model, version, description)
        if alias:
            client.set_registered_model_alias(registered_model, alias, version)
    return info


def seal_logged_model(model_id: str, model_uri: str) -> None:
    """Add the manifest of the logged model's files to the model itself."""
    import mlflow

    from segml.persist import write_manifest

    with tempfile.TemporaryDirectory(prefix="segml-seal-") as folder:
        local = mlflow.artifacts.download_artifacts(model_uri, dst_path=folder)
        manifest = write_manifest(local, exclude=LOGGED_EXCLUDED)
        mlflow.MlflowClient().log_model_artifact(model_id, str(manifest))


def verify_model_uri(model_uri: str) -> Path:
    """Check the logged model at ``model_uri`` against its manifest with this
    installed segml (none of the model's code runs); returns its local folder.

    For ``segml serve`` and any loader to call before handing the model to
    MLflow: the check inside the model's ``load_context`` runs only after
    MLflow has executed the model's own files (see ``docs/security.md``).
    """
    import mlflow

    from segml.persist import verify_manifest

    local = Path(mlflow.artifacts.download_artifacts(model_uri))
    verify_manifest(local, exclude=LOGGED_EXCLUDED)
    return local


def load_verified(model_uri: str):
    """``mlflow.pyfunc.load_model`` after :func:`verify_model_uri`."""
    import mlflow

    return mlflow.pyfunc.load_model(str(verify_model_uri(model_uri)))
