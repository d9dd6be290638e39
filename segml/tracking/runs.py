"""Runs left RUNNING by a process that died: find them and mark them KILLED.

A process killed while logging (SIGKILL, out of memory, a closed laptop) never
ends its MLflow run, which then shows as RUNNING forever. segml tags each run
it starts with the process id, the host and the process start time
(:func:`process_tags`); :func:`close_stale_runs` marks a RUNNING run KILLED,
with the tag ``segml.killed_reason``, when that process is gone:

- on this host, when no process has that id, or the process with that id
  started at another time (the id was reused);
- on another host (or without the tags), only when the run started more than
  ``max_age_hours`` ago: its process cannot be looked at from here.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from pathlib import Path

__all__ = [
    "HOST_TAG",
    "KILLED_REASON_TAG",
    "PID_TAG",
    "STARTED_TAG",
    "close_stale_runs",
    "process_tags",
]

PID_TAG = "segml.pid"
HOST_TAG = "segml.host"
STARTED_TAG = "segml.pid_started"
KILLED_REASON_TAG = "segml.killed_reason"
#: Age from which a RUNNING run whose process cannot be checked is stale.
DEFAULT_MAX_AGE_HOURS = 72.0


def process_tags() -> dict[str, str]:
    """Tags naming this process, for :func:`close_stale_runs` to check later.

    Examples
    --------
    >>> tags = process_tags()
    >>> tags["segml.pid"] == str(os.getpid())
    True
    """
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = _process_start(os.getpid())
    if started is not None:
        tags[STARTED_TAG] = started
    return tags


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: fields after its ')'
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _stale_reason(tags: dict[str, str], start_ms: int, max_age_hours: float) -> str:
    """Why the run's process is gone, or ``""`` when it may still be running."""
    host = socket.gethostname()
    pid_text = tags.get(PID_TAG, "")
    if tags.get(HOST_TAG) == host and pid_text.isdigit():
        pid = int(pid_text)
        if not _alive(pid):
            return f"process {pid} on {host} that logged the run is gone"
        recorded = tags.get(STARTED_TAG)
        if recorded is not None:
            current = _process_start(pid)
            if current is not None and current != recorded:
                return (
                    f"process {pid} on {host} that logged the run is gone (the id "
                    "now belongs to another process)"
                )
        return ""
    age_hours = (time.time() * 1000 - start_ms) / 3_600_000
    if age_hours < max_age_hours:
        return ""
    where = tags.get(HOST_TAG) or "an unknown host"
    return (
        f"RUNNING for {age_hours:.0f} h (over {max_age_hours:g} h), started by "
        f"process {pid_text or '?'} on {where}, which cannot be checked from {host}"
    )


def close_stale_runs(
    experiment_id_or_name: str,
    *,
    tracking_uri: str | None = None,
    max_age_hours: float = DEFAULT_MAX_AGE_HOURS,
) -> list[str]:
    """Mark the experiment's RUNNING runs whose process is gone as KILLED.

    Each such run gets the status KILLED, an end time, and the tag
    ``segml.killed_reason`` saying why (and naming its export folder when the
    run recorded one: the model was exported but never registered). Runs of
    live processes are left alone. An unknown experiment has no runs.

    Returns
    -------
    list of str
        The ids of the runs marked KILLED.
    """
    from mlflow import MlflowClient
    from mlflow.entities import RunStatus
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_id_or_name)
    if experiment is None:
        try:
            experiment = client.get_experiment(experiment_id_or_name)
        except MlflowException:
            return []
    closed: list[str] = []
    page_token = None
    while True:
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string="attributes.status = 'RUNNING'",
            max_results=1000,
            page_token=page_token,
        )
        for run in runs:
            tags = run.data.tags
            reason = _stale_reason(tags, run.info.start_time or 0, max_age_hours)
            if not reason:
                continue
            export = tags.get("segml.export_dir")
            if export:
                reason += f"; its export folder {export} may have no registered model"
            stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            client.set_tag(run.info.run_id, KILLED_REASON_TAG, f"{reason} ({stamp})")
            client.set_terminated(
                run.info.run_id,
                status=RunStatus.to_string(RunStatus.KILLED),
                end_time=int(time.time() * 1000),
            )
            closed.append(run.info.run_id)
        page_token = runs.token
        if not page_token:
            return closed
