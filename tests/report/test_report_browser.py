"""The report in a real browser: headless Chromium opens the file offline, logs
no console error, makes no request but the page itself, and shows every section
with its charts. A screenshot of the first screen is kept as a test artifact
(``build/report-screenshot.png``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _browser import find_chromium, visit
from click.testing import CliRunner
from report_helpers import write_config

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = ROOT / "build" / "report-screenshot.png"

#: Every section of a report made with --model, and the charts it must show.
ROUTES = ("history", "cold_start")
CHARTS = {
    "periods": ["tiers_per_period"],
    "pareto": ["pareto"],
    "migration": ["migration_heatmap", "migration_flow"],
    "rfm": ["rfm_grid"],
    "clusters": ["cluster_profiles"],
    "btyd": ["btyd_calibration", "btyd_p_alive"],
    "model": [
        "calibration",
        "confusion_history",
        "confusion_cold_start",
        "reasons",
        "predicted_vs_today",
    ],
    "stability": ["psi", "tier_changes"],
}


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip(
            "no Chromium found (Debian package 'chromium'; `make test` installs "
            "it when run as root); the browser test needs it"
        )
    return found


@pytest.fixture(scope="module")
def report_file(trained, small_config, tmp_path_factory) -> Path:
    """The report of the trained test run, made by the command line."""
    from segml.cli import main

    folder = tmp_path_factory.mktemp("browser")
    out = folder / "report.html"
    args = ["report", "--config", write_config(small_config, folder)]
    args += ["--model", trained.model_uri, "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return out


def test_report_opens_cleanly_in_chromium(chromium, report_file, trained, tmp_path):
    page = visit(chromium, report_file)
    expected = {key: list(names) for key, names in CHARTS.items()}
    # SHAP reasons only where a route is answered by its model: a shipped
    # baseline (persistence, logistic, ...) has no contributions to chart
    if not any(trained.tags.get(f"segml.choice.{r}") == "model" for r in ROUTES):
        expected["model"].remove("reasons")
    assert page.console_errors == []
    assert page.failed_requests == []
    # the page itself, then only its inline images: nothing from anywhere else
    assert page.requests[0] == report_file.resolve().as_uri()
    assert all(url.startswith("data:image/") for url in page.requests[1:])
    assert page.dom["external"] == [] and page.dom["scripts"] == 0
    sections = {s["key"]: s for s in page.dom["sections"]}
    assert list(sections) == list(expected)
    for key, names in expected.items():
        charts = {c["name"]: c for c in sections[key]["charts"]}
        assert list(charts) == names, key
        for name, chart in charts.items():
            assert chart["loaded"] and chart["width"] > 100, (key, name)
        assert sections[key]["tables"], key

    shot = tmp_path / "report-screenshot.png"
    shot.write_bytes(page.screenshot)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)
    assert page.screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(page.screenshot[16:20], "big")
    height = int.from_bytes(page.screenshot[20:24], "big")
    assert (width, height) == (1280, 900)


def test_the_harness_sees_errors_and_failed_requests(chromium, tmp_path):
    """A page with a missing image and a console error: both are caught, so an
    empty list above means the report really had none."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<img src="missing.png"><script>console.error("boom")</script>'
        "<section data-section='s'><h2>s</h2></section></body></html>"
    )
    seen = visit(chromium, page)
    assert any("boom" in e for e in seen.console_errors)
    assert len(seen.failed_requests) == 1
    assert [s["key"] for s in seen.dom["sections"]] == ["s"]
