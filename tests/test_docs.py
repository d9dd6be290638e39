"""The documentation site (mkdocs.yml) builds with warnings as errors.

A docstring mkdocstrings cannot parse, a broken link or a page left out of the
nav fails ``make test``, so the API reference cannot rot. Nothing is fetched:
mkdocstrings reads segml's source statically (griffe).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _build(config: Path, site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _main(html: Path) -> str:
    """A page's body, without the nav."""
    return html.read_text().split('role="main"', 1)[1]


def _text(html: Path) -> str:
    page = re.sub(r"<script.*?</script>", " ", html.read_text(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = _build(ROOT / "mkdocs.yml", out, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_site_builds_strict_with_the_guides_and_the_api_reference(site):
    for guide in ("config", "features", "tiers", "spark", "security"):
        assert (site / f"{guide}.html").is_file(), guide
    html = (site / "api" / "model.html").read_text()
    assert 'id="segml.model.TierPredictor"' in html
    assert 'id="segml.model.TierPredictor.predict_frame"' in html
    # rendered from TierPredictor's numpydoc docstring: signature and sections
    model = _text(site / "api" / "model.html")
    assert "Parameters:" in model and "calibration" in model
    # Sphinx roles (:func:`segml...`) became links, none is left raw
    assert ":func:" not in model and ":meth:" not in model
    assert re.search(r'<a [^>]*href="evaluation\.html#segml\.evaluation\.[^"]*"', html)
    # the root project pages join the site, and links to them follow
    for page in ("index", "CHANGELOG", "BENCHMARKS", "RELIABILITY"):
        assert (site / "project" / f"{page}.html").is_file(), page
    # (in each page's body, not the nav)
    assert 'href="project/BENCHMARKS.html"' in _main(site / "tiers.html")
    home = _main(site / "index.html")
    assert 'href="project/index.html"' in home
    assert 'href="project/CHANGELOG.html"' in home
    # README's docs/config.md link
    assert 'href="../config.html"' in _main(site / "project" / "index.html")
    config = _text(site / "api" / "config.html")
    assert "load_config" in config and "Raises:" in config
    assert "SegmlConfigError" in config


def test_every_docs_page_and_public_package_is_in_the_site_nav(site):
    nav = (site / "index.html").read_text().split('role="main"', 1)[0]
    for page in (ROOT / "docs").rglob("*.md"):
        html = page.relative_to(ROOT / "docs").with_suffix(".html").as_posix()
        assert f'href="{html}"' in nav, f"{html} missing from the site's nav"
    # every public package (a page generated for one docs/api does not have)
    for init in (ROOT / "segml").glob("*/__init__.py"):
        if "__all__" in init.read_text():
            name = init.parent.name
            assert f'href="api/{name}.html"' in nav, name
            page = (site / "api" / f"{name}.html").read_text()
            assert f'id="segml.{name}"' in page, name


def test_a_guide_missing_from_the_nav_joins_the_guides(tmp_path):
    """... and its link to a repository file outside the site keeps only its
    text, while a link to a missing file still fails the build."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "docs" / "extra.md").write_text(
        "Intro.\n\n# Extra `guide`\n\nSee [the code](../code.py).\n"
    )
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config["nav"] = [{"Home": "index.md"}, {"Guides": [{"Home again": "index.md"}]}]
    config["hooks"] = [str(ROOT / hook) for hook in config["hooks"]]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    done = _build(tmp_path / "mkdocs.yml", tmp_path / "site", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    nav = (tmp_path / "site" / "index.html").read_text().split('role="main"', 1)[0]
    assert re.search(r'href="extra\.html"[^>]*>Extra guide<', nav)
    assert "See the code." in _main(tmp_path / "site" / "extra.html")
    (tmp_path / "code.py").unlink()
    done = _build(tmp_path / "mkdocs.yml", tmp_path / "site", tmp_path)
    assert done.returncode == 1
    assert "contains a link '../code.py'" in done.stdout + done.stderr


def test_a_broken_docstring_fails_the_strict_build(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""A package."""\n\n\n'
        "def share(value: float) -> float:\n"
        '    """Share of the total.\n\n'
        "    Parameters\n    ----------\n    total : float\n"
        '        Not a parameter of this function.\n    """\n'
        "    return value\n"
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# pkg\n\n::: pkg\n")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config["nav"] = ["index.md"]
    config["hooks"] = [str(ROOT / hook) for hook in config["hooks"]]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    done = _build(tmp_path / "mkdocs.yml", tmp_path / "site", tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert (
        "pkg/__init__.py:10: Parameter 'total' does not appear in the function "
        "signature" in output
    )
    assert "Aborted with 1 warnings in strict mode!" in output
