"""A tiny hand-made log for the report, and a reader of the report's HTML tables.

Five customers over three months, count rule with shares 20 / 20 / 60 %, so
each month has one A, one B and three C customers (net amount in the month):

======  =====  =====  =====
id      Jan    Feb    Mar
======  =====  =====  =====
a       100 A   10 C  200 A
b        50 B   80 A    0 C
c        20 C   30 C   90 B
d        10 C    5 C   40 C
e         5 C   60 B    1 C
======  =====  =====  =====
"""

from __future__ import annotations

import pandas as pd
import pytest
from report_helpers import make_tiny_config, make_tiny_tx


@pytest.fixture
def tiny_tx() -> pd.DataFrame:
    return make_tiny_tx()


@pytest.fixture
def tiny_config():
    return make_tiny_config()
