# peakbench: `make run` replays the default Black Friday profile on the sandbox store,
# `make test` runs lint, format check, type check and the test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= profiles/black-friday.yaml

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/peakbench run $(PROFILE)

lint: $(STAMP)
	$(BIN)/ruff check peakbench mocks loadtests tests benchmarks
	$(BIN)/ruff format --check peakbench mocks loadtests tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy peakbench mocks loadtests

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_mock_memory.py
	$(BIN)/python benchmarks/bench_mock_vs_wiremock.py --reps 3 --warmup 60

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
