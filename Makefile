# The two set-up commands of the README: `make run` (demo) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
DEMO_CLAIMS ?= 2000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/claims
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/claims_bench

.PHONY: install run test lint format bench worker beat clean frontend

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP)

# Demo: with no DATABASE_URL a SQLite file, with no CELERY_BROKER_URL Celery runs eagerly.
run: $(STAMP)
	DEBUG=true $(PY) manage.py migrate --no-input
	DEBUG=true $(PY) manage.py seed_demo --claims $(DEMO_CLAIMS)
	@echo "Serving on http://127.0.0.1:$(PORT)/admin/ (portal: /portal/, API: /api/v1/, API docs: /api/docs/)"
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks on their own PostgreSQL database; not part of `make test`.
bench: $(STAMP)
	DATABASE_URL=$${BENCH_DATABASE_URL:-$(BENCH_DATABASE_URL)} SECRET_KEY=bench-only \
	CELERY_BROKER_URL=$${BENCH_BROKER_URL:-redis://127.0.0.1:6379/15} \
	$(PY) bench/run.py $(BENCH_ARGS)

worker: $(STAMP)
	$(VENV)/bin/celery -A config worker -Q default,bulk,notifications --loglevel=info

beat: $(STAMP)
	$(VENV)/bin/celery -A config beat --loglevel=info

# NHS.UK frontend for the portal (static/nhsuk/) and Chart.js for the admin dashboard
# (static/chartjs/): built and committed, so neither the demo, the tests nor CI need Node. Run
# after changing a version in frontend/package.json.
frontend:
	cd frontend && npm ci --no-audit --no-fund && node build.mjs

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-output bench/results
