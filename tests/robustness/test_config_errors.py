"""Config values that used to be ignored or crash are errors naming the key.

Typos inside ``model.lgbm`` / ``model.value_ranker`` were passed on and
silently dropped; dates were read by YAML as ``datetime.date`` and rejected, or
not checked until the generator failed with a traceback.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from segml.config import Config, load_config
from segml.config.dates import parse_iso
from segml.errors import SegmlConfigError


def error_of(*overrides: str) -> str:
    with pytest.raises(SegmlConfigError) as info:
        load_config(overrides=list(overrides))
    return str(info.value)


# --- model.lgbm / model.value_ranker -----------------------------------------


def test_lgbm_typo_names_the_key_and_suggests_the_name():
    assert error_of("model.lgbm.n_estimator=50") == (
        "invalid config: model.lgbm.n_estimator: not a parameter of "
        "lightgbm.LGBMClassifier; did you mean 'n_estimators'?"
    )


def test_lgbm_typo_in_a_file_with_valid_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  lgbm:\n    num_leaves: 7\n    learnig_rate: 0.1\n")
    with pytest.raises(SegmlConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"invalid config: {path}: model.lgbm.learnig_rate: not a parameter of "
        "lightgbm.LGBMClassifier; did you mean 'learning_rate'?"
    )


def test_lgbm_name_without_a_close_match_has_no_suggestion():
    assert error_of("model.lgbm.zzzz=1") == (
        "invalid config: model.lgbm.zzzz: not a parameter of lightgbm.LGBMClassifier"
    )


@pytest.mark.parametrize(
    "key",
    ["n_estimators", "reg_alpha", "min_data_in_leaf", "feature_fraction", "verbose"],
)
def test_lgbm_names_and_lightgbm_aliases_are_accepted(key):
    cfg = load_config(overrides=[f"model.lgbm.{key}=1"])
    # the key is set and the other defaults of the mapping stay
    assert cfg.model.lgbm == {**Config().model.lgbm, key: 1}


@pytest.mark.parametrize("key", ["random_state", "seed", "random_seed"])
def test_lgbm_seed_is_model_seed(key):
    assert error_of(f"model.lgbm.{key}=3") == (
        f"invalid config: model.lgbm.{key}: set the seed with model.seed instead"
    )


def test_value_ranker_typo_names_the_key():
    assert error_of("model.value_ranker.min_child_sample=10") == (
        "invalid config: model.value_ranker.min_child_sample: not a parameter of "
        "segml ValueRanker; did you mean 'min_child_samples'?"
    )


def test_value_ranker_takes_its_own_parameters():
    cfg = load_config(overrides=["model.value_ranker.min_offset=0.01"])
    assert cfg.model.value_ranker == {**Config().model.value_ranker, "min_offset": 0.01}


def test_value_ranker_seed_is_model_seed():
    assert error_of("model.value_ranker.random_state=1") == (
        "invalid config: model.value_ranker.random_state: set the seed with "
        "model.seed instead"
    )


# --- dates -------------------------------------------------------------------


def test_synthetic_start_as_yaml_date_is_accepted(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  synthetic:\n    start: 2023-01-01\n")
    assert load_config(path).data.synthetic.start == "2023-01-01"
    cfg = load_config(overrides=["data.synthetic.end=2025-06-30"])
    assert cfg.data.synthetic.end == "2025-06-30"


@pytest.mark.parametrize("value", ["notadate", "01/06/2024", "20230101"])
def test_synthetic_start_must_be_an_iso_date(value):
    assert error_of(f"data.synthetic.start={value}") == (
        f"invalid config: data.synthetic.start: '{value}' is not an ISO 8601 date "
        "(write it as YYYY-MM-DD, e.g. 2024-06-30 or 2024-06-30T12:00:00Z)"
    )


def test_a_day_that_does_not_exist_names_the_override(tmp_path):
    assert error_of("data.synthetic.start=2023-02-30") == (
        "override 'data.synthetic.start=2023-02-30': bad value: day is out of "
        "range for month"
    )
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  synthetic:\n    end: 2023-02-30\n")
    with pytest.raises(SegmlConfigError, match="day is out of range for month"):
        load_config(path)


def test_synthetic_start_after_end():
    assert error_of("data.synthetic.start=2025-01-01") == (
        "invalid config: data.synthetic.start (2025-01-01) must be before "
        "data.synthetic.end (2024-12-31)"
    )


def test_cutoffs_must_be_iso_dates():
    message = error_of("training.cutoffs=[2023-06-01, 06/01/2024]")
    assert message == (
        "invalid config: training.cutoffs: '06/01/2024' is not an ISO 8601 date "
        "(write it as YYYY-MM-DD, e.g. 2024-06-30 or 2024-06-30T12:00:00Z)"
    )
    cfg = load_config(overrides=["training.cutoffs=[2023-06-01, 2024-01-01]"])
    assert cfg.training.cutoffs == ("2023-06-01", "2024-01-01")


def test_other_keys_keep_their_key_and_value():
    # messages of our validators are not prefixed twice; pydantic's keep "got"
    assert error_of("tiers.rule=pareto") == (
        "invalid config: tiers.rule: Input should be 'count', 'value' or "
        "'composite' (got 'pareto')"
    )
    assert error_of("segments.k_min=5", "segments.k_max=3") == (
        "invalid config: segments.k_max must be >= segments.k_min"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-06-30", dt.datetime(2024, 6, 30)),
        ("2024-06-30T12:30", dt.datetime(2024, 6, 30, 12, 30)),
        ("2024-06-30 12:30:05.5", dt.datetime(2024, 6, 30, 12, 30, 5, 500000)),
        ("2024-06-30T12:00:00Z", dt.datetime(2024, 6, 30, 12, tzinfo=dt.UTC)),
    ],
)
def test_parse_iso_accepts(text, expected):
    assert parse_iso(text, "--as-of") == expected


@pytest.mark.parametrize(
    "text", ["2024-13-01", "01/06/2024", "20240630", "2024-6-30", "", "June 30, 2024"]
)
def test_parse_iso_rejects_naming_the_option(text):
    with pytest.raises(SegmlConfigError, match=f"^--as-of: {re.escape(repr(text))}"):
        parse_iso(text, "--as-of")
