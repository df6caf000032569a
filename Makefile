# The README's two commands: `make run` and `make test`. Each creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= examples/togglbridge.yaml
ARGS ?=

.PHONY: run test lint typecheck unit install clean bench constraints

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "togglbridge needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Trying it out: demo secrets unless you set your own, so examples/send_github_push.py works at once, and the
# example calendar (a week of sample meetings) for the example rule file's alice-work.
# Never expose a bridge that runs with the demo secrets.
run: $(STAMP)
	TOGGLBRIDGE_GITHUB_SECRET="$${TOGGLBRIDGE_GITHUB_SECRET:-togglbridge-demo-secret}" \
	TOGGLBRIDGE_WEBHOOK_SECRET="$${TOGGLBRIDGE_WEBHOOK_SECRET:-whsec_dG9nZ2xicmlkZ2UtZGVtby1zZWNyZXQ=}" \
	ALICE_CALENDAR_ICS="$${ALICE_CALENDAR_ICS:-file://$(CURDIR)/examples/calendar.ics}" \
	$(BIN)/togglbridge up --config $(CONFIG) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy togglbridge workers tests bench

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.calendar
	$(BIN)/python -m bench.latency
	$(BIN)/python -m bench.memory

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info

# constraints.txt: the versions the image installs (the Dockerfile uses -c constraints.txt), resolved for Linux and
# the image's Python whatever this machine runs. Keeps the current pins and resolves what pyproject.toml changed;
# `make constraints UPGRADE=1` moves every pin to the newest release. uv runs from a throwaway venv so .venv
# keeps its own versions.
IMAGE_PYTHON := 3.11
UV_VERSION ?= 0.13.9
constraints:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp" && "$$tmp/bin/python" -m pip install --quiet "uv==$(UV_VERSION)" && \
	"$$tmp/bin/uv" pip compile pyproject.toml --extra monitoring \
		--python-version $(IMAGE_PYTHON) --python-platform linux $(if $(UPGRADE),--upgrade) \
		--custom-compile-command "make constraints" --quiet --output-file constraints.txt
