"""One version: segml/_version.py, the installed metadata, ``segml --version``
and the latest release in CHANGELOG.md agree."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from click.testing import CliRunner

import segml
from segml.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_semver_and_the_installed_metadata_agrees():
    assert re.fullmatch(r"\d+\.\d+\.\d+", segml.__version__)
    assert version("segml") == segml.__version__


def test_version_option_through_click():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"segml {segml.__version__}\n"


def test_version_option_through_the_console_script():
    script = Path(sys.executable).parent / "segml"
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"segml {segml.__version__}\n"
    assert done.stderr == ""


def test_changelog_latest_release_is_the_package_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", text, flags=re.M)
    assert headings[0] == ("Unreleased", "")
    releases = headings[1:]
    assert releases, "no released version in CHANGELOG.md"
    for name, rest in releases:
        assert re.fullmatch(r"\d+\.\d+\.\d+", name), name
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), (name, rest)
    assert releases[0][0] == segml.__version__
    assert "## Version policy" in text
