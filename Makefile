# Two commands on a fresh machine:  `make book`  and  `make test`.
# Both create .venv from requirements.txt on first use (and refresh it when
# requirements.txt or pyproject.toml change).

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ALL_NOTEBOOKS := $(shell find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -not -path '*/_build/*' | sort)
# A notebook whose metadata says "companion_env": "modern" runs in .venv-modern
# (Keras 3, NumPy 2: make test-modern); every other one in .venv (make test).
MODERN_NOTEBOOKS := $(shell grep -l '"companion_env": "modern"' $(ALL_NOTEBOOKS) /dev/null)
NOTEBOOKS := $(filter-out $(MODERN_NOTEBOOKS),$(ALL_NOTEBOOKS))

# TensorFlow 2.15 (and so tensorflow-ranking 0.5.5) supports CPython 3.9 to 3.11.
# Take the newest supported interpreter on PATH, or the one named by PYTHON=.
SUPPORTED := 3.11 3.10 3.9
PYTHON ?= $(shell for v in $(SUPPORTED); do \
	    command -v python$$v >/dev/null 2>&1 && { echo python$$v; exit 0; }; done; \
	  command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 11)))' && echo python3)

# Quiet, deterministic TensorFlow for every command below.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

PYTEST_UNIT  := $(BIN)/python -m pytest tests companion --doctest-modules
NBVAL_FLAGS  := --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg
BUILD_BOOK   := $(BIN)/jupyter-book build . -W --keep-going

.PHONY: help venv book test unit nbval typecheck execute lab bench clean distclean

help:
	@echo "make book     build the HTML book into _build/html (warnings are errors)"
	@echo "make test     unit tests, type check, strict nbval over every notebook, book build"
	@echo "make execute  re-run every notebook in place (authors: refresh stored outputs)"
	@echo "make lab      open the notebooks in JupyterLab"
	@echo "make bench    run the benchmark scripts in bench/"
	@echo "make clean    remove build outputs and caches (keeps .venv; 'make distclean' removes it)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: no supported Python found. This book needs CPython 3.9, 3.10 or 3.11"; \
	  echo "       (TensorFlow 2.15 and tensorflow-ranking 0.5.5 do not support newer versions)."; \
	  echo "       Install python3.11 and run again, or pass PYTHON=/path/to/python3.11."; \
	  exit 1; fi
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; ok = (3, 9) <= v <= (3, 11); \
	  ok or sys.exit("error: %s is Python %d.%d; this book needs 3.9, 3.10 or 3.11 (TensorFlow 2.15)." % (sys.executable, *v))'
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c 'import sys; sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 11)))'; then \
	  echo "Existing $(VENV) uses an unsupported Python; recreating it."; rm -rf $(VENV); fi
	@[ -x $(BIN)/python ] || { echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

book: $(STAMP)
	$(BUILD_BOOK)
	@echo "The book is at $(CURDIR)/_build/html/index.html"

unit: $(STAMP)
	$(PYTEST_UNIT)

typecheck: $(STAMP)
	$(BIN)/python -m mypy companion

nbval: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL_FLAGS) $(NOTEBOOKS)

# One pytest run over the unit tests and every notebook (strict output comparison),
# then the type check and the book build with warnings as errors.
test: $(STAMP)
	$(PYTEST_UNIT) $(NOTEBOOKS) $(NBVAL_FLAGS)
	$(BIN)/python -m mypy companion
	$(BUILD_BOOK)

# The performance appendix reads the times of the other notebooks: run it last.
PERF_NB := book/performance.ipynb
execute: $(STAMP)
	$(BIN)/python tools/execute_notebooks.py --times bench/results/notebook_times.tsv $(filter-out $(PERF_NB),$(NOTEBOOKS))
	$(BIN)/python tools/execute_notebooks.py $(PERF_NB)

lab: $(STAMP)
	@$(BIN)/python -c 'import jupyterlab' 2>/dev/null || $(BIN)/python -m pip install --quiet -r requirements-lab.txt
	$(BIN)/jupyter lab book

# Writes bench/results/*.json, which the performance appendix reads (then run
# `make execute` to refresh it).
bench: $(STAMP)
	@for name in listmle rbm doctor; do echo "== bench/bench_$$name.py"; \
	  $(BIN)/python bench/bench_$$name.py --json bench/results/$$name.json || exit 1; done

clean:
	rm -rf _build .pytest_cache .mypy_cache .hypothesis .jupyter_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
