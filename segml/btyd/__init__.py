"""Buy-till-you-die models: BG/NBD purchase counts and Gamma-Gamma spend,
the discounted lifetime value and per-customer features derived from them,
simulated futures, and the model-fit plots (:mod:`segml.btyd.plots`)."""

from segml.btyd.bgnbd import BGNBD, bgnbd_log_likelihood
from segml.btyd.clv import customer_lifetime_value, discount_factors, monthly_rate
from segml.btyd.features import (
    BTYD_FEATURES,
    HORIZON_FEATURES,
    BTYDFit,
    btyd_features,
    btyd_features_many,
    fit_btyd,
)
from segml.btyd.gamma_gamma import (
    GammaGamma,
    expected_value,
    gamma_gamma_log_likelihood,
)
from segml.btyd.simulate import simulate_future_value

__all__ = [
    "BGNBD",
    "BTYD_FEATURES",
    "HORIZON_FEATURES",
    "BTYDFit",
    "GammaGamma",
    "bgnbd_log_likelihood",
    "btyd_features",
    "btyd_features_many",
    "customer_lifetime_value",
    "discount_factors",
    "expected_value",
    "fit_btyd",
    "gamma_gamma_log_likelihood",
    "monthly_rate",
    "simulate_future_value",
]
