"""Buy-till-you-die models: BG/NBD purchase counts and Gamma-Gamma spend."""

from segml.btyd.bgnbd import BGNBD, bgnbd_log_likelihood
from segml.btyd.gamma_gamma import (
    GammaGamma,
    expected_value,
    gamma_gamma_log_likelihood,
)

__all__ = [
    "BGNBD",
    "GammaGamma",
    "bgnbd_log_likelihood",
    "expected_value",
    "gamma_gamma_log_likelihood",
]
