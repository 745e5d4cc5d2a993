# Chronos developer commands. `make help` lists them.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WEB_PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install demo test test-unit audit lint format typecheck bench clean

help: ## List the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Chronos needs Python 3.11 or newer; set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install Chronos with its dev tools

# The demo talks to the bundled Google emulator unless told otherwise.
EMULATOR_PORT ?= 8765
EMULATOR_URL := http://127.0.0.1:$(EMULATOR_PORT)
DEMO_ENV := GOOGLE_API_URL=$${GOOGLE_API_URL:-$(EMULATOR_URL)/calendar/v3/} \
	GOOGLE_TOKEN_URL=$${GOOGLE_TOKEN_URL:-$(EMULATOR_URL)/token} \
	GOOGLE_AUTH_URL=$${GOOGLE_AUTH_URL:-$(EMULATOR_URL)/o/oauth2/auth} \
	WEBHOOK_BASE_URL=$${WEBHOOK_BASE_URL:-http://127.0.0.1:$(WEB_PORT)} \
	WEB_PORT=$(WEB_PORT) EMULATOR_PORT=$(EMULATOR_PORT)

demo: install ## Run Chronos locally with demo data at http://127.0.0.1:8000/
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py create_demo_user
	@echo ""
	@echo "  Chronos: http://127.0.0.1:$(WEB_PORT)/   sign in as demo / demo"
	@echo "  Google emulator: $(EMULATOR_URL)/   Stop everything with Ctrl-C."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(DEMO_ENV) $(BIN)/honcho start \
		$$( [ -n "$$REDIS_URL" ] && echo "emulator web worker beat" || echo "emulator web" )

test: install ## Run the whole suite (integration tests need DATABASE_URL and REDIS_URL)
	@# pip-audit needs PyPI's per-release advisories: `make audit` runs it.
	@markers="not online"; \
	if [ -z "$$REDIS_URL" ]; then \
		echo "REDIS_URL is not set: integration tests are deselected."; \
		markers="$$markers and not integration"; \
	fi; \
	if [ ! -x /usr/bin/chromium ]; then \
		echo "/usr/bin/chromium is missing: browser tests are deselected."; \
		markers="$$markers and not browser"; \
	elif [ "$$BROWSER_TESTS" = "no" ]; then \
		echo "BROWSER_TESTS=no: browser tests are deselected."; \
		markers="$$markers and not browser"; \
	fi; \
	$(BIN)/pytest -m "$$markers"

audit: install ## Run the security audit: deploy check, pip-audit, bandit, tokens
	$(BIN)/pytest tests/audit

lint: install ## Check code style with ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## Check types with mypy
	$(BIN)/mypy .

BENCH_RUNS ?= 5
BENCH_ONLY ?=
BENCH_IDLE_STREAMS ?= 4000

bench: install ## Measure the pipeline against its baselines (PostgreSQL, Redis)
	ulimit -n $$(ulimit -Hn) && \
		BENCH_RUNS=$(BENCH_RUNS) BENCH_ONLY=$(BENCH_ONLY) \
		BENCH_IDLE_STREAMS=$(BENCH_IDLE_STREAMS) $(BIN)/python -m bench

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
