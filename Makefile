# After-sales service orchestration — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := webapp

.PHONY: run test install install-test lock upgrade assets browser-deps font-deps pg-deps lint bench conformance bench-audit bench-http bench-inbox bench-kpi bench-pg serve worker clean

# ---------------------------------------------------------------- installation
$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Python packages come only from the locks in requirements/ (compiled from pyproject.toml by
# `make lock`, every file's hash checked): runtime.txt for a production install, test.txt
# (runtime + pytest, Playwright, ruff, uv) for the tests. A changed lock reinstalls.
LOCK_RUNTIME := requirements/runtime.txt
LOCK_TEST := requirements/test.txt

$(VENV)/.installed-runtime: $(LOCK_RUNTIME) | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK_RUNTIME)
	touch $@

$(VENV)/.installed-test: $(LOCK_TEST) $(VENV)/.installed-runtime
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK_TEST)
	touch $@

install: $(VENV)/.installed-runtime assets
install-test: $(VENV)/.installed-test install

# The locks are a function of pyproject.toml (uv keeps the versions already locked);
# `make upgrade` moves every package to its newest allowed version, npm's too, and tests.
UV_COMPILE = $(BIN)/uv pip compile --quiet pyproject.toml --python-version 3.11 --generate-hashes --custom-compile-command 'make lock'
$(BIN)/uv: | $(BIN)/activate
	$(BIN)/pip install --quiet uv

lock: $(BIN)/uv
	@mkdir -p requirements
	$(UV_COMPILE) $(UPGRADE) -o $(LOCK_RUNTIME)
	$(UV_COMPILE) $(UPGRADE) --extra test -c $(LOCK_RUNTIME) -o $(LOCK_TEST)

upgrade: $(BIN)/uv
	$(MAKE) lock UPGRADE=--upgrade
	npm update --package-lock-only --no-audit --no-fund --loglevel=error
	$(MAKE) test

# bpmn-js and friends come from npm and are served by Flask from webapp/static/vendor
# (ignored by git, rebuilt here).
node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

webapp/static/vendor/.built: node_modules/.installed scripts/vendor_assets.sh webapp/static/modeler/vendor-entry.js webapp/static/modeler/dmn-entry.js webapp/static/js/i18n-entry.js
	bash scripts/vendor_assets.sh
	touch $@

# The UI's message catalogs (webapp/translations/*/LC_MESSAGES/*.po -> .mo; .mo is not in git).
.PHONY: translations
translations: $(VENV)/.installed-runtime
	$(BIN)/pybabel compile -d webapp/translations

assets: translations webapp/static/vendor/.built

# Debian's Chromium for the browser tests (Playwright's own download is not reachable).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium chromium-driver'"; exit 1; fi; \
	fi

