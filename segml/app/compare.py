"""Compare an experiment's runs and promote a model version, protecting users.

Two guards sit between a training run and the users it would serve:

- :func:`compare_runs` ranks runs only against runs scored the same way (same
  tier rule and horizons) and shows each run's lift over its best baseline;
- :func:`promote` refuses a version whose run is below its best baseline on a
  route it ships, or below the current champion on the same out-of-time test,
  unless ``force=True`` (``segml promote --force``).

Both read what ``segml train`` logs: ``lift/<route>`` (shipped minus best
baseline macro-F1), ``shipped/<route>/macro_f1``, ``eval/horizon_days``, the tags
``segml.choice.<route>`` and ``eval.test_cutoff`` and the params ``tiers.rule``
and ``training.horizon_days``. Runs logged before these names existed are
treated as "unknown", never as an error.
"""

from __future__ import annotations

import math
import warnings

import pandas as pd

from segml.errors import SegmlConfigError
from segml.tracking.store import resolve_tracking_uri

__all__ = ["compare_runs", "plot_comparison", "promote"]

ROUTES = ("history", "cold_start")
# float noise allowed when a shipped score equals its reference (lift "0")
_TOLERANCE = 1e-9

_SHOWN_METRICS = (
    "history/macro_f1",
    "cold_start/macro_f1",
    "all/macro_f1",
    "baseline/persistence/history/macro_f1",
    "segments/k",
)
_GROUP_PARAMS = ("params.tiers.rule", "params.training.horizon_days")


def _column(runs: pd.DataFrame, name: str) -> pd.Series:
    """``runs[name]``, or an all-missing column when no run logged it."""
    if name in runs.columns:
        return runs[name]
    return pd.Series([None] * len(runs), index=runs.index, dtype="object")


