"""Attribute pass-through (the cold-start columns)."""

import numpy as np
import pandas as pd
import pytest

from conftest import AS_OF, expected
from segml.features import build_features


def test_attributes_pass_through_with_dtypes(features):
    want = expected(
        {
            "region": pd.Categorical(["north", "south", "north", np.nan]),
            # e is absent from the customers table: missing, so ints become float
            "size": [10.0, 3.0, 5.0, np.nan],
        }
    )
    pd.testing.assert_frame_equal(features[["region", "size"]], want)
    assert list(features.columns[-2:]) == ["region", "size"]


def test_string_attributes_stay_str(world):
    crm = world["customers"].assign(industry=["retail", "tech", "tech", "food"])
    crm["industry"] = crm["industry"].astype("str")
    out = build_features(world["transactions"], crm, as_of=AS_OF)
    assert out["industry"].dtype == "str"
    assert out.loc["b", "industry"] == "tech"


def test_attribute_named_like_a_feature_is_an_error(world):
    crm = world["customers"].assign(orders=1.0)
    with pytest.raises(ValueError, match="names of features"):
        build_features(world["transactions"], crm, as_of=AS_OF)


@pytest.mark.parametrize("strategy", ["loop", "join"])
def test_attributes_over_several_cutoffs_follow_the_ids(world, strategy):
    from segml.features import build_features_many

    cutoffs = ["2024-02-01", AS_OF]
    out = build_features_many(
        world["transactions"], world["customers"], as_ofs=cutoffs, strategy=strategy
    )
    # the attributes are taken by the row position the query found: compare
    # with a plain lookup of every row's id
    ids = out.index.get_level_values("customer_id")
    table = world["customers"].set_index("customer_id")[["region", "size"]]
    want = table.reindex(ids)
    want.index = out.index
    assert out.index.get_level_values("cutoff").nunique() == 2
    pd.testing.assert_frame_equal(out[["region", "size"]], want)
