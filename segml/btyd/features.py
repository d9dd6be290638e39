"""BTYD-derived features: what BG/NBD and Gamma-Gamma expect of each customer.

At a cutoff, the two models are fitted on the RFM summary of every customer
with a purchase at or before it (in days), and each customer gets:

========================== ============================================================
``btyd_p_alive``           probability of still being a customer at the cutoff
``btyd_expected_purchases`` expected purchase days in ``(cutoff, cutoff + horizon]``
``btyd_p_no_purchase``     probability of no purchase at all in that window
``btyd_expected_spend``    expected spend of one future purchase day (Gamma-Gamma)
``btyd_expected_value``    expected spend in the window: purchases x spend
========================== ============================================================

The three window columns (:data:`HORIZON_FEATURES`) describe the horizon
asked for, not a fixed one: training rows built with a short label horizon and
scoring rows built with a long one carry the same column names, each about its
own window. Use them as an *offset* (see
:class:`segml.model.value_ranker.ValueRanker`), not as plain features of a
model trained on another horizon: the model then learns how the realised value
of a window departs from the BTYD expectation for that window, and the BTYD
model carries the expectation over to a horizon that no training window
covers. ``btyd_p_alive`` and ``btyd_expected_spend`` do not depend on the
horizon.

Customers without a purchase at the cutoff (leads) get no row; joined to the
feature table of :func:`segml.features.build_features` they are NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.btyd.bgnbd import BGNBD
from segml.btyd.gamma_gamma import GammaGamma
from segml.btyd.simulate import simulate_future_value

__all__ = [
    "BTYD_FEATURES",
    "HORIZON_FEATURES",
    "RFM_SOURCE_COLUMNS",
    "BTYDFit",
    "btyd_features",
    "btyd_features_many",
    "fit_btyd",
    "fit_btyd_rfm",
    "rfm_from_features",
    "with_btyd_features",
]

#: Feature columns, in output order.
BTYD_FEATURES: tuple[str, ...] = (
    "btyd_p_alive",
    "btyd_expected_purchases",
    "btyd_p_no_purchase",
    "btyd_expected_spend",
    "btyd_expected_value",
)
#: The columns whose values depend on the horizon asked for.
HORIZON_FEATURES: tuple[str, ...] = (
    "btyd_expected_purchases",
    "btyd_p_no_purchase",
    "btyd_expected_value",
)


@dataclass(frozen=True, eq=False)
class BTYDFit:
    """BG/NBD and Gamma-Gamma fitted at one cutoff, in days.

    Build it with :func:`fit_btyd`.

    Attributes
    ----------
    as_of : Timestamp
        The cutoff.
    rfm : DataFrame
        The RFM summary the models were fitted on (one row per customer with a
        purchase at or before ``as_of``).
    bgnbd : BGNBD
    gamma_gamma : GammaGamma
    """

    as_of: pd.Timestamp
    rfm: pd.DataFrame
    bgnbd: BGNBD
    gamma_gamma: GammaGamma

    def features(
        self, horizon_days: float, rfm: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """The :data:`BTYD_FEATURES` of every customer for a window of ``horizon_days``.

        ``rfm`` scores other customers (or the same ones at a later date) with
        the fitted models, e.g. a persisted fit at scoring time; by default the
        customers the models were fitted on.

        ``btyd_p_no_purchase`` is ``1 - P(alive) + P(alive) ((alpha + T) /
        (alpha + T + t))^(r + x)``: a dead customer never buys, and an alive one
        cannot drop out without buying, so it buys nothing with probability
        ``E[exp(-lambda t)]`` under the rate's posterior ``Gamma(r + x,
        alpha + T)``.
        """
        _check_horizon(horizon_days)
        rfm = self.rfm if rfm is None else rfm
        bg = self.bgnbd
        p_alive = bg.p_alive(rfm)
        purchases = bg.expected_purchases(float(horizon_days), rfm)
        spend = self.gamma_gamma.expected_spend(rfm)
        scale = bg.alpha_ + rfm["T"]
        stays_quiet = np.exp(
            (bg.r_ + rfm["frequency"])
            * (np.log(scale) - np.log(scale + float(horizon_days)))
        )
        out = pd.DataFrame(
            {
                "btyd_p_alive": p_alive,
                "btyd_expected_purchases": purchases,
                "btyd_p_no_purchase": 1.0 - p_alive + p_alive * stays_quiet,
                "btyd_expected_spend": spend,
                "btyd_expected_value": purchases * spend,
            },
            index=rfm.index,
        )
        return out.astype("float64")

    def without_rfm(self) -> BTYDFit:
        """The same models and cutoff without the RFM table (to persist or ship)."""
        return BTYDFit(self.as_of, self.rfm.iloc[:0], self.bgnbd, self.gamma_gamma)

    def summary_metrics(self, prefix: str = "btyd") -> dict[str, float]:
        """Parameters, standard errors and 95 % bounds as flat metric names.

        ``{prefix}/bgnbd/r``, ``{prefix}/bgnbd/r_se``, ``.../r_lower``,
        ``.../r_upper``, and the same for alpha, a, b and Gamma-Gamma's p, q, v,
        from each model's ``summary_``; non-finite values (an undefined
        standard error) are left out, so the dict can go to
        ``mlflow.log_metrics`` as it is.

        Examples
        --------
        >>> rfm = pd.DataFrame({"frequency": [0.0, 1, 2, 3, 5, 0, 4, 2],
        ...                     "recency": [0.0, 20, 30, 35, 38, 0, 15, 5],
        ...                     "T": [40.0] * 8,
        ...                     "monetary_value": [0.0, 10, 12, 30, 25, 0, 8, 15]})
        >>> fitted = fit_btyd_rfm(rfm, as_of="2024-01-01", penalizer=0.01)
        >>> sorted(fitted.summary_metrics())[:4]
        ['btyd/bgnbd/a', 'btyd/bgnbd/a_lower', 'btyd/bgnbd/a_se', 'btyd/bgnbd/a_upper']
        """
        out: dict[str, float] = {}
        for name, model in (("bgnbd", self.bgnbd), ("gamma_gamma", self.gamma_gamma)):
            summary = getattr(model, "summary_", None)
            if summary is None:  # built from published parameters, not fitted
                continue
            for param, row in summary.iterrows():
                for column, suffix in (
                    ("coef", ""),
                    ("se", "_se"),
                    ("lower", "_lower"),
                    ("upper", "_upper"),
                ):
                    value = float(row[column])
                    if np.isfinite(value):
                        out[f"{prefix}/{name}/{param}{suffix}"] = value
        return out

    def simulate(
        self,
        horizon_days: float,
        *,
        n_draws: int = 100,
        random_state: int | np.random.Generator | None = 0,
    ) -> np.ndarray:
        """Realised spend per customer in the window, drawn ``n_draws`` times.

        Shape ``(n_draws, len(self.rfm))``, columns in the order of ``rfm``;
        see :func:`segml.btyd.simulate.simulate_future_value`.
        """
        _check_horizon(horizon_days)
        return simulate_future_value(
            self.bgnbd,
            self.gamma_gamma,
            self.rfm,
            float(horizon_days),
            n_draws=n_draws,
            random_state=random_state,
        )


def fit_btyd(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    penalizer: float = 0.0,
) -> BTYDFit:
    """Fit BG/NBD and Gamma-Gamma on the daily RFM summary at ``as_of``.

    Rows after ``as_of`` are ignored. A fit that does not converge is kept
    (its parameters are still the best found) and the warning is passed on.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``ts``, ``amount``).
    as_of : str, datetime or Timestamp
        The cutoff (inclusive).
    penalizer : float
        L2 penalty of both models; raise it (e.g. 0.001) on small or
        degenerate data.

    Returns
    -------
    BTYDFit
    """
    from segml.features.asof import to_as_of
    from segml.features.rfm import rfm_summary  # imports the feature engine

    cutoff = to_as_of(as_of)
    rfm = rfm_summary(transactions, as_of=cutoff, freq="D")
    return fit_btyd_rfm(rfm, as_of=cutoff, penalizer=penalizer)


def fit_btyd_rfm(
    rfm: pd.DataFrame, *, as_of: object, penalizer: float = 0.0
) -> BTYDFit:
    """Fit BG/NBD and Gamma-Gamma on a daily RFM frame already summarised.

    ``rfm`` has ``frequency``, ``recency``, ``T`` and ``monetary_value`` in
    days, one row per customer with a purchase at ``as_of``, e.g. from
    :func:`segml.features.rfm_summary` or :func:`rfm_from_features`.
    """
    from segml.features.asof import to_as_of

    cutoff = to_as_of(as_of)
    if len(rfm) == 0:
        raise ValueError(f"no customer has a purchase at or before {cutoff.date()}")
    bgnbd = BGNBD(penalizer=penalizer).fit(rfm)
    gamma_gamma = GammaGamma(penalizer=penalizer).fit(rfm)
    return BTYDFit(cutoff, rfm, bgnbd, gamma_gamma)


#: Catalogue columns :func:`rfm_from_features` reads.
RFM_SOURCE_COLUMNS: tuple[str, ...] = (
    "order_days",
    "tenure_days",
    "recency_days",
    "net_spend",
    "first_order_value",
)


def rfm_from_features(features: pd.DataFrame) -> pd.DataFrame:
    """The daily RFM summary of the customers with history, from catalogue columns.

    The feature catalogue (:func:`segml.features.build_features`) already holds
    what BG/NBD and Gamma-Gamma need, so a scoring frame can be summarised
    without its transactions:

    * ``frequency = order_days - 1`` (repeat purchase days);
    * ``recency = tenure_days - recency_days`` (first to last purchase);
    * ``T = tenure_days`` (first purchase to the cutoff);
    * ``monetary_value = (net_spend - first_order_value) / frequency``, the mean
      spend of the repeat days (0 without one, and 0 when returns make it
      negative: Gamma-Gamma only knows spend >= 0).

    On logs with whole-day timestamps this equals
    :func:`segml.features.rfm_summary` (``freq="D"``); with times of day,
    recency and T are in fractional days. Rows without history (``order_days``
    0 or missing) are left out; a missing column is an error naming it.

    Parameters
    ----------
    features : DataFrame
        Indexed by ``customer_id``, with :data:`RFM_SOURCE_COLUMNS`.

    Returns
    -------
    DataFrame
        ``frequency``, ``recency``, ``T``, ``monetary_value`` (float), on the
        index of the rows with history.

    Examples
    --------
    >>> f = pd.DataFrame({"order_days": [2, 1, 0], "tenure_days": [20.0, 16.0, None],
    ...                   "recency_days": [10.0, 16.0, None],
    ...                   "net_spend": [40.0, 8.0, 0.0],
    ...                   "first_order_value": [10.0, 8.0, None]},
    ...                  index=pd.Index(["a", "b", "lead"], name="customer_id"))
    >>> rfm_from_features(f)
                 frequency  recency     T  monetary_value
    customer_id
    a                  1.0     10.0  20.0            30.0
    b                  0.0      0.0  16.0             0.0
    """
    missing = [c for c in RFM_SOURCE_COLUMNS if c not in features.columns]
    if missing:
        raise ValueError(
            f"the BTYD summary needs the feature columns {missing}; build them "
            "with segml.features.build_features"
        )
    values = {
        c: pd.to_numeric(features[c], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        for c in RFM_SOURCE_COLUMNS
    }
    buyers = _buyers(features)
    tenure = np.nan_to_num(values["tenure_days"][buyers])
    frequency = values["order_days"][buyers] - 1.0
    repeat = values["net_spend"][buyers] - np.nan_to_num(
        values["first_order_value"][buyers]
    )
    monetary = np.divide(
        repeat, frequency, out=np.zeros_like(repeat), where=frequency > 0
    )
    recency = np.clip(tenure - np.nan_to_num(values["recency_days"][buyers]), 0, None)
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": np.where(frequency > 0, recency, 0.0),
            "T": tenure,
            "monetary_value": np.clip(np.nan_to_num(monetary), 0.0, None),
        },
        index=features.index[buyers],
    )
    out.index.name = "customer_id"
    return out


def btyd_features(
    transactions: pd.DataFrame,
    *,
    as_of: object,
    horizon_days: float,
    penalizer: float = 0.0,
) -> pd.DataFrame:
    """BTYD features of every customer with a purchase at ``as_of``.

    Fits the models at ``as_of`` (:func:`fit_btyd`) and returns
    :meth:`BTYDFit.features` for a window of ``horizon_days``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    as_of : str, datetime or Timestamp
        The cutoff (inclusive); later rows never reach a feature.
    horizon_days : float
        Length of the window the expectations are about.
    penalizer : float
        L2 penalty of both models.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), columns :data:`BTYD_FEATURES`.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": list("aaabbbccd"),
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-02-25",
    ...                           "2024-01-05", "2024-01-09", "2024-01-30",
    ...                           "2024-01-02", "2024-02-01", "2024-01-15"]),
    ...     "amount": [10.0, 12.0, 14.0, 50.0, 40.0, 45.0, 5.0, 6.0, 20.0]})
    >>> f = btyd_features(tx, as_of="2024-03-01", horizon_days=30,
    ...                   penalizer=0.01)
    >>> list(f.index), list(f.columns) == list(BTYD_FEATURES)
    (['a', 'b', 'c', 'd'], True)
    >>> bool(f["btyd_expected_value"].idxmax() == "b")
    True
    >>> bool(f["btyd_p_no_purchase"].between(0, 1).all())
    True
    """
    fitted = fit_btyd(transactions, as_of=as_of, penalizer=penalizer)
    return fitted.features(horizon_days)


def btyd_features_many(
    transactions: pd.DataFrame,
    *,
    as_ofs: Iterable[object],
    horizon_days: float | Sequence[float],
    penalizer: float = 0.0,
) -> pd.DataFrame:
    """:func:`btyd_features` at several cutoffs, stacked.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    as_ofs : iterable
        Cutoffs; the models are refitted at each one (point in time).
    horizon_days : float or sequence of float
        One horizon for every cutoff, or one per cutoff (in the order of
        ``as_ofs``), e.g. windows that all end at the same origin.
    penalizer : float
        L2 penalty of both models.

    Returns
    -------
    DataFrame
        Indexed by ``(cutoff, customer_id)``, both sorted, like
        :func:`segml.features.build_features_many`.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": list("aaabbbccd"),
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-02-25",
    ...                           "2024-01-05", "2024-01-09", "2024-01-30",
    ...                           "2024-01-02", "2024-02-01", "2024-01-15"]),
    ...     "amount": [10.0, 12.0, 14.0, 50.0, 40.0, 45.0, 5.0, 6.0, 20.0]})
    >>> f = btyd_features_many(tx, as_ofs=["2024-03-01", "2024-02-15"],
    ...                        horizon_days=[30, 45], penalizer=0.01)
    >>> f.index.names, f.index.get_level_values("cutoff").nunique()
    (FrozenList(['cutoff', 'customer_id']), 2)
    """
    from segml.features.asof import to_as_of

    stamps = [to_as_of(c) for c in as_ofs]
    if np.ndim(horizon_days) == 0:
        horizons = [float(horizon_days)] * len(stamps)  # type: ignore[arg-type]
    else:
        horizons = [float(h) for h in horizon_days]  # type: ignore[union-attr]
        if len(horizons) != len(stamps):
            raise ValueError(
                f"horizon_days has {len(horizons)} entries for {len(stamps)} cutoffs"
            )
    if len(set(stamps)) != len(stamps):
        raise ValueError("as_ofs has repeated cutoffs")
    parts = {}
    for stamp, horizon in sorted(zip(stamps, horizons, strict=True)):
        parts[stamp] = btyd_features(
            transactions, as_of=stamp, horizon_days=horizon, penalizer=penalizer
        )
    if not parts:
        index = pd.MultiIndex.from_arrays([[], []], names=["cutoff", "customer_id"])
        return pd.DataFrame(columns=list(BTYD_FEATURES), index=index, dtype="float64")
    return pd.concat(parts, names=["cutoff", "customer_id"])


def _check_horizon(horizon_days: float) -> None:
    if not (np.isfinite(horizon_days) and horizon_days > 0):
        raise ValueError(f"horizon_days must be a number > 0, got {horizon_days!r}")


def with_btyd_features(
    features: pd.DataFrame, fitted: BTYDFit, horizon_days: float
) -> pd.DataFrame:
    """``features`` with the :data:`BTYD_FEATURES` of a fitted model added.

    The RFM summary comes from the feature columns themselves
    (:func:`rfm_from_features`), so this works on a scoring frame as well as
    on the features of a cutoff; rows without history get NaN. Existing
    ``btyd_*`` columns are replaced.

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": list("aaabbbccd"),
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-02-25",
    ...                           "2024-01-05", "2024-01-09", "2024-01-30",
    ...                           "2024-01-02", "2024-02-01", "2024-01-15"]),
    ...     "amount": [10.0, 12.0, 14.0, 50.0, 40.0, 45.0, 5.0, 6.0, 20.0]})
    >>> fitted = fit_btyd(tx, as_of="2024-03-01", penalizer=0.01)
    >>> from segml.features import build_features
    >>> f = build_features(tx, as_of="2024-03-01")
    >>> out = with_btyd_features(f, fitted, 30)
    >>> bool(np.allclose(out["btyd_expected_value"],
    ...                  fitted.features(30)["btyd_expected_value"]))
    True
    """
    rfm = rfm_from_features(features)
    added = np.full((len(features), len(BTYD_FEATURES)), np.nan)
    if len(rfm):
        added[_buyers(features)] = fitted.features(horizon_days, rfm).to_numpy()
    return features.assign(**{c: added[:, j] for j, c in enumerate(BTYD_FEATURES)})


def _buyers(features: pd.DataFrame) -> np.ndarray:
    """Rows with at least one order day (the rows of the RFM summary)."""
    days = pd.to_numeric(features["order_days"], errors="coerce")
    return np.nan_to_num(days.to_numpy(dtype="float64", na_value=np.nan)) >= 1
