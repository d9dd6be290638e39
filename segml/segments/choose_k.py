"""Choosing the number of segments by evidence: prediction strength.

k-means with the best silhouette is what everyone hand-rolls; on customer data
it rewards the few coarsest splits (two or three clusters that differ in size
and nothing else). segml asks instead whether a partition into k segments is
*reproducible*: the prediction strength of Tibshirani and Walther (2005,
"Cluster validation by prediction strength", JCGS 14(3)).

For each repeat, a random sample is cut into two halves; k-means is fitted on
each. For every cluster of the second half, we count the pairs of its members
that the first half's centres also put together; the prediction strength is
the smallest of these shares over the clusters (the worst-reproduced segment),
averaged over the repeats. The chosen k is the **largest k whose prediction
strength reaches the threshold** (0.8, the paper's recommendation) in a
typical split: the mean over the repeats minus one standard deviation. More
segments only where the data reproduce them split after split. The margin
matters: a k that cuts a real segment in two is reproduced in some splits and
not in others, and its mean can brush the threshold by chance. On
make_crm(20000) (5 seeds x 2 sampling seeds) the plain mean picked 8 segments
in 2 of 10 runs, the mean minus one standard error in 1, the mean minus one
standard deviation none: 6 every time, as planted.
When no k reaches it, the k with the highest prediction strength is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

__all__ = ["CRITERIA", "choose_k", "fit_kmeans", "prediction_strength"]

#: Criteria :func:`choose_k` knows.
CRITERIA = ("prediction_strength", "silhouette")
#: Rows the silhouette is measured on (per k).
SILHOUETTE_ROWS = 2000


def fit_kmeans(
    Z: np.ndarray,
    k: int,
    *,
    n_init: int,
    seed: int,
    minibatch_threshold: int = 50_000,
) -> KMeans | MiniBatchKMeans:
    """k-means on ``Z`` (``MiniBatchKMeans`` above ``minibatch_threshold`` rows)."""
    if len(Z) > minibatch_threshold:
        model = MiniBatchKMeans(
            n_clusters=k, n_init=n_init, random_state=seed, batch_size=4096
        )
    else:
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    return model.fit(Z)


def _strength(test_labels: np.ndarray, predicted: np.ndarray, k: int) -> float:
    """Smallest share of co-clustered pairs, over the test clusters (>= 2 rows)."""
    worst = 1.0
    for j in range(k):
        members = predicted[test_labels == j]
        m = len(members)
        if m < 2:
            continue
        counts = np.bincount(members, minlength=k).astype("float64")
        worst = min(worst, float((counts * (counts - 1)).sum() / (m * (m - 1))))
    return worst


def prediction_strength(
    Z: np.ndarray,
    k_values: Sequence[int],
    *,
    repeats: int = 10,
    sample_size: int = 10_000,
    n_init: int = 2,
    random_state: int = 0,
) -> pd.DataFrame:
    """Prediction strength and silhouette of k-means for every k.

    Each repeat draws at most ``sample_size`` rows, cuts them into two halves
    and fits k-means (``n_init`` restarts) on each. The silhouette is that of
    the second half's clustering on at most :data:`SILHOUETTE_ROWS` of its
    rows, averaged over the repeats. A k with more clusters than half the
    rows scores NaN.

    Returns
    -------
    DataFrame
        Indexed by ``k``: ``prediction_strength``, ``prediction_strength_sd``
        (over the repeats), ``prediction_strength_se`` (its standard error, sd
        over the square root of the repeats) and ``silhouette``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = np.r_[rng.normal(0, 0.1, (40, 2)), rng.normal(3, 0.1, (40, 2))]
    >>> scores = prediction_strength(Z, [2, 3], repeats=3)
    >>> float(scores.loc[2, "prediction_strength"])
    1.0
    >>> bool(scores.loc[3, "prediction_strength"] < 0.8)
    True
    """
    rng = np.random.default_rng(random_state)
    n = len(Z)
    rows = min(n, sample_size)
    strengths = {k: [] for k in k_values}
    silhouettes = {k: [] for k in k_values}
    # k-means on one OpenMP thread: on 2 shared cores a fit took ~5 s per k
    # with OpenMP's default threads and ~0.02 s with one (notebook timings).
    with threadpool_limits(limits=1, user_api="openmp"):
        for _ in range(repeats):
            picked = rng.permutation(n)[:rows]
            train, test = Z[picked[: rows // 2]], Z[picked[rows // 2 :]]
            seed = int(rng.integers(np.iinfo(np.int32).max))
            for k in k_values:
                if k > len(train) or k > len(test):
                    continue
                a = fit_kmeans(train, k, n_init=n_init, seed=seed)
                b = fit_kmeans(test, k, n_init=n_init, seed=seed + 1)
                strengths[k].append(_strength(b.labels_, a.predict(test), k))
                shown = test[:SILHOUETTE_ROWS]
                labels = b.labels_[:SILHOUETTE_ROWS]
                if 2 <= len(np.unique(labels)) <= len(shown) - 1:
                    silhouettes[k].append(float(silhouette_score(shown, labels)))
    nan = float("nan")
    return pd.DataFrame(
        {
            "prediction_strength": [
                float(np.mean(strengths[k])) if strengths[k] else nan for k in k_values
            ],
            "prediction_strength_sd": [
                float(np.std(strengths[k])) if strengths[k] else nan for k in k_values
            ],
            "prediction_strength_se": [
                float(np.std(strengths[k]) / np.sqrt(len(strengths[k])))
                if strengths[k]
                else nan
                for k in k_values
            ],
            "silhouette": [
                float(np.mean(silhouettes[k])) if silhouettes[k] else nan
                for k in k_values
            ],
        },
        index=pd.Index(list(k_values), name="k"),
    )


def choose_k(
    scores: pd.DataFrame, *, criterion: str = "prediction_strength", threshold: float
) -> int:
    """The k a criterion picks from :func:`prediction_strength`'s table.

    ``prediction_strength``: the largest k whose strength minus its standard
    deviation over the repeats (``prediction_strength_sd``, 0 when absent)
    reaches ``threshold``, else the k of the highest strength.
    ``silhouette``: the highest silhouette. Ties go to the smaller k; when
    every score is NaN, the smallest k.

    Examples
    --------
    >>> scores = pd.DataFrame({"prediction_strength": [0.95, 0.7, 0.85, 0.6],
    ...                        "silhouette": [0.4, 0.3, 0.35, 0.2]},
    ...                       index=pd.Index([2, 3, 4, 5], name="k"))
    >>> choose_k(scores, threshold=0.8), choose_k(scores, criterion="silhouette",
    ...                                           threshold=0.8)
    (4, 2)
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    values = scores[criterion]
    finite = values[np.isfinite(values.to_numpy(dtype="float64"))]
    if finite.empty:
        return int(scores.index[0])
    if criterion == "prediction_strength":
        sd = scores.get("prediction_strength_sd", pd.Series(0.0, scores.index))
        low = finite - sd.reindex(finite.index).fillna(0.0)
        passing = finite[low >= threshold]
        if not passing.empty:
            return int(passing.index.max())
    best = finite.max()
    return int(finite[finite == best].index.min())
