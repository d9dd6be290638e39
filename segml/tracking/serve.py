"""Run a registered model behind ``mlflow models serve`` in this environment.

One place for the command (``segml serve``), for starting a server on a free
loopback port and stopping it with its workers (the serving test and
``benchmarks/serving.py``), and for the frame a served model sees after JSON.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from segml.errors import SegmlConfigError

__all__ = [
    "LocalServer",
    "as_served",
    "check_model_uri",
    "free_port",
    "local_server",
    "serve_command",
    "serve_env",
]


def serve_command(
    model_uri: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5001,
    workers: int | None = None,
) -> list[str]:
    """``mlflow models serve`` with the local environment (no env rebuild).

    ``workers`` uvicorn processes answer requests (MLflow's default, 1, when
    ``None``).

    Examples
    --------
    >>> serve_command("models:/m@champion", port=8000)[1:4]
    ['models', 'serve', '-m']
    """
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        *("models", "serve", "-m", model_uri, "--env-manager", "local"),
        *("--host", host, "--port", str(port)),
    ]
    if workers is not None:
        if int(workers) < 1:
            raise SegmlConfigError(f"--workers must be at least 1, got {workers}")
        command += ["--workers", str(int(workers))]
    return command


def check_model_uri(model_uri: str) -> None:
    """Raise unless ``model_uri`` resolves to an MLflow model whose files match
    its manifest (``ModelIntegrityError`` otherwise).

    ``mlflow models serve`` would otherwise fail with a traceback after its
    start-up; a segml joblib export folder is not servable (it has no MLmodel).

    Raises
    ------
    SegmlConfigError
        Naming the URI and what MLflow could not find.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from segml.tracking.model import verify_model_uri

    try:
        mlflow.models.get_model_info(model_uri)
    except MlflowException as exc:
        raise SegmlConfigError(f"model {model_uri!r} not found: {exc.message}") from exc
    verify_model_uri(model_uri)  # before `mlflow models serve` runs its code


def serve_env() -> dict[str, str]:
    """This environment with the interpreter's ``bin`` first on PATH (uvicorn)."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_served(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a served model receives it after JSON: categoricals as str.

    Examples
    --------
    >>> as_served(pd.DataFrame({"s": pd.Categorical(["a"])}))["s"].dtype
    <StringDtype(na_value=nan)>
    """
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype("str")
    return out


@dataclass(frozen=True)
class LocalServer:
    """A running server: where it listens and how long it took to be ready."""

    host: str
    port: int
    ready_seconds: float

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def local_server(
    model_uri: str,
    *,
    workdir: str | os.PathLike,
    workers: int = 1,
    timeout: float = 240.0,
) -> Iterator[LocalServer]:
    """Serve ``model_uri`` on a free loopback port until the block ends.

    The server runs in its own process group, so stopping it also stops its
    workers; its output goes to ``workdir/serve.log``.
    """
    port = free_port()
    command = serve_command(model_uri, port=port, workers=workers)
    with open(Path(workdir) / "serve.log", "w") as server_log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            env=serve_env(),
            cwd=workdir,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(f"http://127.0.0.1:{port}/ping", proc, timeout)
            yield LocalServer("127.0.0.1", port, time.perf_counter() - start)
        finally:
            _stop(proc)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"model server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group (only what we started), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:  # the CLI process is gone; make sure no worker of its group remains
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
