# Two commands on a fresh machine:  `make book`  and  `make test`.
# Both create .venv from requirements.txt (every package pinned; made from
# requirements.in by `make lock`) on first use, and refresh it when
# requirements.txt or pyproject.toml change.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ALL_NOTEBOOKS := $(shell find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -not -path '*/_build/*' | sort)
# Which environment runs which notebook (README, "Which environment runs which
# notebook"): "companion_env": "modern" in its metadata -> .venv-modern (make
# test-modern); every other notebook -> .venv (make test).
MODERN_NOTEBOOKS := $(shell grep -l '"companion_env": "modern"' $(ALL_NOTEBOOKS) /dev/null)
NOTEBOOKS := $(filter-out $(MODERN_NOTEBOOKS),$(ALL_NOTEBOOKS))

# The book environment is CPython 3.11: TensorFlow 2.15 (and so tensorflow-ranking
# 0.5.5) stops at 3.11, and the pinned scipy, scikit-learn, matplotlib and
# ipykernel start at 3.11. (The companion package alone runs on 3.9 to 3.13:
# make test-modern.) Take python3.11 from PATH, or the one named by PYTHON=.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || \
	  { command -v python3 >/dev/null 2>&1 && python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' && echo python3; })
IS_311 := import sys; sys.exit(sys.version_info[:2] != (3, 11))

# Quiet, deterministic TensorFlow for every command below.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# Tests and notebooks spread over every core; all cells of a notebook stay on one
# worker. One thread per worker (BLAS, TensorFlow): with a worker on every core,
# more threads only compete with the other workers (12% more CPU time, measured).
PARALLEL     := -n auto --dist loadfile
ONE_THREAD   := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
                XLA_FLAGS="--xla_cpu_multi_thread_eigen=false $${XLA_FLAGS:-}"
PYTEST_UNIT  := $(ONE_THREAD) $(BIN)/python -m pytest $(PARALLEL) tests companion --doctest-modules
NBVAL_FLAGS  := --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg
BUILD_BOOK   := $(BIN)/jupyter-book build . -W --keep-going
# The chaos pass (tools/portability.py) runs strict nbval over every notebook
# that computes something, two side by side, in one configuration that varies at
# once what a reader's machine varies: TensorFlow's oneDNN ops on, TF thread
# counts, oneDNN's sgemm ISA, NumPy's SIMD level, another OpenBLAS kernel and
# thread count, and a one-ulp nudge of every generated feature and initial weight
# (COMPANION_PERTURB=ulp). It is make test's notebook check: a stored output that
# a run under all of that reproduces character for character is one this
# machine's own settings reproduce too, and one another machine's will. (`make
# nbval` runs them under this machine's settings alone.)
# The performance appendix only reads stored timings, so it is left out and runs
# under plain strict nbval. Known fragile, still open: none. A notebook whose
# figure moves is listed here only until that figure is fixed at its cause;
# plain strict nbval still runs it.
CHAOS_KNOWN_FRAGILE :=
CHAOS_NOTEBOOKS := $(filter-out book/performance.ipynb $(CHAOS_KNOWN_FRAGILE),$(NOTEBOOKS))
PLAIN_NOTEBOOKS := $(filter-out $(CHAOS_NOTEBOOKS),$(NOTEBOOKS))

.PHONY: help venv book test unit nbval portability chaos typecheck test-browser lock execute lab bench clean distclean test-modern venv-modern execute-modern bench-modern test-install-modern chaos-modern unit-modern

help:
	@echo "make book     build the HTML book into _build/html (warnings are errors)"
	@echo "make test     unit tests, strict nbval over every notebook under oneDNN, other thread"
	@echo "              counts and kernels, one-ulp nudges (the chaos pass), type check, book build"
	@echo "make test-browser  build the book and check every page in headless Chromium"
	@echo "make test-modern   companion on Python 3.13, NumPy 2, Keras 3 (TensorFlow and JAX) in .venv-modern"
	@echo "make execute  re-run every notebook in place (authors: refresh stored outputs)"
	@echo "make lab      open the notebooks in JupyterLab"
	@echo "make bench    run the benchmark scripts in bench/"
	@echo "make clean    remove build outputs and caches (keeps .venv; 'make distclean' removes it)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: no Python 3.11 found. The book environment needs CPython 3.11"; \
	  echo "       (TensorFlow 2.15 stops at 3.11; the pinned scientific stack starts at 3.11)."; \
	  echo "       Install python3.11 and run again, or pass PYTHON=/path/to/python3.11."; \
	  exit 1; fi
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; v == (3, 11) or \
	  sys.exit("error: %s is Python %d.%d; the book environment needs 3.11 (TensorFlow 2.15)." % (sys.executable, *v))'
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -c '$(IS_311)'; then \
	  echo "Existing $(VENV) is not Python 3.11; recreating it."; rm -rf $(VENV); fi
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

# The chaos pass alone (see CHAOS_NOTEBOOKS). To find out which variable moved a
# figure: $(BIN)/python tools/portability.py --configs onednn,ulp-only,tf-threads-4,isa,blas NB...
portability chaos: $(STAMP)
	$(BIN)/python tools/portability.py $(CHAOS_NOTEBOOKS)

# One pytest run over the unit tests and the notebooks the chaos pass leaves out
# (strict output comparison), the chaos pass over the others, then the type
# check and the book build with warnings as errors.
test: $(STAMP)
	$(PYTEST_UNIT) $(PLAIN_NOTEBOOKS) $(NBVAL_FLAGS)
	$(BIN)/python tools/portability.py $(CHAOS_NOTEBOOKS)
	$(BIN)/python -m mypy companion
	$(BUILD_BOOK)

# The rendered book in a real browser: Debian's Chromium (installed when missing),
# driven by Playwright, which downloads no browser; MathJax from a local copy
# (npm's mathjax@3), served in place of its CDN. See tests/browser/browser_check.py.
# The build is Sphinx's incremental one: after `make test` (as in .ci/run) it
# rewrites nothing; `make clean` first for a build from scratch.
MATHJAX_DIR := .cache/mathjax
test-browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@[ -f $(MATHJAX_DIR)/es5/tex-mml-chtml.js ] || { mkdir -p .cache && cd .cache && \
	  npm pack --silent mathjax@3.2.2 >/dev/null && tar xzf mathjax-3.2.2.tgz && rm -rf mathjax && \
	  mv package mathjax && rm mathjax-3.2.2.tgz; }
	$(BUILD_BOOK)
	MATHJAX_DIR=$(MATHJAX_DIR) $(BIN)/python -m pytest -p no:cacheprovider -n auto tests/browser/browser_check.py

# Resolve requirements.in into requirements.txt (every package pinned), in a
# fresh Python 3.11 environment.
lock:
	rm -rf .cache/lock && $(PYTHON) -m venv .cache/lock
	.cache/lock/bin/python -m pip install --quiet --upgrade pip
	.cache/lock/bin/python -m pip install --quiet -r requirements.in
	{ sed -n '1,4p' requirements.txt; .cache/lock/bin/python -m pip freeze; } > requirements.txt.new
	mv requirements.txt.new requirements.txt && rm -rf .cache/lock

# Run times go to bench/results/notebook_times.tsv (the chaos pass starts the
# longest first); the performance appendix, which reads bench/results/, runs last.
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
	@for name in listmle rbm ais doctor; do echo "== bench/bench_$$name.py"; \
	  $(BIN)/python bench/bench_$$name.py --json bench/results/$$name.json || exit 1; done

clean:
	rm -rf _build build dist .pytest_cache .mypy_cache .hypothesis .jupyter_cache .cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info

# ---------------------------------------------------------------------------
# make test-modern: companion on today's stack, in a second environment.
# .venv-modern (Python 3.13 or 3.12, NumPy 2, TensorFlow 2.21 with Keras 3, JAX
# on CPU, keras-rs) is created on first use from requirements-modern.txt. It runs
# the unit tests and doctests on the TensorFlow and the JAX backend (tests that
# need tensorflow-ranking skip there: tests/modern_plugin.py); beside them, strict
# nbval over the notebooks marked "companion_env": "modern" under the chaos
# pass's configuration (tools/portability.py), then a check that the package
# alone installs into a fresh venv with NumPy 2 and imports.
MODERN_VENV  := .venv-modern
MODERN_BIN   := $(MODERN_VENV)/bin
MODERN_STAMP := $(MODERN_VENV)/.installed
# python3.13 or python3.12 that really runs (a pyenv shim may exist for a version
# that is installed but not selected), else pyenv's own copy.
MODERN_PYTHON ?= $(shell for p in python3.13 python3.12 \
	    $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null) \
	    $$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null); do \
	  "$$p" -c 'import sys; sys.exit(not (3, 12) <= sys.version_info[:2] <= (3, 13))' >/dev/null 2>&1 && { echo "$$p"; exit 0; }; done)
