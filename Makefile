# One entry point. `make demo` and `make test` each install everything first, on a machine
# that has only Python 3.11+ and the package registries.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
AS_OF ?= $(shell date -u +%Y-%m-%d)

.PHONY: install dagster demo test chaos lint lint-python lint-sql lint-types format bench bench-world bench-stripe bench-dbt bench-quality bench-chartmogul clean

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Dagster imports the dbt manifest: parse here, never at import time, and only when a file
# dbt reads (the whole project folder but its outputs, the profiles, dbt's version in the
# lock file) is newer than the manifest. A plain `dbt parse` writes the same manifest as
# `dagster-dbt project prepare-and-package` in half the time (no Dagster import, no
# `dbt --version`); `dbt deps` first once the project has packages.
MANIFEST := dbt_project/target/manifest.json
DBT_FILES := $(shell find dbt_project -type f -not -path 'dbt_project/target/*' \
	-not -path 'dbt_project/logs/*' -not -path 'dbt_project/dbt_packages/*' \
	-not -path dbt_project/README.md) profiles/profiles.yml uv.lock
DBT := $(UV) run dbt
DBT_DIRS := --project-dir dbt_project --profiles-dir profiles
# the instance `make dagster` opens; `make demo` records its run there
DAGSTER_HOME_DIR := $(CURDIR)/.dagster

install: $(UV)
	$(UV) sync --frozen --all-extras --compile-bytecode
	@$(MAKE) --no-print-directory $(MANIFEST)

$(MANIFEST): $(DBT_FILES)
	@echo "Parsing the dbt project for Dagster's manifest (a file dbt reads changed; 20-40 s)..."
	@start=$$(date +%s); \
	if [ -f dbt_project/packages.yml ] || [ -f dbt_project/dependencies.yml ]; then \
		$(DBT) deps $(DBT_DIRS) --quiet || exit 1; fi; \
	$(DBT) parse $(DBT_DIRS) --quiet || { echo "dbt parse failed: the errors are above"; exit 1; }; \
	echo "Parsed in $$(( $$(date +%s) - start )) s: $(MANIFEST) (skipped until a dbt file changes)"
	@touch $(MANIFEST)

## Dagster's UI on the whole graph, schedules and checks (http://127.0.0.1:3000).
dagster: install
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(UV) run dagster dev

## The main job on the embedded default (sandbox world, Stripe stand-in), into the default
## warehouse (WAREHOUSE=path for another), recorded where `make dagster` shows it.
demo: install
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(UV) run revwh demo --as-of $(AS_OF)$(if $(WAREHOUSE), --warehouse $(WAREHOUSE))

## The whole test suite, lint and format checks included (what CI runs).
test: install
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint-python lint-sql lint-types
	$(UV) run pytest

# the chaos test alone (minutes): revwh run killed at many points, then run again
chaos: install
	$(UV) run pytest -m chaos -n 0 -s tests/chaos

## Every linter, two at a time: ruff, import layers, sqlfluff, mypy against its baseline.
lint: install
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint-python lint-sql lint-types

lint-python:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports --no-cache

# sqlfluff (.sqlfluff: dbt templater, about 2 CPU-minutes for the whole project) runs again
# only on what changed since it last passed: the changed models and tests alone, or
# everything when its configuration, a macro or dbt's project files changed
SQL_LINT_OK := dbt_project/target/sqlfluff/lint.ok
SQL_LINT_FILES := $(shell find dbt_project/models dbt_project/tests -name '*.sql')
SQL_LINT_CONTEXT := .sqlfluff .sqlfluffignore dbt_project/dbt_project.yml profiles/profiles.yml uv.lock \
	$(shell find dbt_project/macros -type f) $(shell find dbt_project/models -name '*.yml')

lint-sql: $(SQL_LINT_OK)

$(SQL_LINT_OK): $(SQL_LINT_FILES) $(SQL_LINT_CONTEXT)
	$(UV) run sqlfluff lint --processes 2 $(if $(filter-out $(SQL_LINT_FILES),$?),dbt_project,$?)
	@mkdir -p $(@D) && touch $@

lint-types:
	$(UV) run python scripts/mypy_baseline.py

## ruff's and sqlfluff's fixes and formatting.
format: install
	$(UV) run ruff format . && $(UV) run ruff check --fix .
	$(UV) run sqlfluff fix --processes 2 dbt_project

## Benchmarks: print figures, no pass/fail (SCALES="small medium large").
SCALES ?= small medium
bench: bench-world bench-stripe bench-dbt bench-quality bench-chartmogul

bench-world: install
	$(UV) run python -m benchmarks.world $(SCALES)

## Stripe backfill from the stand-in at 100 req/s + 50 ms, then a one-day incremental run,
## with and without the local pipeline folder; medians of 3 (STRIPE_SCALE=large: about 200,000 accounts).
STRIPE_SCALE ?= medium
bench-stripe: install
	$(UV) run python -m benchmarks.stripe_load --scale $(STRIPE_SCALE) --repeat $(if $(filter large,$(STRIPE_SCALE)),1,3)

## dbt build, full and hourly (the hourly job's models that new rows reach), on the medium and large
## (medium x10) warehouses; the raw warehouses are prepared once (about 4 minutes) and cached.
bench-dbt: install
	$(UV) run python -m benchmarks.dbt_build

## Contract validations (great-expectations) over every raw table, small and synthetic large.
bench-quality: install
	$(UV) run python -m benchmarks.quality small large

## ChartMogul sync of the medium world into an empty stand-in at 40 req/s + 50 ms (about 25
## minutes), then an hour's and the rest of a day's changes; the built warehouses (`revwh run`
## of day 0 and day 1, about 5 minutes) are prepared once and cached.
bench-chartmogul: install
	$(UV) run python -m benchmarks.chartmogul_sync

clean:
	rm -rf .tools .venv warehouse .pytest_cache
