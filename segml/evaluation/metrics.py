"""Tier metrics: classification scores, calibration, per-route tables.

Evaluation in segml is always out of time: a model fitted on earlier cutoffs
predicts the tiers of a later one, and the predictions are scored here for all
rows and separately for the ``history`` and ``cold_start`` routes, beside the
baselines of :mod:`segml.evaluation.baselines`.

Conventions shared by every function of this module:

* tiers are labels best first (default ``("A", "B", "C")``); labels outside
  ``tiers`` and missing labels raise ``ValueError``;
* ``y_true`` and ``y_pred`` are compared by position (a Series' index is not
  used for alignment, except in :func:`evaluate_routes`, which checks it);
* probabilities are a DataFrame with ``p_<tier>`` columns (the predictor's
  output) or an array whose columns are in tier order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss as _sk_log_loss

__all__ = [
    "DEFAULT_TIERS",
    "ROUTES",
    "compare_routes",
    "confusion",
    "evaluate_routes",
    "expected_calibration_error",
    "flatten_metrics",
    "metric_names",
    "tier_metrics",
]

#: Tier labels, best first.
DEFAULT_TIERS: tuple[str, ...] = ("A", "B", "C")
#: Row groups reported by :func:`evaluate_routes`, in order.
ROUTES: tuple[str, ...] = ("all", "history", "cold_start")
#: Probabilities are clipped to ``[PROBA_EPS, 1]`` before the log loss.
PROBA_EPS = 1e-15
_SUM_TOL = 1e-6


def check_tiers(tiers: Sequence[str]) -> tuple[str, ...]:
    """Return ``tiers`` as a tuple of two or more unique non-empty strings."""
    if isinstance(tiers, str) or not isinstance(tiers, Sequence):
        raise ValueError(f"tiers must be a sequence of labels, got {tiers!r}")
    labels = tuple(tiers)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ValueError(f"tiers must hold two or more unique labels, got {labels!r}")
    if any(not isinstance(t, str) or not t for t in labels):
        raise ValueError(f"tiers must be non-empty strings, got {labels!r}")
    return labels


def tier_codes(y: object, tiers: Sequence[str], name: str = "y") -> np.ndarray:
    """Integer code of each label (0 = best tier); unknown or missing labels raise."""
    if isinstance(y, pd.DataFrame):
        raise TypeError(f"{name} must be one-dimensional, got a DataFrame")
    values = np.asarray(y, dtype=object).reshape(-1)
    codes = pd.Index(list(tiers), dtype=object).get_indexer(values).astype("int64")
    bad = codes < 0
    if bad.any():
        shown = sorted({str(v) for v in values[bad]})[:5]
        raise ValueError(
            f"{name} has {int(bad.sum())} labels that are missing or not in "
            f"tiers={list(tiers)}: {shown}"
        )
    return codes


def proba_matrix(proba: object, tiers: Sequence[str], n: int) -> np.ndarray:
    """Probabilities as a writable ``(n, len(tiers))`` float array in tier order."""
    if isinstance(proba, pd.DataFrame):
        columns = [f"p_{t}" for t in tiers]
        missing = [c for c in columns if c not in proba.columns]
        if missing:
            raise ValueError(f"proba lacks the columns {missing}")
        values = proba[columns].to_numpy(dtype=float, copy=True)
    else:
        values = np.array(proba, dtype=float, copy=True)
    if values.shape != (n, len(tiers)):
        raise ValueError(
            f"proba must have shape ({n}, {len(tiers)}) (rows, tiers), "
            f"got {values.shape}"
        )
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("proba must be finite and non-negative")
    sums = values.sum(axis=1)
    if n and np.abs(sums - 1.0).max() > _SUM_TOL:
        rows = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOL)[:5].tolist()
        raise ValueError(f"proba rows must sum to 1; rows {rows} do not")
    return values


def bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each probability among ``n_bins`` equal-width right-closed bins.

    Bin ``m`` (0-based) is ``(m / n_bins, (m + 1) / n_bins]``; 0 goes to bin 0.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    return np.searchsorted(inner, p, side="left")


def metric_names(tiers: Sequence[str] = DEFAULT_TIERS, proba: bool = True) -> list:
    """Keys of :func:`tier_metrics`, in order.

    Examples
    --------
    >>> metric_names(("A", "B"), proba=False)
    ['n', 'macro_f1', 'balanced_accuracy', 'accuracy', 'precision_A', 'precision_B',
     'recall_A', 'recall_B', 'f1_A', 'f1_B']
    """
    names = ["n", "macro_f1", "balanced_accuracy", "accuracy"]
    for kind in ("precision", "recall", "f1"):
        names += [f"{kind}_{t}" for t in tiers]
    return names + (["log_loss", "ece"] if proba else [])


def confusion(
    y_true: object, y_pred: object, tiers: Sequence[str] = DEFAULT_TIERS
) -> pd.DataFrame:
    """Confusion counts: rows are true tiers, columns predicted tiers, tier order.

    Examples
    --------
    >>> confusion(["A", "B", "B", "C"], ["A", "A", "B", "C"])
    predicted  A  B  C
    true
    A          1  0  0
    B          1  1  0
    C          0  0  1
    """
    labels = check_tiers(tiers)
    t = tier_codes(y_true, labels, "y_true")
    p = tier_codes(y_pred, labels, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows but y_pred has {len(p)}")
    k = len(labels)
    counts = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return pd.DataFrame(
        counts,
        index=pd.Index(labels, name="true", dtype="str"),
        columns=pd.Index(labels, name="predicted", dtype="str"),
    )


def _ece(codes: np.ndarray, proba: np.ndarray, n_bins: int) -> float:
    if len(codes) == 0:
        return float("nan")
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == codes).astype(float)
    bins = bin_index(confidence, n_bins)
    gap = np.bincount(bins, correct, n_bins) - np.bincount(bins, confidence, n_bins)
    return float(np.abs(gap).sum() / len(codes))


def expected_calibration_error(
    y_true: object,
    proba: object,
    *,
    tiers: Sequence[str] = DEFAULT_TIERS,
    n_bins: int = 10,
) -> float:
    r"""Expected calibration error of the top-label confidence.

    For row ``i`` the confidence is ``c_i = max_k p_ik`` and the row is correct
    when ``argmax_k p_ik`` (the first tier on ties) is its true tier. Rows are
    grouped into ``n_bins`` equal-width bins ``B_m = (m/M, (m+1)/M]`` of ``c_i``
    (``M = n_bins``; ``c_i = 0`` goes to the first bin), and

    .. math:: \mathrm{ECE} = \sum_m \frac{|B_m|}{n}
              \left| \mathrm{acc}(B_m) - \mathrm{conf}(B_m) \right|

    where ``acc`` is the share of correct rows and ``conf`` the mean confidence
    of the bin (Guo et al., 2017). It measures the probabilities, so it uses
    their argmax, not the tiers a rank decision may have chosen. 0 is perfect;
    NaN for no rows.

    Examples
    --------
    Two rows in the bin (0.8, 0.9] with mean confidence 0.85 and one correct:
    ``ECE = 2/2 * |0.5 - 0.85|``.

    >>> proba = [[0.85, 0.10, 0.05], [0.05, 0.85, 0.10]]
    >>> round(expected_calibration_error(["A", "C"], proba), 4)
    0.35
    """
    labels = check_tiers(tiers)
    codes = tier_codes(y_true, labels, "y_true")
    return _ece(codes, proba_matrix(proba, labels, len(codes)), n_bins)


def tier_metrics(
    y_true: object,
    y_pred: object,
    proba: object = None,
    *,
    tiers: Sequence[str] = DEFAULT_TIERS,
) -> dict[str, float]:
    """Classification and calibration metrics of predicted tiers, as a flat dict.

    Keys (see :func:`metric_names`): ``n`` (rows), ``macro_f1``,
    ``balanced_accuracy``, ``accuracy``, ``precision_<T>``, ``recall_<T>`` and
    ``f1_<T>`` for every tier ``T``, and, when ``proba`` is given, ``log_loss``
    and ``ece`` (:func:`expected_calibration_error`, 10 bins).

    Averaging choices:

    * ``macro_f1`` averages the F1 of **all configured tiers**, with 0 for a
      tier whose precision or recall is undefined (``zero_division=0``). A tier
      absent from a period therefore pulls the score down instead of silently
      leaving the average, so scores stay comparable across periods and routes.
    * ``balanced_accuracy`` is the mean recall over the tiers present in
      ``y_true`` (the usual definition: recall of an absent tier is undefined).
    * ``log_loss`` uses all tiers as labels (a tier absent from ``y_true`` does
      not break it); probabilities are clipped to ``[1e-15, 1]`` and
      renormalised.

    With no rows every metric is NaN and ``n`` is 0.

    Parameters
    ----------
    y_true, y_pred : array-like of str
        True and predicted tiers, compared by position.
    proba : DataFrame or array, optional
        ``p_<tier>`` columns, or an array with one column per tier in order.
    tiers : sequence of str
        Tier labels, best first.

    Returns
    -------
    dict of str to float

    Examples
    --------
    >>> m = tier_metrics(["A", "B", "C", "C"], ["A", "C", "C", "C"])
    >>> m["accuracy"], m["recall_B"], m["precision_C"], round(m["macro_f1"], 3)
    (0.75, 0.0, 0.6666666666666666, 0.6)
    """
    labels = check_tiers(tiers)
    t = tier_codes(y_true, labels, "y_true")
    p = tier_codes(y_pred, labels, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows but y_pred has {len(p)}")
    P = None if proba is None else proba_matrix(proba, labels, len(t))
    names = metric_names(labels, proba=P is not None)
    n = len(t)
    if n == 0:
        return {name: (0.0 if name == "n" else float("nan")) for name in names}
    k = len(labels)
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(float)
    hits = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(hits, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    out: dict[str, float] = {
        "n": float(n),
        "macro_f1": float(f1.mean()),
        "balanced_accuracy": float(recall[support > 0].mean()),
        "accuracy": float(hits.sum() / n),
    }
    for kind, values in (("precision", precision), ("recall", recall), ("f1", f1)):
        out.update(
            {f"{kind}_{lab}": float(v) for lab, v in zip(labels, values, strict=True)}
        )
    if P is not None:
        clipped = np.clip(P, PROBA_EPS, 1.0)
        clipped /= clipped.sum(axis=1, keepdims=True)
        out["log_loss"] = float(_sk_log_loss(t, clipped, labels=np.arange(k)))
        out["ece"] = _ece(t, P, 10)
    return {name: out[name] for name in names}


def _route_labels(frame: pd.DataFrame, route: object) -> np.ndarray:
    if route is None:
        if "route" not in frame.columns:
            raise ValueError(
                "prediction_frame has no 'route' column; pass route= (e.g. the "
                "model's prediction_frame['route'])"
            )
        route = frame["route"]
    values = np.asarray(route, dtype=object).reshape(-1)
    if len(values) != len(frame):
        raise ValueError(f"route has {len(values)} rows but the frame has {len(frame)}")
    unknown = sorted({str(v) for v in values} - set(ROUTES[1:]))
    if unknown:
        raise ValueError(f"route values must be in {list(ROUTES[1:])}, got {unknown}")
    return values


def evaluate_routes(
    y_true: object,
    prediction_frame: pd.DataFrame,
    tiers: Sequence[str] = DEFAULT_TIERS,
    *,
    route: object = None,
) -> pd.DataFrame:
    """Metrics for all rows and for each route, one row per route.

    The result is a **wide** frame: the index (named ``route``) is always
    ``all``, ``history``, ``cold_start`` in that order, and the columns are
    :func:`metric_names` with ``log_loss`` and ``ece`` always present (NaN when
    the frame has no ``p_<tier>`` columns). A route without rows has ``n = 0``
    and NaN metrics, so the same names are logged every run. Pass it to
    :func:`flatten_metrics` for MLflow names such as ``history/macro_f1``.

    Parameters
    ----------
    y_true : array-like of str
        True tiers in the rows' order. A Series must have the same index as
        ``prediction_frame`` (a mismatch usually means misaligned rows).
    prediction_frame : DataFrame
        A ``tier`` column, optionally ``p_<tier>`` columns and ``route``, as
        returned by :meth:`segml.model.TierPredictor.predict` or a baseline.
    tiers : sequence of str
        Tier labels, best first.
    route : array-like of str, optional
        Route of each row, for frames without a ``route`` column (baselines).

    Examples
    --------
    >>> pred = pd.DataFrame({"tier": ["A", "B", "C", "C"],
    ...                      "route": ["history", "history", "cold_start",
    ...                                "cold_start"]})
    >>> table = evaluate_routes(["A", "C", "C", "B"], pred)
    >>> table[["n", "accuracy"]]
                n  accuracy
    route
    all         4       0.5
    history     2       0.5
    cold_start  2       0.5
    """
    if not isinstance(prediction_frame, pd.DataFrame):
        raise TypeError("prediction_frame must be a DataFrame with a 'tier' column")
    if "tier" not in prediction_frame.columns:
        raise ValueError("prediction_frame has no 'tier' column")
    if isinstance(y_true, pd.Series) and not y_true.index.equals(
        prediction_frame.index
    ):
        raise ValueError(
            "y_true's index differs from prediction_frame's; align them first "
            "(or pass y_true.to_numpy() if the rows are in the same order)"
        )
    labels = check_tiers(tiers)
    truth = np.asarray(y_true, dtype=object).reshape(-1)
    if len(truth) != len(prediction_frame):
        raise ValueError(
            f"y_true has {len(truth)} rows but prediction_frame has "
            f"{len(prediction_frame)}"
        )
    routes = _route_labels(prediction_frame, route)
    pred = np.asarray(prediction_frame["tier"], dtype=object)
    proba_cols = [f"p_{t}" for t in labels]
    has_proba = all(c in prediction_frame.columns for c in proba_cols)
    P = (
        proba_matrix(prediction_frame[proba_cols], labels, len(pred))
        if has_proba
        else None
    )
    rows = {}
    for name in ROUTES:
        mask = np.ones(len(pred), bool) if name == "all" else routes == name
        rows[name] = tier_metrics(
            truth[mask], pred[mask], None if P is None else P[mask], tiers=labels
        )
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table.reindex(columns=metric_names(labels, proba=True))
    table["n"] = table["n"].astype("int64")
    table.index = pd.Index(list(ROUTES), name="route", dtype="str")
    return table


def compare_routes(
    y_true: object,
    predictions: Mapping[str, pd.DataFrame],
    tiers: Sequence[str] = DEFAULT_TIERS,
    *,
    route: object = None,
) -> pd.DataFrame:
    """:func:`evaluate_routes` for several models side by side (model beside baselines).

    Each frame is scored with its own ``route`` column, or with ``route`` when
    it has none (baselines do not know routes: pass the model's). The result
    has a ``(model, route)`` index; :func:`flatten_metrics` turns it into names
    like ``majority/history/macro_f1``.

    Examples
    --------
    >>> model = pd.DataFrame({"tier": ["A", "C"], "route": ["history", "cold_start"]})
    >>> majority = pd.DataFrame({"tier": ["C", "C"]})
    >>> table = compare_routes(["A", "C"], {"model": model, "majority": majority},
    ...                        route=model["route"])
    >>> table["accuracy"].unstack("route")[["all", "history"]]
    route     all  history
    model
    model     1.0      1.0
    majority  0.5      0.0
    """
    if not predictions:
        raise ValueError("predictions is empty; pass {name: prediction_frame}")
    tables = {}
    for name, frame in predictions.items():
        own = route if "route" not in frame.columns else None
        tables[name] = evaluate_routes(y_true, frame, tiers, route=own)
    return pd.concat(tables, names=["model", "route"])


def flatten_metrics(
    metrics: pd.DataFrame | Mapping, prefix: str | None = None, *, dropna: bool = False
) -> dict[str, float]:
    """Flat ``{"<prefix>/<row>/<metric>": value}`` dict for ``mlflow.log_metrics``.

    A DataFrame contributes ``<index parts>/<column>`` per cell (so the table of
    :func:`evaluate_routes` gives ``history/macro_f1``); a mapping contributes
    ``<key>`` per value, recursing into nested mappings and frames. Values are
    floats; ``dropna=True`` leaves out NaN (e.g. a route without rows).

    Examples
    --------
    >>> flatten_metrics({"macro_f1": 0.5, "n": 10}, "history")
    {'history/macro_f1': 0.5, 'history/n': 10.0}
    >>> table = pd.DataFrame({"macro_f1": [0.5, 0.25]}, index=["all", "history"])
    >>> flatten_metrics(table)
    {'all/macro_f1': 0.5, 'history/macro_f1': 0.25}
    """
    head = [] if prefix is None or prefix == "" else [str(prefix)]
    out: dict[str, float] = {}
    if isinstance(metrics, pd.DataFrame):
        for row_key, row in zip(
            metrics.index, metrics.itertuples(index=False), strict=True
        ):
            parts = list(row_key) if isinstance(row_key, tuple) else [row_key]
            for column, value in zip(metrics.columns, row, strict=True):
                key = "/".join([*head, *map(str, parts), str(column)])
                out[key] = float(value)
    elif isinstance(metrics, Mapping | pd.Series):
        for key, value in metrics.items():
            name = "/".join([*head, str(key)])
            if isinstance(value, Mapping | pd.DataFrame | pd.Series):
                out.update(flatten_metrics(value, name))
            else:
                out[name] = float(value)
    else:
        raise TypeError(
            f"metrics must be a DataFrame or a mapping, got {type(metrics).__name__}"
        )
    if dropna:
        out = {k: v for k, v in out.items() if not np.isnan(v)}
    return out
