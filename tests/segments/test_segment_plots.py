"""The profile plot renders to a valid PNG."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from segml.segments import Segmenter, plot_profiles

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_profile_plot_saves_to_png(blobs, tmp_path):
    features = ["net_spend", "orders", "recency_days", "tenure_days"]
    seg = Segmenter(features=features, k=3).fit(blobs)
    fig = plot_profiles(seg.profiles_)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "net_spend",
        "orders",
        "recency_days",
        "tenure_days",
    ]
    assert ax.get_yticklabels()[0].get_text().startswith(f"0: {seg.names_[0]}")
    assert seg.names_[0].startswith("high-value")
    path = tmp_path / "profiles.png"
    fig.savefig(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5_000


def test_profile_plot_needs_medians():
    with pytest.raises(ValueError, match="no median_"):
        plot_profiles(pd.DataFrame({"size": [1]}))
