# Orderflow — build, run and test.  See README.md / shared docs/toolchain.md.
SHELL := /bin/bash

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed-stamp

# `make run` settings; override from the environment or the command line.
PORT         ?= 8000
DATABASE_URL ?= sqlite:///$(CURDIR)/var/orderflow.db
RUN_ENV      := PORT='$(PORT)' DATABASE_URL='$(DATABASE_URL)'
FLASK        := $(BIN)/flask --app wsgi

PYTEST_ARGS ?=

# Browser bundles copied from node_modules/ to app/static/vendor/<package>/<path under dist/>,
# e.g. bpmn-js/dist/assets -> app/static/vendor/bpmn-js/assets.
VENDOR_DIR    := app/static/vendor
VENDOR_ASSETS := \
	bpmn-js/dist/bpmn-navigated-viewer.production.min.js \
	bpmn-js/dist/bpmn-modeler.production.min.js \
	bpmn-js/dist/assets \
	dmn-js/dist/dmn-modeler.production.min.js \
	dmn-js/dist/assets \
	chart.js/dist/chart.umd.min.js

.PHONY: help install assets run test system-deps bench clean

help:
	@echo "make install      venv + pip install -e '.[dev]' (when pyproject.toml changed); npm ci + assets"
	@echo "make run          migrate, seed demo data, deploy processes, serve on 127.0.0.1:\$$PORT (default 8000)"
	@echo "make test         pytest on SQLite, then on a throwaway PostgreSQL (PYTEST_ARGS=...)"
	@echo "make bench        bench/engine.py on SQLite, then on PostgreSQL"
	@echo "make clean        remove var/ and $(VENDOR_DIR)/"

# ---- install ---------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $@

# npm only once package.json exists; reinstall when package.json / the lock file changes.
ifneq ($(wildcard package.json),)
NODE_STAMP := node_modules/.installed-stamp
$(NODE_STAMP): package.json $(wildcard package-lock.json)
	if [ -f package-lock.json ]; then npm ci; else npm install; fi
	touch $@
endif

install: $(STAMP) $(NODE_STAMP)
	@if [ -f package.json ]; then $(MAKE) --no-print-directory assets; fi

assets:
	@if [ ! -f package.json ]; then echo "assets: no package.json yet, skipping"; exit 0; fi; \
	set -e; \
	for src in $(VENDOR_ASSETS); do \
		pkg=$${src%%/*}; rel=$${src#*/dist/}; dest=$(VENDOR_DIR)/$$pkg/$$rel; \
		if [ ! -e node_modules/$$src ]; then echo "assets: missing node_modules/$$src" >&2; exit 1; fi; \
		mkdir -p "$$(dirname "$$dest")"; rm -rf "$$dest"; cp -R node_modules/$$src "$$dest"; \
	done; \
	echo "assets: copied $(words $(VENDOR_ASSETS)) bundles to $(VENDOR_DIR)/"

# ---- run -------------------------------------------------------------------
run: install
	mkdir -p var
	$(RUN_ENV) $(FLASK) db upgrade
	$(RUN_ENV) $(FLASK) seed-demo
	$(RUN_ENV) $(FLASK) deploy processes
	$(RUN_ENV) $(FLASK) serve

# ---- test ------------------------------------------------------------------
system-deps:
	scripts/ensure-system-deps.sh

# Both runs always happen; the target fails if either failed. Ctrl-C stops everything.
test: install system-deps
	@trap 'echo "make test: interrupted" >&2; exit 130' INT TERM; \
	sqlite_rc=0; pg_rc=0; \
	echo "==> SQLite: $(BIN)/pytest $(PYTEST_ARGS)"; \
	$(BIN)/pytest $(PYTEST_ARGS) || sqlite_rc=$$?; \
	echo "==> PostgreSQL: scripts/with-postgres.sh $(BIN)/pytest --db=postgresql $(PYTEST_ARGS)"; \
	scripts/with-postgres.sh $(BIN)/pytest --db=postgresql $(PYTEST_ARGS) || pg_rc=$$?; \
	echo; \
	echo "==> test results: SQLite $$( [ $$sqlite_rc -eq 0 ] && echo passed || echo "FAILED (exit $$sqlite_rc)" )," \
	     "PostgreSQL $$( [ $$pg_rc -eq 0 ] && echo passed || echo "FAILED (exit $$pg_rc)" )"; \
	[ $$sqlite_rc -eq 0 ] && [ $$pg_rc -eq 0 ]

# ---- bench -----------------------------------------------------------------
bench: install system-deps
	$(BIN)/python bench/engine.py
	scripts/with-postgres.sh $(BIN)/python bench/engine.py --db=postgresql

# ---- clean -----------------------------------------------------------------
clean:
	rm -rf var $(VENDOR_DIR)
