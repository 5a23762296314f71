# Two commands do all set-up on a fresh machine:
#   make book   run every chapter with papermill (PROFILE=paper by default), build the HTML book
#   make test   the test suite (unit, property, every chapter in the quick profile, book build)
# Each creates .venv on first use with the pinned versions of constraints.txt.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PROFILE ?= paper
JOBS    ?= 1
STAMP   := $(VENV)/.bmlab-installed

.PHONY: book test venv reproduce build claims clean

venv: $(STAMP)

$(STAMP): requirements.in constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt -r requirements.in
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

book: venv
	$(BIN)/bmlab reproduce --profile $(PROFILE) --jobs $(JOBS)
	$(BIN)/bmlab build
	$(BIN)/bmlab claims

reproduce: venv
	$(BIN)/bmlab reproduce --profile $(PROFILE) --jobs $(JOBS)

build: venv
	$(BIN)/bmlab build

claims: venv
	$(BIN)/bmlab claims

test: venv
	$(BIN)/python -m pytest

clean:
	rm -rf _build data/results
