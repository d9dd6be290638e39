"""The BTYD model-fit plots data scientists check first, with the data behind them.

* **P(alive) matrix**: :meth:`BGNBD.probability_alive` over a grid of frequency
  and recency at one T (lifetimes' ``plot_probability_alive_matrix``). Heavy
  buyers who stopped long ago are the cold corner.
* **Calibration vs holdout**: customers grouped by their calibration-period
  frequency; per group, the mean number of repeat purchase days they actually
  made in a holdout period beside the mean BG/NBD predicted from the
  calibration fit (lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``).

Each plot has a table function returning exactly the numbers it draws, so a
report can print them and a test can check them. Figures are built with
:class:`matplotlib.figure.Figure` directly (no ``pyplot``, no GUI backend).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from segml.btyd.bgnbd import BGNBD

__all__ = [
    "calibration_and_holdout",
    "calibration_vs_holdout",
    "plot_calibration_vs_holdout",
    "plot_probability_alive_matrix",
    "probability_alive_matrix",
]

_CAL = ("frequency_cal", "recency_cal", "T_cal")


def probability_alive_matrix(
    bgnbd: BGNBD, *, max_frequency: int, T: float
) -> pd.DataFrame:
    """P(alive at T) for every frequency 0..max_frequency and recency 0..T.

    Parameters
    ----------
    bgnbd : BGNBD
        Fitted.
    max_frequency : int
        Largest number of repeat purchase periods shown (e.g. a high quantile
        of the training frequencies).
    T : float
        Age of the customers, in the model's time unit; recency runs over the
        whole periods ``0, 1, ..., floor(T)``.

    Returns
    -------
    DataFrame
        Index ``frequency``, columns ``recency``. A customer without repeat
        purchases has recency 0 by definition: the rest of row 0 is NaN.

    Examples
    --------
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> probability_alive_matrix(bg, max_frequency=2, T=3).round(3)
    recency        0      1      2      3
    frequency
    0          1.000    NaN    NaN    NaN
    1          0.616  0.674  0.719  0.754
    2          0.574  0.681  0.757  0.812
    """
    if not (isinstance(max_frequency, int | np.integer) and max_frequency >= 0):
        raise ValueError(f"max_frequency must be an int >= 0, got {max_frequency!r}")
    if not (np.isfinite(T) and T >= 0):
        raise ValueError(f"T must be a finite number >= 0, got {T!r}")
    frequency = np.arange(max_frequency + 1, dtype="float64")
    recency = np.arange(np.floor(T) + 1, dtype="float64")
    f, r = np.meshgrid(frequency, recency, indexing="ij")
    valid = (f > 0) | (r == 0)
    values = np.full(f.shape, np.nan)
    values[valid] = bgnbd.probability_alive(f[valid], r[valid], float(T))
    return pd.DataFrame(
        values,
        index=pd.Index(frequency.astype(int), name="frequency"),
        columns=pd.Index(recency.astype(int), name="recency"),
    )


def plot_probability_alive_matrix(
    bgnbd: BGNBD,
    *,
    max_frequency: int,
    T: float,
    ax: Axes | None = None,
    title: str | None = "Probability customer is alive, by frequency and recency",
) -> Figure:
    """Heat map of :func:`probability_alive_matrix` (frequency down, recency across).

    Returns
    -------
    matplotlib.figure.Figure
        The image's array is the table's values.

    Examples
    --------
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> fig = plot_probability_alive_matrix(bg, max_frequency=10, T=39)
    >>> fig.axes[0].images[0].get_array().shape
    (11, 40)
    """
    table = probability_alive_matrix(bgnbd, max_frequency=max_frequency, T=T)
    fig, ax = _figure(ax)
    image = ax.imshow(
        table.to_numpy(),
        origin="upper",
        aspect="auto",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, label="P(alive)")
    ax.set_xlabel(f"recency: time of the last purchase (T = {T:g})")
    ax.set_ylabel("frequency: repeat purchase periods")
    if title:
        ax.set_title(title)
    return fig


def calibration_and_holdout(
    transactions: pd.DataFrame,
    *,
    calibration_end: object,
    observation_end: object,
) -> pd.DataFrame:
    """Daily RFM of a calibration period and repeat purchase days in a holdout.

    Customers are those with a purchase at or before ``calibration_end``
    (inclusive); ``frequency_holdout`` counts their purchase days in
    ``(calibration_end, observation_end]``. lifetimes'
    ``calibration_and_holdout_data`` with ``freq="D"``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``ts``, ``amount``).
    calibration_end, observation_end : str, datetime or Timestamp
        Ends of the two periods, ``calibration_end < observation_end``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``frequency_cal``, ``recency_cal``,
        ``T_cal``, ``monetary_value_cal``, ``frequency_holdout``,
        ``duration_holdout`` (days).

    Examples
    --------
    >>> tx = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "a", "b", "c"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-12",
    ...                           "2024-01-12", "2024-01-03", "2024-01-15"]),
    ...     "amount": [5.0, 7.0, 3.0, 4.0, 9.0, 2.0]})
    >>> data = calibration_and_holdout(tx, calibration_end="2024-01-10",
    ...                                observation_end="2024-01-20")
    >>> data[["frequency_cal", "recency_cal", "T_cal", "frequency_holdout"]]
                 frequency_cal  recency_cal  T_cal  frequency_holdout
    customer_id
    a                      1.0          4.0    9.0                1.0
    b                      0.0          0.0    7.0                0.0
    >>> float(data["duration_holdout"].iloc[0])
    10.0
    """
    from segml.features.asof import to_as_of
    from segml.features.rfm import rfm_summary

    start, end = to_as_of(calibration_end), to_as_of(observation_end)
    if not start < end:
        raise ValueError(
            f"calibration_end ({start.date()}) must be before observation_end "
            f"({end.date()})"
        )
    cal = rfm_summary(transactions, as_of=start)
    whole = rfm_summary(transactions, as_of=end).reindex(cal.index)
    out = cal.add_suffix("_cal")
    # the repeat days up to observation_end minus those up to calibration_end
    out["frequency_holdout"] = whole["frequency"] - cal["frequency"]
    out["duration_holdout"] = float((end.normalize() - start.normalize()).days)
    return out


def calibration_vs_holdout(
    bgnbd: BGNBD, data: pd.DataFrame, *, max_frequency: int = 7
) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases per calibration frequency.

    Parameters
    ----------
    bgnbd : BGNBD
        Fitted on the calibration columns of ``data``.
    data : DataFrame
        From :func:`calibration_and_holdout` (``frequency_cal``,
        ``recency_cal``, ``T_cal``, ``frequency_holdout``,
        ``duration_holdout``).
    max_frequency : int, default 7
        Customers with more calibration repeat purchases are grouped with
        ``max_frequency`` (the last row means "max_frequency or more").

    Returns
    -------
    DataFrame
        Index ``frequency_cal`` (0..max_frequency, groups without a customer
        left out); columns ``customers``, ``actual`` (mean
        ``frequency_holdout``) and ``predicted`` (mean
        :meth:`BGNBD.expected_purchases` over ``duration_holdout``).

    Examples
    --------
    >>> data = pd.DataFrame({"frequency_cal": [0.0, 1.0, 3.0, 9.0],
    ...                      "recency_cal": [0.0, 5.0, 20.0, 30.0],
    ...                      "T_cal": [30.0, 30.0, 30.0, 31.0],
    ...                      "frequency_holdout": [0.0, 1.0, 1.0, 4.0],
    ...                      "duration_holdout": 30.0})
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> calibration_vs_holdout(bg, data, max_frequency=3).round(2)
                   customers  actual  predicted
    frequency_cal
    0                      1     0.0       0.19
    1                      1     1.0       0.35
    3                      2     2.5       3.60
    """
    missing = [
        c for c in (*_CAL, "frequency_holdout", "duration_holdout") if c not in data
    ]
    if missing:
        raise ValueError(
            f"data lacks column(s) {missing}; build it with calibration_and_holdout"
        )
    predicted = np.asarray(
        bgnbd.expected_purchases(
            data["duration_holdout"].to_numpy(dtype="float64"),
            *(data[c].to_numpy(dtype="float64") for c in _CAL),
        )
    )
    group = np.minimum(data["frequency_cal"].to_numpy(dtype="float64"), max_frequency)
    table = (
        pd.DataFrame(
            {
                "frequency_cal": group.astype(int),
                "actual": data["frequency_holdout"].to_numpy(dtype="float64"),
                "predicted": predicted,
            }
        )
        .groupby("frequency_cal")
        .agg(
            customers=("actual", "size"),
            actual=("actual", "mean"),
            predicted=("predicted", "mean"),
        )
    )
    return table


