"""Config validation, overrides, and the reference kept in sync with the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segml.config import Config, flatten, load_config
from segml.errors import SegmlConfigError

ROOT = Path(__file__).resolve().parents[2]


def documented_keys() -> set[str]:
    text = (ROOT / "docs" / "config.md").read_text()
    return set(re.findall(r"^\| `([a-z_.]+)` \|", text, flags=re.MULTILINE))


# mappings the user fills are one documented key each
MAPPING_KEYS = (
    "data.columns.transactions",
    "data.columns.customers",
    "data.columns.events",
    "model.lgbm",
    "model.value_ranker",
    "tiers.composite_criteria",
)


def config_keys() -> set[str]:
    keys = set()
    for key in flatten(Config()):
        owner = [m for m in MAPPING_KEYS if key == m or key.startswith(m + ".")]
        keys.add(owner[0] if owner else key)
    return keys


def test_every_key_is_documented_and_every_documented_key_exists():
    assert config_keys() == documented_keys()


@pytest.mark.parametrize("name", ["default.yaml", "cdnow.yaml"])
def test_shipped_configs_validate(name):
    cfg = load_config(ROOT / "configs" / name)
    assert isinstance(cfg, Config)


def test_default_yaml_spells_out_the_defaults():
    cfg = load_config(ROOT / "configs" / "default.yaml")
    assert cfg.data.source == "synthetic"
    assert cfg.tiers == Config().tiers
    assert cfg.training == Config().training


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("tiers:\n  rul: count\n")
    with pytest.raises(SegmlConfigError, match=r"unknown key 'tiers\.rul'"):
        load_config(path)


def test_wrong_value_is_named():
    with pytest.raises(SegmlConfigError, match=r"tiers\.rule.*'pareto'"):
        load_config(overrides=["tiers.rule=pareto"])


def test_shares_must_sum_to_one():
    with pytest.raises(SegmlConfigError, match="count_shares"):
        load_config(overrides=["tiers.count_shares=[0.5, 0.3, 0.1]"])


def test_shares_must_match_labels():
    with pytest.raises(SegmlConfigError, match="tiers.labels has 4"):
        load_config(overrides=["tiers.labels=[A, B, C, D]"])


def test_four_tiers_with_matching_shares():
    cfg = load_config(
        overrides=[
            "tiers.labels=[A, B, C, D]",
            "tiers.count_shares=[0.05, 0.15, 0.3, 0.5]",
            "tiers.value_shares=[0.6, 0.2, 0.15, 0.05]",
        ]
    )
    assert cfg.tiers.labels == ("A", "B", "C", "D")


def test_overrides_parse_yaml_values():
    cfg = load_config(
        overrides=["training.horizon_days=90", "features.windows=[30, 60]"]
    )
    assert cfg.training.horizon_days == 90
    assert cfg.features.windows == (30, 60)


def test_malformed_override():
    with pytest.raises(SegmlConfigError, match="section.key=value"):
        load_config(overrides=["training.horizon_days"])


def test_files_source_needs_transactions():
    with pytest.raises(SegmlConfigError, match="data.transactions is required"):
        load_config(overrides=["data.source=files"])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(SegmlConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tiers: [unclosed\n")
    with pytest.raises(SegmlConfigError, match="not valid YAML"):
        load_config(bad)


def test_flatten_gives_dotted_keys():
    flat = flatten(Config())
    assert flat["training.horizon_days"] == 180
    assert flat["model.lgbm.n_estimators"] == 200


def test_an_override_inside_a_default_mapping_keeps_the_other_defaults():
    # configs/cdnow.yaml gives no model.lgbm: one override must not drop the
    # other defaults (LightGBM's own learning_rate 0.1 would silently apply)
    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "configs" / "cdnow.yaml", ["model.lgbm.num_leaves=7"])
    assert cfg.model.lgbm == {**Config().model.lgbm, "num_leaves": 7}
    # the user's own mappings start empty
    cfg = load_config(
        None, ["tiers.rule=composite", "tiers.composite_criteria.net_spend=1.0"]
    )
    assert cfg.tiers.composite_criteria == {"net_spend": 1.0}
