"""Every user error on the command line is one ``error: ...`` line, exit code 2.

Each case runs the CLI (click's runner) and checks the exit code, that stderr
holds exactly one line, that it names the thing that is wrong, and that no
traceback is shown; ``segml --debug`` shows the exception instead.
"""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import segml.app.train
from segml.cli import main
from segml.errors import SegmlConfigError

MODEL = "models:/segml-test-tier@candidate"
SMALL_DATA = [
    *("--set", "data.synthetic.n_customers=300"),
    *("--set", "data.synthetic.seed=3"),
]


def run(*args: str):
    if args[0] == "train":  # progress lines go to stderr; only the error stays
        args = ("train", "--quiet", *args[1:])
    return CliRunner().invoke(main, list(args))


def one_error_line(result, *fragments: str) -> str:
    """Assert exit 2, one stderr line ``error: ...`` holding every fragment."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, line
    assert result.stdout == ""
    return line


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if the CLI reaches the training code."""

    def refuse(*args, **kwargs):
        raise AssertionError("training was started")

    monkeypatch.setattr(segml.app.train, "train", refuse)


# --- model URIs --------------------------------------------------------------

BAD_MODELS = [
    ("models:/segml-test-tier@champoin", "alias champoin not found"),
    ("models:/no-such-model@champion", "name=no-such-model not found"),
    ("/no/such/model/folder", "/no/such/model/folder"),
]


@pytest.mark.parametrize(("uri", "why"), BAD_MODELS)
def test_score_with_a_model_uri_that_does_not_resolve(trained, workdir, uri, why):
    result = run(
        "score", "--model", uri, "--as-of", "2024-06-30", "--out", "s.csv", *SMALL_DATA
    )
    one_error_line(result, uri, why)
    assert not (workdir / "s.csv").exists()


@pytest.mark.parametrize(("uri", "why"), BAD_MODELS)
def test_score_leads_with_a_model_uri_that_does_not_resolve(trained, workdir, uri, why):
    leads = workdir / "uri-leads.csv"
    pd.DataFrame({"customer_id": ["L1"]}).to_csv(leads, index=False)
    result = run("score-leads", str(leads), "--model", uri, "--out", "s.csv")
    one_error_line(result, uri, why)


@pytest.mark.parametrize(("uri", "why"), BAD_MODELS)
def test_serve_checks_the_uri_before_starting_mlflow(trained, monkeypatch, uri, why):
    def no_exec(*args):
        raise AssertionError(f"mlflow was started: {args}")

    monkeypatch.setattr("os.execvpe", no_exec)
    one_error_line(run("serve", "--model", uri), uri, why)


def test_serve_passes_workers_to_mlflow(trained, monkeypatch):
    started = []
    monkeypatch.setattr("os.execvpe", lambda path, args, env: started.append(args))
    result = run("serve", "--model", MODEL, "--workers", "3", "--port", "5099")
    assert result.exit_code == 0, result.output
    (args,) = started
    assert args[args.index("--workers") + 1] == "3"
    assert args[args.index("-m") + 1] == MODEL
    assert args[args.index("--port") + 1] == "5099"


def test_serve_default_is_one_worker(trained, monkeypatch):
    started = []
    monkeypatch.setattr("os.execvpe", lambda path, args, env: started.append(args))
    assert run("serve", "--model", MODEL).exit_code == 0
    assert started[0][started[0].index("--workers") + 1] == "1"


def test_serve_zero_workers_is_one_line(monkeypatch):
    monkeypatch.setattr("os.execvpe", lambda *a: pytest.fail("mlflow was started"))
    one_error_line(run("serve", "--model", MODEL, "--workers", "0"), "--workers", "0")


# --- options checked before any work -------------------------------------------


@pytest.mark.parametrize("as_of", ["2024-13-01", "01/06/2024", "20240630", "June 30"])
def test_as_of_must_be_iso_and_is_checked_before_the_model(as_of):
    # the model does not exist either: the date is checked first
    result = run("score", "--model", "/no/model", "--as-of", as_of, "--out", "s.csv")
    one_error_line(result, "--as-of", repr(as_of))


def test_score_leads_as_of_is_checked_too(workdir):
    leads = workdir / "asof-leads.csv"
    pd.DataFrame({"customer_id": ["L1"]}).to_csv(leads, index=False)
    result = run(
        "score-leads", str(leads), "--model", "/no/model", "--out", "s.csv",
        "--as-of", "31/12/2024",
    )  # fmt: skip
    one_error_line(result, "--as-of", "'31/12/2024'", "ISO 8601")


@pytest.mark.parametrize("command", ["score", "score-leads"])
def test_out_suffix_is_checked_before_scoring(workdir, command):
    leads = workdir / "out-leads.csv"
    pd.DataFrame({"customer_id": ["L1"]}).to_csv(leads, index=False)
    first = [str(leads)] if command == "score-leads" else ["--as-of", "2024-06-30"]
    result = run(command, *first, "--model", "/no/model", "--out", "a.xlsx")
    one_error_line(result, "--out must end in .csv or .parquet, got a.xlsx")


def test_models_dir_that_cannot_be_written_fails_before_fitting(workdir, no_training):
    blocker = workdir / "a-file"
    blocker.write_text("not a folder")
    result = run("train", "--set", f"models_dir={blocker}/models")
    one_error_line(result, "models_dir", f"{blocker}/models")