# The CJK TrueType font the PDF report embeds (reportlab cannot embed Noto CJK's CFF outlines).
# Without it the PDF falls back to a font the reader must have, with a warning in the log.
font-deps:
	@if [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; \
	  else echo "fonts-wqy-microhei missing (run 'sudo apt-get install fonts-wqy-microhei'): the PDF report will not embed its font"; fi; \
	fi

# Debian's PostgreSQL for the engine, worker and concurrency tests (started per run by
# scripts/pg_temp.sh on 127.0.0.1 in a temporary directory, then stopped).
pg-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL missing: run 'sudo apt-get install postgresql'"; exit 1; fi; \
	fi

# ---------------------------------------------------------------- the two commands
run: install font-deps
	@$(BIN)/python -m webapp.security.instance_files
	@$(BIN)/flask db upgrade
	@$(BIN)/flask deploy-processes
	@$(BIN)/flask create-demo-users
	@echo ""
	@echo "After-sales service is at http://127.0.0.1:$(PORT)/  (API under /api, see README)"
	@echo "Logins (passwords in instance/demo-logins.txt, readable only by you):"
	@cut -f1 instance/demo-logins.txt | tr '\n' ' '; echo
	@echo ""
	@$(BIN)/flask worker & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --access-logfile - 'webapp:create_app()'  # gunicorn.conf.py

# The whole suite on SQLite, then the engine, worker and concurrency tests again on a
# real PostgreSQL server (plus the PostgreSQL-only scale-out tests).
PG_TESTS := tests/test_engine_smoke.py tests/test_complaint_paths.py tests/test_history_integrity.py \
	tests/test_hostile_input.py tests/test_concurrency.py tests/test_incidents.py tests/test_decisions.py \
	tests/test_messages_and_versions.py tests/test_bpmn_conformance_issues.py tests/test_audit_concurrency.py tests/test_audit_backend.py tests/test_kpi_month.py \
	tests/test_sandbox.py tests/test_checkpoints.py tests/test_case_numbers.py tests/test_security_access.py \
	tests/test_webhooks.py tests/test_api_etags.py tests/test_snapshot_pieces.py \
	tests/test_plain_sql.py tests/test_json_columns.py tests/test_api_task_list.py tests/test_worker_lease.py tests/test_migrations_match_models.py \
	tests/test_verify_snapshot.py \
	tests/postgres

test: install-test browser-deps pg-deps font-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
	@URL=$$(scripts/pg_temp.sh start); trap 'scripts/pg_temp.sh stop "$$URL"' EXIT; \
	TEST_DATABASE_URL=$$URL $(BIN)/python -m pytest -q -o addopts=-ra $(PG_TESTS)

# ---------------------------------------------------------------- helpers
# Schemathesis over every API operation with a larger budget than make test's (examples per operation).
.PHONY: fuzz
fuzz: install-test
	SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-200} $(BIN)/python -m pytest -q tests/test_schemathesis.py

serve: install
	$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) 'webapp:create_app()'  # gunicorn.conf.py: WEB_CONCURRENCY, WEB_THREADS

worker: install
	$(BIN)/flask worker

bench: install
	$(BIN)/python -m bench.engine_throughput

# The differential BPMN conformance suite (docs/bpmn-support.md): each diagram in plain
# SpiffWorkflow and through the engine, caches cleared between commands, verified again in
# a second process; prints the table of constructs. Also part of `make test`.
conformance: install-test
	$(BIN)/python -m pytest -q tests/conformance

bench-audit: install
	$(BIN)/python -m bench.replay_verify

bench-kpi: install pg-deps
	@URL=$$(scripts/pg_temp.sh start); trap 'scripts/pg_temp.sh stop "$$URL"' EXIT; \
	DATABASE_URL=$$URL $(BIN)/python -m bench.kpi_queries

bench-inbox: install pg-deps
	@URL=$$(scripts/pg_temp.sh start); trap 'scripts/pg_temp.sh stop "$$URL"' EXIT; \
	DATABASE_URL=$$URL $(BIN)/python -m bench.inbox_search

# Whole instances over HTTP (gunicorn + a real `flask worker`) against plain SpiffWorkflow in
# memory, on a throwaway PostgreSQL and on SQLite; then task completions alone (PostgreSQL).
bench-http: install pg-deps
	@URL=$$(scripts/pg_temp.sh start); trap 'scripts/pg_temp.sh stop "$$URL"' EXIT; \
	DATABASE_URL=$$(scripts/pg_temp.sh socket "$$URL") $(BIN)/python -m bench.http_completions

# The throwaway server is on this machine: the benches reach it through its Unix socket, as a
# same-host deployment would (docs/deployment.md), not through loopback TCP.
bench-pg: install pg-deps
	@URL=$$(scripts/pg_temp.sh start); trap 'scripts/pg_temp.sh stop "$$URL"' EXIT; \
	DATABASE_URL=$$(scripts/pg_temp.sh socket "$$URL") $(BIN)/python -m bench.pg_scale

lint: install-test
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules webapp/static/vendor
