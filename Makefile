# Partner CRM — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint bench e2e mutation screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: migrate, load demo data on first run, start web + worker + beat (Ctrl-C stops all)
run: install
	$(BIN)/flask --app crm db upgrade
	$(BIN)/flask --app crm crm seed-demo
	@echo ""
	@echo "  Partner CRM:  http://127.0.0.1:5000"
	@echo "  Demo logins:  admin@example.org, manager@example.org, staff@example.org, viewer@example.org"
	@echo "  Password:     partner-crm-demo"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## make test: lint, then the whole suite (unit, integration on real services, security, e2e)
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

## make bench: benchmarks on PostgreSQL (see docs/benchmarks.md)
bench: install
	$(BIN)/python -m bench.run

## make mutation: mutmut on the visibility rule and the delivery ledger's claim/mark functions
## (CPU-heavy, about 20-40 minutes; not part of `make test`; see docs/testing.md#mutation-testing)
MUTANTS ?= "crm.services.access.*" "crm.services.deliveries.x__locked*" \
	"crm.services.deliveries.x_claim*" "crm.services.deliveries.x_lock_for_send*" \
	"crm.services.deliveries.x_skip*" "crm.services.deliveries.x_is_skipped*" \
	"crm.services.deliveries.x_mark_*" "crm.services.deliveries.x__fail*"
mutation: install
	rm -rf mutants
	nice -n 19 $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

## make screenshots: refresh docs/screenshots from the demo data (headless Chromium)
screenshots: install
	$(BIN)/python -m tests.e2e.screenshots

clean:
	rm -rf $(VENV) instance .pytest_cache mutants
