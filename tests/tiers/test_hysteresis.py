"""Hysteresis: hand-computed moves around fixed thresholds."""

import numpy as np
import pandas as pd
import pytest

from segml.tiers import apply_hysteresis

LABELS = ["A", "B", "C"]


def tiers(values, index):
    cat = pd.Categorical(values, categories=LABELS, ordered=True)
    return pd.Series(cat, index=index)


def run(values, fresh, previous, margin, thresholds=(100.0, 50.0)):
    index = list("abcdefgh"[: len(values)])
    out = apply_hysteresis(
        pd.Series(values, index=index, dtype=float),
        tiers(fresh, index),
        pd.Series(previous, index=index[: len(previous)]),
        margin=margin,
        thresholds=list(thresholds),
    )
    return out.tolist()


def test_keeps_tier_inside_the_margin_and_moves_beyond_it():
    # thresholds A >= 100, B >= 50; margin 10 %: up needs 110 / 55, down below 90 / 45
    values = [91.0, 89.0, 109.0, 111.0, 46.0, 44.0, 56.0, 54.0]
    fresh = ["B", "B", "A", "A", "C", "C", "B", "B"]
    previous = ["A", "A", "B", "B", "B", "B", "C", "C"]
    assert run(values, fresh, previous, 0.1) == [
        "A",  # 91 >= 90: keeps A
        "B",  # 89 < 90: falls to B
        "B",  # 109 < 110: stays B
        "A",  # 111 >= 110: rises to A
        "B",  # 46 >= 45: keeps B
        "C",  # 44 < 45: falls to C
        "B",  # 56 >= 55: rises to B
        "C",  # 54 < 55: stays C
    ]


def test_a_long_move_stops_where_the_margin_allows():
    # was C; rule says A at 105 (above 100 but not 110): rises only to B
    # was A; rule says C at 47 (below 90 and 45*... 47 >= 45): falls only to B
    assert run([105.0, 47.0], ["A", "C"], ["C", "A"], 0.1) == ["B", "B"]
    # beyond every margin the rule's tier is taken
    assert run([200.0, 10.0], ["A", "C"], ["C", "A"], 0.1) == ["A", "C"]


def test_never_better_or_worse_than_the_rule_says():
    # a tie at the count rule's cut left this customer in B at 150 > 110
    assert run([150.0], ["B"], ["C"], 0.1) == ["B"]


def test_new_customers_and_non_positive_values_take_the_rule():
    # c has no previous tier; d had A but its value is 0
    out = apply_hysteresis(
        pd.Series([95.0, 60.0, 95.0, 0.0], index=list("abcd")),
        tiers(["B", "B", "B", "C"], list("abcd")),
        pd.Series(["A", "B", None, "A"], index=list("abcd")),
        margin=0.5,
        thresholds=[100.0, 50.0],
    )
    assert out.tolist() == ["A", "B", "B", "C"]
    assert list(out.cat.categories) == LABELS and out.name == "tier"


def test_margin_zero_only_undoes_tie_breaks():
    assert run([100.0, 99.0], ["B", "B"], ["A", "A"], 0.0) == ["A", "B"]


def test_default_thresholds_are_learned_from_the_fresh_tiers():
    values = pd.Series([300.0, 100.0, 95.0, 10.0], index=list("abcd"))
    fresh = tiers(["A", "B", "C", "C"], values.index)  # thresholds 300, 100
    out = apply_hysteresis(
        values, fresh, pd.Series(["A", "A", "B", "C"], index=list("abcd")), margin=0.1
    )
    # b: 100 < 270 -> falls to B; c: 95 >= 90 keeps B
    assert out.tolist() == ["A", "B", "B", "C"]


@pytest.mark.parametrize("margin", [-0.1, 1.0, np.nan, "x"])
def test_bad_margin(margin):
    with pytest.raises(ValueError, match=r"margin must"):
        run([1.0], ["C"], ["C"], margin)


def test_unknown_previous_tier():
    with pytest.raises(ValueError, match=r"previous holds tiers \['Z'\]"):
        run([1.0], ["C"], ["Z"], 0.1)


def test_wrong_number_of_thresholds():
    with pytest.raises(ValueError, match="thresholds has 1 entries; 2 expected"):
        run([1.0], ["C"], ["C"], 0.1, thresholds=(5.0,))
