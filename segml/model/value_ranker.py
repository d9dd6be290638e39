"""Rank customers by expected future value, then cut the ranking into tiers.

Two pieces for the case where tiers are a rule applied to future value and the
history is short:

* :class:`ValueRanker` — a LightGBM regression of the value a customer spends
  in a label window, *offset* by a baseline expectation of that value (by
  default ``btyd_expected_value`` of :mod:`segml.btyd.features`). The booster
  only learns a multiplicative correction ``exp(f(x))`` of the baseline, so a
  model trained on short windows (all a short history allows) scores a longer
  window by multiplying the baseline *for that window* with the same
  correction: the baseline carries the horizon, the booster the customer.
* :func:`simulated_rank_shares` — how many customers to put in each tier when
  the ranking is cut. Under the count rule the shares are known; under the
  cumulative value rule they depend on how concentrated the realised value of
  the scored window will be, which a shorter training window understates.
  Draws of realised value (e.g. :meth:`segml.btyd.features.BTYDFit.simulate`)
  give the expected shares at the scored horizon, and the cut that maximises
  the expected macro-F1 of the ranking against those draws.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d

from segml.btyd.features import HORIZON_FEATURES
from segml.model.encoding import CategoryEncoder

__all__ = [
    "DEFAULT_MULTIPLIERS",
    "RankShares",
    "ValueRanker",
    "simulated_rank_shares",
]

_NEVER_FEATURES = ("customer_id", "cutoff", "has_history")
_LOG_LINK = ("tweedie", "poisson")

#: Factors tried on each cumulative tier boundary by :func:`simulated_rank_shares`.
DEFAULT_MULTIPLIERS: tuple[float, ...] = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4)


class ValueRanker(RegressorMixin, BaseEstimator):
    """LightGBM correction of a baseline expected value, for ranking customers.

    ``fit`` learns ``log E[value | x] = log offset(x) + f(x)`` with a log-link
    objective (Tweedie by default: many zeros, a heavy tail), the offset
    entering as LightGBM's ``init_score``; ``predict`` returns
    ``offset(x) * exp(f(x))``. The offset column must describe each row's own
    window: the label window for training rows, the scored window at predict
    time (see :mod:`segml.btyd.features`). A small, slowly learning booster
    (the defaults) keeps ``f`` close to 0 where the baseline is right.

    The correction ``f`` never sees the offset nor the columns of ``exclude``
    (by default the other horizon-dependent BTYD columns): their values grow
    with the window, so a booster trained on short windows would read the
    larger values of a longer scored window as heavier customers. Doubling the
    offset of a row therefore exactly doubles its prediction.

    Parameters
    ----------
    offset : str or None
        Column of ``X`` holding the baseline expected value of the row's window
        (> 0; values below ``min_offset`` and NaN are raised to it). ``None``
        fits a plain log-link regression on value.
    exclude : sequence of str
        Columns of ``X`` that are not features (absent ones are ignored).
    objective : {"tweedie", "poisson"}
        LightGBM objective (both use a log link, which the offset needs).
    n_estimators, learning_rate, num_leaves, min_child_samples : number
        LightGBM parameters.
    subsample, colsample_bytree : float
        Row and column sampling per tree (rows are re-sampled every tree).
    min_offset : float
        Floor of the offset, in value units.
    random_state : int
        Seed of LightGBM.
    lgbm_params : mapping, optional
        Further :class:`lightgbm.LGBMRegressor` parameters (one thread unless
        ``n_jobs`` is given).

    Attributes
    ----------
    columns_ : list of str
        Feature columns: every column of ``X`` but ``customer_id``, ``cutoff``,
        ``has_history``, the offset and ``exclude``.
    n_features_in_ : int
        Number of feature columns (``len(columns_)``) when fitted on a frame;
        the width of the array when fitted on an array.
    feature_names_in_ : ndarray of str
        ``columns_``; only set when fitted on a frame.
    model_ : lightgbm.LGBMRegressor

    Notes
    -----
    ``X`` is normally a DataFrame whose columns are picked by name. A 2-D
    numeric array (or anything :func:`numpy.asarray` makes one of) is taken
    as a frame with columns ``x0``, ``x1``, ... (name the offset ``"x0"``,
    say); categorical columns need a DataFrame.

    Examples
    --------
    A baseline that is right up to a factor 3 for one region:

    >>> rng = np.random.default_rng(0)
    >>> n = 3000
    >>> X = pd.DataFrame({"base": rng.gamma(2.0, 10.0, n),
    ...                   "region": rng.choice(["n", "s"], n)})
    >>> truth = X["base"] * np.where(X["region"] == "s", 3.0, 1.0)
    >>> y = rng.poisson(truth / 10.0) * 10.0
    >>> model = ValueRanker(offset="base", n_estimators=200, learning_rate=0.1,
    ...                     min_child_samples=20).fit(X, y)
    >>> new = pd.DataFrame({"base": [10.0, 10.0], "region": ["n", "s"]})
    >>> ratio = model.predict(new).iloc[1] / model.predict(new).iloc[0]
    >>> bool(2.5 < ratio < 3.5)
    True
    """

    def __init__(
        self,
        *,
        offset: str | None = "btyd_expected_value",
        exclude: Sequence[str] = HORIZON_FEATURES,
        objective: str = "tweedie",
        n_estimators: int = 100,
        learning_rate: float = 0.02,
        num_leaves: int = 7,
        min_child_samples: int = 200,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_offset: float = 1e-3,
        random_state: int = 0,
        lgbm_params: Mapping[str, object] | None = None,
    ) -> None:
        self.offset = offset
        self.exclude = exclude
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_offset = min_offset
        self.random_state = random_state
        self.lgbm_params = lgbm_params

    def __sklearn_tags__(self):
        # LightGBM takes missing values (leads have no recency) and the
        # columns may be categorical (strings are encoded in fit)
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        # a ranking of values >= 0 (negatives count as 0) through a log link:
        # R^2 on a centred target, half of it clipped to 0, is not its job
        tags.regressor_tags.poor_score = True
        return tags

    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: pd.Series | Sequence[float],
        *,
        sample_weight: Sequence[float] | None = None,
    ) -> ValueRanker:
        """Fit on features ``X`` and each row's value in its label window.

        Parameters
        ----------
        X : DataFrame or 2-D array
            One row per customer and cutoff (an array's columns are named
            ``x0``, ``x1``, ...).
        y : Series or sequence of float
            Value in the row's label window; negative values (net refunds) are
            treated as 0.
        sample_weight : sequence of float, optional
            Row weights.
        """
        from_frame = isinstance(X, pd.DataFrame)
        X = self._frame(X, reset=True)
        if self.objective not in _LOG_LINK:
            raise ValueError(
                f"objective must be one of {list(_LOG_LINK)} (a log link), "
                f"not {self.objective!r}"
            )
        target = _target(y)
        if len(target) != len(X):
            raise ValueError(f"y has {len(target)} rows but X has {len(X)}")
        if not np.isfinite(target).all():
            raise ValueError("y must be finite (0 for no purchase in the window)")
        if len(X) < 2:
            raise ValueError(f"cannot fit on {len(X)} sample(s): need 2 rows or more")
        if not (target > 0).any():
            raise ValueError(
                "y is 0 (or negative, counted as 0) on every row: no value to rank"
            )
        weights = _weights(sample_weight, len(X))
        if self.offset is not None and self.offset not in X.columns:
            raise ValueError(
                f"the offset column {self.offset!r} is not in X; add it (e.g. "
                "segml.btyd.features.btyd_features) or pass offset=None"
            )
        dropped = {*_NEVER_FEATURES, *self.exclude, self.offset}
        self.columns_ = [c for c in X.columns if c not in dropped]
        if not self.columns_:
            raise ValueError("X has no feature column besides the offset")
        self.encoder_ = CategoryEncoder().fit(X[self.columns_])
        params = {
            "objective": self.objective,
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "subsample": self.subsample,
            "subsample_freq": 1 if self.subsample < 1 else 0,
            "colsample_bytree": self.colsample_bytree,
            "random_state": self.random_state,
            "verbose": -1,
            "n_jobs": 1,
            **dict(self.lgbm_params or {}),
        }
        self.model_ = lgb.LGBMRegressor(**params)
        self.model_.fit(
            self.encoder_.transform(X[self.columns_]),
            np.clip(target, 0.0, None),
            sample_weight=weights,
            init_score=self._log_offset(X),
        )
        if from_frame:  # an array's n_features_in_ is its width (validate_data)
            self.n_features_in_ = len(self.columns_)
            self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        return self

    def predict(self, X: pd.DataFrame | np.ndarray) -> pd.Series:
        """Expected value of each row's window, on ``X``'s index."""
        check_is_fitted(self, "model_")
        hint = "" if isinstance(X, pd.DataFrame) else " (an array's are x0, x1, ...)"
        X = self._frame(X, reset=False)
        needed = [*self.columns_, *([self.offset] if self.offset else [])]
        missing = [c for c in needed if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks the column(s) {missing} it was fitted on{hint}")
        if len(X) == 0:
            return pd.Series([], index=X.index, dtype="float64", name="expected_value")
        # the encoder's float matrix is what LightGBM makes of the encoded
        # frame, without its per-call pandas conversion (ms per call)
        raw = self.model_.booster_.predict(
            self.encoder_.matrix(X), raw_score=True, num_threads=1
        )
        log_offset = self._log_offset(X)
        if log_offset is not None:
            raw = raw + log_offset
        return pd.Series(np.exp(raw), index=X.index, name="expected_value")

    def predict_tiers(
        self,
        X: pd.DataFrame,
        shares: Sequence[float],
        *,
        tiers: Sequence[str] = ("A", "B", "C"),
    ) -> pd.Series:
        """Tiers by rank of :meth:`predict`, with ``shares`` of rows per tier.

        ``shares`` are shares of *rows* (customers), best first, e.g. the count
        rule's or those of :func:`simulated_rank_shares` for a value rule.
        """
        from segml.evaluation import rank_cut

        return rank_cut(self.predict(X), shares, tiers=tiers)

    @property
    def feature_importances_(self) -> pd.Series:
        """Total gain of each feature in the correction, largest first."""
        check_is_fitted(self, "model_")
        gain = self.model_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.columns_, name="gain").sort_values(
            ascending=False
        )

    def _frame(self, X: object, *, reset: bool) -> pd.DataFrame:
        """``X`` as a frame: a DataFrame as it is, an array as columns x0, x1, ..."""
        if isinstance(X, pd.DataFrame):
            return X
        from segml.evaluation.baselines import array_frame

        return array_frame(self, X, reset=reset)

    def _log_offset(self, X: pd.DataFrame) -> np.ndarray | None:
        if self.offset is None:
            return None
        if self.offset not in X.columns:
            raise ValueError(f"X lacks the offset column {self.offset!r}")
        values = pd.to_numeric(X[self.offset], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        floor = float(self.min_offset)
        if not floor > 0:
            raise ValueError(f"min_offset must be > 0, got {self.min_offset!r}")
        values = np.where(np.isfinite(values), values, floor)
        return np.log(np.maximum(values, floor))


@dataclass(frozen=True)
class RankShares:
    """The outcome of :func:`simulated_rank_shares`.

    Attributes
    ----------
    shares : tuple of float
        Share of customers per tier to cut the ranking with, best first.
    expected_shares : tuple of float
        Mean share of customers per tier in the draws (what the rule itself
        gives at the drawn horizon).
    expected_macro_f1 : float
        Mean macro-F1 of the ranking cut with ``shares`` against the draws.
    candidates : DataFrame
        Every candidate tried: the boundary multipliers, the shares and the
        mean macro-F1, best first.
    """

    shares: tuple[float, ...]
    expected_shares: tuple[float, ...]
    expected_macro_f1: float
    candidates: pd.DataFrame


def simulated_rank_shares(
    score: pd.Series,
    draws: np.ndarray,
    *,
    rule: str = "count",
    shares: Sequence[float] | None = None,
    tiers: Sequence[str] = ("A", "B", "C"),
    multipliers: Sequence[float] | None = DEFAULT_MULTIPLIERS,
) -> RankShares:
    """Shares to cut a ranking with, from draws of the future values.

    Each draw (a row of ``draws``: one possible future value per customer) is
    tiered with the rule (:func:`segml.tiers.assign_tiers`); the mean share of
    customers per tier is the rule's expected outcome at the drawn horizon
    (under a value rule it grows with the horizon). Each cumulative boundary of
    those shares is then multiplied by each of ``multipliers`` and the
    candidate whose cut of ``score`` has the best mean macro-F1 against the
    drawn tiers is kept (ties: the candidate nearest the expected shares);
    ``multipliers=None`` keeps the expected shares.

    Parameters
    ----------
    score : Series
        Ranking score per customer, higher is better (e.g.
        :meth:`ValueRanker.predict`).
    draws : ndarray
        Shape ``(n_draws, len(score))``: drawn values, columns in the order of
        ``score`` (e.g. :meth:`segml.btyd.features.BTYDFit.simulate`; customers
        without a model, such as leads, as columns of zeros).
    rule : {"count", "value"}
        Tier rule applied to each draw.
    shares : sequence of float, optional
        Shares of the rule (defaults of :func:`segml.tiers.assign_tiers`).
    tiers : sequence of str
        Tier labels, best first.
    multipliers : sequence of float or None
        Factors tried on each cumulative boundary.

    Returns
    -------
    RankShares

    Examples
    --------
    Draws in which a clear fifth of the customers buys and the rest do not;
    the score ranks them perfectly, so the expected shares are kept:

    >>> rng = np.random.default_rng(0)
    >>> score = pd.Series(np.arange(100.0, 0.0, -1.0))
    >>> draws = np.where(np.arange(100) < 20, 100.0 - np.arange(100), 0.0)
    >>> draws = draws + rng.random((30, 100)) * 1e-3 * (np.arange(100) < 20)
    >>> out = simulated_rank_shares(score, draws, rule="count",
    ...                             shares=(0.05, 0.15, 0.80))
    >>> out.shares, round(out.expected_macro_f1, 3)
    ((0.05, 0.15, 0.8), 1.0)
    """
    from segml.evaluation import rank_cut
    from segml.tiers import assign_tiers

    if not isinstance(score, pd.Series):
        raise TypeError(f"score must be a Series, got {type(score).__name__}")
    labels = list(tiers)
    k = len(labels)
    draws = np.asarray(draws, dtype="float64")
    if draws.ndim != 2 or draws.shape[1] != len(score) or draws.shape[0] == 0:
        raise ValueError(
            f"draws must have shape (n_draws, {len(score)}), got {draws.shape}"
        )
    index = pd.RangeIndex(len(score))
    codes = np.vstack(
        [
            assign_tiers(
                pd.Series(row, index=index), rule=rule, shares=shares, tiers=labels
            ).cat.codes.to_numpy()
            for row in draws
        ]
    )
    expected = np.stack([np.bincount(c, minlength=k) for c in codes]).mean(axis=0)
    expected = expected / len(score)
    ranked = pd.Series(score.to_numpy(dtype="float64"), index=index)
    base = np.cumsum(expected)[:-1]
    grid = [(1.0,) * (k - 1)]
    if multipliers is not None:
        others = itertools.product([float(m) for m in multipliers], repeat=k - 1)
        grid += sorted(
            (g for g in others if g != grid[0]),
            key=lambda g: (sum(abs(m - 1.0) for m in g), g),
        )
    rows = []
    for factors in grid:
        bounds = np.clip(base * np.asarray(factors), 0.0, 1.0)
        if np.any(np.diff(bounds) < 0):
            continue
        candidate = np.diff(np.concatenate([[0.0], bounds, [1.0]]))
        predicted = rank_cut(ranked, candidate, tiers=labels).cat.codes.to_numpy()
        f1 = float(np.mean([_macro_f1(c, predicted, k) for c in codes]))
        rows.append((*factors, *candidate, f1))
    names = [f"multiplier_{j + 1}" for j in range(k - 1)]
    names += [f"share_{t}" for t in labels] + ["expected_macro_f1"]
    table = pd.DataFrame(rows, columns=names)
    table = table.sort_values("expected_macro_f1", ascending=False, kind="stable")
    best = table.iloc[0]
    return RankShares(
        shares=tuple(round(float(best[f"share_{t}"]), 12) for t in labels),
        expected_shares=tuple(float(s) for s in expected),
        expected_macro_f1=float(best["expected_macro_f1"]),
        candidates=table.reset_index(drop=True),
    )


def _macro_f1(truth: np.ndarray, predicted: np.ndarray, k: int) -> float:
    """Macro-F1 over ``k`` classes from integer codes (as tier_metrics)."""
    cm = np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)
    hits = np.diag(cm).astype(float)
    support, guessed = cm.sum(axis=1), cm.sum(axis=0)
    denom = support + guessed
    f1 = np.divide(2.0 * hits, denom, out=np.zeros(k), where=denom > 0)
    return float(f1.mean())


def _target(y: object) -> np.ndarray:
    """The target as a 1-D float array (one column warns, as in scikit-learn)."""
    if y is None:
        raise ValueError(
            "ValueRanker requires y to be passed, but the target y is None"
        )
    if sparse.issparse(y):
        raise TypeError("y is sparse: sparse input is not supported")
    values = np.asarray(y)
    if np.iscomplexobj(values):
        raise ValueError("Complex data not supported: y holds complex numbers")
    return column_or_1d(values.astype("float64"), warn=True)


def _weights(sample_weight: object, n: int) -> np.ndarray | None:
    """Row weights as a float array of length ``n``: finite, >= 0, not all 0."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype="float64")
    if weights.shape != (n,):
        raise ValueError(
            f"sample_weight must have shape ({n},) (one per row), got {weights.shape}"
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight must be finite and >= 0")
    if not (weights > 0).any():
        raise ValueError("sample_weight is zero on every row: nothing to fit")
    return weights
