# digitrec: `make run` and `make test` each set everything up first.
#
# Both install exact, hash-checked packages from the lock files in requirements/:
# run.txt (what the study and reading need) for `make run`, dev.txt (every extra, test and
# docs tools) for `make test`. `make lock` refreshes both from pyproject.toml.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
LOCK_OPTS := --quiet --generate-hashes --allow-unsafe --strip-extras \
             --no-emit-index-url --no-emit-find-links
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup setup-run run test docs lint format lock clean

setup: $(DEV_STAMP)
setup-run: $(RUN_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

# Re-install only when a lock file or pyproject.toml changes. The dev set contains the run
# set (same pins), so a full install also satisfies `make run`.
$(RUN_STAMP): requirements/run.txt pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --quiet --require-hashes -c constraints.txt -r requirements/run.txt
	$(PIP) install --quiet --no-deps -e .
	@touch $@

$(DEV_STAMP): requirements/dev.txt pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install --quiet --require-hashes -c constraints.txt -r requirements/dev.txt
	$(PIP) install --quiet --no-deps -e .
	@touch $@ $(RUN_STAMP)

run: setup-run
	$(BIN)/digitrec reproduce --out reports/reproduce

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest

docs: setup
	$(BIN)/mkdocs build --strict

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# Resolve both lock files again from pyproject.toml (needs pip-tools: `make setup` first).
lock: setup
	$(BIN)/pip-compile $(LOCK_OPTS) -c constraints.txt -o requirements/dev.txt \
	    --extra train,serve,batch,dev,docs pyproject.toml
	$(BIN)/pip-compile $(LOCK_OPTS) -c constraints.txt -c requirements/dev.txt \
	    -o requirements/run.txt pyproject.toml

clean:
	rm -rf $(VENV) build dist site .pytest_cache .ruff_cache reports
