# The two quickstart commands:
#   make quickstart   set up (.venv, Python >= 3.12 found automatically) and run the quickstart
#   make test         set up and run the test suite (fast subset; `make test-all` for everything)
PY := .venv/bin/python

.PHONY: setup quickstart test test-all bench lint

setup:
	@bash scripts/bootstrap.sh

quickstart: setup
	$(PY) -m collectsim run experiments/quickstart.toml

test: setup
	$(PY) -m pytest -q -n auto --dist loadfile

test-all: setup
	$(PY) -m pytest -q -n auto --dist loadfile --runslow

bench: setup
	$(PY) benchmarks/throughput.py

lint: setup
	$(PY) -m ruff check collectsim tests benchmarks
