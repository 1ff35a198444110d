# The README's commands. Everything installs into .venv from pinned requirements.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests run with production settings except HTTPS (the test client speaks plain HTTP).
TEST_ENV := SECRET_KEY=test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz HTTPS=0

.PHONY: run logins test lint bench soak clean venv chromium

$(STAMP): requirements.txt requirements-dev.txt .env
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# This checkout's own secret, so `.venv/bin/python manage.py …` works here without DEBUG.
.env:
	@echo "# Local settings for this checkout (not committed). The environment wins over this file." > .env
	@echo "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" >> .env

venv: $(STAMP)

# Portal on http://127.0.0.1:8000/, API docs on /api/docs/, plus a Celery worker, beat and the sandbox gateway.
# DEBUG=1, SQLite and a SQLite broker under var/ unless you export other settings.
run: $(STAMP)
	bin/run

# Reprint the demo URLs and logins.
logins:
	@bin/logins

# The end-to-end tests (tests/e2e) drive Debian's Chromium; this installs it when missing.
chromium:
	bin/ensure-chromium

test: $(STAMP) chromium
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Every performance figure against issue 9's targets (bench/run.py; PostgreSQL and Redis on 127.0.0.1, wrk;
# about 12 minutes at the default scale). BENCH_ARGS passes options, e.g. BENCH_ARGS="--scale 0.1".
bench: $(STAMP)
	bin/ensure-wrk
	$(PY) bench/run.py $(BENCH_ARGS)

# The soak test (bench/soak.py): the product on PostgreSQL and Redis on 127.0.0.1 (database aftersales_soak, Redis
# database 7, both emptied) held under a mixed customer/agent/finance workload for SOAK_SECONDS, then the books
# verified; fails on any 5xx or any problem verify_books finds. SOAK_ARGS passes options, e.g. "--clients 8".
SOAK_SECONDS ?= 600
soak: $(STAMP)
	$(PY) bench/soak.py --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

clean:
	rm -rf var $(VENV)
