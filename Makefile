# Two entry points, each creating the virtual environment it needs:
#   make demo   set up, then train on the embedded default data (configs/default.yaml)
#   make test   set up (with the dev, spark and fast extras), lint, run the whole suite
# The demo installs segml without the fast extra: training scores far fewer rows
# than the size from which compiled boosters pay off (segml.model.compiled), so
# it would only add a compiler to the install.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PIP_FLAGS ?= --quiet --disable-pip-version-check
BASE := $(VENV)/.segml-base
DEV := $(VENV)/.segml-dev
RUN := PATH="$(abspath $(BIN)):$$PATH"

.PHONY: demo test lint format clean java chromium docs typecheck

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip

$(BASE): pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e .
	touch $@

$(DEV): pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e ".[dev,spark,fast]"
	touch $@ $(BASE)

demo: $(BASE)
	$(RUN) $(BIN)/segml train --config configs/default.yaml

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Spark 4 needs Java 17; install Debian's JRE when it is missing and we are root
java:
	@command -v java >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } || \
	  echo "note: no Java 17 found; the Spark tests will be skipped"

# The report's browser test opens it in headless Chromium; install Debian's
# chromium when it is missing and we are root
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: no chromium found; the report's browser test will be skipped"

test: lint java chromium
	$(RUN) $(BIN)/python -m pytest

# The API reference site (mkdocs.yml) into site/: open site/index.html. make test
# builds it too, with warnings as errors (tests/test_docs.py).
docs: $(DEV)
	$(BIN)/mkdocs build --strict

# The public-signature type check alone (scope and flags: [tool.mypy] in
# pyproject.toml); make test runs it in tests/test_typing.py.
typecheck: $(DEV)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) mlflow.db mlruns .pytest_cache .ruff_cache .mypy_cache site
