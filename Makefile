# archtune: the two commands of the quick start, and the checks behind them.
#   make demo   creates .venv if missing, installs archtune, shrinks the reference CNN (archtune demo)
#   make test   creates .venv if missing, installs with the test extras, runs lint, types, tests

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch comes from the CPU wheel pinned here (an unpinned torch pulls a multi-GB CUDA build).
TORCH  ?= torch==2.13.0

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[data,onnx,examples,report]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	mkdir -p runs
	cd runs && ../$(BIN)/archtune demo

test: $(VENV)/.installed-test lint typecheck pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.overhead
	$(BIN)/python -m benchmarks.parallel

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
