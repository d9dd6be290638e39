"""The BTYD models take real, 1-D (or scalar) columns, and say so otherwise.

Before, a complex column was cast to its real part with numpy's ComplexWarning,
and a 2-D column was broadcast against the others: ``GammaGamma().fit(X, y)``
with X of shape (10, 1) fitted 100 (frequency, spend) pairs of unrelated rows.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from segml.btyd import BGNBD, GammaGamma
from segml.btyd._common import columns

NAMES = ("frequency", "recency", "T")
FREQUENCY = np.array([0.0, 1.0, 2.0, 3.0, 1.0, 4.0])
RECENCY = np.array([0.0, 5.0, 8.0, 9.0, 2.0, 10.0])
T = np.full(6, 12.0)
SPEND = np.array([0.0, 10.0, 20.0, 15.0, 30.0, 12.0])


def test_scalars_and_1d_columns_broadcast_as_before():
    (x, t_x, big_t), index = columns([1, 2], (3, 7.5), NAMES)
    assert x.tolist() == [1.0, 2.0]
    assert t_x.tolist() == [3.0, 3.0]
    assert big_t.tolist() == [7.5, 7.5]
    assert index is None
    (x, _, _), _ = columns(2, (1, 3), NAMES)
    assert x.shape == ()


def test_complex_column_is_refused_with_scikit_learns_message():
    with pytest.raises(
        ValueError,
        match=r"^Complex data not supported: recency holds complex numbers; pass "
        r"real values$",
    ):
        columns([1.0, 2.0], ([1 + 0j, 2 + 1j], [3.0, 3.0]), NAMES)


def test_complex_column_of_a_frame_is_refused():
    rfm = pd.DataFrame({"frequency": [1.0, 2.0], "monetary_value": [3 + 1j, 4 + 0j]})
    with pytest.raises(ValueError, match="^Complex data not supported: monetary_value"):
        GammaGamma().fit(rfm)


def test_complex_column_is_named_before_a_missing_one():
    # BG/NBD fit(X, y) without T: the complex column is the first thing wrong
    with pytest.raises(ValueError, match="^Complex data not supported: frequency"):
        BGNBD().fit(np.array([1 + 1j, 2 + 0j]), np.array([1.0, 2.0]))


def test_2d_column_is_refused_not_broadcast():
    message = (
        "frequency must be 1-D (one value per customer), got shape (6, 1): a 2-D "
        "array of 1 feature(s) per row; pass each column on its own or an RFM frame"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        GammaGamma().fit(FREQUENCY[:, None], SPEND)


def test_2d_column_is_refused_by_every_method():
    model = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    grid = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"^recency must be 1-D .*shape \(2, 3\)"):
        model.p_alive(1.0, grid, 5.0)
    with pytest.raises(ValueError, match=r"^T must be 1-D .*shape \(2, 3\)"):
        model.expected_purchases(10.0, 1.0, 1.0, grid)
    gg = GammaGamma.from_params(p=6.25, q=3.74, v=15.44)
    with pytest.raises(ValueError, match=r"^monetary_value must be 1-D"):
        gg.expected_spend(FREQUENCY, np.ones((6, 2)))
    with pytest.raises(
        ValueError, match=r"^frequency must be 1-D .*shape \(2, 2, 2\); pass"
    ):
        columns(np.ones((2, 2, 2)), (1.0, 1.0), NAMES)


def test_sparse_column_is_refused_by_name():
    with pytest.raises(
        TypeError,
        match=r"^frequency is a sparse csr_array: sparse input is not supported; "
        r"pass a dense 1-D column$",
    ):
        BGNBD().fit(sparse.csr_array(FREQUENCY[None, :]), RECENCY, T)


def test_text_column_names_the_column():
    with pytest.raises(ValueError, match="^recency must hold numbers: could not"):
        columns([1.0], (["soon"], [3.0]), NAMES)


def test_fit_on_valid_columns_is_unchanged_by_the_checks():
    # the checks only refuse input: a fit on lists equals the fit on a frame
    rfm = pd.DataFrame({"frequency": FREQUENCY, "monetary_value": SPEND})
    by_frame = GammaGamma().fit(rfm).params_
    by_lists = GammaGamma().fit(FREQUENCY.tolist(), SPEND.tolist()).params_
    pd.testing.assert_series_equal(by_frame, by_lists)
