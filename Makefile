# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test lint test-unit test-integration test-e2e test-browser token bench chaos demo venv broker system system-test clean

## make run: start RabbitMQ if needed, the embedded MongoDB (unless MONGO_URI), five services and the gateway
run: venv broker system
	$(PY) -m tools.stack

## make test: install what the tests need, lint, and run the whole suite against real RabbitMQ and MongoDB
test: venv broker system-test lint
	$(PY) -m pytest tests --durations=30

## make lint: ruff (lint) and mypy (targets and strictness in pyproject.toml)
lint: venv
	$(PY) -m ruff check .
	$(PY) -m mypy

test-unit: venv
	$(PY) -m pytest tests/unit

test-integration: venv broker
	$(PY) -m pytest tests/integration

test-e2e: venv broker system-test
	$(PY) -m pytest tests/e2e

test-browser: venv broker system-test
	$(PY) -m pytest tests/browser

## make token ROLE=operator [UNIT=city.environment] [USER_ID=someone]: a bearer token for local use
token: venv
	@$(PY) -m tools.token --role "$(ROLE)" $(if $(UNIT),--unit "$(UNIT)") $(if $(USER_ID),--user "$(USER_ID)")

## make bench: the pipeline benchmark against a stack started by `make run` (see bench/README.md)
bench: venv
	$(PY) bench/pipeline.py $(BENCH_ARGS)

## make demo [DEMO_ARGS="--weeks 4 --per-day 40 --seed 1"]: a month of simulated traffic through the API of the
## stack `make run` started (its URL from .data/stack.json), then its bulletins and assessment (issue 11)
demo: venv
	$(PY) -m tools.simulate $(DEMO_ARGS)

## make chaos [CHAOS_ARGS="--only broker,store -n 300"]: faults on a RabbitMQ node and a stack of its own (issue 9)
chaos: venv
	$(PY) -m tools.chaos $(CHAOS_ARGS)

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@bash tools/bootstrap-python.sh "$(PYTHON)" "$(VENV)"
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e .
	@rm -f $(VENV)/.installed-* && touch $@

broker:
	@bash tools/ensure-rabbitmq.sh

## system packages: CJK fonts and PDF libraries (the bulletin's PDF) for everything; for the tests
## also Chromium (the console's browser tests) and promtool (the alert rules' tests)
system:
	@bash tools/ensure-system-packages.sh

system-test: system
	@bash tools/ensure-browser.sh
	@bash ops/ensure-promtool.sh

clean:
	rm -rf $(VENV) .data
