# Two commands matter: `make run` and `make test`. The rest are helpers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# The chart library, bundled from npm's plotly.js with only the traces the pages draw.
CHARTS := build/plotly-custom.min.js
# The compiled translations, one per language in locale/ (English is the source and needs none).
MO := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

.PHONY: run test lint format lock clean serve soak bench messages

run: $(VENV)/.base $(CHARTS) $(MO)
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --if-empty
	@echo ""
	@echo "  Squad health check: http://127.0.0.1:8000/"
	@echo "  Demo logins (password: demo): member, coach, lead, admin"
	@echo "  The scheduler (manage.py tick --loop) runs beside the server; Ctrl-C stops both."
	@echo ""
	$(MANAGE) tick --loop & tick=$$!; trap 'kill $$tick 2>/dev/null' EXIT INT TERM; \
	  $(MANAGE) runserver 127.0.0.1:8000

test: $(VENV)/.dev $(CHARTS) $(MO)
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.base: requirements.lock | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.lock
	touch $@

$(VENV)/.dev: requirements-dev.lock requirements.lock | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@ $(VENV)/.base

node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund
	touch $@

$(CHARTS): node_modules/.package-lock.json frontend/build.mjs frontend/charts-entry.js
	node frontend/build.mjs

# Translations are compiled with polib, so that running the app needs no GNU gettext.
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(VENV)/.base
	$(BIN)/python -c 'import polib, sys; polib.pofile(sys.argv[1]).save_as_mofile(sys.argv[2])' $< $@

# Bring every catalogue up to date with the source strings (needs GNU gettext: apt-get install gettext).
# CI fails when this would change a committed catalogue. LANGUAGE=xx starts or updates one language.
messages: $(VENV)/.base
	$(MANAGE) update_catalogues $(if $(LANGUAGE),--locale $(LANGUAGE))

# Re-pin every Python dependency (with its own dependencies) from pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	$(PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  open(".lockenv/base.in", "w").write("\n".join(p["dependencies"])); \
	  open(".lockenv/dev.in", "w").write("\n".join(p["optional-dependencies"]["dev"]))'
	.lockenv/bin/pip install --quiet -r .lockenv/base.in
	{ echo "# Pinned runtime dependencies (regenerate with: make lock)"; .lockenv/bin/pip freeze; } > requirements.lock
	.lockenv/bin/pip install --quiet -r .lockenv/dev.in
	{ echo "# Pinned development dependencies (regenerate with: make lock)"; echo "-r requirements.lock"; \
	  .lockenv/bin/pip freeze | grep -vxFf requirements.lock; } > requirements-dev.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) node_modules build staticfiles

# Production mode: DEBUG off, hashed and compressed static files, gunicorn. Needs SECRET_KEY;
# uses DATABASE_URL (SQLite by default). HTTPS=false serves plain HTTP, for trying it locally.
SERVE_BIND ?= 127.0.0.1:8000
SERVE_WORKERS ?= 3
serve: $(VENV)/.base $(CHARTS) $(MO)
	DEBUG=false $(MANAGE) collectstatic --noinput --verbosity 0
	DEBUG=false $(MANAGE) migrate --noinput
	DEBUG=false $(BIN)/gunicorn healthcheck.wsgi --bind $(SERVE_BIND) --workers $(SERVE_WORKERS) \
	  --access-logfile - --logger-class healthcheck.logs.QuietAccessLogger --graceful-timeout 10 --timeout 30

# Fault and load test: voters against `make serve`, on PostgreSQL while it restarts, then on SQLite.
SOAK_SQLITE_URL ?= sqlite:///soak.sqlite3
soak: $(VENV)/.dev $(CHARTS) $(MO)
	$(BIN)/python tests/load/soak.py
	SOAK_DATABASE_URL=$(SOAK_SQLITE_URL) SOAK_SECONDS=30 $(BIN)/python tests/load/soak.py

# Benchmark on PostgreSQL (BENCH_DATABASE_URL) and Redis (REDIS_URL); BENCH_QUICK=1 for a short run.
bench: $(VENV)/.dev $(CHARTS) $(MO)
	BENCH_QUICK=$(BENCH_QUICK) $(BIN)/python tests/load/bench.py
