# mlsys-course: `make lab` opens the course, `make test` runs every test. Both set up .venv first if needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# constraints.txt pins the versions that produced the stored notebook outputs (Python 3.11+).
# On Python 3.10 those pins do not exist; the newest versions for 3.10 are installed instead.
LOCK   := $(shell $(PYTHON) -c 'import sys; print("-c constraints.txt" if sys.version_info >= (3, 11) else "")' 2>/dev/null)

.PHONY: help setup lab test outputs html student bench lock clean

help:
	@echo "make lab      set up .venv if needed and open the course in JupyterLab"
	@echo "make test     set up .venv if needed and run every test (unit tests, doctests, every notebook)"
	@echo "make outputs  re-execute every notebook in place (the only way stored outputs are made)"
	@echo "make html     execute every notebook into build/html, a browsable edition with an index"
	@echo "make student  write a student edition into build/student: solution cells blanked, no outputs"
	@echo "make bench    time and measure memory of every notebook and of the data generator"
	@echo "make lock     re-pin constraints.txt to what .venv has now"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(LOCK) -e ".[course,test,tracking]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/python tools/notebooks.py lab

test: $(STAMP)
	$(BIN)/python -m pytest

outputs: $(STAMP)
	$(BIN)/python tools/notebooks.py execute

html: $(STAMP)
	$(BIN)/python tools/notebooks.py html

student: $(STAMP)
	$(BIN)/python tools/notebooks.py student

bench: $(STAMP)
	$(BIN)/python tools/bench.py
	$(BIN)/python tools/bench_sampling.py
	$(BIN)/python tools/bench_labeling.py
	$(BIN)/python tools/bench_features.py
	$(BIN)/python tools/bench_leakage.py
	$(BIN)/python tools/bench_serving.py
	$(BIN)/python tools/bench_loadtest.py
	$(BIN)/python tools/bench_runtimes.py
	$(BIN)/python tools/bench_batch.py
	$(BIN)/python tools/bench_drift.py
	$(BIN)/python tools/bench_bandits.py

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^mlsys-course' > constraints.txt

clean:
	rm -rf $(VENV) build