def plot_calibration_vs_holdout(
    bgnbd: BGNBD,
    data: pd.DataFrame,
    *,
    max_frequency: int = 7,
    ax: Axes | None = None,
    title: str | None = "Actual vs predicted purchases in the holdout period",
) -> Figure:
    """Lines of :func:`calibration_vs_holdout`: actual and predicted per group.

    Returns
    -------
    matplotlib.figure.Figure
        Two lines, labelled ``actual`` and ``predicted (BG/NBD)``, whose
        x-data is the table's index.

    Examples
    --------
    >>> data = pd.DataFrame({"frequency_cal": [0.0, 1.0, 3.0],
    ...                      "recency_cal": [0.0, 5.0, 20.0],
    ...                      "T_cal": [30.0, 30.0, 30.0],
    ...                      "frequency_holdout": [0.0, 1.0, 1.0],
    ...                      "duration_holdout": 30.0})
    >>> bg = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> fig = plot_calibration_vs_holdout(bg, data)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['actual', 'predicted (BG/NBD)']
    """
    table = calibration_vs_holdout(bgnbd, data, max_frequency=max_frequency)
    fig, ax = _figure(ax)
    x = table.index.to_numpy()
    ax.plot(x, table["actual"].to_numpy(), marker="o", label="actual")
    ax.plot(
        x,
        table["predicted"].to_numpy(),
        marker="s",
        ls="--",
        label="predicted (BG/NBD)",
    )
    ax.set_xticks(x, [str(v) for v in x[:-1]] + [f"{x[-1]}+"] if len(x) else [])
    ax.set_xlabel("repeat purchase days in the calibration period")
    ax.set_ylabel("mean repeat purchase days in the holdout period")
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def _figure(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=(7, 5), layout="constrained")
        return fig, fig.subplots()
    return ax.figure, ax  # type: ignore[return-value]
