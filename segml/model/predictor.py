"""TierPredictor: tiers for customers with history and for new leads."""

from __future__ import annotations

import inspect
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import overload

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score
from sklearn.utils.validation import check_is_fitted

from segml.evaluation.metrics import tier_codes
from segml.model.route import MIN_ROWS, Route, expected_score
from segml.model.value_decision import ValueDecision

__all__ = ["COLD_START", "HISTORY", "TierPredictor"]

HISTORY = "history"
COLD_START = "cold_start"
_NEVER_FEATURES = ("customer_id", "cutoff", "has_history")
_DECISIONS = ("rank", "argmax", "value")
_CALIBRATIONS = ("sigmoid", "isotonic", None)
#: LightGBM parameters named in the signature (the others go through **kwargs).
_NAMED_LGBM = (
    "n_estimators",
    "learning_rate",
    "num_leaves",
    "max_depth",
    "min_child_samples",
)


class TierPredictor(ClassifierMixin, BaseEstimator):
    """Predict each customer's future tier; leads go through a cold-start model.

    Two LightGBM classifiers sit behind one ``fit``/``predict``:

    - the **history** route, for rows with ``has_history`` true, sees every
      feature column (history features and attributes);
    - the **cold-start** route, for leads and customers who never bought, sees
      only ``attributes`` (the columns known at sign-up) — a model trained on
      how earlier customers with the same attributes turned out.

    Class imbalance is handled with ``class_weight`` (balanced by default).
    When ``fit`` is given each row's ``cutoff``, the latest cutoff is held out
    and used to calibrate the probabilities (out of time) and to learn the rank
    thresholds.

    Parameters
    ----------
    tiers : sequence of str
        Tier labels, best first.
    attributes : sequence of str
        Columns the cold-start route may use (sign-up information).
    decision : {"rank", "argmax", "value"}
        ``"argmax"`` takes the most probable tier. ``"rank"`` ranks rows by the
        expected tier score (probability-weighted rank) and cuts it with
        thresholds learned so that each route reproduces the tier shares of its
        training labels (or ``shares``) — tiers are relative ranks, and this keeps
        a 5/15/80 count rule at 5/15/80. Thresholds are fixed at fit time, so a
        row's tier does not depend on the rest of the batch. ``"value"`` tiers
        rows with history by the future value a ``value_ranker`` expects over
        the scoring horizon, cut by value thresholds that
        :meth:`set_value_cut` learns on a reference population (see
        :mod:`segml.model.value_decision`); leads keep the ``"rank"`` decision,
        and the probabilities stay those of the classifiers (tiers of the
        training label windows).
    shares : sequence of float, optional
        Target share of rows per tier for ``decision="rank"``.
    calibration : {"sigmoid", "isotonic"} or None
        Calibration method on the latest cutoff (needs ``cutoff`` in ``fit``).
    class_weight : "balanced", dict or None
        Passed to LightGBM.
    n_reasons : int
        How many top feature contributions to report per row.
    random_state : int
        Seed of LightGBM.
    value_ranker : ValueRanker, optional
        Template for ``decision="value"`` (cloned in ``fit``; default
        :class:`~segml.model.value_ranker.ValueRanker` with its defaults).
    n_estimators, learning_rate, num_leaves, max_depth, min_child_samples
        :class:`lightgbm.LGBMClassifier`'s, with its defaults; named here so
        that ``get_params`` and ``GridSearchCV`` see them like any parameter.
    **lgbm_params
        Any other :class:`lightgbm.LGBMClassifier` parameter (e.g.
        ``reg_lambda``); each is stored as an attribute of its name and
        reported by ``get_params``. The classifiers run on one thread unless
        ``n_jobs`` is given.

    Attributes
    ----------
    classes_ : ndarray of str
        The tiers, best first.
    routes_ : dict of str to Route
        The fitted ``history`` and ``cold_start`` routes.
    history_columns_, cold_start_columns_ : list of str
        Columns each route's model sees.
    value_ranker_ : ValueRanker or None
        The fitted ranker of ``decision="value"``.

    Notes
    -----
    Nothing is checked before ``fit``, which raises ``ValueError`` for an
    unknown ``decision`` or ``calibration``, labels outside ``tiers`` or
    ``attributes`` missing from ``X``. ``X`` must be a DataFrame (the routes
    need ``has_history`` and column names).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 400
    >>> X = pd.DataFrame({"has_history": rng.random(n) < 0.7,
    ...                   "orders": rng.poisson(3, n).astype(float),
    ...                   "region": rng.choice(["n", "s"], n)})
    >>> y = pd.Series(np.where(X["orders"] > 4, "A", np.where(X["orders"] > 2,
    ...               "B", "C")))
    >>> model = TierPredictor(attributes=["region"], n_estimators=20).fit(X, y)
    >>> X.head(3)
       has_history  orders region
    0         True     2.0      n
    1         True     0.0      n
    2         True     4.0      s
    >>> model.predict(X.head(3)).tolist()
    ['C', 'C', 'B']
    >>> out = model.predict_frame(X.head(3))
    >>> list(out.columns)[:8]
    ['tier', 'p_A', 'p_B', 'p_C', 'route', 'model', 'tier_score', 'reason_1']

    ``score`` is the macro-F1 (perfect for customers with history here, whose
    ``orders`` make the tier):

    >>> buyers = X["has_history"]
    >>> model.score(X[buyers], y[buyers])
    1.0
    """

    def __init__(
        self,
        *,
        tiers: Sequence[str] = ("A", "B", "C"),
        attributes: Sequence[str] = (),
        decision: str = "rank",
        shares: Sequence[float] | None = None,
        calibration: str | None = "sigmoid",
        class_weight: str | Mapping | None = "balanced",
        n_reasons: int = 3,
        random_state: int = 0,
        value_ranker: object | None = None,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        max_depth: int = -1,
        min_child_samples: int = 20,
        **lgbm_params: object,
    ) -> None:
        self.tiers = tiers
        self.attributes = attributes
        self.decision = decision
        self.shares = shares
        self.calibration = calibration
        self.class_weight = class_weight
        self.n_reasons = n_reasons
        self.random_state = random_state
        self.value_ranker = value_ranker
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        # further LightGBM parameters are stored as attributes of their own
        # name, like LightGBM's estimators do; the private list of their names
        # lets get_params report them (scikit-learn ignores private attributes)
        self._lgbm_extra = tuple(lgbm_params)
        for key, value in lgbm_params.items():
            setattr(self, key, value)

    def __setstate__(self, state: dict) -> None:
        # a predictor pickled before the LightGBM parameters were named kept
        # them in a dict ``lgbm_params`` (and as attributes): name them, with
        # LightGBM's defaults for those it was not given
        old = state.pop("lgbm_params", None)
        if old is not None:
            defaults = inspect.signature(type(self).__init__).parameters
            for name in _NAMED_LGBM:
                state.setdefault(name, defaults[name].default)
            state.setdefault(
                "_lgbm_extra", tuple(k for k in old if k not in _NAMED_LGBM)
            )
        super().__setstate__(state)

    def _extra_names(self) -> tuple[str, ...]:
        return self.__dict__.get("_lgbm_extra", ())

    def __sklearn_tags__(self):
        # LightGBM takes missing values (leads have no recency) and the
        # columns may be categorical (strings are encoded in fit)
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags

    def get_params(self, deep: bool = True) -> dict:
        """Parameters, the further LightGBM ones (``**lgbm_params``) included."""
        params = super().get_params(deep=deep)
        params.update({key: getattr(self, key) for key in self._extra_names()})
        return params

    def set_params(self, **params: object) -> TierPredictor:
        """Set parameters; a name this class does not declare is a LightGBM one.

        Nothing is checked here (``fit`` checks, as scikit-learn expects).
        """
        own = set(self._get_param_names())
        extra = {k: v for k, v in params.items() if k not in own and "__" not in k}
        for key, value in extra.items():
            setattr(self, key, value)
        self._lgbm_extra = tuple(dict.fromkeys([*self._extra_names(), *extra]))
        rest = {k: v for k, v in params.items() if k not in extra}
        if rest:
            super().set_params(**rest)
        return self

    def _lgbm_settings(self) -> dict[str, object]:
        """Everything ``fit`` passes to :class:`lightgbm.LGBMClassifier`."""
        named = {name: getattr(self, name) for name in _NAMED_LGBM}
        return {**named, **{key: getattr(self, key) for key in self._extra_names()}}

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series | Sequence[str],
        *,
        cutoff: pd.Series | Sequence | None = None,
        future_value: pd.Series | Sequence[float] | None = None,
    ) -> TierPredictor:
        """Fit both routes (and the value ranker of ``decision="value"``).

        Parameters
        ----------
        X : DataFrame
            One row per customer and cutoff, with a boolean ``has_history``.
        y : Series or sequence of str
            The tier each row turned out to have, one of ``tiers``.
        cutoff : Series or sequence, optional
            Each row's cutoff date; the latest is held out for calibration.
        future_value : Series or sequence of float, optional
            Each row's value in its label window; required by
            ``decision="value"``, whose ranker learns it from the rows with
            history (``X`` then needs the ``btyd_*`` columns of each row's
            window, see :func:`segml.btyd.features.with_btyd_features`).
        """
        X = self._check_frame(X)
        if self.decision not in _DECISIONS:
            raise ValueError(
                f"decision must be one of {list(_DECISIONS)}, not {self.decision!r}"
            )
        if self.calibration not in _CALIBRATIONS:
            raise ValueError(
                f"calibration must be one of {list(_CALIBRATIONS)}, "
                f"not {self.calibration!r}"
            )
        if (
            not isinstance(self.n_reasons, numbers.Integral)
            or isinstance(self.n_reasons, bool)
            or self.n_reasons < 0
        ):
            raise ValueError(f"n_reasons must be an int >= 0, not {self.n_reasons!r}")
        lgbm_params = self._lgbm_settings()
        labels = pd.Series(np.asarray(y, dtype=object))
        if len(labels) != len(X):
            raise ValueError(f"y has {len(labels)} rows but X has {len(X)}")
        tiers = list(self.tiers)
        unknown = sorted(set(labels.dropna()) - set(tiers))
        if unknown or labels.isna().any():
            raise ValueError(f"y has labels outside tiers={tiers}: {unknown[:5]}")
        codes = labels.map({t: i for i, t in enumerate(tiers)}).to_numpy(dtype=int)
        cal_mask = self._calibration_mask(cutoff, len(X))
        history = X["has_history"].to_numpy(dtype=bool)
        missing = [a for a in self.attributes if a not in X.columns]
        if missing:
            raise ValueError(f"attributes not in X: {missing}")
        value = self._future_value(future_value, history)
        self.history_columns_ = [
            c
            for c in X.columns
            if c not in _NEVER_FEATURES and not str(c).startswith("btyd_")
        ]
        self.cold_start_columns_ = list(self.attributes)
        self.routes_: dict[str, Route] = {}
        for name, mask, columns in (
            (HISTORY, history, self.history_columns_),
            (COLD_START, ~history, self.cold_start_columns_),
        ):
            self.routes_[name] = Route.fit(
                name,
                X.loc[mask, columns],
                codes[mask],
                n_classes=len(tiers),
                calibration_mask=None if cal_mask is None else cal_mask[mask],
                calibration=self.calibration,
                shares=self.shares,
                lgbm_params=lgbm_params,
                class_weight=self.class_weight,
                random_state=self.random_state,
            )
        for name, mask in ((HISTORY, history), (COLD_START, ~history)):
            if mask.any() and self.routes_[name].model is None:
                warnings.warn(
                    f"the {name} route has too little to learn from (under "
                    f"{MIN_ROWS} rows, one tier, or no column): it predicts the "
                    "training frequencies of the tiers",
                    UserWarning,
                    stacklevel=2,
                )
        self._fit_value_ranker(X, history, value)
        self.classes_ = np.asarray(tiers, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def _future_value(
        self, future_value: object, history: np.ndarray
    ) -> np.ndarray | None:
        """``future_value`` checked for ``decision="value"`` (before any fitting)."""
        if self.decision != "value":
            return None
        if future_value is None:
            raise ValueError("decision='value' needs future_value in fit")
        value = np.asarray(future_value, dtype="float64").reshape(-1)
        if len(value) != len(history):
            raise ValueError(
                f"future_value has {len(value)} rows but X has {len(history)}"
            )
        if not history.any():
            raise ValueError("decision='value' needs rows with history to fit on")
        return value

    def _fit_value_ranker(
        self, X: pd.DataFrame, history: np.ndarray, value: np.ndarray | None
    ) -> None:
        from sklearn.base import clone

        from segml.model.value_ranker import ValueRanker

        self.value_ranker_ = None
        self.value_decision_: ValueDecision | None = None
        if value is None:
            return
        template = self.value_ranker if self.value_ranker is not None else ValueRanker()
        self.value_ranker_ = clone(template).fit(X.loc[history], value[history])

    def set_value_cut(
        self,
        reference: pd.DataFrame,
        *,
        btyd: object,
        horizon_days: float,
        shares: Sequence[float],
    ) -> TierPredictor:
        """Learn the value thresholds of ``decision="value"`` on a reference.

        Parameters
        ----------
        reference : DataFrame
            Features of the population the model will score (e.g. the latest
            snapshot); its rows with history are ranked by expected value over
            ``horizon_days``.
        btyd : BTYDFit
            BG/NBD and Gamma-Gamma fitted at the reference date
            (:func:`segml.btyd.features.fit_btyd`); kept, without its RFM table,
            to compute each scored row's offset from its own features.
        horizon_days : float
            The scoring horizon.
        shares : sequence of float
            Share of the reference's customers with history per tier, best
            first (the count rule's, or :func:`~segml.model.value_ranker.
            simulated_rank_shares` for a value rule).
        """
        check_is_fitted(self, "routes_")
        if self.decision != "value":
            raise ValueError("set_value_cut applies to decision='value' only")
        history = self._route_masks(self._check_frame(reference))[HISTORY]
        self.value_decision_ = ValueDecision.fit_cut(
            self.value_ranker_,
            reference.loc[history],
            btyd=btyd,  # type: ignore[arg-type]
            horizon_days=horizon_days,
            shares=shares,
        )
        return self

    def predict_proba(self, X: pd.DataFrame) -> pd.DataFrame:
        """Tier probabilities ``p_<tier>``, one row per input row, same index.

        The probabilities of :meth:`predict_frame` (a shipped fallback's where
        a route ships one), columns in the order of ``classes_``.
        """
        frame = self.predict_frame(X, reasons=False)
        return frame[[f"p_{t}" for t in self.classes_]]

    def score(
        self,
        X: pd.DataFrame,
        y: pd.Series | Sequence[str],
        sample_weight: Sequence[float] | None = None,
    ) -> float:
        """Macro-F1 of :meth:`predict` against the true tiers ``y``.

        The F1 of every tier in ``tiers`` is averaged, a tier never predicted
        nor present counting 0 (as ``macro_f1`` of
        :func:`segml.evaluation.tier_metrics`), so that scores of folds that
        miss a tier stay comparable. This is what ``GridSearchCV`` and
        ``cross_val_score`` maximise unless given another ``scoring``.
        """
        predicted = self.predict(X)
        labels = list(self.classes_)
        truth = tier_codes(y, labels, "y")
        if len(truth) != len(predicted):
            raise ValueError(f"y has {len(truth)} rows but X has {len(predicted)}")
        return float(
            f1_score(
                truth,
                predicted.cat.codes.to_numpy(),
                labels=np.arange(len(labels)),
                average="macro",
                zero_division=0,
                sample_weight=sample_weight,
            )
        )

    @overload
    def predict(self, X: pd.DataFrame) -> pd.Series: ...

    @overload
    def predict(self, X: pd.DataFrame, *, reasons: bool) -> pd.DataFrame: ...

    def predict(
        self, X: pd.DataFrame, *, reasons: bool | None = None
    ) -> pd.Series | pd.DataFrame:
        """The tier of every row, in order (scikit-learn's ``predict``).

        Returns an ordered categorical Series ``tier`` on ``X``'s index, the
        ``tier`` column of :meth:`predict_frame`.

        ``reasons`` is the one-release shim of segml 0.1, whose ``predict``
        returned the whole table: passing it returns :meth:`predict_frame`
        with a ``FutureWarning``.
        """
        if reasons is not None:
            warnings.warn(
                "TierPredictor.predict(X, reasons=...) returning the table is "
                "deprecated and goes in the next release: call "
                "predict_frame(X, reasons=...) for the table, predict(X) for "
                "the tiers",
                FutureWarning,
                stacklevel=2,
            )
            return self.predict_frame(X, reasons=reasons)
        return self.predict_frame(X, reasons=False)["tier"]

    def predict_frame(self, X: pd.DataFrame, *, reasons: bool = True) -> pd.DataFrame:
        """Tier, probabilities, route and top reasons for every row, in order.

        Columns: ``tier`` (ordered categorical), ``p_<tier>`` for every tier,
        ``route`` (``history`` or ``cold_start``), ``model`` (what answered the
        route, see :meth:`route_kind`), ``tier_score`` (the number the tier was
        cut on) and ``reason_1`` ... ``reason_<n_reasons>``.

        ``reasons=False`` leaves the ``reason_*`` columns empty and skips the
        SHAP computation, by far the most expensive part of scoring a batch.
        """
        check_is_fitted(self, "routes_")
        X = self._check_frame(X)
        n = len(X)
        proba = np.zeros((n, len(self.classes_)))
        codes = np.zeros(n, dtype=int)
        route = np.empty(n, dtype=object)
        texts: list[list[str]] = [[] for _ in range(n)]
        cut_on = np.full(n, np.nan)
        fallbacks = getattr(self, "fallbacks_", {})
        for name, mask in self._route_masks(X).items():
            if not mask.any():
                continue
            route[mask] = name
            if name in fallbacks:
                positions = np.flatnonzero(mask)
                codes[mask], proba[mask], cut_on[mask] = fallbacks[name].predict_rows(
                    X, positions
                )
                if reasons and self.n_reasons > 0:
                    found = fallbacks[name].reasons(X, positions)
                    for i, text in zip(positions, found, strict=True):
                        texts[i] = [text]
                continue
            fitted = self.routes_[name]
            rows = X.loc[mask] if not mask.all() else X
            matrix = fitted.matrix(rows)
            proba[mask] = fitted.predict_proba(rows, matrix)
            if self.decision == "argmax":
                codes[mask] = proba[mask].argmax(axis=1)
                cut_on[mask] = proba[mask].max(axis=1)
            elif self.decision == "value" and name == HISTORY:
                codes[mask] = self.value_codes(rows)
                cut_on[mask] = self.value_decision_.expected_value(rows)
            else:
                score = expected_score(proba[mask])
                codes[mask] = (score[:, None] < fitted.thresholds[None, :]).sum(axis=1)
                cut_on[mask] = score
            if reasons and self.n_reasons > 0:
                found = fitted.reasons(rows, codes[mask], self.n_reasons, matrix)
                for i, text in zip(np.flatnonzero(mask), found, strict=True):
                    texts[i] = text
        out = pd.DataFrame(
            {"tier": pd.Categorical.from_codes(codes, categories=self.classes_)},
            index=X.index,
        )
        out = pd.concat([out, self._proba_frame(proba, X.index)], axis=1)
        out["route"] = pd.Series(route, index=X.index, dtype="str")
        kinds = {name: self.route_kind(name) for name in self.routes_}
        out["model"] = out["route"].map(kinds).astype("str")
        out["tier_score"] = cut_on
        for k in range(self.n_reasons):
            column = [t[k] if k < len(t) else "" for t in texts]
            out[f"reason_{k + 1}"] = pd.Series(column, index=X.index, dtype="str")
        return out

    def use_fallback(self, route: str, fallback: object | None) -> TierPredictor:
        """Ship ``fallback`` (see :mod:`segml.model.fallback`) for ``route``.

        The route's LightGBM model stays fitted (its reasons and importances
        are still there to read); ``None`` puts the model back.
        """
        check_is_fitted(self, "routes_")
        if route not in self.routes_:
            raise ValueError(
                f"route must be one of {list(self.routes_)}, not {route!r}"
            )
        fallbacks = dict(getattr(self, "fallbacks_", {}))
        if fallback is None:
            fallbacks.pop(route, None)
        else:
            fallbacks[route] = fallback
        self.fallbacks_ = fallbacks
        return self

    def route_kind(self, route: str) -> str:
        """What answers ``route``: ``lightgbm`` (``lightgbm+btyd`` for the value
        decision's history route), a fallback's kind (``majority``,
        ``persistence``, ``btyd``, ``blend``, ``logistic``) or ``prior`` (too
        little data to fit)."""
        fallback = getattr(self, "fallbacks_", {}).get(route)
        if fallback is not None:
            return fallback.kind
        if self.routes_[route].model is None:
            return "prior"
        if self.decision == "value" and route == HISTORY:
            return "lightgbm+btyd"
        return "lightgbm"

    def value_codes(self, rows: pd.DataFrame) -> np.ndarray:
        """Tier codes (0 = best) of ``decision="value"`` for rows with history."""
        if getattr(self, "value_decision_", None) is None:
            raise ValueError(
                "decision='value' needs value thresholds: call set_value_cut after fit"
            )
        return self.value_decision_.codes(rows)  # type: ignore[union-attr]

    def _proba_frame(self, proba: np.ndarray, index: pd.Index) -> pd.DataFrame:
        return pd.DataFrame(
            proba, index=index, columns=[f"p_{t}" for t in self.classes_]
        )

    def _route_masks(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        history = X["has_history"].fillna(False).to_numpy(dtype=bool)
        return {HISTORY: history, COLD_START: ~history}

    @staticmethod
    def _check_frame(X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        if "has_history" not in X.columns:
            raise ValueError(
                "X needs a boolean 'has_history' column (False for leads and "
                "customers who never bought)"
            )
        return X

    @staticmethod
    def _calibration_mask(cutoff: object, n: int) -> np.ndarray | None:
        if cutoff is None:
            return None
        values = pd.Series(np.asarray(cutoff))
        if len(values) != n:
            raise ValueError(f"cutoff has {len(values)} rows but X has {n}")
        if values.nunique() < 2:
            return None
        return (values == values.max()).to_numpy()
