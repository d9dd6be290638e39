"""Segmenter: k-means on heavy-tailed customer features, k chosen and profiled."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import RobustScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from segml.segments.naming import name_clusters
from segml.segments.profiles import profile_clusters
from segml.tiers._validate import check_X

__all__ = ["DEFAULT_FEATURES", "Segmenter", "select_k", "signed_log1p"]

#: Features used by default, those present in the frame.
DEFAULT_FEATURES = (
    "net_spend",
    "orders",
    "recency_days",
    "tenure_days",
    "avg_order_value",
)


_BLOCK_ROWS = 1024  # rows per matrix product in Segmenter.predict_values


def signed_log1p(frame: pd.DataFrame) -> pd.DataFrame:
    """``sign(x) * log1p(|x|)``: tames heavy tails, keeps sign (refunds) and 0.

    Examples
    --------
    >>> signed_log1p(pd.DataFrame({"x": [0.0, np.e - 1, -(np.e - 1)]}))["x"].tolist()
    [0.0, 1.0, -1.0]
    """
    arr = frame.to_numpy(dtype=float)
    return pd.DataFrame(
        np.sign(arr) * np.log1p(np.abs(arr)), index=frame.index, columns=frame.columns
    )


def select_k(
    Z: np.ndarray,
    k_values: Sequence[int],
    *,
    sample_size: int = 10_000,
    minibatch_threshold: int = 50_000,
    n_init: int = 4,
    random_state: int | np.random.RandomState | None = 0,
) -> tuple[int, dict[int, float], KMeans | MiniBatchKMeans]:
    """Fit k-means for each k and keep the one with the best silhouette.

    Each k is fitted on all rows (``MiniBatchKMeans`` above
    ``minibatch_threshold`` rows); the silhouette of every k is measured on
    the same seeded random sample of at most ``sample_size`` rows. The best
    silhouette wins, ties going to the smaller k; a k whose silhouette cannot
    be computed (fewer than two clusters in the sample) scores NaN.

    Returns
    -------
    k, silhouettes, model
        The chosen k, ``{k: silhouette}``, and the fitted model of the chosen k.

    Examples
    --------
    >>> Z = np.r_[np.zeros((5, 2)), np.ones((5, 2)) * 10] + np.arange(10)[:, None] / 100
    >>> k, scores, model = select_k(Z, [2, 3])
    >>> k, sorted(scores)
    (2, [2, 3])
    """
    rs = check_random_state(random_state)
    seed = int(rs.randint(np.iinfo(np.int32).max))
    n = len(Z)
    sample = (
        np.sort(rs.choice(n, sample_size, replace=False)) if n > sample_size else None
    )
    scores: dict[int, float] = {}
    models = {}
    # k-means runs on one OpenMP thread: on 2 shared cores a fit took ~5 s per
    # k with OpenMP's default threads and ~0.02 s with one (notebook timings).
    with threadpool_limits(limits=1, user_api="openmp"):
        _fit_each_k(
            Z, k_values, sample, scores, models, minibatch_threshold, n_init, seed
        )
    finite = [k for k in k_values if np.isfinite(scores[k])]
    best = max(finite, key=lambda k: (scores[k], -k)) if finite else k_values[0]
    return best, scores, models[best]


def _fit_each_k(Z, k_values, sample, scores, models, minibatch_threshold, n_init, seed):
    """Fit k-means for every k; fill ``scores`` (silhouette) and ``models``."""
    n = len(Z)
    for k in k_values:
        if n > minibatch_threshold:
            model = MiniBatchKMeans(
                n_clusters=k, n_init=n_init, random_state=seed, batch_size=4096
            )
        else:
            model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
        labels = model.fit_predict(Z)
        zs, ls = (Z, labels) if sample is None else (Z[sample], labels[sample])
        n_labels = len(np.unique(ls))
        ok = 2 <= n_labels <= len(zs) - 1
        scores[k] = float(silhouette_score(zs, ls)) if ok else float("nan")
        models[k] = model


class Segmenter(ClusterMixin, BaseEstimator):
    """Cluster customers, order clusters by value, profile and name them.

    Features are transformed by :func:`signed_log1p` then ``RobustScaler``;
    k-means runs for every k of ``k_range`` and the k with the best silhouette
    (on a seeded sample) is kept. Clusters are relabelled by the mean of
    ``value_col``, so cluster 0 is always the most valuable. The same
    ``random_state`` gives the same clusters.

    Parameters
    ----------
    features : sequence of str, optional
        Columns to cluster on. Default: those of :data:`DEFAULT_FEATURES`
        present, else every numeric column.
    value_col : str
        Column that orders the clusters and gives their value shares.
    k_range : (int, int)
        Smallest and largest k tried, both included (k >= 2).
    sample_size : int
        Rows the silhouette is measured on.
    minibatch_threshold : int
        Above this many rows ``MiniBatchKMeans`` replaces ``KMeans``.
    n_init : int
        k-means restarts.
    random_state : int, RandomState or None
        Seed of k-means and of the silhouette sample.
    lifecycle_col : str or None
        When this column is present, profiles get the lifecycle mix.

    Attributes
    ----------
    k_ : int
    silhouette_ : dict
        Silhouette per k tried.
    cluster_centers_ : DataFrame
        Centres in the scaled space, one row per (relabelled) cluster.
    labels_ : ndarray of int
    profiles_ : DataFrame
        ``name`` then :func:`~segml.segments.profile_clusters` columns.
    names_ : Series
        Readable name per cluster (:func:`~segml.segments.name_clusters`).
    features_ : list of str

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"net_spend": np.r_[rng.normal(1000, 50, 30),
    ...                                      rng.normal(20, 2, 30)],
    ...                   "orders": np.r_[rng.integers(8, 12, 30), np.ones(30)]})
    >>> seg = Segmenter(k_range=(2, 4), random_state=0).fit(X)
    >>> seg.k_, seg.profiles_["size"].tolist()
    (2, [30, 30])
    >>> seg.names_.tolist()
    ['high-value frequent', 'low-value one-off']
    """

    def __init__(
        self,
        *,
        features: Sequence[str] | None = None,
        value_col: str = "net_spend",
        k_range: tuple[int, int] = (2, 8),
        sample_size: int = 10_000,
        minibatch_threshold: int = 50_000,
        n_init: int = 4,
        random_state: int | np.random.RandomState | None = 0,
        lifecycle_col: str | None = "lifecycle_stage",
    ) -> None:
        self.features = features
        self.value_col = value_col
        self.k_range = k_range
        self.sample_size = sample_size
        self.minibatch_threshold = minibatch_threshold
        self.n_init = n_init
        self.random_state = random_state
        self.lifecycle_col = lifecycle_col

    def _resolve_features(self, frame: pd.DataFrame) -> list[str]:
        if self.features is not None:
            cols = list(self.features)
            missing = [c for c in cols if c not in frame.columns]
            if missing or not cols:
                raise ValueError(f"features {missing or cols} not found in X")
            return cols
        cols = [c for c in DEFAULT_FEATURES if c in frame.columns]
        return cols or [
            c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
        ]

    def _matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        try:
            data = frame[self.features_].astype("float64")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"features {self.features_} must be numeric") from exc
        bad = [c for c in self.features_ if not np.isfinite(data[c].to_numpy()).all()]
        if bad:
            raise ValueError(
                f"features {bad} contain NaN or infinity; impute them first"
            )
        return signed_log1p(data)

    def fit(
        self, X: pd.DataFrame, y: object = None, *, tiers: pd.Series | None = None
    ) -> Segmenter:
        """Choose k, cluster, relabel by value, profile and name; ``y`` is ignored.

        ``tiers`` (a Series indexed like ``X``) adds the tier mix to ``profiles_``.
        """
        frame = check_X(self, X, reset=True)
        k_min, k_max = _check_k_range(self.k_range)
        if len(frame) < 2:
            raise ValueError(f"n_samples={len(frame)}: at least 2 customers are needed")
        if self.value_col not in frame.columns:
            raise ValueError(f"value_col {self.value_col!r} is not a column of X")
        self.features_ = self._resolve_features(frame)
        if not self.features_:
            raise ValueError("X has no numeric feature column to cluster on")
        Z = self._matrix(frame)
        self.scaler_ = RobustScaler().fit(Z.to_numpy())
        Zs = self.scaler_.transform(Z.to_numpy())
        k_values = [k for k in range(k_min, k_max + 1) if k <= len(frame)]
        if not k_values:
            raise ValueError(f"k_range={self.k_range} asks for more clusters than rows")
        self.k_, self.silhouette_, self.model_ = select_k(
            Zs,
            k_values,
            sample_size=self.sample_size,
            minibatch_threshold=self.minibatch_threshold,
            n_init=self.n_init,
            random_state=self.random_state,
        )
        raw = (
            self.model_.labels_
            if hasattr(self.model_, "labels_")
            else self.model_.predict(Zs)
        )
        value = frame[self.value_col].astype("float64").to_numpy()
        means = (
            pd.Series(value)
            .groupby(raw)
            .mean()
            .reindex(range(self.k_), fill_value=-np.inf)
        )
        order = np.argsort(-means.to_numpy(), kind="stable")
        self.relabel_ = np.empty(self.k_, dtype="int64")
        self.relabel_[order] = np.arange(self.k_)
        self.labels_ = self.relabel_[raw].astype("int64")
        self.cluster_centers_ = pd.DataFrame(
            self.model_.cluster_centers_[order],
            index=pd.Index(range(self.k_), name="cluster"),
            columns=self.features_,
        )
        clusters = pd.Series(self.labels_, index=frame.index)
        cols = list(dict.fromkeys([self.value_col, *self.features_]))
        profiles = profile_clusters(
            frame,
            clusters,
            value_col=self.value_col,
            columns=cols,
            tiers=tiers,
            lifecycle_col=self.lifecycle_col,
        )
        self.names_ = name_clusters(profiles, frame, value_col=self.value_col)
        self.profiles_ = profiles.reindex(range(self.k_)).rename_axis("cluster")
        self.profiles_.insert(0, "name", self.names_.reindex(self.profiles_.index))
        return self

    def predict(self, X: pd.DataFrame) -> pd.Series:
        """Cluster of each row (same relabelling as in ``fit``), Series ``cluster``."""
        check_is_fitted(self, "model_")
        frame = check_X(self, X, reset=False)
        Zs = self.scaler_.transform(self._matrix(frame).to_numpy())
        # no threadpool_limits here: entering it costs ~3 ms a call (it rereads
        # /proc/self/maps), 30x what k-means prediction itself takes
        labels = self.relabel_[self.model_.predict(Zs)]
        return pd.Series(labels, index=frame.index, name="cluster", dtype="int64")

    def predict_values(self, values: np.ndarray) -> np.ndarray:
        """:meth:`predict` on a float matrix of the ``features_`` columns.

        The same steps in numpy, without scikit-learn's per-call validation
        and thread-pool setup (measured 6 ms for one row through
        :meth:`predict`): signed log, the fitted robust scaling, then the
        nearest centre computed as k-means does (``|c|² - 2 x·c``, first
        minimum).

        Examples
        --------
        >>> X = pd.DataFrame({"net_spend": [1000.0, 990.0, 20.0, 21.0],
        ...                   "orders": [10.0, 9.0, 1.0, 1.0]})
        >>> seg = Segmenter(k_range=(2, 2)).fit(X)
        >>> seg.predict_values(np.array([[995.0, 9.0], [19.0, 1.0]])).tolist()
        [0, 1]
        """
        check_is_fitted(self, "model_")
        values = np.asarray(values, dtype="float64")
        if values.ndim != 2 or values.shape[1] != len(self.features_):
            raise ValueError(
                f"values must have shape (n, {len(self.features_)}) for features "
                f"{self.features_}, got {values.shape}"
            )
        finite = np.isfinite(values).all(axis=0)
        if not finite.all():
            bad = [c for c, ok in zip(self.features_, finite, strict=True) if not ok]
            raise ValueError(
                f"features {bad} contain NaN or infinity; impute them first"
            )
        Z = np.sign(values) * np.log1p(np.abs(values))
        if self.scaler_.center_ is not None:
            Z -= self.scaler_.center_
        if self.scaler_.scale_ is not None:
            Z /= self.scaler_.scale_
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
        return self.relabel_[distances.argmin(axis=1)].astype("int64")

    def fit_predict(
        self, X: pd.DataFrame, y: object = None, **kwargs: pd.Series | None
    ) -> pd.Series:
        """Fit and return the training clusters as a Series ``cluster``."""
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
