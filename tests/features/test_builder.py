"""build_features as a whole: cutoffs, bad input, paths, many cutoffs, wrapper."""

import datetime as dt

import pandas as pd
import pytest

from conftest import AS_OF
from segml.errors import SegmlDataError
from segml.features import (
    FeatureBuilder,
    build_features,
    build_features_many,
    feature_names,
)


@pytest.mark.parametrize(
    "as_of",
    [AS_OF, pd.Timestamp(AS_OF), dt.datetime(2024, 7, 1), dt.date(2024, 7, 1)],
    ids=["str", "Timestamp", "datetime", "date"],
)
def test_as_of_types_agree(world, features, as_of):
    out = build_features(
        world["transactions"], world["customers"], world["events"], as_of=as_of
    )
    pd.testing.assert_frame_equal(out, features)


def test_as_of_is_required(world):
    with pytest.raises(TypeError):
        build_features(world["transactions"])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="as_of is required"):
        build_features(world["transactions"], as_of=None)


def test_aware_as_of_is_converted_to_utc(world, features):
    aware = pd.Timestamp("2024-07-01 02:00", tz="Europe/Berlin")
    out = build_features(
        world["transactions"], world["customers"], world["events"], as_of=aware
    )
    pd.testing.assert_frame_equal(out, features)


def test_output_shape_and_dtypes(features):
    names = feature_names()
    assert list(features.columns) == [*names, "region", "size"]
    assert features.index.name == "customer_id"
    assert features.index.is_monotonic_increasing
    assert features.index.dtype == "str"
    kinds = features[names].dtypes.astype(str).value_counts().to_dict()
    assert kinds == {"float64": len(names) - 3, "bool": 2, "category": 1}


def test_as_of_before_all_data_gives_columns_and_no_rows(world):
    out = build_features(world["transactions"], as_of="2000-01-01")
    assert list(out.columns) == feature_names()
    assert len(out) == 0
    assert out["lifecycle_stage"].dtype == "category"
    assert out["net_spend"].dtype == "float64"
    with_all = build_features(
        world["transactions"], world["customers"], world["events"], as_of="2000-01-01"
    )
    assert len(with_all) == 0
    assert list(with_all.columns) == [*feature_names(), "region", "size"]


def test_mixed_time_zones_are_a_clear_error(world):
    tx = world["transactions"].copy()
    stamps = list(tx["ts"].astype(object))
    stamps[0] = pd.Timestamp(stamps[0]).tz_localize("UTC")
    tx["ts"] = pd.Series(stamps, dtype=object)
    with pytest.raises(SegmlDataError, match="time-zone") as info:
        build_features(tx, as_of=AS_OF)
    assert info.value.column == "ts"
    assert info.value.table == "transactions"


