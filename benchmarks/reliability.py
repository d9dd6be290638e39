"""Reliability sweep: bad inputs and faults tried as a new user would.

Writes ``RELIABILITY.md`` at the repository root with:

* every case of ``benchmarks/_reliability_cases.py`` (tables through the
  DataFrame, CSV and Parquet paths with several dtypes, ``as_of`` forms,
  degenerate configs, CLI commands, model inputs, model files, malformed HTTP
  bodies) classified as OK / clear error / silent / crash, counted per area,
  with the goal (0 silent, 0 crash, >= 150 cases) and every silent and crash
  case spelled out;
* the served model (``mlflow models serve`` on loopback) under 50 concurrent
  clients x 20 requests, with 1 and 2 workers: errors, p50, p99, requests/s;
* the kill-during-logging check: ``segml train`` is SIGKILLed while it logs
  its MLflow run, a second train runs in the same store, and the state of the
  first run is reported.

Everything runs in a temporary folder (MLflow store, exports, files, compiled
boosters, the server log), removed at the end; only ``RELIABILITY.md`` is
written into the repository. One small model is trained once and reused.

Run: ``python benchmarks/reliability.py [--quick] [--no-write]``
(``--quick`` skips the served model and the kill check; 5-8 minutes in full on
2 shared cores, about 4 with ``--quick``). ``--json FILE`` also saves every
case's outcome.
"""

from __future__ import annotations

import argparse
import http.client
import inspect
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "default.yaml"
OUT = ROOT / "RELIABILITY.md"
GOAL_CASES = 150
CLIENTS, REQUESTS = 50, 20
LOAD_AVERAGE = " / ".join(f"{x:.1f}" for x in os.getloadavg())

# the temporary store must be set before MLflow is imported anywhere
_TMP = Path(tempfile.mkdtemp(prefix="segml-reliability-"))
os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{_TMP}/mlflow.db"
os.environ["SEGML_CACHE_DIR"] = str(_TMP / "cache")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["MPLBACKEND"] = "Agg"
os.environ["TMPDIR"] = str(_TMP / "tmp")
(_TMP / "tmp").mkdir()
tempfile.tempdir = str(_TMP / "tmp")

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _reliability_cases as rc  # noqa: E402
from _report import machine, markdown_table  # noqa: E402

SMALL = [
    "data.synthetic.n_customers=1000",
    "model.lgbm.n_estimators=20",
    "training.n_cutoffs=3",
    "segments.k_max=4",
    "segments.sample_size=500",
]


def log(message: str) -> None:
    print(
        f"[reliability {time.strftime('%H:%M:%S')}] {message}",
        file=sys.stderr,
        flush=True,
    )


# ------------------------------------------------------------------ setup
def small_config(tmp: Path) -> Path:
    """configs/default.yaml with the SMALL settings, for the CLI cases."""
    raw = yaml.safe_load(CONFIG.read_text())
    raw["data"]["synthetic"]["n_customers"] = 1000
    raw["model"]["lgbm"]["n_estimators"] = 20
    raw["training"]["n_cutoffs"] = 3
    raw["segments"].update(k_max=4, sample_size=500)
    raw["models_dir"] = str(tmp / "models")
    path = tmp / "small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def train_model(ctx: rc.Context) -> None:
    """One small model, registered as segml-tier with alias champion."""
    from mlflow import MlflowClient

    from segml.app.train import train
    from segml.config import load_config

    cfg = load_config(ctx.config)
    result = train(cfg, quiet=True)
    MlflowClient().set_registered_model_alias(
        result.registered_model, "champion", result.version
    )
    ctx.model_uri = f"models:/{result.registered_model}@champion"
    ctx.pipeline = result.outcome.pipeline
    snapshot = result.outcome.snapshot.reset_index()
    history = snapshot.loc[snapshot["has_history"]].head(6)
    leads = snapshot.loc[~snapshot["has_history"]].head(4)
    ctx.rows = pd.concat([history, leads], ignore_index=True)