def _days(value) -> str | None:
    """A horizon as text ('180'), from a param string or a metric float."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return str(int(float(value)))
    except (TypeError, ValueError):
        return str(value)


def comparable_group(rule, horizon_days, eval_horizon_days=None) -> str:
    """The label of the runs that may be ranked against each other.

    Runs are comparable when they cut tiers with the same rule, predict the same
    horizon and were tested on the same horizon. A run that does not log
    ``eval/horizon_days`` (logged before short histories were allowed) was tested
    on its full horizon. Unknown values show as ``?``.

    Examples
    --------
    >>> comparable_group("count", "180")
    'rule=count, horizon=180d'
    >>> comparable_group("value", "273", 91.0)
    'rule=value, horizon=273d, tested on 91d'
    >>> comparable_group(None, None, None)
    'rule=?, horizon=?'
    """
    rule_text = "?" if rule is None or pd.isna(rule) else str(rule)
    horizon = _days(horizon_days)
    label = f"rule={rule_text}, horizon={horizon + 'd' if horizon else '?'}"
    tested = _days(eval_horizon_days)
    if tested is not None and tested != horizon:
        label += f", tested on {tested}d"
    return label


def compare_runs(
    experiment: str,
    *,
    metric: str = "history/macro_f1",
    tracking_uri: str | None = None,
    top: int = 20,
    rule: str | None = None,
    horizon_days: int | None = None,
) -> pd.DataFrame:
    """The runs of ``experiment``, grouped by what makes them comparable.

    A macro-F1 under the value rule or on a 91-day horizon is not better or worse
    than one under the count rule or on 180 days: it answers another question.
    So runs are never ranked across groups: each row carries its
    ``comparable_group`` (``tiers.rule``, ``training.horizon_days`` and, when it
    differs, the horizon the out-of-time test was scored on), groups come newest
    first (the group of the latest run leads) and runs are sorted by ``metric``,
    best first, only within their group. ``top`` keeps the first ``top`` rows of
    that order.

    Parameters
    ----------
    experiment : str
        MLflow experiment name.
    metric : str, default "history/macro_f1"
        The metric runs are sorted by within their group.
    tracking_uri : str, optional
        Tracking store; ``MLFLOW_TRACKING_URI`` wins when set.
    top : int, default 20
        Show at most this many runs.
    rule, horizon_days : optional
        Keep only runs with this ``tiers.rule`` / ``training.horizon_days``.

    Returns
    -------
    DataFrame
        ``comparable_group``, ``run_id`` (first 8 characters), ``start``, the
        chosen metric, ``lift/history`` and ``lift/cold_start`` (shipped minus best
        baseline macro-F1 on the out-of-time test; NaN when the run did not log
        it), ``choice/history`` and ``choice/cold_start`` (what the run ships per
        route: ``model`` or a baseline's name), a few key metrics,
        ``test_cutoff`` when logged, then every parameter whose value differs
        between the runs shown (rule and horizon are in the group). ``attrs["note"]``
        is one line saying how to read the table.

    Raises
    ------
    SegmlConfigError
        Unknown experiment, no runs, a metric no run logged, or filters that
        leave no run.
    """
    import mlflow

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    if mlflow.get_experiment_by_name(experiment) is None:
        raise SegmlConfigError(f"no MLflow experiment named {experiment!r}")
    runs = mlflow.search_runs(experiment_names=[experiment], max_results=10_000)
    if runs.empty:
        raise SegmlConfigError(f"experiment {experiment!r} has no runs yet")
    column = f"metrics.{metric}"
    if column not in runs.columns:
        known = sorted(
            c.removeprefix("metrics.") for c in runs if c.startswith("metrics.")
        )
        raise SegmlConfigError(
            f"metric {metric!r} is not logged in {experiment!r}; known: "
            + ", ".join(known[:15])
        )
    runs = _filtered(runs, experiment, rule, horizon_days)
    groups = [
        comparable_group(r, h, e)
        for r, h, e in zip(
            _column(runs, "params.tiers.rule"),
            _column(runs, "params.training.horizon_days"),
            _column(runs, "metrics.eval/horizon_days"),
            strict=True,
        )
    ]
    runs = runs.assign(
        _group=groups,
        _latest=runs.groupby(groups)["start_time"].transform("max"),
    )
    runs = runs.sort_values(
        ["_latest", "_group", column],
        ascending=[False, True, False],
        na_position="last",
        kind="stable",
    ).head(top)
    table = pd.DataFrame(
        {
            "comparable_group": runs["_group"],
            "run_id": runs["run_id"].str[:8],
            "start": runs["start_time"].dt.strftime("%Y-%m-%d %H:%M"),
            metric: runs[column].round(4),
        }
    )
    for route in ROUTES:
        name = f"lift/{route}"
        if name != metric:
            table[name] = pd.to_numeric(_column(runs, f"metrics.{name}")).round(4)
    for route in ROUTES:
        choice = _column(runs, f"tags.segml.choice.{route}")
        table[f"choice/{route}"] = pd.Series(
            [v if isinstance(v, str) else None for v in choice],
            index=runs.index,
            dtype="object",
        )
    for name in _SHOWN_METRICS:
        if name != metric and f"metrics.{name}" in runs:
            table[name] = runs[f"metrics.{name}"].round(4)
    if "tags.eval.test_cutoff" in runs:
        table["test_cutoff"] = runs["tags.eval.test_cutoff"]
    params = [
        c for c in runs.columns if c.startswith("params.") and c not in _GROUP_PARAMS
    ]
    differing = [c for c in params if runs[c].astype("str").nunique(dropna=False) > 1]
    for c in differing:
        table[c.removeprefix("params.")] = runs[c]
    table = table.reset_index(drop=True)
    table.attrs["note"] = _note(metric, table["comparable_group"].nunique())
    return table


def _filtered(
    runs: pd.DataFrame, experiment: str, rule: str | None, horizon_days: int | None
) -> pd.DataFrame:
    """Keep the runs with this rule / training horizon (when given)."""
    for key, wanted in (
        ("tiers.rule", None if rule is None else str(rule)),
        ("training.horizon_days", _days(horizon_days)),
    ):
        if wanted is None:
            continue
        values = _column(runs, f"params.{key}")
        if key == "training.horizon_days":
            values = values.map(_days)
        kept = runs[values == wanted]
        if kept.empty:
            seen = sorted({str(v) for v in values.dropna()})
            raise SegmlConfigError(
                f"no run of {experiment!r} has {key}={wanted}; logged: "
                + (", ".join(seen) or "none")
            )
        runs = kept
    return runs


def _note(metric: str, n_groups: int) -> str:
    """One line telling the reader how to read the table."""
    lift = "lift = shipped minus best baseline macro-F1 (NaN: not logged)"
    if n_groups <= 1:
        return f"{metric} best first within one comparable group; {lift}"
    return (
        f"{n_groups} comparable groups (different tiers.rule or horizon): "
        f"{metric} is ranked within each group only, never across groups; {lift}"
    )


def plot_comparison(table: pd.DataFrame, metric: str):
    """Bar chart of ``metric`` per run, one colour per comparable group.

    Returns the matplotlib Figure; bars follow the table's order.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4, 0.6 * len(table) + 2), 3.5))
    ax = fig.subplots()
    groups = (
        table["comparable_group"]
        if "comparable_group" in table
        else pd.Series([""] * len(table))
    )
    palette = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]
    for i, group in enumerate(dict.fromkeys(groups)):
        rows = (groups == group).to_numpy()
        ax.bar(
            table["run_id"][rows],
            table[metric][rows],
            color=palette[i % len(palette)],
            label=group or None,
        )
    ax.set_ylabel(metric)
    ax.set_xlabel("run")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title(f"{metric} by run")
    if groups.nunique() > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def promote(
    name: str,
    *,
    version: str | int | None = None,
    from_alias: str = "candidate",
    alias: str = "champion",
    tracking_uri: str | None = None,
    force: bool = False,
) -> str:
    """Point ``alias`` of registered model ``name`` at a version, if it is safe.

    The version is ``version``, or the one ``from_alias`` points at. Its run (the
    model version's ``run_id``) is checked before the alias moves:

    1. **Best baseline.** On every route the run ships (it logged
       ``lift/<route>``), the lift over the best baseline must be ≥ 0. A route
       that ships a baseline scores the baseline's own macro-F1: its lift is 0
       and passes.
    2. **Champion.** When ``alias`` already points at another version whose run
       was scored on the same test (same ``eval.test_cutoff`` tag, ``tiers.rule``,
       ``training.horizon_days``, ``eval/horizon_days`` and, when both logged it,
       ``data.fingerprint``), the version must not score below it: route by route
       on ``shipped/<route>/macro_f1`` where both logged it, else on
       ``all/macro_f1``. Runs scored on different tests are not compared (the
       usual case after new data arrives), and nothing is said about it.

    A run that logged no ``lift/*`` metric (trained before segml logged them), or
    whose run cannot be read, is promoted with a one-line ``UserWarning`` saying
    its lift is unknown.

    Parameters
    ----------
    name : str
        Registered model name.
    version : str or int, optional
        Version to promote; default: the one ``from_alias`` points at.
    from_alias : str, default "candidate"
    alias : str, default "champion"
        The alias moved (and the champion checked against).
    tracking_uri : str, optional
        Tracking store; ``MLFLOW_TRACKING_URI`` wins when set.
    force : bool, default False
        Promote even when a check fails (``segml promote --force``); the failed
        checks are then given as a ``UserWarning``.

    Returns
    -------
    str
        The version promoted.

    Raises
    ------
    SegmlConfigError
        The model, version or alias does not exist, or (without ``force``) one
        line naming the check that failed: the route, its lift or the champion's
        score, and that ``--force`` overrides.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri))
    client = mlflow.MlflowClient()
    try:
        if version is None:
            version = client.get_model_version_by_alias(name, from_alias).version
        chosen = client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise SegmlConfigError(
            f"cannot promote {name!r}: {exc.message.splitlines()[0]}"
        ) from None
    version = str(version)
    run = _run(client, chosen.run_id)
    where = f"{name!r} version {version}"
    if run is None or not any(f"lift/{r}" in run.data.metrics for r in ROUTES):
        about = f"run {chosen.run_id[:8]}" if chosen.run_id else "no run"
        warnings.warn(
            f"{where}: lift over the best baseline is unknown ({about} logged no "
            "lift/<route> metric); promoting without that check",
            UserWarning,
            stacklevel=2,
        )
        problems = []
    else:
        problems = _below_baseline(run)
    if run is not None:
        problems += _below_champion(client, name, alias, version, run)
    if problems:
        reason = f"{where}: " + "; ".join(problems)
        if not force:
            raise SegmlConfigError(
                f"refusing to promote {reason}; --force (force=True) overrides"
            )
        warnings.warn(f"forced promotion of {reason}", UserWarning, stacklevel=2)
    try:
        client.set_registered_model_alias(name, alias, version)
    except MlflowException as exc:
        raise SegmlConfigError(
            f"cannot promote {name!r}: {exc.message.splitlines()[0]}"
        ) from None
    return version


def _run(client, run_id: str | None):
    """The MLflow run, or None when there is none or it cannot be read."""
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    try:
        return client.get_run(run_id)
    except MlflowException:
        return None


def _number(metrics: dict[str, float], key: str) -> float | None:
    value = metrics.get(key)
    if value is None or math.isnan(value):
        return None
    return float(value)


def _below_baseline(run) -> list[str]:
    """One phrase per shipped route whose lift over the best baseline is < 0."""
    metrics, tags = run.data.metrics, run.data.tags
    problems = []
    for route in ROUTES:
        lift = _number(metrics, f"lift/{route}")
        if lift is None or lift >= -_TOLERANCE:
            continue
        choice = tags.get(f"segml.choice.{route}", "?")
        shipped = _number(metrics, f"shipped/{route}/macro_f1")
        best = _number(metrics, f"best_baseline/{route}/macro_f1")
        scores = (
            f" ({shipped:.4f} vs {best:.4f})"
            if shipped is not None and best is not None
            else ""
        )
        problems.append(
            f"its {route} route (ships {choice}) is below its best baseline, "
            f"lift {lift:+.4f} macro-F1{scores}"
        )
    return problems


def _same_test(a, b) -> str | None:
    """The shared test cutoff when runs ``a`` and ``b`` were scored alike."""
    cutoff = a.data.tags.get("eval.test_cutoff")
    if cutoff is None or cutoff != b.data.tags.get("eval.test_cutoff"):
        return None
    for key in ("tiers.rule", "training.horizon_days"):
        if a.data.params.get(key) != b.data.params.get(key):
            return None
    horizons = [_number(r.data.metrics, "eval/horizon_days") for r in (a, b)]
    if horizons[0] != horizons[1]:
        return None
    prints = [r.data.tags.get("data.fingerprint") for r in (a, b)]
    if None not in prints and prints[0] != prints[1]:
        return None
    return cutoff


def _below_champion(client, name: str, alias: str, version: str, run) -> list[str]:
    """One phrase per score below the current ``alias`` version on the same test."""
    from mlflow.exceptions import MlflowException

    try:
        champion = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return []
    if str(champion.version) == version or champion.run_id == run.info.run_id:
        return []
    other = _run(client, champion.run_id)
    cutoff = None if other is None else _same_test(run, other)
    if cutoff is None:
        return []
    keys = [
        f"shipped/{route}/macro_f1"
        for route in ROUTES
        if f"shipped/{route}/macro_f1" in run.data.metrics
        and f"shipped/{route}/macro_f1" in other.data.metrics
    ] or ["all/macro_f1"]
    problems = []
    for key in keys:
        mine = _number(run.data.metrics, key)
        theirs = _number(other.data.metrics, key)
        if mine is None or theirs is None or mine >= theirs - _TOLERANCE:
            continue
        problems.append(
            f"{key} {mine:.4f} is below {alias} version {champion.version} "
            f"({theirs:.4f}, {mine - theirs:+.4f}) on the same test "
            f"(cutoff {cutoff})"
        )
    return problems
