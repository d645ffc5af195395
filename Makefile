# Every target sets up what it needs: a .venv with daskglm installed (editable)
# and the extras the target uses. Only python3 (3.11+) and pip are assumed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
# Keep BLAS from oversubscribing the cores dask's worker threads already use.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: demo test lint bench docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[$*]"
	touch $@

demo: $(VENV)/.installed-test
	$(PY) examples/demo.py

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

# ruff (lint and import order) over the repository, mypy over the modules
# pyproject.toml's [tool.mypy] lists
lint: $(VENV)/.installed-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(VENV)/.installed-bench
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.formula_claims
	$(PY) -m benchmarks.families_vs_glum

docs: $(VENV)/.installed-docs
	$(PY) -m sphinx -W -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build .pytest_cache
