"""Persistence and BG/NBD + Gamma-Gamma together: the blend fallback.

The history route's two value baselines answer the same question from two
ends: persistence ranks customers by what they spent over the last ``h`` days,
BG/NBD + Gamma-Gamma by what their whole history makes it expect over the next
``h``. Which one is better changes from one date to the next (on CDNOW at a
91-day horizon persistence led at the selection cutoffs and BG/NBD at the
test), and a run picking one of them on past cutoffs picks the wrong one as
often as not. The blend ranks customers by the mean of their two percentile
ranks; on every CDNOW cutoff measured it scored within 0.001 of the better of
the two, and above both on some.

It is a candidate a route can ship (``model: blend`` in predict output), not a
baseline: a run's lift is still measured against majority, persistence,
BG/NBD + Gamma-Gamma and the logistic regression alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.model.fallback import _ValueCut, conditional_proba, value_thresholds

__all__ = ["BLEND", "BlendFallback", "blend_codes", "percentile_ranks"]

BLEND = "blend"


def percentile_ranks(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of each value among the sorted ``reference`` values.

    A value equal to ``m`` reference values sits in the middle of them, so ties
    get the same rank whichever side they are cut from.

    Examples
    --------
    >>> percentile_ranks(np.array([0.0, 0.0, 1.0, 3.0]), np.array([0.0, 1.0, 5.0]))
    array([0.25 , 0.625, 1.   ])
    """
    reference = np.asarray(reference, dtype=float)
    if not len(reference):
        return np.full(len(values), 0.5)
    low = np.searchsorted(reference, values, side="left")
    high = np.searchsorted(reference, values, side="right")
    return (low + high) / (2.0 * len(reference))


def blend_codes(scores: Sequence[np.ndarray], counts: np.ndarray) -> np.ndarray:
    """Tier codes of rows ranked by the mean percentile rank of ``scores``
    (each an array over the same rows, higher is better), ``counts[j]`` rows in
    tier ``j`` from the top; the rank cut's tie rule applies.

    Examples
    --------
    Rows 0 and 2 tie for the one place in B; both go to the lower tier:

    >>> blend_codes([np.array([4.0, 3, 2, 1]), np.array([1.0, 4, 3, 2])],
    ...             np.array([1, 1, 2])).tolist()
    [2, 0, 2, 2]
    """
    blended = np.mean(
        [percentile_ranks(np.sort(s), np.asarray(s, dtype=float)) for s in scores],
        axis=0,
    )
    thresholds = _cut(blended, counts)
    return (blended[:, None] < thresholds[None, :]).sum(axis=1).astype(int)


#: At most this many reference values per part are kept in a fitted blend
#: (evenly spaced quantiles beyond it): a percentile rank moves by at most
#: 1/100,000, and a model of millions of customers carries 1.6 MB for them.
REFERENCE_POINTS = 100_001


def _summary(values: np.ndarray) -> np.ndarray:
    """``values`` sorted, or ``REFERENCE_POINTS`` evenly spaced quantiles of
    them (ties keep their share of the points).

    Examples
    --------
    >>> _summary(np.array([3.0, 1.0, 2.0])).tolist()
    [1.0, 2.0, 3.0]
    >>> q = _summary(np.r_[np.zeros(600_000), np.arange(1.0, 400_001)])
    >>> len(q), float(percentile_ranks(q, np.array([0.0]))[0])
    (100001, 0.3)
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    if len(ordered) <= REFERENCE_POINTS:
        return ordered
    positions = np.linspace(0, len(ordered) - 1, REFERENCE_POINTS)
    return ordered[np.rint(positions).astype(int)]


def _cut(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Thresholds that give ``values`` (ranked from the top) the tier shares
    of ``counts`` (rescaled to the number of values), with the tie rule."""
    shares = np.asarray(counts, dtype=float) / max(float(np.sum(counts)), 1.0)
    ends = np.rint(np.cumsum(shares) * len(values)).astype(int)
    ends[-1] = len(values)
    sizes = np.diff(np.r_[0, ends])
    ranked = np.empty(len(values), dtype=int)
    ranked[np.argsort(-values, kind="stable")] = np.repeat(np.arange(len(sizes)), sizes)
    return value_thresholds(values, ranked, len(sizes))


@dataclass
class BlendFallback(_ValueCut):
    """Tiers by the mean percentile rank of several value fallbacks.

    ``parts`` are fitted value fallbacks (persistence and BG/NBD +
    Gamma-Gamma); ``references`` each part's values on the reference
    population, sorted. A row's blend value is the mean of its percentile ranks
    (:func:`percentile_ranks`) among them; ``thresholds`` cut blend values so
    the reference population gets the tier counts of the reference tiers.

    Examples
    --------
    >>> from segml.model.fallback import PersistenceFallback
    >>> last = PersistenceFallback(column="spend_90d", thresholds=np.array([5.0, 1]),
    ...                            proba=np.eye(3))
    >>> recent = PersistenceFallback(column="spend_30d",
    ...                              thresholds=np.array([5.0, 1]), proba=np.eye(3))
    >>> ref = pd.DataFrame({"spend_90d": [9.0, 6, 2, 0], "spend_30d": [1.0, 6, 3, 0]})
    >>> fb = BlendFallback.fit((last, recent), ref, np.array([0, 1, 2, 2]),
    ...                        np.array([0, 1, 2, 2]), np.array([0, 1, 2, 2]), 3)
    >>> fb.predict_rows(ref, np.arange(4))[0].tolist()  # mean ranks .625 .75 .5 .125
    [1, 0, 2, 2]
    """

    parts: tuple[_ValueCut, ...] = ()
    references: tuple[np.ndarray, ...] = ()
    kind: str = field(init=False, default=BLEND)

    @classmethod
    def fit(
        cls,
        parts: Sequence[_ValueCut],
        reference: pd.DataFrame,
        reference_codes: np.ndarray,
        train_codes: np.ndarray,
        train_truth: np.ndarray,
        n_classes: int,
    ) -> BlendFallback:
        """Percentile references and thresholds from the ``reference`` rows
        (cut into the tier counts of ``reference_codes``); probabilities from
        training rows' blend tiers ``train_codes`` and true tiers."""
        rows = np.arange(len(reference))
        values = [_summary(part._values(reference, rows)) for part in parts]
        out = cls(parts=tuple(parts), references=tuple(values))
        blended = out._values(reference, rows)
        counts = np.bincount(
            np.asarray(reference_codes, dtype=int), minlength=n_classes
        )
        out.thresholds = _cut(blended, counts)
        out.proba = conditional_proba(train_codes, train_truth, n_classes)
        return out

    def _values(self, frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        ranks = [
            percentile_ranks(ref, part._values(frame, rows))
            for part, ref in zip(self.parts, self.references, strict=True)
        ]
        return np.mean(ranks, axis=0) if ranks else np.zeros(len(rows))

    def reasons(self, frame, rows):
        values = self._values(frame, rows)
        names = " and ".join(part.kind for part in self.parts)
        return [f"blend of {names}: mean percentile rank {v:.3f}" for v in values]
