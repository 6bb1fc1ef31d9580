# The two commands: `make run` starts the dashboard, `make test` runs lint, types and every test.
# Both create .venv and install what is missing on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test lint typecheck pytest install install-dev bench bench-quality bench-speed bench-gpu \
	bench-dashboard bench-load bench-cli bench-cli-memory clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml setup.py
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

lint: install-dev
	$(BIN)/ruff check mmcorr pages app.py setup.py tests bench
	$(BIN)/ruff format --check mmcorr pages app.py setup.py tests bench

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/python -m pytest

test: lint typecheck pytest

# Benchmarks (bench/README.md): one target per script; `make bench` runs all but the long quality
# comparison. The quality run needs cca-zoo, which lives in bench/.venv so it never reaches the app.
BENCH_VENV := bench/.venv

$(BENCH_VENV)/.installed: requirements.txt bench/requirements.txt pyproject.toml
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q -r requirements.txt -r bench/requirements.txt
	$(BENCH_VENV)/bin/python -m pip install -q --no-deps -e .
	@touch $@

bench-quality: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/quality.py $(ARGS)

bench-speed: install
	$(BIN)/python bench/speed.py $(ARGS)

bench-gpu: install
	$(BIN)/python bench/gpu.py $(ARGS)

bench-dashboard: install
	$(BIN)/python bench/dashboard.py $(ARGS)

bench-load: install
	$(BIN)/python bench/load.py $(ARGS)

bench-cli: install
	$(BIN)/python bench/cli_latency.py $(ARGS)

# cca-zoo's DCCA is the reference process: bench/.venv has it (the app's .venv never does)
bench-cli-memory: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python bench/cli_memory.py $(ARGS)

bench: bench-load bench-dashboard bench-speed bench-gpu bench-cli

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
