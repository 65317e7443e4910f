# archtune: the two commands of the quick start, and the checks behind them.
#   make demo   creates .venv if missing, installs archtune, shrinks the reference CNN (archtune demo)
#   make test   creates .venv if missing, installs with the test extras, runs lint, types, tests
#               (and installs Debian's chromium for the report's browser tests when it is
#               missing and apt-get can: as root, or with sudo without a password)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch comes from the CPU wheel pinned here (an unpinned torch pulls a multi-GB CUDA build).
TORCH  ?= torch==2.13.0

.PHONY: demo test lint typecheck pytest browser bench clean

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
	$(BIN)/ruff check src tests benchmarks examples tools
	$(BIN)/ruff format --check src tests benchmarks examples tools

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test browser
	$(BIN)/pytest

# tests/report/test_report_browser.py opens the report in a real browser. Without chromium
# (and without root or sudo to install it) those tests are skipped, and say why.
browser:
	@found=$$(command -v chromium || command -v chromium-browser || true); \
	if [ -n "$$found" ]; then \
		echo "browser tests: $$($$found --version 2>/dev/null || echo $$found)"; \
	else \
		if [ "$$(id -u)" = 0 ]; then as=""; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as="sudo -n"; \
		else as="none"; fi; \
		if [ "$$as" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
			echo "browser tests: chromium is missing and cannot be installed here (needs apt-get as root or passwordless sudo); they will be skipped"; \
		else \
			echo "browser tests: installing Debian's chromium (apt-get install chromium)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			$$as apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
			|| { $$as apt-get update -q >/dev/null 2>&1 \
			     && $$as apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } \
			|| echo "browser tests: apt-get could not install chromium; they will be skipped"; \
			found=$$(command -v chromium || true); \
			if [ -n "$$found" ]; then echo "browser tests: $$($$found --version 2>/dev/null)"; fi; \
		fi; \
	fi

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.overhead
	$(BIN)/python -m benchmarks.parallel

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
