# Two commands do all set-up on a fresh machine (Python 3.11):
#   make train   -> install into .venv, then two-phase training on the default dataset
#   make test    -> install into .venv, then the whole test suite (notebooks + pytest)
PY      ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
BIN     := $(VENV)/bin
DATA    ?=
WEIGHTS ?=
ARGS    ?=

.PHONY: install train test test-quick clean-nbs docs browser

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/.installed

train: install
	$(BIN)/twophase train $(DATA) $(if $(WEIGHTS),--weights $(WEIGHTS)) $(ARGS)

# Every notebook runs with its cells flagged `#| slow` (`make test-quick` skips them, for a fast check while editing).
# The tests write runs and checkpoints
# (~100 MB each) under a private TMPDIR that is removed afterwards, pass or fail.
TESTRUN = t=$$(mktemp -d) && trap 'rm -rf "$$t"' EXIT && export TMPDIR=$$t &&

# the docs-site and `twophase serve` tests drive Debian's Chromium (headless, through Playwright): installed here with
# apt-get when missing and this runs as root; otherwise those tests are skipped (CI sets TWOPHASE_REQUIRE_BROWSER=1,
# which makes a missing browser a failure)
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  echo "installing Debian's chromium for the browser tests" && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: no chromium (Debian package 'chromium'); the browser tests will be skipped"

# `make test`: pytest runs tests/ in JOBS processes (pytest-xdist); tests/test_notebooks.py runs each notebook through
# nbdev-test in a process of its own, so the notebooks share the cores with the other tests and no process accumulates
# every notebook's memory. Each worker gets cores/JOBS torch threads (tests/conftest.py).
JOBS    ?= 2
test: install browser
	$(TESTRUN) $(BIN)/python -m pytest -q -n $(JOBS) --dist loadscope --durations=40 tests

test-quick: install
	$(TESTRUN) $(BIN)/nbdev-test --n-workers 1 --timing

# the documentation site, from the notebooks, into _docs/ (tools/build_docs.py: nbdev + Quarto or MkDocs)
docs: install
	$(BIN)/python tools/build_docs.py $(ARGS)

# after editing notebooks: export the modules and strip outputs/metadata before committing
clean-nbs: install
	$(BIN)/python tools/make_readme.py
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean
