"""The fitted segml pipeline and the one predict contract.

A :class:`SegmlPipeline` bundles what a training run learned: the feature
settings, the tier rule, the segmenter and the tier predictor. Its
:meth:`~SegmlPipeline.predict` implements the design's contract:

- input: one row per customer with ``customer_id``, attribute columns and, when
  known, history feature columns (as produced by
  :func:`segml.features.build_features`);
- output: the same rows, same order, same ids, with ``tier``, ``p_<tier>``,
  ``route`` (``history`` or ``cold_start``), ``segment`` and the top reasons;
  optionally (``lifetime_value=True``) ``clv``, ``p_alive`` and
  ``expected_purchases`` from the BG/NBD + Gamma-Gamma fit the pipeline
  carries, NaN for leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from segml.errors import SegmlConfigError, SegmlDataError
from segml.model.batch import score_rows
from segml.model.predictor import COLD_START, HISTORY

__all__ = ["LEAD_SEGMENT", "SegmlPipeline"]

LEAD_SEGMENT = "lead (no history)"
_TABLE = "scoring input"


@dataclass
class SegmlPipeline:
    """Everything a run learned, ready to score customers and leads.

    Attributes
    ----------
    predictor : TierPredictor
        The fitted two-route tier model.
    attributes : list of str
        Attribute columns (known at sign-up) the cold-start route uses.
    history_features : list of str
        History feature columns the history route uses.
    tiers : tuple of str
        Tier labels, best first.
    segmenter : Segmenter or None
        Fitted clustering of customers with history.
    feature_params : dict
        Keyword arguments for :func:`segml.features.build_features` (windows, ...).
    metadata : dict
        Rule, horizon, training cutoffs, versions.
    btyd : BTYDFit or None
        BG/NBD and Gamma-Gamma fitted at the snapshot (in days, without its
        RFM table), for the optional lifetime-value columns; see
        :attr:`btyd_fit` for where else one is found.
    """

    predictor: Any
    attributes: list[str]
    history_features: list[str]
    tiers: tuple[str, ...] = ("A", "B", "C")
    segmenter: Any = None
    feature_params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    btyd: Any = None

    @property
    def btyd_fit(self) -> Any:
        """The BG/NBD + Gamma-Gamma fit behind the lifetime-value columns, or None.

        :attr:`btyd` when set; otherwise the fit a ``decision="value"``
        predictor cuts its tiers with, or the one a shipped BTYD fallback
        scores with. A count- or value-rule pipeline whose routes ship
        LightGBM with the rank decision carries none unless the training run
        stores one in :attr:`btyd`.
        """
        own = getattr(self, "btyd", None)  # pipelines pickled before the field
        if own is not None:
            return own
        decision = getattr(self.predictor, "value_decision_", None)
        if decision is not None:
            return decision.btyd
        for fallback in getattr(self.predictor, "fallbacks_", {}).values():
            if getattr(fallback, "btyd", None) is not None:
                return fallback.btyd
        return None

    @property
    def output_columns(self) -> list[str]:
        """Columns of :meth:`predict`'s answer, in order."""
        reasons = [f"reason_{k + 1}" for k in range(self.predictor.n_reasons)]
        probs = [f"p_{t}" for t in self.tiers]
        return [
            "customer_id",
            "tier",
            *probs,
            "route",
            "model",
            "tier_score",
            "segment",
            *reasons,
        ]

    def predict(
        self,
        frame: pd.DataFrame,
        *,
        reasons: bool = True,
        as_of: object | None = None,
        lifetime_value: bool = False,
        clv_months: int = 12,
        discount_rate: float = 0.01,
    ) -> pd.DataFrame:
        """Score customers and leads; one output row per input row, in order.

        Parameters
        ----------
        frame : DataFrame
            ``customer_id`` (a column, or the index named ``customer_id``),
            attribute columns, and optionally history features and
            ``has_history``. Without ``has_history``, a row has history when its
            ``orders`` is above 0; without either column, every row is a lead.
            Unknown extra columns are ignored; missing feature columns are
            treated as missing values; unseen category values become missing.
        as_of : date, optional
            When the model uses ``days_since_signup`` and a row lacks it but has
            ``signup_ts`` (a lead straight from a customer table), it is derived
            as ``as_of - signup_ts`` in days; ``as_of`` defaults to today (UTC).
        reasons : bool
            Compute the top reasons (LightGBM SHAP contributions). They are the
            costliest part of scoring; ``False`` leaves ``reason_*`` empty.
        lifetime_value : bool
            Append ``clv``, ``p_alive`` and ``expected_purchases`` (see
            :func:`segml.btyd.clv.lifetime_value_columns`) for the rows with
            history, NaN for leads. Needs the history columns ``order_days``,
            ``tenure_days``, ``recency_days``, ``net_spend`` and
            ``first_order_value``, and a pipeline carrying a BTYD fit
            (:attr:`btyd_fit`); otherwise an error.
        clv_months : int
            Horizon of ``clv`` and ``expected_purchases``, in months of 30
            days (lifetimes' ``time``).
        discount_rate : float
            Monthly discount rate of ``clv`` (lifetimes' semantics; 0.01 a
            month is 12.7 % a year).

        Returns
        -------
        DataFrame
            ``customer_id``, ``tier``, ``p_<tier>`` for each tier, ``route``,
            ``model`` (what answered the row's route: ``lightgbm``,
            ``lightgbm+btyd``, ``persistence``, ``majority``, ``logistic`` or
            ``prior``), ``tier_score`` (the number the tier was cut on: the
            expected tier score in [0, 1] of the rank decision, the expected
            value over the horizon of the value decision, the past value of
            persistence, the top probability of argmax and logistic, NaN for
            majority), ``segment``, ``reason_1..n``, with the input's index.
            ``p_<tier>`` are the route's probabilities of each tier of the
            label window; the tier is cut on ``tier_score``, so a row's tier
            need not be its most probable one (tiers keep the rule's shares).
            With ``lifetime_value``, ``clv``, ``p_alive`` and
            ``expected_purchases`` follow, in that order.
        """
        rows = self._prepare(frame, as_of)
        extra = None
        if lifetime_value:
            extra = self._lifetime_columns(rows, clv_months, discount_rate)
        if rows.empty:
            empty = pd.DataFrame(
                {c: pd.Series(dtype="str") for c in self.output_columns},
                index=frame.index,
            ).astype(
                {**{f"p_{t}": "float64" for t in self.tiers}, "tier_score": "float64"}
            )
            return _append(empty, extra)
        history = rows["has_history"].to_numpy(dtype=bool)
        scores = score_rows(self.predictor, rows, history, reasons=reasons)
        if scores is None:  # a decision the array path does not know
            return _append(self._predict_frame(rows, frame.index, reasons), extra)
        out: dict[str, object] = {"customer_id": rows["customer_id"].array}
        out["tier"] = _texts(self.tiers, scores.codes)
        for j, tier in enumerate(self.tiers):
            out[f"p_{tier}"] = scores.proba[:, j]
        out["route"] = _texts((COLD_START, HISTORY), scores.history.astype(int))
        kinds = (
            self.predictor.route_kind(COLD_START),
            self.predictor.route_kind(HISTORY),
        )
        out["model"] = _texts(kinds, scores.history.astype(int))
        out["tier_score"] = scores.score
        out["segment"] = self._segment_texts(rows, history)
        for k, texts in enumerate(scores.reasons):
            out[f"reason_{k + 1}"] = pd.array(texts, dtype="str")
        return _append(pd.DataFrame(out, index=frame.index), extra)

    def _lifetime_columns(
        self, rows: pd.DataFrame, months: int, discount_rate: float
    ) -> np.ndarray:
        """``clv``, ``p_alive``, ``expected_purchases`` of ``rows`` (NaN for leads)."""
        from segml.btyd.clv import lifetime_value_columns, monthly_rate
        from segml.btyd.features import RFM_SOURCE_COLUMNS

        months = clv_months_checked(months)
        try:
            monthly_rate(discount_rate)
        except ValueError as exc:
            raise SegmlConfigError(f"lifetime_value: {exc}") from exc
        fitted = self.btyd_fit
        if fitted is None:
            raise SegmlConfigError(
                "lifetime_value: this model carries no BG/NBD + Gamma-Gamma fit "
                "(it has one with model.decision: value, a shipped btyd "
                "fallback, or a training run that stores pipeline.btyd)"
            )
        history = rows["has_history"].to_numpy(dtype=bool)
        values = np.full((len(rows), 3), np.nan)
        if not history.any():
            return values
        missing = [c for c in RFM_SOURCE_COLUMNS if c not in rows.columns]
        if missing:
            raise SegmlDataError(
                _TABLE,
                missing[0],
                "lifetime value needs the history feature columns "
                f"{', '.join(RFM_SOURCE_COLUMNS)} (missing: {', '.join(missing)}); "
                "build them with segml.features.build_features",
            )
        part = lifetime_value_columns(
            rows.loc[history], fitted, months=months, discount_rate=discount_rate
        )
        values[history] = part.to_numpy()
        return values

    def _predict_frame(
        self, rows: pd.DataFrame, index: pd.Index, reasons: bool
    ) -> pd.DataFrame:
        """:meth:`predict` through ``TierPredictor.predict_frame`` (any decision)."""
        answer = self.predictor.predict_frame(rows, reasons=reasons)
        out = pd.DataFrame({"customer_id": rows["customer_id"]}, index=rows.index)
        out["tier"] = answer["tier"].astype("str")
        for tier in self.tiers:
            out[f"p_{tier}"] = answer[f"p_{tier}"].astype("float64")
        out["route"] = answer["route"]
        out["model"] = answer["model"]
        out["tier_score"] = answer["tier_score"].astype("float64")
        out["segment"] = self._segments(rows)
        for column in answer.columns:
            if column.startswith("reason_"):
                out[column] = answer[column]
        return out.set_axis(index)

    def _prepare(self, frame: pd.DataFrame, as_of: object = None) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        rows = frame
        if "customer_id" not in rows.columns:
            if rows.index.name == "customer_id":
                rows = rows.reset_index()
            else:
                raise SegmlDataError(
                    _TABLE,
                    "customer_id",
                    "required column 'customer_id' is missing (as a column or as "
                    f"the index name); columns: {', '.join(map(str, rows.columns))}",
                )
        rows = rows.reset_index(drop=True)
        ids = rows["customer_id"]
        if ids.isna().any():
            raise SegmlDataError(
                _TABLE,
                "customer_id",
                f"{int(ids.isna().sum())} row(s) have no customer_id",
                rows.loc[ids.isna().to_numpy()],
            )
        rows = rows.assign(
            customer_id=ids.astype("str"), has_history=self._has_history(rows)
        )
        self._check_numeric(rows)
        return self._signup_days(rows, as_of)

    def _signup_days(self, rows: pd.DataFrame, as_of: object) -> pd.DataFrame:
        if "days_since_signup" not in self.attributes or "signup_ts" not in rows:
            return rows
        from segml.data.coerce import coerce_column
        from segml.features.asof import to_as_of

        stamp = to_as_of(as_of if as_of is not None else pd.Timestamp.now("UTC"))
        signup = coerce_column(rows, "signup_ts", "ts", table=_TABLE, nullable=True)
        derived = (stamp - signup).dt.total_seconds() / 86_400.0
        given = rows.get("days_since_signup")
        if given is not None:
            derived = pd.to_numeric(given, errors="coerce").fillna(derived)
        return rows.assign(days_since_signup=derived.astype("float64"))

    def _has_history(self, rows: pd.DataFrame) -> np.ndarray:
        if "has_history" in rows.columns:
            flag = rows["has_history"]
            if flag.dtype != bool:
                text = flag.astype("str").str.lower()
                truthy = text.isin(["true", "1", "1.0", "yes"])
                falsy = text.isin(["false", "0", "0.0", "no", "nan", "none", ""])
                bad = ~(truthy | falsy) & flag.notna()
                if bad.any():
                    raise SegmlDataError(
                        _TABLE,
                        "has_history",
                        "values must be true or false",
                        rows.loc[bad.to_numpy()],
                    )
                return truthy.to_numpy()
            return flag.to_numpy(dtype=bool)
        if "orders" in rows.columns:
            orders = pd.to_numeric(rows["orders"], errors="coerce").fillna(0)
            return (orders > 0).to_numpy()
        return np.zeros(len(rows), dtype=bool)

    def _check_numeric(self, rows: pd.DataFrame) -> None:
        numeric = set(self.history_features) - set(self.categorical_columns)
        # catalogue columns that are not numbers (e.g. lifecycle_stage) stay
        # text even when no route encodes them (a route fitted no model)
        from segml.features.catalogue import dtypes as catalogue_dtypes

        windows = tuple(self.feature_params.get("windows", (90, 365)))
        known = catalogue_dtypes(windows)
        numeric = {c for c in numeric if known.get(c, "float64") == "float64"}
        dtypes = dict(zip(rows.columns, rows.dtypes, strict=True))
        for column in sorted(numeric & set(rows.columns)):
            dtype = dtypes[column]
            series = rows[column]
            if pd.api.types.is_bool_dtype(dtype):
                continue
            if pd.api.types.is_numeric_dtype(dtype):
                if dtype.kind != "f":
                    continue
                _reject_infinite(rows, column, series)
                continue
            coerced = pd.to_numeric(series, errors="coerce")
            bad = (coerced.isna() & series.notna()).to_numpy()
            if bad.any():
                raise SegmlDataError(
                    _TABLE,
                    column,
                    f"{int(bad.sum())} value(s) are not numeric",
                    rows.loc[bad, ["customer_id", column]],
                )
            _reject_infinite(rows, column, coerced)

    def compile(self) -> dict[str, bool]:
        """Compile both routes' boosters ahead of the first large batch.

        Without this, the first batch of 100,000+ rows of a route compiles them
        (8-13 s each on the shared 2-core machine; cached on disk by the
        model's hash, so later processes load them in milliseconds). Returns
        whether each route's compiled forest is ready.
        """
        return {name: route.compile() for name, route in self.predictor.routes_.items()}

    @property
    def categorical_columns(self) -> list[str]:
        """Columns either route encodes as categories (text at the boundary)."""
        columns: dict[str, None] = {}
        for route in self.predictor.routes_.values():
            if route.encoder is not None:
                columns.update(dict.fromkeys(route.encoder.categories_))
        return list(columns)

    def _segments(self, rows: pd.DataFrame) -> pd.Series:
        history = rows["has_history"].to_numpy(dtype=bool)
        return pd.Series(self._segment_texts(rows, history), index=rows.index)

    def _segment_texts(
        self, rows: pd.DataFrame, history: np.ndarray
    ) -> pd.api.extensions.ExtensionArray:
        """Segment name of each row (a ``str`` array); leads: :data:`LEAD_SEGMENT`."""
        codes = np.zeros(len(rows), dtype=int)
        if self.segmenter is None or not history.any():
            return _texts((LEAD_SEGMENT,), codes)
        # The segmenter sees the columns it was fitted on; a missing or
        # non-numeric value stays NaN and the segmenter fills it with the rules
        # it was fitted with (a 0 moved one-order customers' recency ratio and
        # regularity: 19 % of make_crm buyers got another segment than in
        # training). A row with no clustering feature at all is a lead.
        picked = np.flatnonzero(history)
        features = self.segmenter.features_
        values = np.full((len(picked), len(features)), np.nan)
        for j, column in enumerate(features):
            if column not in rows.columns:
                continue
            series = rows[column]
            if series.dtype.kind not in "fiub":
                series = pd.to_numeric(series, errors="coerce")
            column_values = series.to_numpy(dtype="float64", na_value=np.nan)[picked]
            values[:, j] = column_values
        labels = self.segmenter.predict_values(values)
        names = self.segmenter.names_
        codes[picked] = names.index.get_indexer(labels) + 1
        return _texts((LEAD_SEGMENT, *(str(name) for name in names)), codes)


