# Two commands do all set-up on a fresh machine:
#   make book   run every chapter with papermill (PROFILE=paper by default), build the HTML book
#   make test   the test suite (unit, property, every chapter in the quick profile, book build)
# Each creates .venv on first use with the pinned versions of constraints.txt. A third, optional:
#   make lab    install the pinned JupyterLab + jupytext into .venv (first time) and open
#               JupyterLab at the book; a chapter's .md opens as a notebook

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PROFILE ?= paper
JOBS    ?= 1
STAMP   := $(VENV)/.bmlab-installed
LAB_STAMP := $(VENV)/.bmlab-lab-installed
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB_ARGS ?=
BENCH_ARGS ?=

.PHONY: book test venv reproduce build claims clean lab lab-install bench

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

lab-install: $(LAB_STAMP)

$(LAB_STAMP): $(STAMP) requirements-lab.in constraints.txt
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install --quiet \
		--disable-pip-version-check -c constraints.txt -r requirements-lab.in
	mkdir -p $(dir $(LAB_SETTINGS))
	printf '%s\n' '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_SETTINGS)
	touch $(LAB_STAMP)

# A chapter run here writes data/results/<chapter>/ like `bmlab run` (its manifest says
# "interactive": true). LAB_ARGS passes options to JupyterLab (e.g. LAB_ARGS=--no-browser).
lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/book \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf _build data/results

# Kernel benchmarks (issue 12): each benchmarks/bench_*.py prints its table; nothing is asserted.
# BENCH_ARGS is passed to every script (BENCH_ARGS=--quick: a smoke run of each, about 1.5 min;
# the full run takes about 25 CPU minutes, 15 of them bench_sdp.py).
bench: venv
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f $(BENCH_ARGS) || exit 1; done
