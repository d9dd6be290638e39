"""The report's BG/NBD section: the fit checks a data scientist looks at first.

BG/NBD is fitted on the purchases up to ``as_of - holdout_days`` (the
calibration period) and judged on the ``holdout_days`` after it: the mean
actual and predicted holdout purchases per calibration frequency
(:func:`segml.btyd.plots.calibration_vs_holdout`), the fitted parameters with
their standard errors (``summary_``) and the probability that a customer is
alive by frequency and recency (:func:`segml.btyd.plots.probability_alive_matrix`)
of that same fit.
"""

from __future__ import annotations

import pandas as pd

from segml.report.charts import figure_chart
from segml.report.page import Section

__all__ = ["btyd_section"]

#: Customers with at least this many repeat purchases are pooled in the
#: calibration table's last row.
MAX_FREQUENCY = 7


def btyd_section(
    transactions: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    holdout_days: int,
    penalizer: float = 0.0,
) -> Section:
    """BG/NBD calibration vs holdout, parameters and P(alive) of the customers.

    Examples
    --------
    >>> from segml.datasets import load_cdnow
    >>> tx = load_cdnow()
    >>> section = btyd_section(tx, as_of=pd.Timestamp("1998-06-30"), holdout_days=182)
    >>> sorted(section.tables)
    ['btyd_calibration', 'btyd_parameters']
    """
    from segml.btyd import BGNBD
    from segml.btyd.plots import (
        calibration_and_holdout,
        calibration_vs_holdout,
        plot_calibration_vs_holdout,
        plot_probability_alive_matrix,
    )

    end = pd.Timestamp(as_of)
    calibration_end = end - pd.Timedelta(days=holdout_days)
    title = "BG/NBD fit"
    data = calibration_and_holdout(
        transactions, calibration_end=calibration_end, observation_end=end
    )
    if (data["frequency_cal"] > 0).sum() < 10:
        return Section(
            key="btyd",
            title=title,
            notes=[
                f"fewer than 10 repeat buyers by {calibration_end.date()}: "
                "BG/NBD is not fitted"
            ],
        )
    rfm = data[["frequency_cal", "recency_cal", "T_cal"]].set_axis(
        ["frequency", "recency", "T"], axis=1
    )
    try:
        bg = BGNBD(penalizer=penalizer).fit(rfm)
    except (ValueError, ArithmeticError) as err:
        return Section(
            key="btyd", title=title, notes=[f"BG/NBD could not be fitted: {err}"]
        )
    table = calibration_vs_holdout(bg, data, max_frequency=MAX_FREQUENCY)
    top = int(max(1, min(rfm["frequency"].quantile(0.99), 30)))
    oldest = float(rfm["T"].max())
    charts = [
        figure_chart(
            plot_calibration_vs_holdout(bg, data, max_frequency=MAX_FREQUENCY),
            "btyd_calibration",
            f"Mean purchases in the {holdout_days} days after "
            f"{calibration_end.date()}: actual and as BG/NBD predicted them from "
            "each customer's history before it, by repeat purchases then.",
        ),
        figure_chart(
            plot_probability_alive_matrix(bg, max_frequency=top, T=oldest),
            "btyd_p_alive",
            "Probability that a customer is still active, by repeat purchases "
            "(down) and days from first to last purchase (across), for the "
            "oldest customers.",
        ),
    ]
    return Section(
        key="btyd",
        title=title,
        intro=(
            f"BG/NBD fitted on {len(rfm):,} customers' purchase days up to "
            f"{calibration_end.date()} and judged on the {holdout_days} days after "
            "it. Where the predicted and actual lines part, expected purchases, "
            "P(alive) and lifetime value inherit the error (segml.btyd; "
            "docs/btyd.md)."
        ),
        tables={"btyd_calibration": table, "btyd_parameters": bg.summary_},
        charts=charts,
    )