def clv_months_checked(months: object) -> int:
    """``clv_months`` as an int, or an error naming the key."""
    try:
        number = float(months)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(months, bool) or not (number.is_integer() and number >= 1):
        raise SegmlConfigError(
            f"clv_months must be a whole number of months >= 1, got {months!r}"
        )
    return int(number)


def _append(out: pd.DataFrame, extra: np.ndarray | None) -> pd.DataFrame:
    """``out`` with the lifetime-value columns after the others (if asked)."""
    if extra is None:
        return out
    from segml.btyd.clv import LIFETIME_COLUMNS

    return out.assign(**{c: extra[:, j] for j, c in enumerate(LIFETIME_COLUMNS)})


def _reject_infinite(rows: pd.DataFrame, column: str, values: pd.Series) -> None:
    """A feature value of ±inf is an error naming the column and the rows."""
    infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
    if infinite.any():
        raise SegmlDataError(
            _TABLE,
            column,
            f"{int(infinite.sum())} value(s) are infinite",
            rows.loc[infinite, ["customer_id", column]],
        )


def _texts(labels: tuple[str, ...], codes: np.ndarray) -> object:
    """``labels[codes]`` as a ``str`` array (measured 5x faster than from objects)."""
    return _label_array(labels).take(codes)


@lru_cache(maxsize=64)
def _label_array(labels: tuple[str, ...]) -> object:
    return pd.array(list(labels), dtype="str")
