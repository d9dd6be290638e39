"""Segmenter: behavioural segments, k chosen by evidence, leads labelled, named."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from segml.errors import SegmlDataError
from segml.segments.choose_k import (
    CRITERIA,
    choose_k,
    fit_kmeans,
    prediction_strength,
)
from segml.segments.naming import level, name_segments
from segml.segments.profiles import (
    describe_effects,
    distinguishing_features,
    profile_clusters,
)
from segml.segments.transform import fit_coordinates, signed_log1p
from segml.tiers._validate import check_X

__all__ = [
    "DEFAULT_FEATURES",
    "LEAD",
    "LEAD_NAME",
    "Segmenter",
    "select_k",
    "signed_log1p",
]

#: Clustering features by default (those present in X): value (basket),
#: frequency, recency relative to the customer's own gap, regularity,
#: discount habit and tenure. See docs/segments.md for why these.
DEFAULT_FEATURES = (
    "avg_order_value",
    "orders",
    "recency_ratio",
    "gap_cv",
    "discount_share",
    "tenure_days",
)
#: Code and name of a customer without history.
LEAD, LEAD_NAME = -1, "lead"

_BLOCK_ROWS = 1024  # rows per matrix product in Segmenter.predict_values


def select_k(
    Z: np.ndarray,
    k_values: Sequence[int],
    *,
    criterion: str = "prediction_strength",
    threshold: float = 0.8,
    repeats: int = 10,
    sample_size: int = 10_000,
    n_init: int = 10,
    random_state: int = 0,
) -> tuple[int, pd.DataFrame]:
    """Score every k (:func:`~segml.segments.choose_k.prediction_strength`), pick one.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = np.r_[rng.normal(0, 0.1, (30, 2)), rng.normal(3, 0.1, (30, 2)),
    ...           rng.normal(-3, 0.1, (30, 2))]
    >>> k, scores = select_k(Z, [2, 3, 4], repeats=3)
    >>> k, scores.index.tolist()
    (3, [2, 3, 4])
    """
    scores = prediction_strength(
        Z,
        k_values,
        repeats=repeats,
        sample_size=sample_size,
        n_init=n_init,
        random_state=random_state,
    )
    return choose_k(scores, criterion=criterion, threshold=threshold), scores


class Segmenter(TransformerMixin, ClusterMixin, BaseEstimator):
    """Behavioural segments of customers with history; leads labelled apart.

    Features are imputed, shrunk, log-transformed where heavy-tailed, scaled
    and clipped (:mod:`segml.segments.transform`). Unless ``k`` is given, the
    number of segments is the largest k of ``k_range`` whose **prediction
    strength** minus its standard deviation over the splits reaches
    ``threshold``
    (:mod:`segml.segments.choose_k`); the
    silhouette is reported beside it and is the criterion with
    ``criterion="silhouette"``. k-means (``n_init`` restarts) is then fitted on
    every customer with history. Segments are numbered by the mean of
    ``value_col`` (0 is the most valuable), profiled and given unique names.

    A row is a **lead** (code :data:`LEAD`, name ``"lead"``) when its
    ``has_history`` column is False or every clustering feature is missing;
    leads are not clustered. Other missing values are imputed.

    Parameters
    ----------
    features : sequence of str, optional
        Clustering features. Default: those of :data:`DEFAULT_FEATURES`
        present, else every numeric column (``has_history`` excluded).
    value_col : str
        Column that orders the segments and gives their value shares.
    k : int, optional
        Fixed number of segments (no search).
    k_range : (int, int)
        Smallest and largest k tried, both included (k >= 2).
    criterion : {"prediction_strength", "silhouette"}
    threshold : float
        Prediction strength a k must reach.
    repeats : int
        Split-half repeats of the prediction strength.
    sample_size : int
        Rows sampled for each repeat (half to fit, half to test).
    minibatch_threshold : int
        Above this many rows ``MiniBatchKMeans`` replaces ``KMeans``.
    n_init : int
        k-means restarts (of every fit, the criterion's included).
    min_effect : float
        Smallest effect (standard deviations) listed as distinguishing.
    random_state : int
        Seed of the samples and of k-means.
    lifecycle_col : str or None
        When this column is present, profiles get the lifecycle mix.

    Attributes
    ----------
    k_ : int
    scores_ : DataFrame
        Prediction strength (and its spread) and silhouette per k tried.
    silhouette_ : dict
        Silhouette per k tried.
    features_ : list of str
        Columns read (clustering features, then helpers such as ``orders``).
    cluster_features_ : list of str
        Clustering features used (a feature missing for everyone is dropped).
    cluster_centers_ : DataFrame
        Centres in the scaled space, one row per segment.
    labels_ : ndarray of int
        Segment of each training row, :data:`LEAD` for leads.
    effects_ : DataFrame
        Segment mean minus the others' mean, per feature, in standard deviations.
    profiles_ : DataFrame
        ``name``, ``distinguishing`` then :func:`profile_clusters` columns.
    names_ : Series
        Unique name per segment.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"net_spend": np.r_[rng.normal(1000, 50, 30),
    ...                                      rng.normal(20, 2, 30), [0, 0]],
    ...                   "orders": np.r_[rng.normal(10, 0.5, 30),
    ...                                   rng.normal(1.5, 0.1, 30), [0, 0]],
    ...                   "has_history": [True] * 60 + [False] * 2})
    >>> seg = Segmenter(features=["net_spend", "orders"], k_range=(2, 4),
    ...                 random_state=0).fit(X)
    >>> seg.k_, seg.profiles_["size"].tolist(), int((seg.labels_ == LEAD).sum())
    (2, [30, 30], 2)
    >>> seg.names_.tolist()
    ['high-value frequent', 'low-value one-off']
    """

    def __init__(
        self,
        *,
        features: Sequence[str] | None = None,
        value_col: str = "net_spend",
        k: int | None = None,
        k_range: tuple[int, int] = (2, 8),
        criterion: str = "prediction_strength",
        threshold: float = 0.8,
        repeats: int = 10,
        sample_size: int = 10_000,
        minibatch_threshold: int = 50_000,
        n_init: int = 10,
        min_effect: float = 0.5,
        random_state: int = 0,
        lifecycle_col: str | None = "lifecycle_stage",
    ) -> None:
        self.features = features
        self.value_col = value_col
        self.k = k
        self.k_range = k_range
        self.criterion = criterion
        self.threshold = threshold
        self.repeats = repeats
        self.sample_size = sample_size
        self.minibatch_threshold = minibatch_threshold
        self.n_init = n_init
        self.min_effect = min_effect
        self.random_state = random_state
        self.lifecycle_col = lifecycle_col

    # --- fitting ------------------------------------------------------------------

    def _resolve_features(self, frame: pd.DataFrame) -> list[str]:
        if self.features is not None:
            cols = list(self.features)
            missing = [c for c in cols if c not in frame.columns]
            if missing or not cols:
                raise ValueError(f"features {missing or cols} not found in X")
            bad = [
                c
                for c in cols
                if not pd.api.types.is_numeric_dtype(frame[c])
                or pd.api.types.is_bool_dtype(frame[c])
            ]
            if bad:
                raise ValueError(f"features {bad} must be numeric")
            return cols
        cols = [c for c in DEFAULT_FEATURES if c in frame.columns]
        return cols or [
            c
            for c in frame.columns
            if pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])
        ]

    def _lead_mask(self, frame: pd.DataFrame, values: np.ndarray) -> np.ndarray:
        n_features = len(self.cluster_features_)
        lead = np.isnan(values[:, :n_features]).all(axis=1)
        if "has_history" in frame.columns:
            history = frame["has_history"].astype("boolean").fillna(False)
            lead |= ~history.to_numpy(dtype=bool)
        return lead

    def _values(self, frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
        values = frame[list(columns)].to_numpy(dtype="float64", na_value=np.nan)
        infinite = np.isinf(values)
        if infinite.any():
            j = int(np.flatnonzero(infinite.any(axis=0))[0])
            rows = infinite[:, j]
            raise SegmlDataError(
                "features",
                columns[j],
                f"{int(rows.sum())} value(s) are infinite",
                frame.loc[rows, [columns[j]]],
            )
        return values

    def fit(
        self,
        X: pd.DataFrame,
        y: object = None,
        *,
        tiers: pd.Series | Mapping[str, pd.Series] | None = None,
    ) -> Segmenter:
        """Choose k, cluster the customers with history, profile and name.

        ``y`` is ignored. ``tiers`` (a Series indexed like ``X``, or a mapping
        ``{rule: Series}`` such as the count and value rules) adds the tier
        mix to ``profiles_``.
        """
        frame = check_X(self, X, reset=True, allow_nan=True)
        k_min, k_max = _check_k_range(self.k_range)
        fixed = _check_k(self.k)
        if self.criterion not in CRITERIA:
            raise ValueError(
                f"criterion must be one of {CRITERIA}, got {self.criterion!r}"
            )
        if self.value_col not in frame.columns:
            raise ValueError(f"value_col {self.value_col!r} is not a column of X")
        wanted = self._resolve_features(frame)
        if not wanted:
            raise ValueError("X has no numeric feature column to cluster on")
        values = self._values(frame, wanted)
        self.cluster_features_ = wanted
        lead = self._lead_mask(frame, values)
        history = frame.loc[~lead]
        if len(history) < 2:
            raise ValueError(
                f"n_samples={len(history)}: at least 2 customers with history "
                "are needed"
            )
        known = [c for c in wanted if history[c].notna().any()]
        self.dropped_features_ = [c for c in wanted if c not in known]
        if not known:
            raise ValueError(f"features {wanted} are missing for every customer")
        self.coordinates_ = fit_coordinates(history, known)
        self.cluster_features_ = list(self.coordinates_.features)
        self.features_ = list(self.coordinates_.inputs)
        Z = self.coordinates_.matrix(self._values(history, self.features_))
        if fixed is not None:
            k_values = [fixed]
        else:
            k_values = [k for k in range(k_min, k_max + 1) if k <= len(history)]
        if not k_values or k_values[0] > len(history):
            raise ValueError(
                f"k={fixed or self.k_range} asks for more segments than the "
                f"{len(history)} customers with history"
            )
        seed = int(self.random_state) if self.random_state is not None else 0
        if len(k_values) > 1:
            self.k_, self.scores_ = select_k(
                Z,
                k_values,
                criterion=self.criterion,
                threshold=self.threshold,
                repeats=self.repeats,
                sample_size=self.sample_size,
                n_init=self.n_init,
                random_state=seed,
            )
        else:
            self.k_ = k_values[0]
            self.scores_ = pd.DataFrame(
                {c: [np.nan] for c in ("prediction_strength", "silhouette")},
                index=pd.Index(k_values, name="k"),
            )
        self.silhouette_ = {
            int(k): float(v) for k, v in self.scores_["silhouette"].items()
        }
        with threadpool_limits(limits=1, user_api="openmp"):
            self.model_ = fit_kmeans(
                Z,
                self.k_,
                n_init=self.n_init,
                seed=seed,
                minibatch_threshold=self.minibatch_threshold,
            )
        raw = self.model_.predict(Z)
        self._order_by_value(history, raw)
        labels = self.relabel_[raw].astype("int64")
        self.labels_ = np.full(len(frame), LEAD, dtype="int64")
        self.labels_[~lead] = labels
        self.n_leads_ = int(lead.sum())
        self._profile(history, labels, Z, tiers)
        return self

    def _order_by_value(self, history: pd.DataFrame, raw: np.ndarray) -> None:
        value = history[self.value_col].astype("float64").to_numpy()
        means = (
            pd.Series(value)
            .groupby(raw)
            .mean()
            .reindex(range(self.k_), fill_value=-np.inf)
        )
        order = np.argsort(-means.to_numpy(), kind="stable")
        self.relabel_ = np.empty(self.k_, dtype="int64")
        self.relabel_[order] = np.arange(self.k_)
        self.cluster_centers_ = pd.DataFrame(
            self.model_.cluster_centers_[order],
            index=pd.Index(range(self.k_), name="cluster"),
            columns=self.cluster_features_,
        )

    def _profile(self, history, labels, Z, tiers) -> None:
        clusters = pd.Series(labels, index=history.index)
        cols = list(dict.fromkeys([self.value_col, *self.cluster_features_]))
        if isinstance(tiers, pd.Series):
            tiers = tiers.reindex(history.index)
        elif tiers is not None:
            tiers = {r: t.reindex(history.index) for r, t in tiers.items()}
        profiles = profile_clusters(
            history,
            clusters,
            value_col=self.value_col,
            columns=cols,
            tiers=tiers,
            lifecycle_col=self.lifecycle_col,
        ).reindex(range(self.k_))
        coords = pd.DataFrame(Z, columns=self.cluster_features_)
        self.effects_ = distinguishing_features(coords, labels).reindex(range(self.k_))
        value = history[self.value_col].astype("float64")
        levels = pd.Series(
            [
                level(float(profiles.loc[c, f"median_{self.value_col}"]), value)
                for c in range(self.k_)
            ],
            index=range(self.k_),
        )
        # the value word already speaks for the value column
        self.names_ = name_segments(
            self.effects_.drop(columns=[self.value_col], errors="ignore"),
            levels,
            min_effect=self.min_effect,
        ).rename_axis("cluster")
        profiles.insert(
            0,
            "distinguishing",
            describe_effects(self.effects_, min_effect=self.min_effect),
        )
        profiles.insert(0, "name", self.names_)
        self.profiles_ = profiles.rename_axis("cluster")

    # --- applying -----------------------------------------------------------------

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Segment of each row (:data:`LEAD` for leads), Series ``cluster``."""
        check_is_fitted(self, "model_")
        frame = check_X(self, X, reset=False, allow_nan=True)
        missing = [c for c in self.features_ if c not in frame.columns]
        if missing:
            raise ValueError(f"features {missing} not found in X")
        values = self._values(frame, self.features_)
        labels = self.predict_values(values)
        if "has_history" in frame.columns:
            history = frame["has_history"].astype("boolean").fillna(False)
            labels[~history.to_numpy(dtype=bool)] = LEAD
        return pd.Series(labels, index=frame.index, name="cluster", dtype="int64")

    def predict_names(self, X: pd.DataFrame) -> pd.Series:
        """Segment name of each row (``"lead"`` for leads), Series ``segment``."""
        codes = self.predict(X)
        names = np.asarray([*self.names_.tolist(), LEAD_NAME], dtype=object)
        return pd.Series(
            names[np.where(codes < 0, len(names) - 1, codes)],
            index=codes.index,
            name="segment",
            dtype="str",
        )

    def _coordinates(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self, "model_")
        values = np.asarray(values, dtype="float64")
        if values.ndim != 2 or values.shape[1] != len(self.features_):
            raise ValueError(
                f"values must have shape (n, {len(self.features_)}) for features "
                f"{self.features_}, got {values.shape}"
            )
        if np.isinf(values).any():
            bad = [
                c
                for c, inf in zip(
                    self.features_, np.isinf(values).any(axis=0), strict=True
                )
                if inf
            ]
            raise ValueError(f"features {bad} contain infinity")
        lead = np.isnan(values[:, : len(self.cluster_features_)]).all(axis=1)
        return self.coordinates_.matrix(values), lead

    def predict_values(self, values: np.ndarray) -> np.ndarray:
        """:meth:`predict` on a float matrix of the ``features_`` columns.

        The same steps in numpy, without scikit-learn's per-call validation and
        thread-pool setup: the fitted imputation and scaling, then the nearest
        centre as k-means computes it (``|c|² - 2 x·c``, first minimum). A row
        whose clustering features are all NaN is a lead (:data:`LEAD`).

        Examples
        --------
        >>> X = pd.DataFrame({"net_spend": [1000.0, 990.0, 20.0, 21.0],
        ...                   "orders": [10.0, 9.0, 1.0, 1.0]})
        >>> seg = Segmenter(features=["net_spend", "orders"], k=2).fit(X)
        >>> seg.predict_values(np.array([[995.0, 9.0], [19.0, 1.0],
        ...                              [np.nan, np.nan]])).tolist()
        [0, 1, -1]
        """
        Z, lead = self._coordinates(values)
        centers = self.model_.cluster_centers_
        # blocks of rows keep each product too small for BLAS threads, whose
        # spin-waiting made one 850,000-row product take 0.27 s instead of
        # 0.004 s on the shared 2 cores (k-means predicts in blocks too)
        products = np.empty((len(Z), len(centers)))
        transposed = np.ascontiguousarray(centers.T)
        for start in range(0, len(Z), _BLOCK_ROWS):
            block = slice(start, start + _BLOCK_ROWS)
            np.matmul(Z[block], transposed, out=products[block])
        distances = (centers * centers).sum(axis=1) - 2.0 * products
        labels = self.relabel_[distances.argmin(axis=1)].astype("int64")
        labels[lead] = LEAD
        return labels

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Distance of each row to every segment centre (scaled space); NaN for leads.

        Columns are :meth:`get_feature_names_out` (``distance_<segment>``).
        """
        check_is_fitted(self, "model_")
        frame = check_X(self, X, reset=False, allow_nan=True)
        Z, lead = self._coordinates(self._values(frame, self.features_))
        if "has_history" in frame.columns:
            history = frame["has_history"].astype("boolean").fillna(False)
            lead |= ~history.to_numpy(dtype=bool)
        centers = self.cluster_centers_.to_numpy()
        dist = np.sqrt(((Z[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))
        dist[lead] = np.nan
        return pd.DataFrame(
            dist, index=frame.index, columns=self.get_feature_names_out()
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``distance_0``, ..., ``distance_<k-1>``: the columns of :meth:`transform`."""
        check_is_fitted(self, "model_")
        return np.asarray([f"distance_{c}" for c in range(self.k_)], dtype=object)

    def fit_predict(
        self,
        X: pd.DataFrame,
        y: object = None,
        **kwargs: pd.Series | Mapping[str, pd.Series] | None,
    ) -> pd.Series:
        """Fit and return the training segments as a Series ``cluster``."""
        self.fit(X, y, **kwargs)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.Series(self.labels_, index=index, name="cluster")


def _check_k_range(k_range: object) -> tuple[int, int]:
    try:
        k_min, k_max = (int(k) for k in k_range)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"k_range must be a pair (k_min, k_max), got {k_range!r}"
        ) from exc
    if not 2 <= k_min <= k_max:
        raise ValueError(f"k_range must satisfy 2 <= k_min <= k_max, got {k_range!r}")
    return k_min, k_max


def _check_k(k: object) -> int | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"k must be None or an integer >= 2, got {k!r}")
    return int(k)
