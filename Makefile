# The two commands a newcomer needs: `make run` and `make test`.
PYTHON_VERSION ?= 3.12
VENV := .venv
PY := $(VENV)/bin/python
# `make run PORT=8107` serves the demo on another port.
PORT ?= 8000
SHELL := /bin/bash

.PHONY: run test venv lock lint clean

$(VENV)/.installed: requirements.lock pyproject.toml
	@bash scripts/venv.sh $(VENV)
	@touch $@

venv: $(VENV)/.installed

run: venv
	DEBUG=1 GOCSM_DEV_TOOLS=1 $(PY) manage.py demo --port $(PORT)

test: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

# Re-pin after editing pyproject.toml. No index or download URL is written to the lock.
lock: venv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version $(PYTHON_VERSION) \
		--no-emit-index-url --no-header -o requirements.lock

clean:
	rm -rf $(VENV) var