# --- config values -----------------------------------------------------------


def test_set_a_date_that_is_not_one_names_the_key(no_training):
    result = run("train", "--set", "data.synthetic.start=notadate")
    one_error_line(result, "data.synthetic.start", "'notadate'", "ISO 8601")


def test_set_an_iso_date_is_accepted(workdir, monkeypatch):
    seen = []

    class Done:
        def summary(self):
            return "done"

    def fake(cfg, quiet):
        seen.append(cfg)
        return Done()

    monkeypatch.setattr(segml.app.train, "train", fake)
    result = run("train", "--set", "data.synthetic.start=2023-01-01")
    assert result.exit_code == 0, result.output
    assert seen[0].data.synthetic.start == "2023-01-01"


def test_start_after_end_names_both_keys(no_training):
    result = run(
        "train",
        "--set", "data.synthetic.start=2025-01-01",
        "--set", "data.synthetic.end=2024-12-31",
    )  # fmt: skip
    one_error_line(
        result,
        "data.synthetic.start (2025-01-01) must be before data.synthetic.end "
        "(2024-12-31)",
    )


def test_lgbm_typo_names_the_key_and_the_closest_name(no_training):
    result = run("train", "--set", "model.lgbm.n_estimator=50")
    one_error_line(
        result,
        "model.lgbm.n_estimator: not a parameter of lightgbm.LGBMClassifier; "
        "did you mean 'n_estimators'?",
    )


def test_horizon_longer_than_the_data(workdir):
    result = run("train", *SMALL_DATA, "--set", "training.horizon_days=5000")
    one_error_line(result, "5000-day", "label_horizon_days")


def test_cutoffs_after_the_data(workdir):
    result = run(
        "train", *SMALL_DATA, "--set", "training.cutoffs=[2099-01-01,2099-02-01]"
    )
    one_error_line(result, "training.cutoffs", "2099-01-01")


def test_unknown_composite_column_names_the_key(workdir):
    result = run(
        "train",
        *SMALL_DATA,
        "--set", "tiers.rule=composite",
        "--set", "tiers.composite_criteria={nope: 1.0}",
    )  # fmt: skip
    one_error_line(result, "tiers.composite_criteria", "'nope'", "not found")


def test_two_columns_named_amount(workdir):
    path = workdir / "dup-amount.csv"
    path.write_text(
        "customer_id,order_id,ts,amount,amount\n"
        "c1,o1,2024-01-05,10.0,11.0\n"
        "c2,o2,2024-02-05,20.0,21.0\n"
    )
    result = run(
        "train", "--set", "data.source=files", "--set", f"data.transactions={path}"
    )
    one_error_line(result, "table 'transactions'", "amount")


def test_data_error_rows_stay_on_the_line(workdir):
    path = workdir / "no-id.csv"
    path.write_text(
        "customer_id,order_id,ts,amount\nc1,o1,2024-01-05,10.0\n,o2,2024-02-05,20.0\n"
    )
    result = run(
        "train", "--set", "data.source=files", "--set", f"data.transactions={path}"
    )
    line = one_error_line(result, "table 'transactions'", "customer_id")
    assert "offending rows: " in line and "o2" in line


def test_missing_input_file_is_one_line(workdir):
    result = run(
        "train",
        "--set", "data.source=files",
        "--set", "data.transactions=/no/such/tx.csv",
    )  # fmt: skip
    one_error_line(result, "/no/such/tx.csv")


def test_a_bad_option_of_a_command_is_one_line():
    result = run("score", "--model", MODEL, "--out", "s.csv")
    one_error_line(result, "--as-of", "score --help")


# --- --debug -----------------------------------------------------------------


def test_debug_shows_the_exception_instead():
    result = run(
        "--debug", "score", "--model", "/no/model", "--as-of", "20240630",
        "--out", "s.csv",
    )  # fmt: skip
    assert isinstance(result.exception, SegmlConfigError)
    assert "--as-of: '20240630'" in str(result.exception)
    assert "error: " not in result.stderr


def test_debug_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEGML_DEBUG", "1")
    result = run("train", "--set", "data.synthetic.start=notadate")
    assert isinstance(result.exception, SegmlConfigError)


def test_out_folder_that_cannot_be_written_is_checked_first(workdir):
    blocker = workdir / "out-blocker"
    blocker.write_text("not a folder")
    out = f"{blocker}/scores/s.csv"
    result = run("score", "--model", "/no/model", "--as-of", "2024-06-30", "--out", out)
    one_error_line(result, f"--out: cannot write to {blocker}/scores")


def test_unknown_command_is_one_line():
    one_error_line(run("scroe"), "No such command 'scroe'", "--help")


def test_a_changed_model_file_is_one_line(trained, workdir, tmp_path):
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(trained.export_dir, copy)
    joblib = copy / "pipeline.joblib"
    joblib.write_bytes(joblib.read_bytes() + b"x")
    leads = workdir / "tamper-leads.csv"
    pd.DataFrame({"customer_id": ["L1"]}).to_csv(leads, index=False)
    result = run("score-leads", str(leads), "--model", str(copy), "--out", "s.csv")
    one_error_line(result, str(copy))
