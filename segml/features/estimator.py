"""FeatureBuilder: feature settings with the scikit-learn estimator surface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from segml.features import engine
from segml.features.attributes import attribute_columns
from segml.features.builder import (
    build_features,
    build_features_many,
    selected_features,
)
from segml.features.lifecycle import check_thresholds

__all__ = ["FeatureBuilder"]


class FeatureBuilder(BaseEstimator):
    """Thin scikit-learn style wrapper around :func:`build_features`.

    It is deliberately *not* a transformer: a transformer maps rows to rows,
    but feature building turns transaction rows into customer rows (and takes
    up to three tables and a cutoff), so it cannot sit inside a
    :class:`~sklearn.pipeline.Pipeline`. It offers the familiar surface
    (keyword-only parameters, ``get_params``/``set_params``, ``fit``,
    ``transform``, ``get_feature_names_out``) so that feature settings can be
    configured, cloned and logged like any estimator's.

    Parameters
    ----------
    windows, stage_thresholds, columns, column_map, ts_format
        As in :func:`build_features`.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Attribute columns of the customers table seen in ``fit``.
    feature_names_out_ : ndarray of str
        Columns ``transform`` returns.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-05"]),
    ...     "amount": [10.0, 30.0, 8.0]})
    >>> fb = FeatureBuilder(columns=["orders", "net_spend"]).fit(tx, as_of="2024-02-01")
    >>> fb.transform(tx, as_of="2024-02-01")
                 net_spend  orders
    customer_id
    a                 40.0     2.0
    b                  8.0     1.0
    """

    def __init__(
        self,
        *,
        windows: Sequence[int] = (90, 365),
        stage_thresholds: Mapping[str, float] | None = None,
        columns: Sequence[str] | None = None,
        column_map: Mapping[str, Mapping[str, str]] | None = None,
        ts_format: str | None = None,
    ) -> None:
        self.windows = windows
        self.stage_thresholds = stage_thresholds
        self.columns = columns
        self.column_map = column_map
        self.ts_format = ts_format

    def __sklearn_tags__(self):
        # it has ``transform``; scikit-learn's checks need the transformer tag
        # set (they then show where it parts from a row-to-row transformer)
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags(preserves_dtype=[])
        tags.target_tags.required = False
        return tags

    def fit(
        self,
        transactions: engine.Source | None = None,
        customers: engine.Source | None = None,
        events: engine.Source | None = None,
        *,
        as_of: object = None,
    ) -> FeatureBuilder:
        """Check the settings and record the output columns; learns nothing."""
        _, names = selected_features(self.windows, self.columns)
        check_thresholds(self.stage_thresholds)
        attrs: list[str] = []
        if isinstance(customers, pd.DataFrame):
            maps = (self.column_map or {}).get("customers")
            crm = engine.canonical_frame(customers, "customers", columns=maps)
            attrs = attribute_columns(crm)
        self.feature_names_in_ = np.asarray(attrs, dtype=object)
        self.feature_names_out_ = np.asarray(names + attrs, dtype=object)
        return self

    def transform(
        self,
        transactions: engine.Source,
        customers: engine.Source | None = None,
        events: engine.Source | None = None,
        *,
        as_of: object,
    ) -> pd.DataFrame:
        """:func:`build_features` (or, for a list of cutoffs, the many version)."""
        if not hasattr(self, "feature_names_out_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("call fit before transform")
        kwargs = {
            "windows": self.windows,
            "stage_thresholds": self.stage_thresholds,
            "columns": self.columns,
            "column_map": self.column_map,
            "ts_format": self.ts_format,
        }
        if isinstance(as_of, list | tuple):
            return build_features_many(
                transactions, customers, events, as_ofs=as_of, **kwargs
            )
        return build_features(transactions, customers, events, as_of=as_of, **kwargs)

    def fit_transform(
        self,
        transactions: engine.Source,
        customers: engine.Source | None = None,
        events: engine.Source | None = None,
        *,
        as_of: object,
    ) -> pd.DataFrame:
        """``fit`` then ``transform``."""
        return self.fit(transactions, customers, events, as_of=as_of).transform(
            transactions, customers, events, as_of=as_of
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Columns ``transform`` returns (features, then attributes)."""
        if not hasattr(self, "feature_names_out_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("call fit before get_feature_names_out")
        return self.feature_names_out_.copy()
