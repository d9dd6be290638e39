"""Baselines every tier model is reported beside.

Each baseline returns what :meth:`segml.model.TierPredictor.predict` returns
for its rows, minus what it cannot know: a DataFrame with an ordered
categorical ``tier`` column and, where probabilities are meaningful,
``p_<tier>`` columns for every tier (best first). They plug straight into
:func:`~segml.evaluation.evaluate_routes` (pass the model's ``route``).

* :func:`majority_baseline` — the most frequent training tier for everyone;
* :func:`persistence_baseline` — the tier rule applied to the last horizon;
* :func:`rank_cut` — any score (e.g. a BG/NBD expected spend) cut by rank;
* :class:`LogisticColdStart` — a linear model on sign-up attributes, the
  baseline of the cold-start route.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from segml.evaluation.metrics import DEFAULT_TIERS, check_tiers, tier_codes

__all__ = [
    "LogisticColdStart",
    "majority_baseline",
    "persistence_baseline",
    "rank_cut",
]

_MISSING = "__missing__"


def _tier_series(codes: np.ndarray, index: pd.Index, tiers: Sequence[str]) -> pd.Series:
    dtype = pd.CategoricalDtype(list(tiers), ordered=True)
    cat = pd.Categorical.from_codes(np.asarray(codes, dtype="int64"), dtype=dtype)
    return pd.Series(cat, index=index, name="tier")


def _frame(
    codes: np.ndarray, proba: np.ndarray | None, index: pd.Index, tiers
) -> pd.DataFrame:
    out = _tier_series(codes, index, tiers).to_frame()
    if proba is not None:
        for j, t in enumerate(tiers):
            out[f"p_{t}"] = proba[:, j]
    return out


def majority_baseline(
    y_train: object,
    n_or_index: int | Sequence | pd.Index,
    *,
    tiers: Sequence[str] = DEFAULT_TIERS,
) -> pd.DataFrame:
    """The most frequent training tier for every row; probabilities = frequencies.

    Ties between equally frequent tiers go to the better tier (first in
    ``tiers``). Tiers absent from ``y_train`` get probability 0.

    Parameters
    ----------
    y_train : array-like of str
        Training tiers.
    n_or_index : int or index-like
        Number of rows to predict (a ``RangeIndex``) or their index.
    tiers : sequence of str
        Tier labels, best first.

    Examples
    --------
    >>> majority_baseline(["B", "C", "C", "A"], ["x", "y"])
      tier  p_A  p_B  p_C
    x    C 0.25 0.25  0.5
    y    C 0.25 0.25  0.5
    """
    labels = check_tiers(tiers)
    codes = tier_codes(y_train, labels, "y_train")
    if len(codes) == 0:
        raise ValueError("y_train is empty")
    freq = np.bincount(codes, minlength=len(labels)) / len(codes)
    if isinstance(n_or_index, int | np.integer):
        index = pd.RangeIndex(int(n_or_index))
    else:
        index = pd.Index(n_or_index)
    proba = np.tile(freq, (len(index), 1))
    return _frame(np.full(len(index), freq.argmax()), proba, index, labels)


def persistence_baseline(
    past_value: pd.Series,
    cut: Callable[[pd.Series], object],
    *,
    tiers: Sequence[str] = DEFAULT_TIERS,
    fill_value: float | None = 0.0,
) -> pd.DataFrame:
    """Tomorrow's tier is the tier of the last horizon: the tier rule on past value.

    ``past_value`` is each customer's value in ``(cutoff - horizon, cutoff]``;
    ``cut`` is the same tier rule used for the labels, e.g.
    ``lambda v: segml.tiers.assign_tiers(v, rule="count")``. The baseline has
    no probabilities (only a ``tier`` column).

    Parameters
    ----------
    past_value : Series
        Value per customer over the last horizon, indexed by customer.
    cut : callable
        Series of values -> tiers (a Series with the same index, or an
        array-like in the same order).
    tiers : sequence of str
        Tier labels, best first; ``cut`` must return only these.
    fill_value : float or None
        Value used for missing past values (no purchase in the last horizon
        means 0 spend); ``None`` passes NaN on to ``cut``.

    Examples
    --------
    >>> past = pd.Series([120.0, None, 15.0], index=["a", "b", "c"])
    >>> cut = lambda v: v.map(lambda x: "A" if x >= 100 else "B" if x > 0 else "C")
    >>> persistence_baseline(past, cut)["tier"].tolist()
    ['A', 'C', 'B']
    """
    if not isinstance(past_value, pd.Series):
        raise TypeError(
            f"past_value must be a Series indexed by customer, "
            f"got {type(past_value).__name__}"
        )
    labels = check_tiers(tiers)
    values = past_value.astype("float64")
    if fill_value is not None:
        values = values.fillna(fill_value)
    result = cut(values)
    if isinstance(result, pd.Series) and not result.index.equals(values.index):
        if len(result) != len(values) or not result.index.sort_values().equals(
            values.index.sort_values()
        ):
            raise ValueError("cut(past_value) returned a Series with another index")
        result = result.reindex(values.index)
    codes = tier_codes(result, labels, "cut(past_value)")
    if len(codes) != len(values):
        raise ValueError(
            f"cut(past_value) returned {len(codes)} tiers for {len(values)} values"
        )
    return _frame(codes, None, past_value.index, labels)


def rank_cut(
    score: pd.Series,
    shares: Sequence[float],
    *,
    tiers: Sequence[str] = DEFAULT_TIERS,
) -> pd.Series:
    """Cut a score into tiers by rank, so that tier sizes follow ``shares``.

    Rows are ranked by score descending (NaN last), ties broken by index
    ascending, then by position. With ``n`` rows the first ``b_j`` ranked rows
    are in tiers ``0..j``, ``b_j = round(n * (shares[0] + ... + shares[j]))``
    (half to even, after rounding to 9 decimals to absorb float noise) — the
    convention of the count rule, so sizes always sum to ``n``. Unlike the
    count rule, a zero or negative score is not forced into the last tier.

    Parameters
    ----------
    score : Series
        Higher is better (e.g. expected spend in the next horizon).
    shares : sequence of float
        Share of rows per tier, best first, non-negative, summing to 1.
    tiers : sequence of str
        Tier labels, best first.

    Returns
    -------
    Series
        Ordered categorical named ``tier``, indexed like ``score``
        (``.to_frame()`` gives a baseline frame).

    Examples
    --------
    >>> score = pd.Series([5.0, 1.0, 5.0, 3.0], index=["d", "c", "a", "b"])
    >>> rank_cut(score, (0.25, 0.25, 0.5)).tolist()
    ['B', 'C', 'A', 'C']
    """
    if not isinstance(score, pd.Series):
        raise TypeError(f"score must be a Series, got {type(score).__name__}")
    labels = check_tiers(tiers)
    props = np.asarray(shares, dtype=float).reshape(-1)
    if len(props) != len(labels):
        raise ValueError(f"shares has {len(props)} entries but tiers has {len(labels)}")
    if (props < 0).any() or abs(math.fsum(props) - 1.0) > 1e-6:
        raise ValueError(f"shares must be non-negative and sum to 1, got {shares!r}")
    n = len(score)
    frame = pd.DataFrame(
        {"score": score.to_numpy(dtype="float64"), "id": score.index.to_numpy()}
    )
    order = frame.sort_values(
        ["score", "id"], ascending=[False, True], kind="stable", na_position="last"
    ).index.to_numpy()
    bounds = np.rint(np.round(np.cumsum(props) * n, 9)).astype("int64")
    bounds[-1] = n
    position = np.empty(n, dtype="int64")
    position[order] = np.arange(n)
    codes = np.searchsorted(bounds, position, side="right")
    return _tier_series(codes, score.index, labels)


def array_frame(estimator: BaseEstimator, X: object, *, reset: bool) -> pd.DataFrame:
    """A 2-D numeric array as a frame with columns ``x0``, ``x1``, ...

    For the estimators that pick their columns of a DataFrame by name.
    ``reset`` (at ``fit``) records the array's width as ``n_features_in_``,
    which later arrays must match; an estimator fitted on a frame (it has
    ``feature_names_in_``) matches an array's ``x0``, ``x1``, ... by name
    instead. Missing values stay NaN; sparse, complex and non-numeric input
    is refused (categorical columns need a DataFrame).

    Examples
    --------
    >>> array_frame(LogisticColdStart(), [[1.0, 2.0], [3.0, None]], reset=True)
        x0   x1
    0  1.0  2.0
    1  3.0  NaN
    """
    if sparse.issparse(X):
        raise TypeError(
            "sparse input is not supported: pass a DataFrame or a dense array"
        )
    try:
        if reset or not hasattr(estimator, "feature_names_in_"):
            arr = validate_data(
                estimator,
                X,
                reset=reset,
                dtype="float64",
                ensure_all_finite="allow-nan",
            )
        else:
            arr = check_array(X, dtype="float64", ensure_all_finite="allow-nan")
    except ValueError as exc:
        if not _holds_text(X):
            raise
        raise ValueError(
            f"an array X must be numeric ({exc}); pass a DataFrame for "
            "categorical columns"
        ) from exc
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])


def _holds_text(X: object) -> bool:
    """Whether ``X`` makes a numpy array of strings or objects."""
    try:
        return np.asarray(X).dtype.kind in "OSUV"
    except (TypeError, ValueError):  # ragged
        return False


def _as_category_strings(X: pd.DataFrame) -> np.ndarray:
    """Categorical columns as an object array of str, missing as a category."""
    frame = pd.DataFrame(X).astype(object)
    return frame.where(frame.notna(), _MISSING).astype(str).to_numpy(dtype=object)


class LogisticColdStart(ClassifierMixin, BaseEstimator):
    """Logistic regression on sign-up attributes: the cold-start baseline.

    String, categorical and boolean columns are one-hot encoded (unseen
    categories at predict time are ignored, missing values are a category of
    their own); numeric columns are median-imputed and standardised; a
    ``LogisticRegression(class_weight="balanced")`` predicts the tier. A tier
    absent from the training labels gets probability 0; with a single training
    tier the model predicts it with probability 1.

    Parameters
    ----------
    tiers : sequence of str
        Tier labels, best first.
    attributes : sequence of str, optional
        Columns to use; all columns of ``X`` at ``fit`` by default.
    C : float
        Inverse regularisation strength of the logistic regression.
    class_weight : "balanced", dict or None
        Passed to the logistic regression.
    max_iter : int
        Passed to the logistic regression.

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
    categorical_columns_, numeric_columns_ : list of str
    classes_ : ndarray of str
        The tiers, best first.
    n_features_in_ : int
        Number of attribute columns used when fitted on a frame; the width of
        the array when fitted on an array.
    feature_names_in_ : ndarray of str
        The attribute columns used; only set when fitted on a frame.

    Notes
    -----
    ``X`` is normally a DataFrame of sign-up attributes picked by name. A 2-D
    numeric array (or anything :func:`numpy.asarray` makes one of) is taken as
    a frame of numeric columns ``x0``, ``x1``, ...; categorical attributes
    need a DataFrame. ``y`` holds tier labels: the classes are ``tiers``, in
    their order, not learned from ``y``.

    Examples
    --------
    >>> X = pd.DataFrame({"size": ["big", "small", "small", "big"] * 5})
    >>> y = ["A", "C", "C", "A"] * 5
    >>> model = LogisticColdStart().fit(X, y)
    >>> model.predict(pd.DataFrame({"size": ["big", "small"]})).tolist()
    ['A', 'C']

    ``score`` is the macro-F1 over the three tiers (B, never seen, counts 0):

    >>> round(model.score(X, y), 4)
    0.6667

    An unseen category contributes nothing; the absent tier B gets 0:

    >>> model.predict_proba(pd.DataFrame({"size": ["tiny"]})).round(2)
       p_A  p_B  p_C
    0  0.5  0.0  0.5
    """

    def __init__(
        self,
        *,
        tiers: Sequence[str] = DEFAULT_TIERS,
        attributes: Sequence[str] | None = None,
        C: float = 1.0,
        class_weight: str | dict | None = "balanced",
        max_iter: int = 1000,
    ) -> None:
        self.tiers = tiers
        self.attributes = attributes
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def __sklearn_tags__(self):
        # missing values are imputed (numbers) or a category of their own
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags

    def _columns(self, X: object, *, fitting: bool) -> pd.DataFrame:
        hint = ""
        if not isinstance(X, pd.DataFrame):
            X = array_frame(self, X, reset=fitting)
            hint = " (the columns of an array are named x0, x1, ...)"
        if fitting:
            columns = list(X.columns if self.attributes is None else self.attributes)
        else:
            columns = self.categorical_columns_ + self.numeric_columns_
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks the attribute columns {missing}{hint}")
        return X[columns]

    def fit(self, X: pd.DataFrame | np.ndarray, y: object) -> LogisticColdStart:
        """Fit on attribute columns ``X`` and training tiers ``y``."""
        labels = check_tiers(self.tiers)
        if y is None:
            raise ValueError(
                "LogisticColdStart requires y to be passed, but the target y is None"
            )
        from_frame = isinstance(X, pd.DataFrame)
        X = self._columns(X, fitting=True)
        codes = tier_codes(y, labels, "y")
        if len(codes) != len(X):
            raise ValueError(f"y has {len(codes)} rows but X has {len(X)}")
        if X.shape[1] == 0:
            raise ValueError("X has no attribute columns")
        numeric, categorical, other = [], [], []
        for name, dtype in X.dtypes.items():
            if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(
                dtype
            ):
                unsupported = (
                    pd.api.types.is_datetime64_any_dtype(dtype)
                    or pd.api.types.is_timedelta64_dtype(dtype)
                    or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
                )
                (other if unsupported else categorical).append(name)
            elif X[name].notna().any():
                numeric.append(name)
            # a numeric column without any value carries nothing: left out
        if not numeric and not categorical:
            raise ValueError(
                f"no attribute column holds a value: {list(X.columns)} are all missing"
            )
        if other:
            raise ValueError(
                f"attribute columns {other} are neither numeric nor categorical; "
                "derive numbers from them (e.g. a sign-up month) first"
            )
        encode = Pipeline(
            [
                ("as_str", FunctionTransformer(_as_category_strings)),
                ("onehot", OneHotEncoder(handle_unknown="ignore")),
            ]
        )
        scale = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        parts = [("categorical", encode, categorical), ("numeric", scale, numeric)]
        columns = ColumnTransformer([p for p in parts if p[2]])
        if len(np.unique(codes)) < 2:
            classifier = DummyClassifier(strategy="prior")
        else:
            classifier = LogisticRegression(
                C=self.C, class_weight=self.class_weight, max_iter=self.max_iter
            )
        self.pipeline_ = Pipeline([("columns", columns), ("classifier", classifier)])
        self.pipeline_.fit(X, codes)
        self.categorical_columns_ = list(categorical)
        self.numeric_columns_ = list(numeric)
        self.classes_ = np.asarray(labels, dtype=object)
        if from_frame:  # an array's n_features_in_ is its width (validate_data)
            self.n_features_in_ = X.shape[1]
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _proba(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, pd.Index]:
        """Probabilities in tier order and the index of the rows."""
        check_is_fitted(self, "pipeline_")
        frame = self._columns(X, fitting=False)
        proba = np.zeros((len(frame), len(self.classes_)))
        if len(frame):
            seen = self.pipeline_.classes_.astype("int64")
            proba[:, seen] = self.pipeline_.predict_proba(frame)
        return proba, frame.index

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """``p_<tier>`` for every tier, one row per input row, same index."""
        proba, index = self._proba(X)
        return pd.DataFrame(
            proba, index=index, columns=[f"p_{t}" for t in self.classes_]
        )

    def predict(self, X: pd.DataFrame | np.ndarray) -> pd.Series:
        """Most probable tier (ordered categorical Series named ``tier``)."""
        proba, index = self._proba(X)
        return _tier_series(proba.argmax(axis=1), index, self.classes_)

    def predict_frame(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """``tier`` and ``p_<tier>`` columns, like the tier predictor's output."""
        proba, index = self._proba(X)
        return _frame(proba.argmax(axis=1), proba, index, self.classes_)

    def score(
        self,
        X: pd.DataFrame | np.ndarray,
        y: object,
        sample_weight: Sequence[float] | None = None,
    ) -> float:
        """Macro-F1 of :meth:`predict` over every tier, as ``TierPredictor.score``.

        A tier never predicted nor present counts 0, so that the baseline and
        the tier predictor are compared on one number in a grid search.
        """
        predicted = self._proba(X)[0].argmax(axis=1)
        truth = tier_codes(y, list(self.classes_), "y")
        if len(truth) != len(predicted):
            raise ValueError(f"y has {len(truth)} rows but X has {len(predicted)}")
        return float(
            f1_score(
                truth,
                predicted,
                labels=np.arange(len(self.classes_)),
                average="macro",
                zero_division=0,
                sample_weight=sample_weight,
            )
        )
