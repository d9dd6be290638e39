"""Tests of segml.evaluation.metrics and segml.evaluation.plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from segml.evaluation import (
    ROUTES,
    compare_routes,
    confusion,
    evaluate_routes,
    expected_calibration_error,
    flatten_metrics,
    metric_names,
    plot_calibration,
    plot_confusion,
    tier_metrics,
)

# The plots build matplotlib Figures directly (no pyplot), so no backend is set.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Eight rows, computed by hand:
#
#   y_true  A A B B B C C C
#   y_pred  A A A B C C C B
#
#   confusion (rows true, cols predicted):   A  B  C   | support
#                                        A   2  0  0   |  2
#                                        B   1  1  1   |  3
#                                        C   0  1  2   |  3
#                              predicted:    3  2  3
#
#   precision A = 2/3, B = 1/2, C = 2/3
#   recall    A = 2/2 = 1, B = 1/3, C = 2/3
#   f1        A = 2*(2/3*1)/(2/3+1) = 4/5
#             B = 2*(1/2*1/3)/(1/2+1/3) = 2/5
#             C = 2/3
#   macro_f1 = (4/5 + 2/5 + 2/3) / 3 = 28/45
#   balanced_accuracy = (1 + 1/3 + 2/3) / 3 = 2/3
#   accuracy = 5/8
Y_TRUE = ["A", "A", "B", "B", "B", "C", "C", "C"]
Y_PRED = ["A", "A", "A", "B", "C", "C", "C", "B"]


def test_tier_metrics_hand_computed():
    m = tier_metrics(Y_TRUE, Y_PRED)
    expected = {
        "n": 8.0,
        "macro_f1": 28 / 45,
        "balanced_accuracy": 2 / 3,
        "accuracy": 5 / 8,
        "precision_A": 2 / 3,
        "precision_B": 1 / 2,
        "precision_C": 2 / 3,
        "recall_A": 1.0,
        "recall_B": 1 / 3,
        "recall_C": 2 / 3,
        "f1_A": 4 / 5,
        "f1_B": 2 / 5,
        "f1_C": 2 / 3,
    }
    assert list(m) == list(expected)  # stable key order, no proba keys
    for key, value in expected.items():
        assert m[key] == pytest.approx(value), key


def test_tier_metrics_accepts_categorical_series():
    dtype = pd.CategoricalDtype(["A", "B", "C"], ordered=True)
    m = tier_metrics(
        pd.Series(Y_TRUE, dtype=dtype, index=range(10, 18)),
        pd.Series(Y_PRED, dtype=dtype),
    )
    assert m["macro_f1"] == pytest.approx(28 / 45)


def test_confusion_hand_computed():
    conf = confusion(Y_TRUE, Y_PRED, ("A", "B", "C"))
    expected = pd.DataFrame(
        [[2, 0, 0], [1, 1, 1], [0, 1, 2]],
        index=pd.Index(["A", "B", "C"], name="true", dtype="str"),
        columns=pd.Index(["A", "B", "C"], name="predicted", dtype="str"),
    )
    pd.testing.assert_frame_equal(conf, expected, check_dtype=False)


def test_confusion_follows_tier_order_not_alphabet():
    conf = confusion(["gold", "bronze"], ["gold", "gold"], ("gold", "silver", "bronze"))
    assert conf.index.tolist() == ["gold", "silver", "bronze"]
    assert conf.loc["bronze", "gold"] == 1
    assert conf.to_numpy().sum() == 2


def test_tier_absent_from_y_true_does_not_crash():
    # No C in y_true, but C is predicted once and has probability mass.
    y_true = ["A", "B", "B", "A"]
    y_pred = ["A", "B", "C", "B"]
    proba = np.array(
        [[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.3, 0.6], [0.3, 0.5, 0.2]]
    )
    m = tier_metrics(y_true, y_pred, proba)
    # recall A = 1/2, recall B = 1/2; C has no support -> left out of balanced acc
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["recall_C"] == 0.0
    assert m["precision_C"] == 0.0  # predicted once, never right
    # f1: A = 2*(1*1/2)/(3/2) = 2/3, B = 2*(1/2*1/2)/1 = 1/2, C = 0 (counted)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2 + 0) / 3)
    assert np.isfinite(m["log_loss"])


def test_log_loss_matches_sklearn_with_fixed_labels():
    rng = np.random.default_rng(3)
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=30)
    y_true = rng.choice(["A", "B"], size=30)  # C never occurs
    y_pred = np.array(["A", "B", "C"])[proba.argmax(axis=1)]
    ours = tier_metrics(y_true, y_pred, proba)["log_loss"]
    assert ours == pytest.approx(log_loss(y_true, proba, labels=["A", "B", "C"]))


def test_log_loss_uses_tier_order_not_alphabetical_order():
    # sklearn sorts string labels; our columns are in tier order.
    tiers = ("gold", "silver", "bronze")
    proba = pd.DataFrame(
        {"p_gold": [0.7, 0.2], "p_silver": [0.2, 0.2], "p_bronze": [0.1, 0.6]}
    )
    y = ["gold", "bronze"]
    m = tier_metrics(y, y, proba, tiers=tiers)
    assert m["log_loss"] == pytest.approx(-(np.log(0.7) + np.log(0.6)) / 2)


def test_log_loss_clips_zero_probability():
    m = tier_metrics(["A"], ["B"], [[0.0, 1.0, 0.0]])
    assert np.isfinite(m["log_loss"]) and m["log_loss"] > 30


def test_ece_hand_computed():
    # row  proba (A, B, C)      true  conf  argmax  correct  bin
    #  1   (0.85, 0.10, 0.05)   A     0.85  A       1        (0.8, 0.9]
    #  2   (0.05, 0.85, 0.10)   C     0.85  B       0        (0.8, 0.9]
    #  3   (0.35, 0.45, 0.20)   B     0.45  B       1        (0.4, 0.5]
    #  4   (0.15, 0.30, 0.55)   C     0.55  C       1        (0.5, 0.6]
    # ECE = 2/4*|0.5-0.85| + 1/4*|1-0.45| + 1/4*|1-0.55|
    #     = 0.175 + 0.1375 + 0.1125 = 0.425
    proba = [
        [0.85, 0.10, 0.05],
        [0.05, 0.85, 0.10],
        [0.35, 0.45, 0.20],
        [0.15, 0.30, 0.55],
    ]
    y_true = ["A", "C", "B", "C"]
    assert expected_calibration_error(y_true, proba) == pytest.approx(0.425)
    m = tier_metrics(y_true, ["A", "B", "B", "C"], proba)
    assert m["ece"] == pytest.approx(0.425)


def test_ece_bins_are_right_closed():
    # conf 0.5 (correct) and 0.45 (wrong) share the bin (0.4, 0.5]:
    # ECE = |1/2 - 0.475| = 0.025. Were 0.5 in (0.5, 0.6] it would be 0.475.
    proba = [[0.5, 0.3, 0.2], [0.45, 0.35, 0.2]]
    assert expected_calibration_error(["A", "B"], proba) == pytest.approx(0.025)


def test_ece_matches_naive_loop():
    rng = np.random.default_rng(7)
    proba = rng.dirichlet([0.5, 0.5, 0.5], size=200)
    y = rng.choice(["A", "B", "C"], size=200)
    conf, pred = proba.max(axis=1), proba.argmax(axis=1)
    correct = pred == pd.Categorical(y, categories=["A", "B", "C"]).codes
    ece = 0.0
    for m in range(10):
        in_bin = (conf > m / 10) & (conf <= (m + 1) / 10)
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - conf[in_bin].mean())
            ece += in_bin.mean() * gap
    assert expected_calibration_error(y, proba) == pytest.approx(ece)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="not in tiers"):
        tier_metrics(["A", "X"], ["A", "A"])
    with pytest.raises(ValueError, match="missing or not in"):
        tier_metrics(["A", None], ["A", "A"])
    with pytest.raises(ValueError, match="rows"):
        tier_metrics(["A", "B"], ["A"])
    with pytest.raises(ValueError, match="sum to 1"):
        tier_metrics(["A"], ["A"], [[0.5, 0.1, 0.1]])
    with pytest.raises(ValueError, match="p_C"):
        tier_metrics(["A"], ["A"], pd.DataFrame({"p_A": [1.0], "p_B": [0.0]}))


def _prediction_frame() -> pd.DataFrame:
    proba = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.1, 0.8, 0.1],
            [0.2, 0.3, 0.5],
            [0.6, 0.3, 0.1],
            [0.1, 0.2, 0.7],
            [0.1, 0.6, 0.3],
        ]
    )
    frame = pd.DataFrame(proba, columns=["p_A", "p_B", "p_C"], index=list("uvwxyz"))
    frame.insert(0, "tier", ["A", "B", "C", "A", "C", "B"])
    frame["route"] = ["history"] * 3 + ["cold_start"] * 3
    return frame


def test_evaluate_routes_rows_columns_and_values():
    frame = _prediction_frame()
    y = pd.Series(["A", "B", "B", "C", "C", "B"], index=frame.index)
    table = evaluate_routes(y, frame)
    assert table.index.tolist() == list(ROUTES)
    assert table.columns.tolist() == metric_names()
    assert table["n"].tolist() == [6, 3, 3]
    # history: A A, B B, B->C  -> accuracy 2/3; cold start: C->A, C C, B B -> 2/3
    assert table.loc["history", "accuracy"] == pytest.approx(2 / 3)
    assert table.loc["cold_start", "accuracy"] == pytest.approx(2 / 3)
    full = tier_metrics(y, frame["tier"], frame)
    for key, value in full.items():
        assert table.loc["all", key] == pytest.approx(value), key
    cold = tier_metrics(y.iloc[3:], frame["tier"].iloc[3:], frame.iloc[3:])
    assert table.loc["cold_start", "ece"] == pytest.approx(cold["ece"])


def test_evaluate_routes_empty_route_and_no_proba():
    frame = pd.DataFrame({"tier": ["A", "C"], "route": ["history", "history"]})
    table = evaluate_routes(["A", "B"], frame)
    assert table.loc["cold_start", "n"] == 0
    assert table.loc["cold_start"].drop("n").isna().all()
    assert table[["log_loss", "ece"]].isna().all().all()


def test_evaluate_routes_rejects_misaligned_series_and_bad_route():
    frame = _prediction_frame()
    y = pd.Series(["A"] * 6)
    with pytest.raises(ValueError, match="index"):
        evaluate_routes(y, frame)
    frame["route"] = "cold-start"
    with pytest.raises(ValueError, match="route values"):
        evaluate_routes(y.to_numpy(), frame)


def test_flatten_metrics_names():
    frame = _prediction_frame()
    y = ["A", "B", "B", "C", "C", "B"]
    flat = flatten_metrics(evaluate_routes(y, frame))
    assert {"all/macro_f1", "history/macro_f1", "cold_start/macro_f1"} <= set(flat)
    assert flat["history/n"] == 3.0
    assert all(isinstance(v, float) for v in flat.values())
    prefixed = flatten_metrics(tier_metrics(y, frame["tier"]), "all")
    assert prefixed["all/macro_f1"] == flat["all/macro_f1"]
    nested = flatten_metrics({"history": {"f1_A": 0.5}}, "test")
    assert nested == {"test/history/f1_A": 0.5}


def test_flatten_dropna():
    table = pd.DataFrame({"macro_f1": [0.5, np.nan]}, index=["all", "cold_start"])
    assert flatten_metrics(table, dropna=True) == {"all/macro_f1": 0.5}
    assert len(flatten_metrics(table)) == 2


def test_compare_routes_model_beside_baseline():
    frame = _prediction_frame()
    y = ["A", "B", "B", "C", "C", "B"]
    baseline = pd.DataFrame({"tier": ["B"] * 6}, index=frame.index)
    table = compare_routes(
        y, {"model": frame, "majority": baseline}, route=frame["route"]
    )
    assert table.loc[("majority", "history"), "accuracy"] == pytest.approx(2 / 3)
    assert table.loc[("majority", "cold_start"), "accuracy"] == pytest.approx(1 / 3)
    flat = flatten_metrics(table)
    assert "majority/cold_start/macro_f1" in flat
    assert "model/all/ece" in flat


def test_plot_confusion_saves_png(tmp_path):
    fig = plot_confusion(confusion(Y_TRUE, Y_PRED), normalize=True)
    path = tmp_path / "confusion.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert "67%\n(2)" in [t.get_text() for t in fig.axes[0].texts]  # C row, C col


def test_plot_calibration_saves_png(tmp_path):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=50)
    y = rng.choice(["A", "B", "C"], size=50)
    fig = plot_calibration(y, pd.DataFrame(proba, columns=["p_A", "p_B", "p_C"]))
    path = tmp_path / "calibration.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["perfectly calibrated", "A", "B", "C"]
