"""The catalogue (code), docs/features.md and the output columns agree."""

from pathlib import Path

from segml.features import CATALOGUE, FEATURES, feature_names, to_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_output_columns_equal_catalogue(features):
    computed = [c for c in features.columns if c not in ("region", "size")]
    assert computed == feature_names()
    assert set(computed) == set(CATALOGUE)


def test_at_least_thirty_documented_features():
    assert len(feature_names()) >= 30
    for f in FEATURES:
        assert f.definition and f.unit and f.missing, f.name
        assert f.family in ("value", "behaviour", "lifecycle", "loyalty")


def test_every_family_has_entries():
    families = {f.family for f in FEATURES}
    assert families == {"value", "behaviour", "lifecycle", "loyalty"}


def test_docs_page_is_generated_from_the_code():
    assert DOC.read_text() == to_markdown(), (
        "docs/features.md is stale: run "
        "`python -m segml.features.catalogue > docs/features.md`"
    )


def test_every_feature_is_in_the_docs_page():
    text = DOC.read_text()
    for f in FEATURES:
        assert f"`{f.name}`" in text
