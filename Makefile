# synthlab: the two commands a new user needs are `make demo` and `make test`.
# Both create .venv if it is missing. TORCH_SPEC pins the CPU build of PyTorch that this project's machines carry;
# a GPU user can override it, e.g. `make test TORCH_SPEC='torch==2.13.0' PIP_EXTRA='--index-url https://...'`.
PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PIP_EXTRA  ?=
PORT       ?= 8866
PYTEST_ARGS ?=
BIN        := $(VENV)/bin

.PHONY: demo test test-fast docs export clean-nbs bench help
help:
	@echo "make demo   - set up .venv and serve the dashboards on http://127.0.0.1:$(PORT)"
	@echo "make test   - set up .venv (dev extras) and run every test"
	@echo "make docs   - build the Quarto docs with nbdev-docs (needs Quarto installed)"
	@echo "make export - nbdev-export + nbdev-clean (notebooks -> synthlab/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the stamp files re-run the install when pyproject.toml changes
$(VENV)/.stamp-base: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(PIP_EXTRA) '$(TORCH_SPEC)'
	$(BIN)/pip install --quiet $(PIP_EXTRA) -e '.[dashboards]'
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-base
	$(BIN)/pip install --quiet $(PIP_EXTRA) -e '.[dev]'
	touch $@

demo: $(VENV)/.stamp-base
	$(BIN)/synthlab dashboard --port $(PORT)

test: $(VENV)/.stamp-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

docs: $(VENV)/.stamp-dev
	@command -v quarto >/dev/null || { echo "Quarto is not installed: install it from https://quarto.org, then rerun make docs (tests/test_docs.py checks the docs offline)."; exit 1; }
	$(BIN)/nbdev-export && $(BIN)/nbdev-docs

export: $(VENV)/.stamp-dev
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean

bench: $(VENV)/.stamp-dev
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done
