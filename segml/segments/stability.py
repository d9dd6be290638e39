"""Month-to-month stability of a fitted Segmenter applied at later cutoffs.

A segmentation is only worth acting on if a customer stays in their segment
until they change. :func:`segment_stability` applies one fitted
:class:`~segml.segments.Segmenter` to feature snapshots at successive cutoffs
and measures, for every consecutive pair of cutoffs, over the customers known at
both:

* ``kept_share``: the share who keep their segment (leads included: a lead who
  buys moves out of ``"lead"``);
* ``ari``: the adjusted Rand index between the two partitions;
* the same two over the customers whose clustering coordinates **barely moved**
  (Euclidean distance below ``moved_below`` standard deviations in the scaled
  space): a segment change there is noise of the segmentation, not a change of
  the customer. Customers who did move are *expected* to change segment.

The transitions table counts, summed over the pairs, who went from which
segment to which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from segml.segments.segmenter import LEAD_NAME, Segmenter

__all__ = ["Stability", "segment_stability"]


@dataclass(frozen=True)
class Stability:
    """Result of :func:`segment_stability`.

    Attributes
    ----------
    summary : DataFrame
        One row per consecutive pair of cutoffs (``from``, ``to``):
        ``customers``, ``kept_share``, ``ari``, ``unmoved``,
        ``unmoved_kept_share``, ``unmoved_ari``, ``moved_kept_share``.
    transitions : DataFrame
        Customers per (segment before, segment after), summed over the pairs;
        rows and columns are the segment names, then ``"lead"``.
    segments : DataFrame
        Segment name of each customer (rows) at each cutoff (columns); missing
        where the customer is not in that snapshot.
    """

    summary: pd.DataFrame
    transitions: pd.DataFrame
    segments: pd.DataFrame


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    return float(adjusted_rand_score(a, b)) if len(a) else float("nan")


def segment_stability(
    segmenter: Segmenter,
    snapshots: Mapping[object, pd.DataFrame],
    *,
    moved_below: float = 0.5,
) -> Stability:
    """Apply ``segmenter`` at every cutoff and measure how segments persist.

    Parameters
    ----------
    segmenter : Segmenter
        Fitted once (usually at the first cutoff); never refitted here.
    snapshots : mapping
        ``{cutoff: features}`` in time order; each frame is indexed by customer
        and holds the segmenter's ``features_`` (and ``has_history``).
    moved_below : float
        Customers whose coordinates moved less than this (standard deviations,
        Euclidean) between two cutoffs count as unchanged.

    Examples
    --------
    >>> X = pd.DataFrame({"net_spend": [900.0, 800.0, 10.0, 12.0],
    ...                   "orders": [9.0, 8.0, 1.0, 1.0]}, index=list("abcd"))
    >>> seg = Segmenter(features=["net_spend", "orders"], k=2).fit(X)
    >>> later = X.assign(net_spend=[900.0, 8.0, 10.0, 12.0],
    ...                  orders=[9.0, 1.0, 1.0, 1.0])
    >>> result = segment_stability(seg, {"jan": X, "feb": later})
    >>> result.summary[["from", "to", "customers", "kept_share", "unmoved_kept_share"]]
      from   to  customers  kept_share  unmoved_kept_share
    0  jan  feb          4        0.75                 1.0
    """
    names = [*segmenter.names_.tolist(), LEAD_NAME]
    labels, coords = {}, {}
    for cutoff, frame in snapshots.items():
        codes = segmenter.predict(frame).to_numpy()
        labels[cutoff] = pd.Series(
            np.asarray(names, dtype=object)[np.where(codes < 0, len(names) - 1, codes)],
            index=frame.index,
        )
        values = frame[segmenter.features_].to_numpy(dtype="float64", na_value=np.nan)
        coords[cutoff] = pd.DataFrame(
            segmenter.coordinates_.matrix(values), index=frame.index
        )
    cutoffs = list(snapshots)
    rows = []
    transitions = pd.DataFrame(0, index=names, columns=names, dtype="int64")
    for before, after in zip(cutoffs[:-1], cutoffs[1:], strict=True):
        common = labels[before].index.intersection(labels[after].index)
        a = labels[before].reindex(common).to_numpy()
        b = labels[after].reindex(common).to_numpy()
        step = np.sqrt(
            ((coords[after].loc[common] - coords[before].loc[common]) ** 2).sum(axis=1)
        ).to_numpy()
        still = step < moved_below
        kept = a == b
        rows.append(
            {
                "from": before,
                "to": after,
                "customers": len(common),
                "kept_share": float(kept.mean()) if len(common) else np.nan,
                "ari": _ari(a, b),
                "unmoved": int(still.sum()),
                "unmoved_kept_share": float(kept[still].mean())
                if still.any()
                else np.nan,
                "unmoved_ari": _ari(a[still], b[still]),
                "moved_kept_share": float(kept[~still].mean())
                if (~still).any()
                else np.nan,
            }
        )
        counts = pd.crosstab(pd.Series(a, name="before"), pd.Series(b, name="after"))
        transitions = transitions.add(
            counts.reindex(index=names, columns=names, fill_value=0), fill_value=0
        ).astype("int64")
    transitions.index.name, transitions.columns.name = "before", "after"
    segments = pd.DataFrame(labels)
    return Stability(pd.DataFrame(rows), transitions, segments)
