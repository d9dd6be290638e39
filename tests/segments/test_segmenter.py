"""Segmenter: k chosen by evidence or fixed, ordered by value, leads, transform."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from segml.errors import SegmlDataError
from segml.segments import LEAD, Segmenter, signed_log1p
from segml.tiers import assign_tiers

FEATURES = ["net_spend", "orders", "recency_days", "tenure_days"]


def seg(**kwargs) -> Segmenter:
    return Segmenter(**{"features": FEATURES, "repeats": 4, **kwargs})


def test_signed_log1p_keeps_sign_and_zero():
    got = signed_log1p(pd.DataFrame({"x": [0.0, -99.0, 99.0]}, index=list("abc")))
    expected = pd.DataFrame(
        {"x": [0.0, -np.log(100.0), np.log(100.0)]}, index=list("abc")
    )
    pd.testing.assert_frame_equal(got, expected)


def test_finds_the_true_k_and_recovers_the_groups(blobs):
    s = seg(k_range=(2, 6)).fit(blobs.drop(columns="group"))
    assert s.k_ == 3
    assert s.scores_.index.tolist() == [2, 3, 4, 5, 6]
    # three blobs: every split-half reproduces 2 and 3 clusters exactly, and
    # cutting a blob in two is not reproducible
    assert s.scores_.loc[3, "prediction_strength"] == 1.0
    assert s.scores_.loc[[4, 5, 6], "prediction_strength"].max() < 0.8
    assert adjusted_rand_score(blobs["group"], s.labels_) == 1.0
    assert s.features_ == FEATURES
    assert sorted(s.silhouette_) == [2, 3, 4, 5, 6]


def test_silhouette_criterion_is_available(blobs):
    s = seg(k_range=(2, 6), criterion="silhouette").fit(blobs)
    assert s.k_ == int(s.scores_["silhouette"].idxmax())


def test_a_fixed_k_is_honoured(blobs):
    s = seg(k=5, k_range=(2, 3)).fit(blobs)
    assert s.k_ == 5
    assert s.scores_.index.tolist() == [5]
    assert sorted(set(s.labels_)) == [0, 1, 2, 3, 4]
    assert s.profiles_["size"].sum() == len(blobs)


def test_k_min_is_a_lower_bound(blobs):
    # three natural groups, but the user wants at least four segments
    s = seg(k_range=(4, 6)).fit(blobs)
    assert s.k_ >= 4
    assert s.scores_.index.min() == 4


def test_segment_zero_is_the_most_valuable(blobs):
    s = seg(k=3).fit(blobs)
    means = blobs.groupby(s.labels_)["net_spend"].mean()
    assert list(means.index) == [0, 1, 2]
    assert means.is_monotonic_decreasing
    assert (s.labels_ == blobs["group"].to_numpy()).all()


def test_same_seed_same_segments(blob_factory):
    a = seg(k_range=(2, 5), random_state=7).fit(blob_factory(seed=1))
    b = seg(k_range=(2, 5), random_state=7).fit(blob_factory(seed=1))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    pd.testing.assert_frame_equal(a.cluster_centers_, b.cluster_centers_)
    pd.testing.assert_frame_equal(a.profiles_, b.profiles_)
    pd.testing.assert_frame_equal(a.scores_, b.scores_)


def test_predict_uses_the_same_relabelling(blobs, blob_factory):
    s = seg(k_range=(2, 4)).fit(blobs)
    got = s.predict(blobs)
    assert got.name == "cluster" and got.index.equals(blobs.index)
    np.testing.assert_array_equal(got.to_numpy(), s.labels_)
    fresh = blob_factory(seed=5, n=20)
    np.testing.assert_array_equal(
        s.predict(fresh).to_numpy(), fresh["group"].to_numpy()
    )
    pd.testing.assert_series_equal(seg(k_range=(2, 4)).fit_predict(blobs), got)


def _with_leads(blobs: pd.DataFrame) -> pd.DataFrame:
    leads = pd.DataFrame(
        {c: [0.0, 0.0] for c in ("net_spend", "orders")}
        | {c: [np.nan, np.nan] for c in ("recency_days", "tenure_days")},
        index=pd.Index(["lead1", "lead2"], name="customer_id"),
    )
    frame = pd.concat([blobs.assign(has_history=True), leads.assign(has_history=False)])
    return frame.drop(columns=["region", "group"])


def test_leads_are_labelled_not_clustered(blobs):
    frame = _with_leads(blobs)
    s = seg(k=3).fit(frame)
    assert s.n_leads_ == 2
    assert (s.labels_[-2:] == LEAD).all()
    assert (s.labels_[:-2] == blobs["group"].to_numpy()).all()
    assert s.profiles_["size"].tolist() == [100, 100, 100]
    names = s.predict_names(frame)
    assert names.loc[["lead1", "lead2"]].tolist() == ["lead", "lead"]
    assert set(names.iloc[:-2]) == set(s.names_)
    # on bare values, a row whose features are all NaN is a lead
    values = frame[s.features_].to_numpy(dtype=float, copy=True)
    values[-2, :] = np.nan
    got = s.predict_values(values)
    assert got[-2] == LEAD
    assert got[-1] != LEAD  # 0 spend and 0 orders: a value, imputed elsewhere


def test_transform_gives_distances_and_nan_for_leads(blobs):
    frame = _with_leads(blobs)
    s = seg(k=3).fit(frame)
    dist = s.transform(frame)
    assert list(dist.columns) == ["distance_0", "distance_1", "distance_2"]
    assert s.get_feature_names_out().tolist() == list(dist.columns)
    assert dist.index.equals(frame.index)
    assert dist.loc[["lead1", "lead2"]].isna().all().all()
    history = dist.iloc[:-2].to_numpy()
    assert (history >= 0).all()
    np.testing.assert_array_equal(history.argmin(axis=1), s.labels_[:-2])
    # a customer placed exactly on a centre is at distance 0 from it
    centre = s.cluster_centers_.to_numpy()[1]
    np.testing.assert_allclose(
        np.sqrt(((centre - s.cluster_centers_.to_numpy()) ** 2).sum(axis=1))[1], 0.0
    )


def test_missing_values_of_customers_with_history_are_imputed():
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "net_spend": np.r_[rng.normal(1000, 30, n), rng.normal(50, 3, n)],
            "orders": np.r_[rng.normal(12, 0.5, n), rng.normal(2, 0.1, n)],
            "recency_days": np.r_[rng.normal(10, 1, n), rng.normal(300, 10, n)],
            "mean_gap_days": np.r_[np.full(n, 20.0), np.full(n, np.nan)],
        }
    )
    frame["recency_ratio"] = frame["recency_days"] / frame["mean_gap_days"]
    frame["gap_cv"] = np.r_[np.full(n, 0.2), np.full(n, np.nan)]
    s = Segmenter(features=["net_spend", "recency_ratio", "gap_cv"], k=2).fit(frame)
    # recency_days is read to impute recency_ratio: recency over the median gap
    assert s.features_ == ["net_spend", "recency_ratio", "gap_cv", "recency_days"]
    assert s.coordinates_.gap == pytest.approx(20.0)
    raw = s.coordinates_.transformed(frame[s.features_].to_numpy())
    expected = np.log1p(frame["recency_days"].iloc[n:] / 20.0)
    np.testing.assert_allclose(raw[n:, 1], expected)
    np.testing.assert_array_equal(raw[n:, 2], 1.0)  # gap_cv: buying at random
    assert (s.labels_ >= 0).all()
    assert adjusted_rand_score(np.repeat([0, 1], n), s.labels_) == 1.0


def test_feature_missing_for_everyone_is_dropped(blobs):
    frame = blobs.assign(discount_share=np.nan)
    s = seg(features=[*FEATURES, "discount_share"], k=3).fit(frame)
    assert s.dropped_features_ == ["discount_share"]
    assert s.cluster_features_ == FEATURES


def test_profiles_names_and_mixes(blobs):
    frame = blobs.assign(
        lifecycle_stage=np.where(blobs["recency_days"] > 200, "churned", "active")
    )
    tiers = {
        "count": assign_tiers(frame["net_spend"], rule="count"),
        "value": assign_tiers(frame["net_spend"], rule="value"),
    }
    s = seg(k=3).fit(frame, tiers=tiers)
    p = s.profiles_
    assert p.index.name == "cluster"
    assert p["size"].tolist() == [100, 100, 100]
    assert p["value_share"].sum() == pytest.approx(1.0)
    assert p["value_share"].is_monotonic_decreasing
    for rule in ("count", "value"):
        mix = p[[f"tier_{rule}_{t}" for t in "ABC"]]
        assert mix.sum(axis=1).tolist() == pytest.approx([1] * 3)
    # count rule: the top 5 % + 15 % (60 customers) all come from segment 0
    assert p["tier_count_C"].tolist() == pytest.approx([0.4, 1.0, 1.0])
    assert p["stage_churned"].tolist() == [0.0, 0.0, 1.0]
    assert p["name"].tolist() == s.names_.tolist()
    assert s.names_.is_unique
    assert s.names_.str.startswith(("high-value", "mid-value", "low-value")).all()
    # segment 2 (recency 400 days, one order) is told apart by its recency
    assert s.names_[2] == "low-value one-off lapsed"
    assert "recency_days +" in p.loc[2, "distinguishing"]
    effects = s.effects_
    assert effects.loc[0, "net_spend"] > 1 and effects.loc[2, "net_spend"] < -1


@pytest.mark.parametrize(
    ("kwargs", "frame_change", "match"),
    [
        ({"k_range": (1, 3)}, None, "k_range must satisfy"),
        ({"k_range": 3}, None, "k_range must be a pair"),
        ({"k": 1}, None, "k must be None or an integer >= 2"),
        ({"criterion": "bic"}, None, "criterion must be one of"),
        ({"value_col": "spend"}, None, "value_col 'spend' is not a column"),
        ({"features": ["net_spend", "visits"]}, None, r"features \['visits'\] not"),
        ({"features": ["region"]}, None, "must be numeric"),
        ({"k": 400}, None, "more segments than the 300 customers"),
    ],
)
def test_invalid_input(blobs, kwargs, frame_change, match):
    with pytest.raises(ValueError, match=match):
        seg(**kwargs).fit(blobs)


def test_infinite_values_name_the_column_and_rows(blobs):
    frame = blobs.copy()
    frame.loc[frame.index[3], "orders"] = np.inf
    with pytest.raises(SegmlDataError) as info:
        seg(k=3).fit(frame)
    assert info.value.table == "features" and info.value.column == "orders"
    assert frame.index[3] in str(info.value)


def test_not_fitted_and_too_few_rows(blobs):
    with pytest.raises(NotFittedError):
        Segmenter().predict(blobs)
    with pytest.raises(ValueError, match="at least 2 customers with history"):
        seg().fit(blobs.iloc[:1])
    s = seg(k_range=(2, 8)).fit(blobs.iloc[:3])
    assert s.scores_.index.tolist() == [2, 3]
