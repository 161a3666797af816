# The two commands a newcomer needs: `make serve` and `make test`. Both set themselves up from nothing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# `serve` reads LEAD_SANDBOX_HOST/PORT itself, but these are passed as flags (which beat the environment):
# so they start from the environment too, and `make serve` follows an exported LEAD_SANDBOX_PORT.
HOST   ?= $(or $(LEAD_SANDBOX_HOST),127.0.0.1)
PORT   ?= $(or $(LEAD_SANDBOX_PORT),4010)

.PHONY: serve test contract bench soak drift docs-check keys reset lint typecheck clean constraints

# First run: says what it installs (about a minute) instead of staying silent; pins come from constraints.txt.
$(STAMP): pyproject.toml setup.py constraints.txt
	@echo "==> setting up $(VENV) (first run, or pyproject.toml, setup.py or constraints.txt changed)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip"
	$(PY) -m pip install --quiet --upgrade pip
	@echo "==> installing lead-sandbox (editable) with the pinned dependencies of constraints.txt (about a minute)"
	$(PY) -m pip install --progress-bar on --constraint constraints.txt -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) ready"

constraints:  ## re-pin constraints.txt from a fresh environment (after changing dependencies in pyproject.toml)
	rm -rf .venv-pin && $(PYTHON) -m venv .venv-pin && .venv-pin/bin/pip install --quiet --upgrade pip
	.venv-pin/bin/pip install --quiet -e '.[dev]'
	{ head -2 constraints.txt; .venv-pin/bin/pip freeze --exclude-editable | grep -v '^lead-sandbox'; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-pin

# Editable installs are not byte-compiled (pip compiles only what it copies), and with PYTHONDONTWRITEBYTECODE
# set nothing ever writes the cache: about 0.1 s of every start. Up-to-date files are skipped.
BYTECODE := $(PY) -m compileall -q sandbox contracts fixtures

serve: $(STAMP)  ## start every API on http://127.0.0.1:4010 (seeded, keys printed)
	@$(BYTECODE)
	$(PY) -m sandbox serve --host $(HOST) --port $(PORT)

test: $(STAMP)  ## unit, HTTP and contract tests; JUnit XML in reports/
	$(PY) -m pytest --junitxml=reports/pytest.xml

contract: $(STAMP)  ## the contract suite for one API against a fresh sandbox: make contract API=hadar
	$(PY) -m sandbox contract --api $(or $(API),hadar) --junit-xml reports/contract-$(or $(API),hadar).xml

bench: $(STAMP)  ## the sandbox vs Prism (wrk), seeding, cursor pages at 1M, contract durations
	$(PY) -m pip install --quiet --constraint constraints.txt -e '.[dev,bench]'
	bash bench/setup.sh
	@$(BYTECODE)
	$(PY) bench/run.py $(BENCH_ARGS)

soak: $(STAMP)  ## mixed load on all five APIs for SOAK_SECONDS (default 300): req/s, p99, RSS, db size per minute
	@$(BYTECODE)
	$(PY) bench/soak.py

SEEDS ?= ../shared/seeds

drift: $(STAMP)  ## re-run docs-check over the vendor pages (SEEDS=DIR) and refresh docs/vendor-docs-drift.md
	@test -d "$(SEEDS)" || { echo "make drift: no vendor pages in $(SEEDS); point SEEDS=DIR at them" >&2; exit 2; }
	$(PY) -m sandbox.contracts.docs_check "$(SEEDS)"

docs-check: $(STAMP)  ## check the README's examples against the specs and a fresh sandbox
	$(PY) -m sandbox docs-check --api all README.md

keys: $(STAMP)  ## the test keys, with URLs on the server `make serve` starts (same HOST and PORT)
	$(PY) -m sandbox keys --host $(HOST) --port $(PORT)

reset: $(STAMP)
	$(PY) -m sandbox reset

lint: $(STAMP)  ## ruff, the import layers of docs/architecture.md, and mypy
	$(VENV)/bin/ruff check sandbox contracts fixtures tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy --strict sandbox/core
	$(VENV)/bin/mypy sandbox contracts

typecheck: $(STAMP)  ## mypy: --strict on the domain core, checked-untyped-defs on the rest
	$(VENV)/bin/mypy --strict sandbox/core
	$(VENV)/bin/mypy sandbox contracts

clean:
	rm -rf $(VENV) .lead-sandbox reports build
