# hooklab — the two commands: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	touch $(STAMP)

# An editable install does not install the server extension's config file, so enable it here.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks \
		--ServerApp.jpserver_extensions="{'hooklab.serverext': True}" \
		$(if $(filter 0,$(shell id -u)),--allow-root,) \
		$(if $(wildcard notebooks/01-quickstart.ipynb),notebooks/01-quickstart.ipynb,)

# The suite runs on up to 4 pytest-xdist workers (one per CPU), each test file on one worker (its
# servers, kernels and browsers set up once); tests/_http.py gives each worker its own ports.
# The example notebooks run from a copy outside the repository, as a user who downloaded them (or
# opened them on Binder after `pip install hooklab`) runs them: nothing of the repo is in reach.
test: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/python -m pytest --doctest-modules hooklab
	$(BIN)/python -m pytest tests -n auto --maxprocesses=4 --dist loadfile
	nb=$$(mktemp -d) && cp notebooks/*.ipynb notebooks/sanitize.cfg conftest.py "$$nb"/ && \
	  (cd "$$nb" && "$(CURDIR)/$(BIN)/python" -m pytest -p no:cacheprovider --rootdir . \
	    --nbval --nbval-sanitize-with sanitize.cfg *.ipynb); status=$$?; rm -rf "$$nb"; exit $$status

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
	rm -rf $(VENV) .hooklab build *.egg-info
