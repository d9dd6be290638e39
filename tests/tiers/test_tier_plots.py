"""The Pareto chart renders to a valid PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segml.tiers import assign_tiers, plot_pareto

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_pareto_chart_saves_to_png(tmp_path):
    rng = np.random.default_rng(0)
    values = pd.Series(rng.pareto(1.5, 500) * 100, index=[f"c{i}" for i in range(500)])
    values.iloc[:50] = 0.0
    tiers = assign_tiers(values, rule="value")
    fig = plot_pareto(values, tiers, title="value rule")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "cumulative % of customers"
    assert len(ax.patches) == 3  # one shaded band per tier
    path = tmp_path / "pareto.png"
    fig.savefig(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5_000


def test_pareto_chart_draws_on_a_given_axes(tmp_path):
    fig = Figure()
    ax = fig.subplots()
    values = pd.Series([3.0, 1.0], index=["a", "b"])
    got = plot_pareto(
        values, assign_tiers(values, shares=(0.5, 0.5), tiers=("A", "B")), ax=ax
    )
    assert got is fig
    fig.savefig(tmp_path / "two.png")
    assert (tmp_path / "two.png").read_bytes().startswith(PNG_MAGIC)