# -------------------------------------------------------------- the sweep
def run_cases(cases: list[rc.Case]) -> list[dict]:
    results = []
    for k, case in enumerate(cases, 1):
        outcome, seconds = rc.timed(case)
        results.append(
            {
                "area": case.area,
                "name": case.name,
                "expect": case.expect,
                "status": outcome.status,
                "detail": outcome.detail,
                "refused": outcome.refused,
                "seconds": seconds,
            }
        )
        if outcome.status in (rc.SILENT, rc.CRASH) or k % 25 == 0:
            log(f"{k}/{len(cases)} {case.area} | {case.name}: {outcome.status}")
    return results


def safely(label: str, build) -> list[rc.Case]:
    """Cases from one builder; a builder that fails is one crash case."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - the sweep never stops
        detail = f"could not set up the cases: {type(exc).__name__}: {exc}"
        return [
            rc.Case(
                label, "(setup)", "cases run", lambda d=detail: rc.Outcome(rc.CRASH, d)
            )
        ]


# -------------------------------------------------------------- the load
def load_test(url: str, rows: pd.DataFrame, clients: int, requests: int) -> dict:
    """``clients`` threads, each with one keep-alive connection, ``requests``
    posts of 1-10 rows; bounded by a per-request timeout."""
    from urllib.parse import urlparse

    from segml.tracking.serve import as_served

    served = as_served(rows.reset_index(drop=True))
    bodies = [
        rc.split_body(served.sample(n, replace=True, random_state=n))
        for n in range(1, 11)
    ]
    parsed = urlparse(url)
    latencies: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        for _ in range(requests):
            body = bodies[rng.randrange(len(bodies))]
            start = time.perf_counter()
            try:
                conn.request(
                    "POST",
                    "/invocations",
                    body=body,
                    headers={"Content-Type": "application/json"},
                )
                answer = conn.getresponse()
                payload = answer.read()
                ok = answer.status == 200 and b"predictions" in payload
                kind = None if ok else f"HTTP {answer.status}"
            except Exception as exc:  # noqa: BLE001 - counted as an error
                kind = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(
                    parsed.hostname, parsed.port, timeout=120
                )
            elapsed = time.perf_counter() - start
            with lock:
                if kind is None:
                    latencies.append(elapsed)
                else:
                    errors[kind] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - start
    ordered = sorted(latencies)

    def quantile(q: float) -> float:
        return (
            ordered[min(len(ordered) - 1, int(q * len(ordered)))]
            if ordered
            else float("nan")
        )

    return {
        "requests": clients * requests,
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "p50": statistics.median(ordered) if ordered else float("nan"),
        "p99": quantile(0.99),
        "rps": len(latencies) / wall if wall else 0.0,
        "wall": wall,
    }


def server_parts(ctx: rc.Context) -> tuple[list[dict], list[dict], str]:
    """HTTP cases and the load with 1 worker, then the load with 2 workers."""
    from segml.tracking.serve import local_server

    accepts_workers = "workers" in inspect.signature(local_server).parameters
    note = (
        "`local_server` accepts `workers=`: measured with 1 and 2 workers."
        if accepts_workers
        else "`local_server` has no `workers=` argument yet: 1 worker only."
    )
    http_results: list[dict] = []
    loads: list[dict] = []
    for workers in (1, 2) if accepts_workers else (1,):
        folder = ctx.tmp / f"serve-{workers}"
        folder.mkdir(exist_ok=True)
        kwargs = {"workers": workers} if accepts_workers else {}
        log(f"starting the server with {workers} worker(s)")
        try:
            with local_server(
                ctx.model_uri, workdir=folder, timeout=240, **kwargs
            ) as server:
                ctx.server_url = server.url
                if workers == 1:
                    http_results = run_cases(safely("HTTP", lambda: rc.http_cases(ctx)))
                log(
                    f"load: {CLIENTS} clients x {REQUESTS} requests, "
                    f"{workers} worker(s)"
                )
                result = load_test(server.url, ctx.rows, CLIENTS, REQUESTS)
                result.update(workers=workers, ready=server.ready_seconds)
                loads.append(result)
        except Exception as exc:  # noqa: BLE001 - reported, the sweep goes on
            loads.append({"workers": workers, "failed": f"{type(exc).__name__}: {exc}"})
            tail = (
                (folder / "serve.log").read_text()[-400:]
                if (folder / "serve.log").exists()
                else ""
            )
            log(f"server with {workers} worker(s) failed: {exc} {tail}")
    return http_results, loads, note


# -------------------------------------------------------------- the kill
def kill_check(tmp: Path, config: Path) -> dict:
    """SIGKILL ``segml train`` during logging, train again, read the first run."""
    from mlflow import MlflowClient

    folder = tmp / "kill"
    folder.mkdir()
    store = f"sqlite:///{folder}/mlflow.db"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store,
        "SEGML_CACHE_DIR": str(folder / "cache"),
    }
    segml = str(Path(sys.executable).parent / "segml")
    args = [
        segml,
        "train",
        "--config",
        str(config),
        "--set",
        "data.synthetic.n_customers=800",
        "--set",
        f"models_dir={folder / 'models'}",
    ]
    report: dict = {"store": "temporary SQLite store"}
    proc = subprocess.Popen(
        args,
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen = threading.Event()

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "logging the MLflow run" in line:
                seen.set()
        proc.stderr.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    db = folder / "mlflow.db"
    try:
        if not seen.wait(timeout=240):
            report["outcome"] = (
                "the logging step never started (train too slow or failed)"
            )
            return report
        # kill once the run exists (read-only polling: the child creates the store)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if _runs_in(db):
                break
            time.sleep(0.1)
        report["run_seen_before_kill"] = bool(_runs_in(db))
        time.sleep(1.0)  # inside MLflow logging: params, metrics, artifacts, model
        report["alive_at_kill"] = proc.poll() is None
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
    first = _runs_in(db)
    report["runs_after_kill"] = [(r[:8], status) for r, status in first]
    report["exports_after_kill"] = (
        sorted(p.name for p in (folder / "models").glob("*") if p.is_dir())
        if (folder / "models").exists()
        else []
    )
    second = subprocess.run(
        args, cwd=folder, env=env, capture_output=True, text=True, timeout=400
    )
    report["second_exit"] = second.returncode
    if second.returncode != 0:
        report["second_error"] = rc.one_line(second.stderr.strip().splitlines()[-1:])
    client = MlflowClient(tracking_uri=store)
    killed_ids = {r for r, _ in first}
    states = []
    for run_id in killed_ids:
        run = client.get_run(run_id)
        states.append(
            {
                "run": run_id[:8],
                "status": run.info.status,
                "killed_reason": run.data.tags.get("segml.killed_reason"),
            }
        )
    report["first_run_after_second_train"] = states
    try:
        versions = client.search_model_versions("name='segml-tier'")
        report["registered_versions"] = sorted(
            (v.version, v.run_id[:8]) for v in versions
        )
    except Exception as exc:  # noqa: BLE001
        report["registered_versions"] = f"{type(exc).__name__}"
    if not report.get("alive_at_kill"):
        report["outcome"] = "not tested: train ended before the kill"
    elif not killed_ids and not report.get("run_seen_before_kill"):
        report["outcome"] = "not tested: killed before its run was created"
    elif not killed_ids:
        report["outcome"] = "met: the kill left no run behind"
    elif all(s["status"] == "KILLED" and s["killed_reason"] for s in states):
        report["outcome"] = (
            "met: the killed run is KILLED with a segml.killed_reason tag"
        )
    elif all(s["status"] in ("KILLED", "FAILED") for s in states):
        report["outcome"] = "partly: the run is ended, but without segml.killed_reason"
    else:
        report["outcome"] = "**missed**: the killed run is still " + ", ".join(
            s["status"] for s in states
        )
    return report


def _runs_in(db: Path) -> list[tuple[str, str]]:
    """(run id, status) of every run in an MLflow SQLite store, read-only."""
    import sqlite3

    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return [
                tuple(row) for row in conn.execute("SELECT run_uuid, status FROM runs")
            ]
    except sqlite3.Error:
        return []


# ------------------------------------------------------------- the report
def fmt(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds == seconds else "n/a"


def render(
    results: list[dict],
    loads: list[dict],
    load_note: str,
    kill: dict | None,
    quick: bool,
    wall: float,
) -> str:
    areas: dict[str, Counter] = {}
    for r in results:
        areas.setdefault(r["area"], Counter())[r["status"]] += 1
    rows = [
        [a, sum(c.values()), *(c[s] for s in rc.STATUSES)] for a, c in areas.items()
    ]
    totals = Counter(r["status"] for r in results)
    rows.append(["**total**", len(results), *(f"**{totals[s]}**" for s in rc.STATUSES)])
    n_silent, n_crash = totals[rc.SILENT], totals[rc.CRASH]
    refused = [r for r in results if r["refused"]]

    def met(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = [
        "# Reliability",
        "",
        "Produced by `python benchmarks/reliability.py` "
        f"({'--quick, ' if quick else ''}{wall / 60:.1f} min); the cases are in "
        "`benchmarks/_reliability_cases.py`. Each case is a bad input or a fault "
        "tried as a new user would, with its expected outcome declared beside it "
        "(a value computed by hand-built pandas, or an error naming the table and "
        "column, the config key or the argument).",
        "",
        f"Code: {code_version()}.",
        "",
        f"Machine: {machine()}; load average {LOAD_AVERAGE} at the start (the "
        "cores are shared with other work, which slows the served model most).",
        "",
        "Outcomes: **OK** the correct result (or, where a case allows both, a clear "
        "error); **clear error** a `SegmlDataError` / `SegmlConfigError` (or, for "
        "arguments, the documented `ValueError`/`TypeError`; for model URIs "
        "MLflow's error) naming the table and column, key or argument; on the CLI "
        "exit code 2 and one `error:` line without a traceback; over HTTP a 4xx "
        "with a message; **silent** a wrong result, or a result where an error was "
        "due; **crash** any other exception, a traceback, another exit code, an "
        "HTTP 5xx, or an error that does not name what is wrong.",
        "",
        "## Cases per area",
        "",
        markdown_table(["area", "cases", *rc.STATUSES], rows),
        "",
        f"Goal: 0 silent ({n_silent}: {met(n_silent == 0)}), 0 crash ({n_crash}: "
        f"{met(n_crash == 0)}), >= {GOAL_CASES} cases ({len(results)}: "
        f"{met(len(results) >= GOAL_CASES)}). Valid inputs refused with a clear "
        f"error: {len(refused)}.",
        "",
    ]
    for status in (rc.SILENT, rc.CRASH):
        bad = [r for r in results if r["status"] == status]
        lines += [f"## {status.capitalize()} cases ({len(bad)})", ""]
        if bad:
            lines.append(
                markdown_table(
                    ["area", "case", "expected", "what happened"],
                    [
                        [
                            r["area"],
                            _cell(r["name"]),
                            _cell(r["expect"]),
                            _cell(r["detail"]),
                        ]
                        for r in bad
                    ],
                )
            )
        else:
            lines.append("None.")
        lines.append("")
    if refused:
        lines += [
            "## Valid inputs refused",
            "",
            markdown_table(
                ["area", "case", "what happened"],
                [[r["area"], _cell(r["name"]), _cell(r["detail"])] for r in refused],
            ),
            "",
        ]
    lines += ["## Served model under load", ""]
    if quick:
        lines.append("Skipped (`--quick`).")
    else:
        lines += [
            f"`mlflow models serve` on 127.0.0.1, {CLIENTS} concurrent clients x "
            f"{REQUESTS} requests (keep-alive, 1-10 rows each, `dataframe_split`). "
            f"{load_note} Reference before this work: 1 worker, p50 1.1 s, 45 "
            "requests/s.",
            "",
        ]
        table = []
        for load in loads:
            if "failed" in load:
                table.append(
                    [
                        load["workers"],
                        "server failed: " + _cell(load["failed"]),
                        "",
                        "",
                        "",
                        "",
                    ]
                )
                continue
            kinds = ", ".join(f"{k} x{v}" for k, v in load["error_kinds"].items())
            table.append(
                [
                    load["workers"],
                    f"{load['ok']} / {load['requests']}",
                    f"{load['errors']}" + (f" ({kinds})" if kinds else ""),
                    fmt(load["p50"]),
                    fmt(load["p99"]),
                    f"{load['rps']:.1f}",
                ]
            )
        lines.append(
            markdown_table(
                ["workers", "answered 200", "errors", "p50 s", "p99 s", "requests/s"],
                table,
            )
        )
        errors = sum(load.get("errors", 1) for load in loads)
        lines += ["", f"Goal: 0 errors ({errors}: {met(errors == 0)}).", ""]
    lines += ["## Kill during logging", ""]
    if kill is None:
        lines.append("Skipped (`--quick`).")
    else:
        lines += [
            "`segml train` (synthetic, 800 customers) in a subprocess with a temporary "
            "MLflow store, SIGKILLed 1 s after its run appeared in the store (it "
            "had printed `logging the MLflow run`); then a second `segml train` in "
            "the same store.",
            "",
            f"- Runs right after the kill: {kill.get('runs_after_kill', 'n/a')}",
            f"- Export folders right after the kill: "
            f"{kill.get('exports_after_kill', 'n/a')}",
            f"- Second train exit code: {kill.get('second_exit', 'n/a')}"
            + (f" ({kill['second_error']})" if kill.get("second_error") else ""),
            f"- The killed run after the second train: "
            f"{kill.get('first_run_after_second_train', 'n/a')}",
            f"- Registered versions (version, run): "
            f"{kill.get('registered_versions', 'n/a')}",
            f"- Outcome: {kill.get('outcome', 'n/a')}",
        ]
    lines += [
        "",
        "## Every case",
        "",
        "<details><summary>all cases and outcomes</summary>",
        "",
        markdown_table(
            ["area", "case", "expected", "outcome", "detail", "s"],
            [
                [
                    r["area"],
                    _cell(r["name"]),
                    _cell(r["expect"]),
                    r["status"],
                    _cell(r["detail"]),
                    f"{r['seconds']:.1f}",
                ]
                for r in results
            ],
        ),
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def code_version() -> str:
    """The commit of the imported segml, and whether its files have changes."""
    import segml

    where = Path(segml.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"segml from {where} (not a git checkout)"
    changed = len(dirty.splitlines())
    return f"segml at commit {head}" + (
        f" with uncommitted changes in {changed} file(s) of segml/" if changed else ""
    )


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the served model (HTTP cases, load) and the kill",
    )
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="print the report instead of writing RELIABILITY.md",
    )
    parser.add_argument("--json", help="also write every case's outcome to this file")
    args = parser.parse_args()
    start = time.perf_counter()
    tmp = _TMP
    env = {**os.environ}
    ctx = rc.Context(tmp=tmp, env=env, config=small_config(tmp))
    try:
        log("training the shared model")
        train_model(ctx)
        log(f"model {ctx.model_uri}")
        builders = [
            ("transactions", lambda: rc.transaction_cases(tmp)),
            ("customers", lambda: rc.customer_cases(tmp)),
            ("events", lambda: rc.event_cases(tmp)),
            ("read_*", lambda: rc.read_cases(tmp)),
            ("as_of", lambda: rc.as_of_cases(tmp)),
            ("model inputs", lambda: rc.model_cases(ctx)),
            ("model files", lambda: rc.trust_cases(ctx)),
            ("config", lambda: rc.config_cases(ctx)),
            ("CLI", lambda: rc.cli_cases(ctx, SMALL)),
        ]
        results = []
        for label, build in builders:
            log(f"cases: {label}")
            results += run_cases(safely(label, build))
        loads: list[dict] = []
        note = ""
        kill = None
        if not args.quick:
            http_results, loads, note = server_parts(ctx)
            results += http_results
            log("kill during logging")
            try:
                kill = kill_check(tmp, ctx.config)
            except Exception as exc:  # noqa: BLE001
                kill = {"outcome": f"**check failed**: {type(exc).__name__}: {exc}"}
        text = render(
            results, loads, note, kill, args.quick, time.perf_counter() - start
        )
        if args.no_write:
            print(text)
        else:
            OUT.write_text(text)
            log(f"wrote {OUT}")
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
        totals = Counter(r["status"] for r in results)
        log(
            f"{len(results)} cases: "
            + ", ".join(f"{s} {totals[s]}" for s in rc.STATUSES)
            + f" ({(time.perf_counter() - start) / 60:.1f} min)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
