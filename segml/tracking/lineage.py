"""Which data trained a model, and what its registered version is, in MLflow.

Two pieces of lineage a data scientist looks for in the MLflow UI:

- the run's **inputs**: one MLflow dataset per table that trained it
  (``transactions``, ``customers``, ``events``), logged with
  :func:`mlflow.log_input` in the context ``training``, each with its source
  (the file it was read from, or the generator or loader that made it), the
  digest segml computes over the table's content (the run's
  ``data.fingerprint`` tag covers all tables together), its schema and its row
  count;
- a **description** on each registered model version: the tier rule and
  horizon, and per route what ships, its out-of-time macro-F1 and the lift over
  the best baseline.

Only entry points call these (MLflow is never imported by the estimators).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pandas as pd

from segml.config.models import Config, DataConfig

if TYPE_CHECKING:
    from mlflow.data.dataset_source import DatasetSource
    from mlflow.types import Schema

__all__ = ["dataset_source", "log_training_data", "version_description"]

TABLES = ("transactions", "customers", "events")


def dataset_source(data: DataConfig, table: str) -> DatasetSource:
    """The MLflow dataset source of one configured table.

    A file read from disk is a ``local`` source with its absolute path, a URI
    with a scheme what MLflow's registry makes of it; the embedded data
    (synthetic or CDNOW) is a ``code`` source tagged with the function and
    arguments that produced it.

    Examples
    --------
    >>> from segml.config import Config
    >>> src = dataset_source(Config().data, "transactions")
    >>> src._get_source_type(), src.to_dict()["tags"]["generator"]
    ('code', 'segml.datasets.make_crm')
    """
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    if data.source == "synthetic":
        s = data.synthetic
        return CodeDatasetSource(
            tags={
                "generator": "segml.datasets.make_crm",
                "table": table,
                **{k: str(v) for k, v in s.model_dump().items()},
            }
        )
    if data.source == "cdnow":
        return CodeDatasetSource(
            tags={"generator": "segml.datasets.load_cdnow", "table": table}
        )
    path = str(getattr(data, table))
    scheme = urlparse(path).scheme
    if not scheme or len(scheme) == 1:  # a local path (or a Windows drive)
        path = str(Path(path).resolve())
    with warnings.catch_warnings():  # "can be interpreted in multiple ways"
        warnings.simplefilter("ignore")
        return resolve_dataset_source(path)


def log_training_data(
    tables: object, data: DataConfig, digests: Mapping[str, str]
) -> list[str]:
    """Log each table of ``tables`` as an MLflow dataset input of the active run.

    ``digests`` are the per-table digests of
    :func:`segml.app.tables.fingerprints`. Returns the names logged. The
    schema is inferred from at most 1,000 rows (the dtypes are the same for
    all), the profile counts every row. A table MLflow cannot describe is
    logged without a schema; one it cannot log at all is skipped with a
    warning naming it, and the run goes on (the ``data.fingerprint`` tag still
    identifies the data).
    """
    import mlflow
    from mlflow.data.meta_dataset import MetaDataset

    logged = []
    for name in TABLES:
        frame = getattr(tables, name, None)
        if frame is None:
            continue
        try:
            source = dataset_source(data, name)
            schema = _schema(frame)
            dataset = MetaDataset(
                source=source, name=name, digest=digests[name], schema=schema
            )
            mlflow.log_input(
                dataset,
                context="training",
                tags={"rows": str(len(frame)), "columns": str(frame.shape[1])},
            )
            logged.append(name)
        except Exception as err:  # noqa: BLE001 - lineage must not sink the run
            warnings.warn(
                f"the {name} table could not be logged as an MLflow dataset input "
                f"({type(err).__name__}: {err}); the run's data.fingerprint tag "
                "still identifies the data",
                UserWarning,
                stacklevel=2,
            )
    return logged


def _schema(frame: pd.DataFrame) -> Schema | None:
    from mlflow.types.utils import _infer_schema

    try:
        return _infer_schema(frame.head(1000))
    except Exception:  # noqa: BLE001 - a dtype MLflow has no name for
        return None


def version_description(
    cfg: Config, metrics: Mapping[str, float], tags: Mapping[str, str]
) -> str:
    """The text of a registered version: rule, horizon and per route what ships.

    Examples
    --------
    >>> from segml.config import Config
    >>> text = version_description(
    ...     Config(),
    ...     {"shipped/history/macro_f1": 0.61, "lift/history": 0.02,
    ...      "best_baseline/history/macro_f1": 0.59, "eval/horizon_days": 180.0},
    ...     {"segml.choice.history": "model",
    ...      "segml.best_baseline.history": "persistence"},
    ... )
    >>> print(text)
    segml tier model: count rule (A 5% / B 15% / C 80% of customers), 180-day horizon.
    history: ships model, out-of-time macro-F1 0.610 vs persistence 0.590 (lift +0.020).
    """
    from segml.app.fit import label_shares

    rule = cfg.tiers.rule
    cut_rule, shares = label_shares(cfg)
    unit = "of value" if cut_rule == "value" else "of customers"
    cut = " / ".join(
        f"{t} {share:.0%}" for t, share in zip(cfg.tiers.labels, shares, strict=True)
    )
    horizon = int(metrics.get("eval/horizon_days", cfg.training.horizon_days))
    lines = [f"segml tier model: {rule} rule ({cut} {unit}), {horizon}-day horizon."]
    for route in ("history", "cold_start"):
        shipped = metrics.get(f"shipped/{route}/macro_f1")
        if shipped is None:
            continue
        chosen = tags.get(f"segml.choice.{route}", "model")
        best = tags.get(f"segml.best_baseline.{route}", "best baseline")
        best_f1 = metrics.get(f"best_baseline/{route}/macro_f1")
        lift = metrics.get(f"lift/{route}")
        text = f"{route}: ships {chosen}, out-of-time macro-F1 {shipped:.3f}"
        if best_f1 is not None and lift is not None:
            text += f" vs {best} {best_f1:.3f} (lift {lift:+.3f})"
        lines.append(text + ".")
    return "\n".join(lines)
