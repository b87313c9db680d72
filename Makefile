# mlsys-course: `make lab` opens the course, `make test` runs every test. Both set up .venv first if needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# constraints.txt pins the versions that produced the stored notebook outputs (Python 3.11+).
# On Python 3.10 those pins do not exist; the newest versions for 3.10 are installed instead.
LOCK   := $(shell $(PYTHON) -c 'import sys; print("-c constraints.txt" if sys.version_info >= (3, 11) else "")' 2>/dev/null)

.PHONY: help setup lab test outputs html student site bench lock clean

help:
	@echo "make lab      set up .venv if needed and open the course in JupyterLab"
	@echo "make test     set up .venv if needed and run every test (unit tests, doctests, every notebook)"
	@echo "make outputs  re-execute every notebook in place (the only way stored outputs are made)"
	@echo "make html     execute every notebook into build/html, a browsable edition with an index"
	@echo "make student  write a student edition into build/student: solutions replaced by NOT_ANSWERED placeholders, no outputs"
	@echo "make site     build the course site into build/site/html from the stored outputs (offline)"
	@echo "make bench    time and measure memory of every notebook and of the data generator"
	@echo "make lock     re-pin constraints.txt to what .venv has now"

# Setup installs with uv when it is on PATH or pip can fetch it into build/uv (about 30 s on a cold cache),
# with pip otherwise (about a minute). INSTALLER=pip forces pip; INSTALLER=uv fails rather than fall back.
# Either way: the same pins, the same extras, and pip inside .venv (uv venv --seed): MLflow asks pip for
# its version while logging a model (06a), and make lock runs pip freeze. --compile-bytecode as pip does:
# without .pyc files a fresh process allocates more while importing, and 07a's measured memory peaks differ.
INSTALLER ?= auto
UV_HOME   ?= build/uv
EXTRAS    := -e ".[course,test,tracking]"
# uv does not read pip's configuration: pip's package sources on this machine (pip.conf files and PIP_*
# variables: index-url, extra-index-url, find-links, no-index, constraint) are passed to uv, and
# --index-strategy unsafe-best-match picks versions across the indexes as pip does.
# (make's shell function joins the lines: one statement per line, each ending in ;)
define PIP_TO_UV
import ast, subprocess, sys; \
lines = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout.splitlines(); \
rank = {"global": 0, "install": 1, ":env:": 2}; \
keyed = [(line.partition("=")[0].rpartition("."), line.partition("=")[2]) for line in lines]; \
conf = {name: ast.literal_eval(value) for _, (section, _, name), value in sorted((rank.get(k[0], -1), k, v) for k, v in keyed) if section in rank}; \
flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links", "constraint": "--constraint"}; \
args = [word for name, flag in flags.items() for value in conf.get(name, "").split() for word in (flag, value)]; \
print(" ".join(args + ["--no-index"] * (conf.get("no-index", "0").lower() in ("1", "true", "yes", "on"))))
endef
UV_SOURCES = $(shell $(PYTHON) -c '$(PIP_TO_UV)' 2>/dev/null)

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@set -euf; uv=$$(command -v uv || echo $(UV_HOME)/bin/uv); \
	if [ "$(INSTALLER)" != pip ] && { [ -x "$$uv" ] || $(PYTHON) -m pip install --quiet --target $(UV_HOME) uv; }; then \
	  echo "setup: installing with $$($$uv --version) ($$uv)"; \
	  [ -x $(BIN)/python ] || $$uv venv --quiet --seed --python $(PYTHON) $(VENV); \
	  $$uv pip install --quiet --compile-bytecode --python $(BIN)/python --index-strategy unsafe-best-match $(UV_SOURCES) $(LOCK) $(EXTRAS); \
	elif [ "$(INSTALLER)" = uv ]; then \
	  echo "setup: INSTALLER=uv, but uv is not on PATH and pip could not fetch it" >&2; exit 1; \
	else \
	  echo "setup: installing with pip (INSTALLER=$(INSTALLER))"; \
	  $(PYTHON) -m venv $(VENV); \
	  $(BIN)/python -m pip install --quiet --upgrade pip; \
	  $(BIN)/python -m pip install --quiet $(LOCK) $(EXTRAS); \
	fi
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

# The site's tools (the docs extra) are installed on first use, so setup stays as fast without them.
DOCS_STAMP := $(VENV)/.docs-stamp
$(DOCS_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet $(LOCK) -e ".[docs]"
	touch $(DOCS_STAMP)

site: $(DOCS_STAMP)
	$(BIN)/python tools/site.py

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
