# pledgewatch developer commands. A newcomer needs two: `make run` and `make test`.
#   make run    environment, SQLite migrations, the service on the embedded ledger
#   make test   environment, PostgreSQL, Mosquitto, Chromium, helm and wrk for tests, lint and
#               import rules, the whole suite
#   make lint | demo | bench | clean

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.PHONY: help env run test test-fabric lint demo bench clean

UV_VERSION := 0.13.8
# Where uv goes when it is not on PATH (pip --target works despite Debian's PEP 668 marker).
UV_HOME := .cache/uv
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_HOME)/bin/uv)
# Never re-resolve or rewrite uv.lock from make: install exactly what it pins.
export UV_FROZEN := 1

define lint_commands
$(UV) run ruff check .; \
$(UV) run ruff format --check .; \
$(UV) run mypy pledge loans chaincode services vision dashboards; \
$(UV) run lint-imports
endef

help:
	@echo "make run    start pledgewatch on the embedded ledger (SQLite, demo organisations)"
	@echo "make test   provision PostgreSQL, lint, check import rules, run the whole suite"
	@echo "make lint | demo | bench | clean"

env:
	@if ! command -v "$(UV)" >/dev/null 2>&1; then \
	  if ! python3 -m pip --version >/dev/null 2>&1 && [ "$$(id -u)" -eq 0 ]; then \
	    echo "==> installing pip from the Debian packages"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip; \
	  fi; \
	  echo "==> installing uv $(UV_VERSION) into $(UV_HOME)"; \
	  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
	    --target "$(UV_HOME)" "uv==$(UV_VERSION)"; \
	fi
	$(UV) sync --frozen

run: env
	$(UV) run pledgewatch db upgrade
	$(UV) run pledgewatch run

# The provisioning script prints the test database URL as its last line; pytest reads it from
# PLEDGEWATCH_TEST_PG_URL.
test: env
	scripts/install-chromium.sh >&2
	scripts/install-helm.sh >&2
	scripts/install-wrk.sh >&2
	PLEDGEWATCH_TEST_PG_URL="$$(scripts/test-services.sh | tail -n 1)"; \
	export PLEDGEWATCH_TEST_PG_URL; \
	export PLEDGEWATCH_TEST_MQTT_URL="$$(cat .cache/mqtt/url)"; \
	$(lint_commands); \
	$(UV) run pytest

# The real-network Fabric suites: they need the Fabric binaries (pledgewatch fabric build).
test-fabric: env
	PLEDGEWATCH_FABRIC=1 $(UV) run pytest -m fabric

lint: env
	$(lint_commands)

demo: env
	$(UV) run pledgewatch demo

# Every benchmark in bench/ against PostgreSQL, Mosquitto and wrk on loopback; the figures, their
# same-run baselines, the machine and the date go to bench/REPORT.md (non-zero exit if any fails).
bench: env
	scripts/install-wrk.sh >&2
	PLEDGEWATCH_TEST_PG_URL="$$(scripts/test-services.sh | tail -n 1)"; \
	export PLEDGEWATCH_TEST_PG_URL; \
	export PLEDGEWATCH_TEST_MQTT_URL="$$(cat .cache/mqtt/url)"; \
	$(UV) run python bench/report.py

clean:
	scripts/stop-services.sh --purge
	rm -rf var .cache/pg
