# Two commands do the whole set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The web server and the worker both need them: the sandbox's fake Graph API is on this server.
export HOST PORT

.DEFAULT_GOAL := help
.PHONY: help run test test-browser test-redis lint check migrate demo clean bench-slots bench

help:
	@echo "make run    start web + worker on http://$(HOST):$(PORT) (embedded SQLite, demo data)"
	@echo "make test   run the whole test suite (DATABASE_URL picks the database; SQLite without it)"
	@echo "make test-browser  the browser tests (Playwright + Debian's chromium: apt-get install chromium)"
	@echo "make test-redis  the broker tests with django-q2 on Redis (REDIS_URL, default db 15)"
	@echo "make lint   ruff check, ruff format --check, mypy"
	@echo "make bench-slots  time available_slots on 50,000 reservations (DATABASE_URL=postgres://...)"
	@echo "make bench BENCH_ARGS=\"--only resources\"  free starts and booking with practitioners"
	@echo "make bench  every benchmark and fault run on PostgreSQL -> bench/RESULTS.md (~20 min)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

.env:
	cp .env.example .env

migrate: $(VENV)/.installed .env
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py setup_roles
	$(PY) manage.py seed_demo
	$(PY) manage.py setup_schedules

# Web server and django-q2 worker in the foreground; Ctrl-C stops both.
run: demo
	@$(PY) manage.py qcluster & qpid=$$!; \
	trap 'kill -INT $$qpid 2>/dev/null; wait $$qpid 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev .env
	$(PY) -m pytest $(PYTEST_ARGS)

# The tests marked `browser`: a real chromium (Debian's, never a downloaded one; CHROMIUM_PATH
# picks another) on a live server. `make test` skips them, saying why, without chromium or
# Playwright; here a missing browser is an error.
test-browser: $(VENV)/.installed-dev .env
	BROWSER_TESTS=required $(PY) -m pytest -m browser $(PYTEST_ARGS)

# The tests marked `broker` with django-q2 on Redis; each run takes a queue of its own there.
# Skipped, saying why, when no Redis answers. With DATABASE_URL=postgres://... for the worker tests.
test-redis: $(VENV)/.installed-dev .env
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/15} $(PY) -m pytest -m broker

lint: $(VENV)/.installed-dev .env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Creates and drops its own database (clinic_bench_slots) on the DATABASE_URL server.
bench-slots: $(VENV)/.installed-dev .env
	$(PY) bench/bench_slots.py

# Throwaway databases (clinic_bench_*) on this server; BENCH_ARGS="--only intake,drain" picks some.
bench: $(VENV)/.installed-dev .env
	@if ! command -v wrk >/dev/null && command -v apt-get >/dev/null; then apt-get install -y -q wrk; fi
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
		$(PY) bench/run_all.py $(BENCH_ARGS)

check: $(VENV)/.installed .env
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .mypy_cache .ruff_cache
