# Two commands: `make demo` and `make test`. Both create .venv when it is missing and install the project.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The demo's run goes into dagster_home/'s instance (git-ignored but dagster.yaml), so the Dagster UI shows it.
demo: $(STAMP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/dagster_home} $(BIN)/send-pipeline demo --scale rutland --seed 2023

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf warehouse/*.duckdb warehouse/*.wal warehouse/published warehouse/releases dbt_project/target dbt_project/logs
