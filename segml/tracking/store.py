"""Where runs go: the tracking store and the experiment's artifact location."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["DEFAULT_DB", "artifact_location_for", "resolve_tracking_uri"]

DEFAULT_DB = "mlflow.db"


def resolve_tracking_uri(configured: str | None = None) -> str:
    """``MLFLOW_TRACKING_URI``, else the config's, else ``sqlite:///./mlflow.db``.

    The default is a SQLite file in the working directory (absolute path), so a
    fresh machine needs no server.

    Examples
    --------
    >>> import os
    >>> saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> resolve_tracking_uri("sqlite:////tmp/x.db")
    'sqlite:////tmp/x.db'
    >>> resolve_tracking_uri().endswith("/mlflow.db")
    True
    >>> if saved is not None:
    ...     os.environ["MLFLOW_TRACKING_URI"] = saved
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    if configured:
        return configured
    return f"sqlite:///{(Path.cwd() / DEFAULT_DB).resolve()}"


def artifact_location_for(tracking_uri: str, experiment: str) -> str | None:
    """An explicit artifact folder beside a SQLite or file store.

    MLflow 3 puts a new experiment's artifacts under ``./mlruns`` of whatever
    directory the process runs in unless the experiment names a location; segml
    names ``<store folder>/mlruns/<experiment>`` so runs and artifacts stay
    together. Remote stores (http, databricks, ...) choose their own.

    Examples
    --------
    >>> artifact_location_for("sqlite:////data/mlflow.db", "churn")
    'file:///data/mlruns/churn'
    >>> artifact_location_for("http://localhost:5000", "churn") is None
    True
    """
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        db_path = Path(tracking_uri.removeprefix("sqlite:///"))
        folder = db_path.parent
    elif parsed.scheme in ("", "file"):
        folder = Path(parsed.path if parsed.scheme else tracking_uri)
    else:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in experiment)
    return (folder.resolve() / "mlruns" / safe).as_uri()
