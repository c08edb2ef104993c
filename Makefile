# e-Maket developer tasks. Works without a terminal (CI=true).
#   make venv   create .venv (Python >= 3.11) and install the project with dev extras
#   make run    the whole backend locally (embedded PostgreSQL, mock Kafka)
#   make test   ruff, mypy, then the test suite (PYTEST_ARGS="-k foo" passes options to pytest)
#   make lint   ruff and mypy only
#   make bench  the benchmark (BENCH_ARGS="--cases 100 --rate 20" passes options; docs/performance.md)
#   make chaos  cases under SIGKILLs and sandbox faults, then the invariants (CHAOS_ARGS="--cases 60 --kills 12 --seed 7")
#   make clean  remove .data (embedded database, logs, dev keys)

SHELL := /bin/sh

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The interpreter used to create the virtualenv.
BOOTSTRAP_PYTHON := $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)

# pytest's cache directory is not wanted on CI (CI=true, 1, yes ...).
PYTEST_CI_FLAGS := $(if $(filter-out 0 false False FALSE no No NO,$(CI)),-p no:cacheprovider)

.PHONY: venv run test lint bench chaos clean

venv: $(STAMP)

# Reinstall only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	@if [ -x "$(PY)" ]; then \
		interp="$(PY)"; \
	elif [ -n "$(BOOTSTRAP_PYTHON)" ]; then \
		interp="$(BOOTSTRAP_PYTHON)"; \
	else \
		echo "Python 3.11 or newer is needed, but neither python3.11 nor python3 is on PATH. Install Python 3.11 and run make again." >&2; \
		exit 1; \
	fi; \
	if ! "$$interp" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then \
		version=$$("$$interp" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo unknown); \
		echo "Python 3.11 or newer is needed, but $$interp is Python $$version." >&2; \
		if [ "$$interp" = "$(PY)" ]; then \
			echo "Remove $(VENV) (rm -rf $(VENV)) and run make again with python3.11 on PATH." >&2; \
		else \
			echo "Install Python 3.11 (so that python3.11 is on PATH) and run make again." >&2; \
		fi; \
		exit 1; \
	fi; \
	if [ ! -x "$(PY)" ]; then \
		echo "Creating $(VENV) with $$interp"; \
		"$$interp" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip || echo "warning: could not upgrade pip; continuing with the installed one" >&2
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: venv
	$(PY) -m tools.run

# Lint and types first (ruff on everything; mypy strict on every domain/ and the shared contracts, see pyproject).
test: venv lint
	$(PY) -m pytest -q $(PYTEST_CI_FLAGS) $(PYTEST_ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m mypy

# Defaults: 400 cases of the three benefits, 40 in flight (docs/performance.md). BENCH_ARGS passes options,
# e.g. BENCH_ARGS="--cases 100 --rate 20"; BENCH_GATEWAY_URL + BENCH_SANDBOX_URL + BENCH_DATABASE_URL use a running stack.
bench: venv
	$(PY) -m tools.bench $(BENCH_ARGS)

# docs/reliability.md: exit 0 only if every invariant holds; the report goes to bench/chaos/<timestamp>.json.
chaos: venv
	$(PY) -m tools.chaos $(CHAOS_ARGS)

clean:
	rm -rf .data