def test_mixed_time_zones_in_csv_are_a_clear_error(world, tmp_path):
    tx = world["transactions"][["customer_id", "ts", "amount"]].copy()
    text = tx["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    text.iloc[0] = text.iloc[0] + "+02:00"
    path = tmp_path / "tx.csv"
    tx.assign(ts=text).to_csv(path, index=False)
    with pytest.raises(SegmlDataError, match="time-zone") as info:
        build_features(path, as_of=AS_OF)
    assert info.value.column == "ts"


def test_unparseable_numbers_in_csv_name_the_column(world, tmp_path):
    tx = world["transactions"][["customer_id", "ts", "amount"]].copy()
    tx["amount"] = tx["amount"].astype(str)
    tx.loc[2, "amount"] = "twelve"
    path = tmp_path / "tx.csv"
    tx.to_csv(path, index=False)
    with pytest.raises(SegmlDataError, match="twelve") as info:
        build_features(path, as_of=AS_OF)
    assert info.value.column == "amount"


def test_unparseable_timestamps_in_csv_name_the_column(world, tmp_path):
    tx = world["transactions"][["customer_id", "ts", "amount"]].copy()
    tx["ts"] = tx["ts"].dt.strftime("%Y-%m-%d %H:%M:%S")
    tx.loc[3, "ts"] = "soon"
    path = tmp_path / "tx.csv"
    tx.to_csv(path, index=False)
    with pytest.raises(SegmlDataError, match="parsed as timestamps.*'soon'") as info:
        build_features(path, as_of=AS_OF)
    assert info.value.column == "ts"
    assert "ts_format" in str(info.value)
    assert info.value.rows["ts"].tolist() == ["soon"]


def test_non_canonical_frame_is_validated(world, features):
    tx = world["transactions"].rename(columns={"ts": "when"})
    tx["when"] = tx["when"].dt.strftime("%Y-%m-%d %H:%M:%S")
    out = build_features(
        tx,
        world["customers"],
        world["events"],
        as_of=AS_OF,
        column_map={"transactions": {"ts": "when"}},
    )
    pd.testing.assert_frame_equal(out, features)


def test_missing_required_column(world):
    with pytest.raises(SegmlDataError, match="amount"):
        build_features(world["transactions"].drop(columns=["amount"]), as_of=AS_OF)


def test_paths_give_the_same_result(world, features, tmp_path):
    tx_csv = tmp_path / "tx.csv"
    world["transactions"].to_csv(tx_csv, index=False)
    folder = tmp_path / "tx_parquet"
    folder.mkdir()
    tx = world["transactions"]
    tx.iloc[:4].to_parquet(folder / "part-0.parquet")
    tx.iloc[4:].to_parquet(folder / "part-1.parquet")
    crm = tmp_path / "customers.parquet"
    world["customers"].to_parquet(crm)
    ev = tmp_path / "events.csv"
    world["events"].to_csv(ev, index=False)
    for source in (tx_csv, folder, str(folder)):
        out = build_features(source, crm, ev, as_of=AS_OF)
        pd.testing.assert_frame_equal(out, features)


def test_path_with_column_map(world, features, tmp_path):
    tx = world["transactions"].rename(columns={"customer_id": "cust", "ts": "date"})
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path)
    out = build_features(
        path,
        world["customers"],
        world["events"],
        as_of=AS_OF,
        column_map={"transactions": {"customer_id": "cust", "ts": "date"}},
    )
    pd.testing.assert_frame_equal(out, features)


def test_many_cutoffs_equal_a_loop(world):
    cutoffs = ["2024-01-15", "2024-03-31", AS_OF, "2024-12-31"]
    tables = (world["transactions"], world["customers"], world["events"])
    many = build_features_many(*tables, as_ofs=cutoffs)
    loop = pd.concat(
        {pd.Timestamp(c): build_features(*tables, as_of=c) for c in cutoffs},
        names=["cutoff"],
    )
    loop.index = loop.index.set_levels(
        loop.index.levels[0].astype("M8[us]"), level="cutoff"
    )
    pd.testing.assert_frame_equal(many, loop)


def test_columns_subset(world, features):
    out = build_features(
        world["transactions"], as_of=AS_OF, columns=["recency_days", "orders"]
    )
    assert list(out.columns) == ["orders", "recency_days"]
    with pytest.raises(ValueError, match="unknown feature"):
        build_features(world["transactions"], as_of=AS_OF, columns=["nope"])


def test_input_frames_are_not_modified(world):
    tx = world["transactions"]
    before = tx.copy()
    build_features(tx, as_of=AS_OF)
    pd.testing.assert_frame_equal(tx, before)


def test_feature_builder_wrapper(world, features):
    fb = FeatureBuilder()
    assert fb.get_params()["windows"] == (90, 365)
    tables = (world["transactions"], world["customers"], world["events"])
    out = fb.fit(*tables, as_of=AS_OF).transform(*tables, as_of=AS_OF)
    pd.testing.assert_frame_equal(out, features)
    assert list(fb.get_feature_names_out()) == list(features.columns)
    stacked = fb.transform(*tables, as_of=["2024-03-31", AS_OF])
    assert stacked.index.names == ["cutoff", "customer_id"]
    pd.testing.assert_frame_equal(stacked.loc[pd.Timestamp(AS_OF)], features)


def test_feature_builder_needs_fit(world):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        FeatureBuilder().transform(world["transactions"], as_of=AS_OF)


def test_join_strategy_equals_loop(world):
    cutoffs = ["2024-01-15", AS_OF]
    tables = (world["transactions"], world["customers"], world["events"])
    joined = build_features_many(*tables, as_ofs=cutoffs, strategy="join")
    looped = build_features_many(*tables, as_ofs=cutoffs)
    pd.testing.assert_frame_equal(joined, looped)
