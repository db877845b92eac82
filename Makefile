# vidssl: two commands do all the set-up on a fresh machine.
#   make demo   installs into .venv if needed, then runs the main job on the built-in synthetic corpus
#   make test   installs into .venv if needed, then runs the fast test suite
PYTHON ?= python3
VENV   ?= .venv
# The torch build we test with; override e.g. TORCH_SPEC="torch==2.9.1 torchvision==0.24.1" on aarch64.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= demo_out
PY  := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.vidssl-installed

.PHONY: help install demo test test-slow test-all lint bench clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(PY):
	$(PYTHON) -m venv $(VENV)

# Idempotent: the stamp depends on pyproject.toml, so a second run installs nothing.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_SPEC)
	$(PIP) install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)  ## create .venv and install vidssl with its dependencies

demo: $(STAMP)  ## run the main job on the built-in synthetic corpus (5 min on 2 idle CPU cores, measured)
	$(PY) -m vidssl demo --out $(DEMO_OUT)

test: $(STAMP)  ## fast test suite (CI)
	$(PY) -m pytest -q -m "not slow and not gpu" -p no:cacheprovider

test-slow: $(STAMP)  ## slow tests: quick benchmarks, longer trainings
	$(PY) -m pytest -q -m "slow" -p no:cacheprovider

test-all: $(STAMP)  ## everything, GPU tests included when a GPU is present
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(STAMP)  ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || true

clean:  ## remove generated outputs (keeps .venv)
	rm -rf $(DEMO_OUT) .pytest_cache .ruff_cache
