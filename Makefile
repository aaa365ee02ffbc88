# hooklab — the two commands: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_STAMP := $(VENV)/.installed-lab

.PHONY: lab test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make test` installs the test extra too (pytest, the providers' SDKs, JupyterHub, ...);
# `make lab` only what the notebooks need, unless the tests' install is there already.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $(STAMP) $(LAB_STAMP)

$(LAB_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	touch $(LAB_STAMP)

# An editable install does not install the server extension's config file, so enable it here.
lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks \
		--ServerApp.jpserver_extensions="{'hooklab.serverext': True}" \
		$(if $(filter 0,$(shell id -u)),--allow-root,) \
		$(if $(wildcard notebooks/01-quickstart.ipynb),notebooks/01-quickstart.ipynb,)

# The suite runs on up to 4 pytest-xdist workers (two per CPU: most tests wait on sockets, kernels
# and browsers), each test file on one worker (its servers, kernels and browsers set up once), the
# longest files handed out first (tests/conftest.py); tests/_http.py gives each worker its ports.
# The docstring examples (`pytest --doctest-modules hooklab`) and the example notebooks (nbval,
# from a copy outside the repository, as a user who downloaded them or opened them on Binder
# after `pip install hooklab` runs them: nothing of the repo is in reach) are two tests of the
# suite, tests/test_examples_run.py, each its own pytest: they run beside the other files.
# compileall first: the suite starts hundreds of Python processes (the CLI, serve, kernels,
# helper scripts), and where no bytecode is cached (a fresh clone, PYTHONDONTWRITEBYTECODE set)
# each one compiled hooklab from source again, ~0.3 s of CPU per process. pytest itself runs
# with PYTHONDONTWRITEBYTECODE emptied (a set value would stop it keeping its rewritten test
# modules): each worker otherwise rewrote every test file's asserts again, ~12 s of CPU each.
test: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/python -m compileall -q hooklab tests
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest tests -n auto --maxprocesses=4 --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check

# bench/ingest.py compares against uvicorn apps: the `bench` extra brings them.
$(VENV)/.bench-installed: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(STAMP) $(VENV)/.bench-installed
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/frame.py

clean:
	rm -rf $(VENV) .hooklab notebooks/.hooklab build *.egg-info
