"""The fitted segml pipeline and the one predict contract.

A :class:`SegmlPipeline` bundles what a training run learned: the feature
settings, the tier rule, the segmenter and the tier predictor. Its
:meth:`~SegmlPipeline.predict` implements the design's contract:

- input: one row per customer with ``customer_id``, attribute columns and, when
  known, history feature columns (as produced by
  :func:`segml.features.build_features`);
- output: the same rows, same order, same ids, with ``tier``, ``p_<tier>``,
  ``route`` (``history`` or ``cold_start``), ``segment`` and the top reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segml.errors import SegmlDataError

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
    """

    predictor: Any
    attributes: list[str]
    history_features: list[str]
    tiers: tuple[str, ...] = ("A", "B", "C")
    segmenter: Any = None
    feature_params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def output_columns(self) -> list[str]:
        """Columns of :meth:`predict`'s answer, in order."""
        reasons = [f"reason_{k + 1}" for k in range(self.predictor.n_reasons)]
        probs = [f"p_{t}" for t in self.tiers]
        return ["customer_id", "tier", *probs, "route", "segment", *reasons]

    def predict(
        self,
        frame: pd.DataFrame,
        *,
        reasons: bool = True,
        as_of: object | None = None,
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

        Returns
        -------
        DataFrame
            ``customer_id``, ``tier``, ``p_<tier>`` for each tier, ``route``,
            ``segment``, ``reason_1..n``, with the input's index.
        """
        rows = self._prepare(frame, as_of)
        if rows.empty:
            return pd.DataFrame(
                {c: pd.Series(dtype="str") for c in self.output_columns},
                index=frame.index,
            ).astype({f"p_{t}": "float64" for t in self.tiers})
        answer = self.predictor.predict(rows, reasons=reasons)
        out = pd.DataFrame({"customer_id": rows["customer_id"]}, index=rows.index)
        out["tier"] = answer["tier"].astype("str")
        for tier in self.tiers:
            out[f"p_{tier}"] = answer[f"p_{tier}"].astype("float64")
        out["route"] = answer["route"]
        out["segment"] = self._segments(rows)
        for column in answer.columns:
            if column.startswith("reason_"):
                out[column] = answer[column]
        return out.set_axis(frame.index)

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
        for column in sorted(numeric & set(rows.columns)):
            series = rows[column]
            if pd.api.types.is_numeric_dtype(series.dtype) or series.dtype == bool:
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

    @property
    def categorical_columns(self) -> list[str]:
        """Columns either route encodes as categories (text at the boundary)."""
        columns: dict[str, None] = {}
        for route in self.predictor.routes_.values():
            if route.encoder is not None:
                columns.update(dict.fromkeys(route.encoder.categories_))
        return list(columns)

    def _segments(self, rows: pd.DataFrame) -> pd.Series:
        segment = pd.Series(LEAD_SEGMENT, index=rows.index, dtype="str")
        history = rows["has_history"].to_numpy(dtype=bool)
        if self.segmenter is None or not history.any():
            return segment
        # The segmenter sees the columns it was fitted on; a missing or
        # non-numeric feature value counts as 0 (no activity of that kind).
        frame = rows.loc[history].reindex(columns=self.segmenter.feature_names_in_)
        for column in self.segmenter.features_:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0.0)
        labels = self.segmenter.predict(frame)
        names = pd.Series(np.asarray(labels)).map(self.segmenter.names_)
        segment.loc[history] = names.astype("str").to_numpy()
        return segment
