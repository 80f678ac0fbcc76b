# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 11112
# apt-get needs root; use sudo without a prompt when we are not root.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo "sudo -n")

.PHONY: run test lint format docs unit bench bench-echo bench-store bench-archive bench-retrieve bench-startup bench-many bench-index bench-ingest dcmtk clean

$(STAMP): pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# DCMTK is the reference peer of the interop tests and benchmarks; jq runs in a README example;
# PostgreSQL's server (initdb, pg_ctl) is the archive's shared index in the tests, which start
# their own server in a temporary directory (Debian keeps it under /usr/lib/postgresql/*/bin).
dcmtk:
	@command -v storescp >/dev/null 2>&1 && command -v jq >/dev/null 2>&1 || { \
	  echo "installing DCMTK (reference peer for interop tests) and jq (the README's examples)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dcmtk jq >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  echo "installing PostgreSQL (the archive's shared index in the tests)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; }

# The archive on $(PORT): ./dcmqrscp.cfg when there is one, else the built-in default
# (AE title ARCHIVE, storage area ./archive, SQLite index inside it).
run: $(STAMP)
	@echo "dicomwire: dcmqrscp (the archive) on port $(PORT)"
	@echo "  check it:    $(BIN)/echoscu -v -aec ARCHIVE localhost $(PORT)"
	@echo "  send images: $(BIN)/storescu -v -aec ARCHIVE localhost $(PORT) +sd +r <directory>"
	@echo "  query:       $(BIN)/findscu -v -S -aec ARCHIVE -k QueryRetrieveLevel=STUDY -k PatientName -k StudyInstanceUID localhost $(PORT)"
	@echo "  get a study: mkdir -p got && $(BIN)/getscu -v -S -aec ARCHIVE -od got -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=<uid> localhost $(PORT)"
	@echo "  move it:     mkdir -p moved && $(BIN)/movescu -v -S -aec ARCHIVE -aem MOVESCU +P 11113 -od moved -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=<uid> localhost $(PORT)"
	@echo "  stop it:     Ctrl-C"
	$(BIN)/dcmqrscp -v $(PORT)

test: $(STAMP) dcmtk lint
	$(BIN)/python -m pytest -q

# The documentation site (guide, architecture, API reference from the docstrings) into ./site.
docs: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[docs]'
	$(BIN)/mkdocs build --strict

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not interop"

# One formatter (ruff format) for the whole tree; `make format` applies it.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools docs
	$(BIN)/ruff format --check src tests bench tools docs
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench tools docs
	$(BIN)/ruff format src tests bench tools docs

bench: bench-echo bench-store bench-archive bench-retrieve bench-startup bench-many bench-index bench-ingest

bench-echo: $(STAMP) dcmtk
	$(BIN)/python -m bench.echo

bench-store: $(STAMP) dcmtk
	$(BIN)/python -m bench.store

bench-archive: $(STAMP) dcmtk
	$(BIN)/python -m bench.archive

bench-retrieve: $(STAMP) dcmtk
	$(BIN)/python -m bench.retrieve

bench-startup: $(STAMP) dcmtk
	$(BIN)/python -m bench.startup

bench-many: $(STAMP) dcmtk
	$(BIN)/python -m bench.many

bench-index: $(STAMP)
	$(BIN)/python -m bench.index

bench-ingest: $(STAMP) dcmtk
	$(BIN)/python -m bench.ingest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
