"""Monitoring: drift (PSI) and tier stability between training and now."""

from segml.monitor.drift import (
    DEFAULT_BINS,
    DEFAULT_EPS,
    BinnedReference,
    TierChange,
    bin_shares,
    near_threshold,
    psi,
    psi_from_shares,
    psi_table,
    reference_bins,
    reference_profile,
    tier_change,
)

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_EPS",
    "BinnedReference",
    "TierChange",
    "bin_shares",
    "near_threshold",
    "psi",
    "psi_from_shares",
    "psi_table",
    "reference_bins",
    "reference_profile",
    "tier_change",
]
