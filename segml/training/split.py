"""Cross-validation folds over stacked cutoffs that never train on the future.

A training set of rolling origins (:func:`~segml.training.build_training_set`)
stacks one row per customer and cutoff, labelled with the customer's value in
the window ``(cutoff, cutoff + horizon]``. Folds of scikit-learn's
``TimeSeriesSplit`` over such rows cut through a cutoff and, worse, train on
rows whose label window is still open at the test cutoff: a row at cutoff
``c`` is labelled with purchases up to ``c + horizon``, which the model could
not have known when scoring the test cutoff. :class:`CutoffSplit` tests one
whole cutoff per fold and trains only on the rows whose label window had
closed by then.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from segml.errors import SegmlDataError

__all__ = ["CutoffSplit"]


class CutoffSplit(BaseCrossValidator):
    """Time-ordered folds: test one cutoff, train on labels known by then.

    The cutoffs are sorted; each of the last ``n_splits`` cutoffs that has
    something to train on is the test fold of one split (oldest first), and
    its training rows are those of the earlier cutoffs ``c`` with
    ``c + horizon_days <= test cutoff`` (their label windows ended by the test
    cutoff), the latest ``max_train_cutoffs`` of them when given (a rolling
    window; by default the window expands).

    Use it as ``cv`` of ``GridSearchCV`` or ``cross_val_score``; the cutoffs
    come from ``groups`` when given, else from the ``cutoff`` column of ``X``
    (which :class:`~segml.model.TierPredictor` never uses as a feature).

    Parameters
    ----------
    horizon_days : int
        Length of the label window in days (required: 0 would let a fold train
        on labels that end after its test cutoff).
    n_splits : int
        Number of folds (test cutoffs), at least 1.
    max_train_cutoffs : int, optional
        Train on at most this many cutoffs, the latest eligible ones.
    column : str
        Column of ``X`` holding each row's cutoff when ``groups`` is None.

    Examples
    --------
    Four monthly cutoffs and a 31-day label window: the rows of 1 February are
    labelled with purchases up to 3 March, not yet known on 1 March, so the
    March fold trains on January only:

    >>> X = pd.DataFrame({"cutoff": pd.to_datetime(
    ...     ["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"])})
    >>> cv = CutoffSplit(horizon_days=31, n_splits=2)
    >>> [(train.tolist(), test.tolist()) for train, test in cv.split(X)]
    [([0, 1], [3]), ([0, 1, 2, 3], [4])]
    """

    def __init__(
        self,
        *,
        horizon_days: int,
        n_splits: int = 3,
        max_train_cutoffs: int | None = None,
        column: str = "cutoff",
    ) -> None:
        self.horizon_days = horizon_days
        self.n_splits = n_splits
        self.max_train_cutoffs = max_train_cutoffs
        self.column = column

    def get_n_splits(
        self, X: object = None, y: object = None, groups: object = None
    ) -> int:
        """The number of folds, ``n_splits``."""
        return int(self.n_splits)

    def split(
        self, X: pd.DataFrame, y: object = None, groups: object = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` positions of each fold, oldest test first."""
        self._check_settings()
        cutoffs = self._cutoffs(X, groups)
        dates = pd.DatetimeIndex(cutoffs.unique()).sort_values()
        horizon = pd.Timedelta(days=int(self.horizon_days))
        plans = []
        for test in dates:
            eligible = dates[dates + horizon <= test]
            if self.max_train_cutoffs is not None:
                eligible = eligible[-int(self.max_train_cutoffs) :]
            if len(eligible):
                plans.append((eligible, test))
        if len(plans) < self.n_splits:
            raise SegmlDataError(
                "X",
                self.column,
                f"{len(dates)} cutoffs give {len(plans)} folds whose training "
                f"labels (a {self.horizon_days}-day window) end by the test "
                f"cutoff, fewer than n_splits={self.n_splits}",
            )
        for train_dates, test in plans[-int(self.n_splits) :]:
            train = np.flatnonzero(cutoffs.isin(train_dates).to_numpy())
            yield train, np.flatnonzero((cutoffs == test).to_numpy())

    def _iter_test_indices(self, X=None, y=None, groups=None):  # noqa: ANN001
        for _, test in self.split(X, y, groups):
            yield test

    def _check_settings(self) -> None:
        for name, low in (("horizon_days", 0), ("n_splits", 1)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        limit = self.max_train_cutoffs
        if limit is not None and (not isinstance(limit, numbers.Integral) or limit < 1):
            raise ValueError(
                f"max_train_cutoffs must be None or an int >= 1, got {limit!r}"
            )

    def _cutoffs(self, X: object, groups: object) -> pd.Series:
        if groups is not None:
            values = pd.Series(np.asarray(groups))
            where = "groups"
        elif isinstance(X, pd.DataFrame) and self.column in X.columns:
            values = X[self.column].reset_index(drop=True)
            where = self.column
        else:
            raise SegmlDataError(
                "X",
                self.column,
                "is missing: pass each row's cutoff as a column of X or as groups",
            )
        try:
            dates = pd.to_datetime(values)
        except (TypeError, ValueError) as exc:
            raise SegmlDataError(
                "X", where, f"cutoffs must be dates: {exc}", values.to_frame()
            ) from exc
        missing = dates.isna()
        if missing.any():
            raise SegmlDataError(
                "X",
                where,
                f"{int(missing.sum())} rows have no cutoff",
                values[missing].to_frame(),
            )
        return dates
