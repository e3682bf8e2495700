# LSQ: the two commands that matter are `make up` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: up down status test test-dates test-unit kafka-jars catalogues asyncapi bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

kafka-jars: $(STAMP)
	$(BIN)/python -c "from shared.devstack.kafka import ensure_jars; ensure_jars()"

catalogues: $(STAMP)     ## compile the portal's message catalogues (.po → .mo)
	$(BIN)/python -m services.portal.catalogue compile >/dev/null

up: $(STAMP) kafka-jars catalogues  ## start Kafka and every service (web + worker) in the background
	$(BIN)/lsq up

down: $(STAMP)           ## stop everything `make up` started
	$(BIN)/lsq down

status: $(STAMP)         ## what runs
	$(BIN)/lsq status

test: $(STAMP) kafka-jars catalogues  ## the whole suite: unit, contract, integration (real Kafka + PostgreSQL), e2e
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The in-process tests again with the clock started at a year's last half hour (Shanghai) and on
# 1 March of a leap year: a test or a rule that silently assumes "now" fails here.
CLOCK_STARTS ?= 2026-12-31T23:30:00+08:00 2028-03-01T00:30:00+08:00
test-dates: $(STAMP) kafka-jars catalogues  ## unit, contract and integration tests at set clock starts
	set -e; for start in $(CLOCK_STARTS); do \
	  echo "== clock starts at $$start"; \
	  $(BIN)/python -m pytest -q -p no:cacheprovider --clock-start=$$start tests/unit tests/contract tests/integration $(PYTEST_ARGS); \
	done

test-unit: $(STAMP) catalogues  ## only the tests without I/O
	$(BIN)/python -m pytest -q tests/unit tests/contract

asyncapi: $(STAMP)       ## regenerate the checked-in AsyncAPI document
	$(BIN)/lsq asyncapi > docs/asyncapi.yaml

clean:                   ## remove the virtualenv and local data (stop first with make down)
	rm -rf $(VENV) var
