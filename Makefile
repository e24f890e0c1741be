# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app app

.PHONY: install lock fonts run test lint test-sqlite test-postgres bench bench-peer load clean screenshots

LOCK := requirements-dev.lock

# Installs the exact versions of requirements-dev.lock, checked against their hashes, so every
# machine gets the same files; then the app itself (no resolving). `pip check` says when the
# lock is older than pyproject.toml.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check; echo "$(LOCK) is older than pyproject.toml: run make lock"; exit 1; }
	touch $(STAMP)

install: $(STAMP)

# Refresh the lock from pyproject.toml (pip-tools): pins kept where pyproject.toml allows them,
# new dependencies added. `make lock LOCK_ARGS=--upgrade` moves every pin to the newest release.
lock:
	@test -x $(BIN)/pip-compile || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet --require-hashes -r $(LOCK); }
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev --all-build-deps \
	  --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	  $(LOCK_ARGS) -o $(LOCK) pyproject.toml

# Report PDFs need Times New Roman or its metric twin Liberation Serif 2 (helpdesk/fonts.py):
# installed here when missing and we may (root with apt-get), else the message says how.
fonts: install
	@$(BIN)/python -m helpdesk.fonts 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "== installing fonts-liberation2 (Times New Roman's metric twin, for report PDFs)"; \
	    apt-get install -y -qq --no-install-recommends fontconfig fonts-liberation2 >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	      fontconfig fonts-liberation2 >/dev/null; } || true; \
	  fi; \
	  $(BIN)/python -m helpdesk.fonts || \
	    echo "   (the app runs; report PDFs are refused until the font is installed)"; }

run: install fonts
	HELPDESK_DEMO=1 $(FLASK) db upgrade
	HELPDESK_DEMO=1 $(FLASK) demo
	@echo "Serving on http://127.0.0.1:5000 (Ctrl+C to stop)"
	HELPDESK_DEMO=1 $(FLASK) run --host 127.0.0.1 --port 5000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check helpdesk tests app.py $(wildcard bench)

# The whole suite on the database named by TEST_DATABASE_URL (default: a fresh SQLite file).
test: install lint
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-sqlite: install
	TEST_DATABASE_URL= $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-postgres: install
	TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Benchmarks (bench/bench_app.py): our app on SQLite and PostgreSQL beside a trivial Flask view
# and django-helpdesk from PyPI (bench/peer/.venv), all under gunicorn with 2 workers on loopback.
# Databases are generated once per size under bench/out/ (PostgreSQL: scratch helpdesk_bench*).
# The README's table: make bench TICKETS=1000000
# Ten million tickets over ten years, PostgreSQL only (about 16 minutes to generate):
#   make bench TICKETS=10000000 BENCH_ARGS="--months 120 --databases postgresql --peer none \
#     --pg-database helpdesk_bench10m"
TICKETS ?= 100000
bench: install
	$(BIN)/python bench/bench_app.py --tickets $(TICKETS) $(BENCH_ARGS)

bench-peer: install
	$(BIN)/python bench/bench_app.py --tickets $(TICKETS) --databases none $(BENCH_ARGS)

# Load test (bench/load_test.py): 200 operators and 50 API clients for five minutes against two
# gunicorn instances sharing a scratch PostgreSQL database and Redis, then again with one
# instance killed and restarted midway; prints p50/p95/p99 per kind of request and compares the
# tickets acknowledged with the tickets stored. make load LOAD_ARGS="--seconds 30"
load: install
	$(BIN)/python bench/load_test.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache build *.egg-info

# The README's screenshots, from a fresh demo database (needs chromium and poppler-utils).
screenshots: install
	$(BIN)/python docs/take_screenshots.py
