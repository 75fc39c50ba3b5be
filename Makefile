# Flywheel developer and CI entry points. `make test` works on a fresh Debian 12 machine
# (as root): it installs what is missing, starts the real services, runs the suite.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.flywheel-installed
SERVICES := scripts/services.sh
PYTEST_ARGS ?=
# The connection settings the real services answer on (export lines from services.sh).
SERVICES_ENV = eval "$$($(SERVICES) env)"

.PHONY: help install system venv kafka-jars assets agent-clis services-up services-down services-status \
        migrate demo test

help:
	@echo "make install        system packages, .venv, Kafka jars, dashboard assets, agent CLIs"
	@echo "make services-up    start PostgreSQL, Redis, Kafka, Ray head (var/services/)"
	@echo "make services-down  stop them (data is kept; rm -rf var/services to reset)"
	@echo "make migrate        apply migrations to the real PostgreSQL"
	@echo "make demo           one whole turn of the loop on the embedded default (no servers)"
	@echo "make test           install + services-up + pytest (PYTEST_ARGS='-k foo' to filter)"

install: system venv kafka-jars assets agent-clis

system:
	bash scripts/install_system.sh

venv: $(VENV_STAMP)

# Reinstall only when pyproject.toml changed since the last successful install.
$(VENV_STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,bench]'
	touch $@

kafka-jars: system
	bash $(SERVICES) fetch-kafka

# Built by another script of the project when present (Chart.js from npm).
assets: system
	if [ -f scripts/build_dashboard_assets.sh ]; then bash scripts/build_dashboard_assets.sh; fi

# The real agent CLIs the tests drive (npm, pinned), with the venv's Node >= 22.
agent-clis: venv
	bash scripts/install_agent_clis.sh

services-up: install
	bash $(SERVICES) start

services-down:
	bash $(SERVICES) stop

services-status:
	bash $(SERVICES) status

migrate: services-up
	$(SERVICES_ENV) && $(VENV)/bin/python manage.py migrate --noinput

# The embedded default: no servers, so none of the service settings may leak in. One whole
# turn of the loop (creating v0 first if needed): serve, traffic, mine, reward model, RL,
# gate, canary, automatic promote/rollback, before/after table. `manage.py demo` still
# shows the telemetry side alone.
DEMO_SEED ?= 7
DEMO_ARGS ?=
demo: venv
	env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u KAFKA_BOOTSTRAP_SERVERS -u RAY_ADDRESS \
	  $(VENV)/bin/python manage.py run_loop --cycles 1 --seed $(DEMO_SEED) $(DEMO_ARGS)

test: services-up
	$(SERVICES_ENV) && $(VENV)/bin/pytest $(PYTEST_ARGS)
