# The README's commands. Everything installs into .venv from pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests run with production settings except HTTPS (the test client speaks plain HTTP).
TEST_ENV := SECRET_KEY=test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz HTTPS=0

.PHONY: run test lint bench venv

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