MODERN_PYTEST := $(ONE_THREAD) PYTHONPATH=tests $(MODERN_BIN)/python -m pytest -p modern_plugin -p no:cacheprovider

venv-modern: $(MODERN_STAMP)

$(MODERN_STAMP): requirements-modern.txt pyproject.toml
	@if [ -z "$(MODERN_PYTHON)" ]; then \
	  echo "error: make test-modern needs CPython 3.13 or 3.12 (none found on PATH or in pyenv)."; \
	  echo "       Install one, or pass MODERN_PYTHON=/path/to/python3.13."; exit 1; fi
	@if [ -x $(MODERN_BIN)/python ] && ! $(MODERN_BIN)/python -c 'import sys; sys.exit(not (3, 12) <= sys.version_info[:2] <= (3, 13))'; then \
	  echo "Existing $(MODERN_VENV) uses another Python; recreating it."; rm -rf $(MODERN_VENV); fi
	@[ -x $(MODERN_BIN)/python ] || { echo "Creating $(MODERN_VENV) with $$($(MODERN_PYTHON) --version)"; $(MODERN_PYTHON) -m venv $(MODERN_VENV); }
	$(MODERN_BIN)/python -m pip install --quiet --upgrade pip
	$(MODERN_BIN)/python -m pip install --quiet -r requirements-modern.txt
	$(MODERN_BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(MODERN_STAMP)

# Two jobs side by side, each target's output printed when it ends: the unit
# tests (on every core), and the Keras 3 chapter under the chaos pass, then the
# install check (the chapter's kernel keeps about one core busy: measured 161 s
# of CPU in 170 s).
test-modern: $(MODERN_STAMP)
	@echo "== make test-modern: the unit tests on two backends, beside the Keras 3 chapter and the install check"
	@$(MAKE) --no-print-directory -j2 --output-sync=target unit-modern chaos-modern

unit-modern: $(MODERN_STAMP)
	@echo "== unit tests and doctests, Keras 3 on TensorFlow"
	KERAS_BACKEND=tensorflow $(MODERN_PYTEST) $(PARALLEL) -m "not book_tooling" tests companion --doctest-modules
	@echo "== unit tests and doctests, Keras 3 on JAX (test modules that run no Keras ran above)"
	KERAS_BACKEND=jax $(MODERN_PYTEST) $(PARALLEL) -m "not backend_neutral" tests companion --doctest-modules

# The Keras 3 chapter under the chaos pass, then the install check.
chaos-modern: $(MODERN_STAMP)
	@echo "== strict nbval under the chaos pass: $(MODERN_NOTEBOOKS)"
	KERAS_BACKEND=tensorflow $(MODERN_BIN)/python tools/portability.py $(MODERN_NOTEBOOKS)
	@$(MAKE) --no-print-directory test-install-modern

# pip install of the package alone (no extras), by its distribution name, into a
# fresh venv of the newest Python: it must resolve NumPy 2 and import every public
# module without TensorFlow (tools/check_install.py).
test-install-modern:
	@if [ -z "$(MODERN_PYTHON)" ]; then echo "error: no CPython 3.13 or 3.12 found; pass MODERN_PYTHON=..."; exit 1; fi
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && mkdir "$$tmp/src" && \
	  cp -r pyproject.toml README.md companion "$$tmp/src/" && { cp LICENSE* "$$tmp/src/" 2>/dev/null || true; } && \
	  $(MODERN_PYTHON) -m venv "$$tmp/venv" && \
	  echo "== pip install of training-failures-companion (import companion) alone into a fresh $$($(MODERN_PYTHON) --version) venv" && \
	  { "$$tmp/venv/bin/python" -m pip install --quiet "training-failures-companion @ file://$$tmp/src" 2>"$$tmp/pip.log" || { grep -v "is ignored" "$$tmp/pip.log"; exit 1; }; } && \
	  cd "$$tmp" && PYTHONPATH= "$$tmp/venv/bin/python" $(CURDIR)/tools/check_install.py

# Re-run the Keras 3 notebook(s) in place (authors: refresh stored outputs).
execute-modern: $(MODERN_STAMP)
	KERAS_BACKEND=tensorflow $(MODERN_BIN)/python tools/execute_notebooks.py $(MODERN_NOTEBOOKS)

bench-modern: $(MODERN_STAMP)
	$(MODERN_BIN)/python bench/bench_listmle.py --json bench/results/listmle_keras3.json
	KERAS_BACKEND=tensorflow $(MODERN_BIN)/python bench/bench_doctor.py --json bench/results/doctor_keras3.json
	KERAS_BACKEND=jax $(MODERN_BIN)/python bench/bench_doctor.py --json bench/results/doctor_keras3_jax.json
