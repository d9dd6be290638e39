"""Benchmark: tier prediction on the real CDNOW log, out of time.

For each origin (1997-07-31, 1997-08-31, 1997-09-30 by default) only
transactions on or before the origin are visible. The population is every
customer with a purchase by then (all 23,570 bought in Q1 1997); the label is
the tier of each customer's net spend in the 273 days after the origin, under
the count rule (5/15/80 % of customers) and the cumulative value rule
(80/15/5 % of value), cut with :func:`segml.tiers.assign_tiers`. The 273-day
window of the last origin ends on 1998-06-30, the last day of the log.

Methods, all fitted on the visible data of the origin only:

* **majority** — the most frequent training tier (C) for everyone;
* **persistence** — the rule applied to the spend of the last 273 days (all of
  the history at these origins);
* **BG/NBD + Gamma-Gamma** — expected spend over the 273 days, tiered with the
  rule (:func:`segml.btyd.expected_value`);
* **plain LightGBM** — :class:`segml.model.TierPredictor` on the feature
  catalogue, trained on stacked cutoffs whose tier labels come from windows of
  ``TRAIN_HORIZON`` days that end by the origin (rank decision with the shares
  of those labels), as ``segml train`` does today;
* **segml** — :class:`segml.model.value_ranker.ValueRanker`: a Tweedie
  LightGBM on the same stacked windows predicting the spend of each window,
  offset by the BG/NBD + Gamma-Gamma expected spend *of that window*
  (:mod:`segml.btyd.features`); at the origin the offset is the expectation over
  the 273 days, so the booster's correction is carried over to the longer
  horizon by the BTYD model. The ranking is cut with the shares of
  :func:`segml.model.value_ranker.simulated_rank_shares`: the tier shares of the
  rule over 273-day spend drawn from the BTYD posterior, boundaries adjusted to
  maximise the expected macro-F1 against the draws.

Two ablations show where the gain comes from (BTYD ranking with the drawn
expected shares; the ValueRanker with the drawn expected shares), and the
"model ceiling" is the mean macro-F1 of the BTYD ranking against its own draws:
what a perfect BG/NBD + Gamma-Gamma world would allow.

The hyper-parameters below were chosen while developing on the 1997-07-31
origin and then applied unchanged to the later origins. Results go to the
``cdnow`` section of BENCHMARKS.md.

Run: ``python benchmarks/cdnow.py [--origins 1997-07-31 ...] [--no-write]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, markdown_table, write_section  # noqa: E402

from segml.app.fit import fit_everything  # noqa: E402
from segml.app.tables import Tables  # noqa: E402
from segml.btyd.features import btyd_features_many, fit_btyd  # noqa: E402
from segml.config import load_config  # noqa: E402
from segml.datasets import load_cdnow  # noqa: E402
from segml.evaluation import majority_baseline, rank_cut, tier_metrics  # noqa: E402
from segml.features import build_features  # noqa: E402
from segml.model import TierPredictor  # noqa: E402
from segml.model.value_ranker import ValueRanker, simulated_rank_shares  # noqa: E402
from segml.tiers import assign_tiers  # noqa: E402
from segml.training import build_training_set, choose_cutoffs  # noqa: E402
from segml.training.windows import future_value, past_value  # noqa: E402

ORIGINS = ("1997-07-31", "1997-08-31", "1997-09-30")
DEV_ORIGIN = "1997-07-31"
DEV = pd.Timestamp(DEV_ORIGIN)
HORIZON = 273
TIERS = ("A", "B", "C")
RULES = {"count": (0.05, 0.15, 0.80), "value": (0.80, 0.15, 0.05)}
GOALS = {"count": 0.58, "value": 0.55}
# Chosen on the development origin (1997-07-31), then frozen.
TRAIN_HORIZON = 60  # days of each training label window
STEP_DAYS = 15  # between training cutoffs
MIN_HISTORY_DAYS = 90  # data before the first training cutoff
WINDOWS = (30, 90, 180)  # trailing windows of the feature catalogue
RANKER = {
    "n_estimators": 100,
    "learning_rate": 0.02,
    "num_leaves": 7,
    "min_child_samples": 200,
}
PLAIN_LGBM = {  # configs/default.yaml's model.lgbm
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 6,
    "min_child_samples": 20,
}
N_DRAWS = 100
SEED = 0


def visible(tx: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """Rows on or before the origin: everything a method may see."""
    return tx.loc[tx["ts"].to_numpy() <= origin.to_datetime64()].reset_index(drop=True)


def run_origin(tx_all: pd.DataFrame, origin: pd.Timestamp) -> dict:
    """Every method at one origin; returns predictions, truths and timings."""
    tx = visible(tx_all, origin)
    started = time.perf_counter()
    scoring = build_features(tx, as_of=origin, windows=WINDOWS)
    population = scoring.index
    future = future_value(
        tx_all, cutoff=origin, horizon_days=HORIZON, customers=population
    )
    truth = {
        rule: assign_tiers(future, rule=rule, shares=shares, tiers=TIERS).astype("str")
        for rule, shares in RULES.items()
    }

    cutoffs = choose_cutoffs(
        tx["ts"].min(),
        origin,
        horizon_days=TRAIN_HORIZON,
        n_cutoffs=100,
        step_days=STEP_DAYS,
        min_history_days=MIN_HISTORY_DAYS,
    )
    preds: dict[str, dict[str, pd.Series]] = {rule: {} for rule in RULES}
    extra: dict[str, dict[str, float]] = {rule: {} for rule in RULES}

    # Baselines that need no training set.
    past = past_value(tx, cutoff=origin, horizon_days=HORIZON, customers=population)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the BTYD fits
        btyd = fit_btyd(tx, as_of=origin)
    btyd_now = btyd.features(HORIZON).reindex(population)
    expected = btyd_now["btyd_expected_value"].fillna(0.0)
    for rule, shares in RULES.items():
        preds[rule]["persistence"] = assign_tiers(
            past, rule=rule, shares=shares, tiers=TIERS
        )
        preds[rule]["BG/NBD + Gamma-Gamma"] = assign_tiers(
            expected, rule=rule, shares=shares, tiers=TIERS
        )

    # The stacked training windows, shared by plain LightGBM and segml.
    tsets = {
        rule: build_training_set(
            tx,
            cutoffs=cutoffs,
            horizon_days=TRAIN_HORIZON,
            rule=rule,
            shares=shares,
            tiers=TIERS,
            feature_params={"windows": WINDOWS},
        )
        for rule, shares in RULES.items()
    }
    tset = tsets["count"]
    X_plain = tset.X.drop(columns=["customer_id"])
    X_now = scoring.reset_index()
    for rule in RULES:
        labels = tsets[rule].y
        preds[rule]["majority"] = majority_baseline(labels, population, tiers=TIERS)[
            "tier"
        ]
        plain = TierPredictor(tiers=TIERS, decision="rank", **PLAIN_LGBM)
        plain.fit(X_plain.drop(columns=["cutoff"]), labels, cutoff=X_plain["cutoff"])
        out = plain.predict_frame(X_now.drop(columns=["customer_id"]), reasons=False)
        preds[rule]["plain LightGBM"] = pd.Series(
            out["tier"].to_numpy(), index=population
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        btyd_train = btyd_features_many(
            tx, as_ofs=cutoffs, horizon_days=TRAIN_HORIZON
        ).reset_index()
    X_train = tset.X.merge(btyd_train, on=["cutoff", "customer_id"], how="left")
    ranker = ValueRanker(random_state=SEED, **RANKER)
    ranker.fit(X_train.drop(columns=["customer_id", "cutoff"]), tset.future_value)
    X_score = scoring.join(btyd_now)
    score = ranker.predict(X_score)

    draws = btyd.simulate(HORIZON, n_draws=N_DRAWS, random_state=SEED)
    draws = pd.DataFrame(draws.T, index=btyd.rfm.index).reindex(population).fillna(0)
    draws = draws.to_numpy().T
    for rule, shares in RULES.items():
        picked = simulated_rank_shares(score, draws, rule=rule, shares=shares)
        btyd_pick = simulated_rank_shares(
            expected, draws, rule=rule, shares=shares, multipliers=None
        )
        expected_shares = picked.expected_shares
        preds[rule]["segml (ValueRanker + drawn shares)"] = rank_cut(
            score, picked.shares, tiers=TIERS
        )
        preds[rule]["ablation: BG/NBD ranking, drawn expected shares"] = rank_cut(
            expected, expected_shares, tiers=TIERS
        )
        preds[rule]["ablation: ValueRanker, drawn expected shares"] = rank_cut(
            score, expected_shares, tiers=TIERS
        )
        extra[rule] = {
            "true_shares": tuple(
                float(s) for s in truth[rule].value_counts(normalize=True)[list(TIERS)]
            ),
            "drawn_shares": expected_shares,
            "cut_shares": picked.shares,
            "ceiling": btyd_pick.expected_macro_f1,
        }
    for rule in RULES:
        preds[rule][SHIPPED] = shipped_run(tx_all, origin, rule)
    diagnostic = in_window_cv(X_score, future, draws) if origin == DEV else None
    return {
        "origin": origin,
        "diagnostic": diagnostic,
        "truth": truth,
        "preds": preds,
        "extra": extra,
        "n_cutoffs": len(cutoffs),
        "cutoffs": cutoffs,
        "n_train": len(tset.X),
        "seconds": time.perf_counter() - started,
        "importance": ranker.feature_importances_.head(8),
    }


def shipped_run(tx_all: pd.DataFrame, origin: pd.Timestamp, rule: str) -> pd.Series:
    """The tiers of ``segml train --config configs/cdnow.yaml`` at its test cutoff.

    The run sees the log up to ``origin + HORIZON``, so its out-of-time test
    cutoff (the latest with a complete horizon) is the origin; its evaluated
    model only learns from label windows that end by the origin.
    """
    cfg = load_config(CONFIG, [f"tiers.rule={rule}"])
    end = origin + pd.Timedelta(days=HORIZON)
    tables = Tables(tx_all.loc[tx_all["ts"] <= end].reset_index(drop=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = fit_everything(cfg, tables)
    tested = outcome.pipeline.metadata["test_cutoff"]
    if tested != str(origin.date()):
        raise RuntimeError(f"the shipped run tested at {tested}, not at {origin}")
    tiers = outcome.test_prediction["tier"].to_numpy()
    return pd.Series(tiers, index=outcome.test_ids)


def in_window_cv(X: pd.DataFrame, future: pd.Series, draws: np.ndarray) -> dict:
    """Diagnostic, not a method: the ValueRanker fitted on the scored window.

    Five-fold cross-validation over the customers of the origin with the real
    273-day labels (which no honest method has): how far the features could
    take a ranking if the horizon were no obstacle.
    """
    from sklearn.model_selection import KFold

    score = pd.Series(0.0, index=X.index)
    for train, test in KFold(5, shuffle=True, random_state=SEED).split(X):
        model = ValueRanker(random_state=SEED, **RANKER)
        model.fit(X.iloc[train], future.iloc[train])
        score.iloc[test] = model.predict(X.iloc[test]).to_numpy()
    out = {}
    for rule, shares in RULES.items():
        truth = assign_tiers(future, rule=rule, shares=shares, tiers=TIERS)
        cut = simulated_rank_shares(score, draws, rule=rule, shares=shares).shares
        pred = rank_cut(score, cut, tiers=TIERS)
        out[rule] = tier_metrics(truth.astype("str"), pred.astype("str"))["macro_f1"]
    return out


SHIPPED = "segml train (configs/cdnow.yaml)"
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "cdnow.yaml"
ORDER = (
    "segml (ValueRanker + drawn shares)",
    SHIPPED,
    "majority",
    "persistence",
    "BG/NBD + Gamma-Gamma",
    "plain LightGBM",
    "ablation: BG/NBD ranking, drawn expected shares",
    "ablation: ValueRanker, drawn expected shares",
)
BASELINES = ("majority", "persistence", "BG/NBD + Gamma-Gamma", "plain LightGBM")


def score_table(results: list[dict], rule: str) -> tuple[list[list[object]], list[str]]:
    """Rows of the markdown table of one rule, and the goal lines."""
    rows, notes = [], []
    for res in results:
        origin = str(res["origin"].date())
        truth = res["truth"][rule]
        metrics = {}
        for name in ORDER:
            pred = res["preds"][rule][name].reindex(truth.index).astype("str")
            metrics[name] = tier_metrics(truth, pred, tiers=TIERS)
            counts = pred.value_counts().reindex(list(TIERS), fill_value=0)
            m = metrics[name]
            rows.append(
                [
                    origin,
                    f"**{name}**" if name.startswith("segml") else name,
                    f"{m['macro_f1']:.3f}",
                    f"{m['balanced_accuracy']:.3f}",
                    f"{m['recall_A']:.3f}",
                    f"{m['recall_B']:.3f}",
                    f"{m['recall_C']:.3f}",
                    f"{counts['A']:,} / {counts['B']:,}",
                ]
            )
        ours = metrics[ORDER[0]]["macro_f1"]
        best_name = max(BASELINES, key=lambda n: metrics[n]["macro_f1"])
        best = metrics[best_name]["macro_f1"]
        goal = GOALS[rule]
        extra = res["extra"][rule]
        dev = " (development origin)" if origin == DEV_ORIGIN else ""
        notes.append(
            f"- {origin}{dev}: segml {ours:.3f} — goal {goal:.2f} "
            f"{'**met**' if ours >= goal else '**missed**'}; best baseline "
            f"{best_name} {best:.3f} — "
            f"{'not below it' if ours >= best else '**below it**'} "
            f"({ours - best:+.4f}). True A/B shares "
            f"{extra['true_shares'][0]:.3f}/{extra['true_shares'][1]:.3f}, drawn "
            f"{extra['drawn_shares'][0]:.3f}/{extra['drawn_shares'][1]:.3f}, cut at "
            f"{extra['cut_shares'][0]:.3f}/{extra['cut_shares'][1]:.3f}; model "
            f"ceiling (BTYD ranking vs its own draws) {extra['ceiling']:.3f}."
        )
    return rows, notes


def report(results: list[dict]) -> str:
    header = [
        "origin",
        "method",
        "macro-F1",
        "balanced acc.",
        "recall A",
        "recall B",
        "recall C",
        "predicted A / B",
    ]
    first = results[-1]
    lines = [
        "## CDNOW tiers, out of time (`benchmarks/cdnow.py`)",
        "",
        "Real CDNOW log (23,570 customers, all first bought in Q1 1997). At each "
        "origin only transactions up to the origin are visible; the label is the "
        f"tier of each customer's net spend in the next {HORIZON} days "
        "(`assign_tiers`, count rule 5/15/80 % of customers, value rule "
        "80/15/5 % of value), over every customer with a purchase by the origin. "
        "Training labels come from stacked windows of "
        f"{TRAIN_HORIZON} days that end by the origin (cutoffs every {STEP_DAYS} "
        f"days from {MIN_HISTORY_DAYS} days into the data: "
        f"{first['n_cutoffs']} cutoffs, {first['n_train']:,} rows at "
        f"{first['origin'].date()}). Hyper-parameters were chosen on the "
        f"{DEV_ORIGIN} origin and applied unchanged to the later ones; note that "
        "the label windows of the three origins overlap (they all contain "
        "1997-10..1998-04). One change was made after a first look at the later "
        "origins: the booster no longer sees the horizon-dependent BTYD columns "
        "(only the offset carries the horizon; reasoned, then checked on the "
        "1997-06-30 and 1997-07-31 origins); that first run, with them as "
        "features, measured count 0.555 / 0.564 and value 0.533 / 0.535 at "
        "1997-08-31 / 1997-09-30. Measured on "
        f"{machine()}, LightGBM single-threaded.",
        "",
        "segml = `ValueRanker` (Tweedie LightGBM, 100 trees of 7 leaves, offset by "
        "the BG/NBD + Gamma-Gamma expected spend of each row's own window, "
        "`segml.btyd.features`) cut by rank with `simulated_rank_shares` (tier "
        f"shares of the rule over {N_DRAWS} draws of 273-day spend from the BTYD "
        "posterior, boundaries moved to the best expected macro-F1 against the "
        "draws). Baselines as in issue 5: majority; persistence (rule on the "
        "last 273 days); BG/NBD + Gamma-Gamma expected spend tiered by the rule; "
        "plain LightGBM (`TierPredictor`, rank decision, trained on the same "
        "windows' tiers). The row `segml train (configs/cdnow.yaml)` is the "
        "shipped run (`model.decision: value`, the same approach through "
        "`segml.app.fit`, BTYD summaries taken from the feature catalogue) "
        "given the log up to origin + 273 days, so that its out-of-time test "
        "is the origin.",
        "",
    ]
    for rule in RULES:
        rows, notes = score_table(results, rule)
        lines += [f"### {rule} rule", "", markdown_table(header, rows), "", *notes, ""]
    diagnostic = next((r["diagnostic"] for r in results if r["diagnostic"]), None)
    ceiling = {
        rule: max(r["extra"][rule]["ceiling"] for r in results) for rule in RULES
    }
    if diagnostic:
        lines += [
            "Why the goals are missed: the ranking is at the limit of what the "
            "history tells. The *model ceiling* above is the macro-F1 the "
            "BTYD ranking reaches against draws from its own posterior: if "
            "BG/NBD + Gamma-Gamma were exactly right, about what the best "
            "ranking the history supports would score; across the origins it is "
            "at most "
            f"{ceiling['count']:.3f} (count; goal {GOALS['count']:.2f}) and "
            f"{ceiling['value']:.3f} (value; goal {GOALS['value']:.2f}). "
            "And with the horizon problem "
            f"removed — the same ValueRanker cross-validated (5 folds) on the "
            f"real {HORIZON}-day labels of the {DEV_ORIGIN} origin, which no "
            "honest method can see — macro-F1 is "
            f"{diagnostic['count']:.3f} (count) and {diagnostic['value']:.3f} "
            "(value), no better than the out-of-time segml row: the training "
            "horizon is not what holds the features back.",
            "",
        ]
    seconds = ", ".join(f"{r['origin'].date()} {r['seconds']:.0f} s" for r in results)
    lines += [f"Wall-clock per origin (all methods): {seconds}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origins", nargs="+", default=list(ORIGINS))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    tx = load_cdnow()
    results = []
    for origin in args.origins:
        res = run_origin(tx, pd.Timestamp(origin))
        results.append(res)
        for rule in RULES:
            truth = res["truth"][rule]
            summary = ", ".join(
                f"{name.split(' (')[0]} "
                f"{tier_metrics(truth, pred.reindex(truth.index).astype('str'))['macro_f1']:.3f}"  # noqa: E501
                for name, pred in res["preds"][rule].items()
            )
            print(f"{origin} {rule}: {summary}", flush=True)
        print(
            f"  {res['seconds']:.0f} s; top corrections: "
            f"{dict(res['importance'].round(0))}",
            flush=True,
        )
    text = report(results)
    print(text)
    if not args.no_write:
        write_section("cdnow", text)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
