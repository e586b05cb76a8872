# peakbench: `make run` replays the default Black Friday profile on the sandbox store,
# `make test` runs lint, format check, type check and the test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= profiles/black-friday.yaml

.PHONY: run test lint typecheck pytest bench mutation clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# pip compiles what it installs, but not an editable project's own modules: compile them
	@# once, so no run pays for it (PYTHONDONTWRITEBYTECODE would otherwise make every run pay)
	$(BIN)/python -m compileall -q peakbench mocks loadtests
	@touch $(STAMP)

# make can only exit 0 or 2: a valid run whose SLOs failed (peakbench's exit 1) is a run that
# worked, so make succeeds and says so; anything else fails make with peakbench's code named.
run: $(STAMP)
	@$(BIN)/peakbench run $(PROFILE) $(ARGS); code=$$?; \
	case $$code in \
	  0) echo "make run: the run is valid and every SLO passed (peakbench exit 0)";; \
	  1) echo "make run: the run is valid; an SLO failed, which is its verdict (peakbench exit 1)";; \
	  *) echo "make run: peakbench exited $$code (2: usage or configuration, 3: invalid run)" >&2; \
	     exit $$code;; \
	esac

lint: $(STAMP)
	$(BIN)/ruff check peakbench mocks loadtests tests benchmarks
	$(BIN)/ruff format --check peakbench mocks loadtests tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy peakbench mocks loadtests

pytest: $(STAMP)
	$(BIN)/pytest -q --durations=15

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_mock_memory.py
	$(BIN)/python benchmarks/bench_mock_vs_wiremock.py --reps 3 --warmup 60

# Mutation testing of the measurement core against its fast unit tests (docs/mutation.md):
# a fresh mutants/ each time, 2 workers, then the per-module score; fails below MUTATION_MIN %.
MUTATION_MIN ?= 95
mutation: $(STAMP)
	rm -rf mutants && mkdir mutants
	@echo "mutmut run --max-children 2 (log: mutants/run.log)"
	@$(BIN)/mutmut run --max-children 2 > mutants/run.log 2>&1 \
		|| { tail -n 30 mutants/run.log; exit 1; }
	$(BIN)/python tests/mutation/report.py --min $(MUTATION_MIN) --survivors

clean:
	rm -rf mutants $(VENV) .mypy_cache .pytest_cache .ruff_cache
