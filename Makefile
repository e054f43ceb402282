# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 2

.PHONY: run test lint format bench clean messages

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the pinned requirements change.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

run: $(STAMP)
	$(PY) -m finops.devstack

# Line coverage of the product's packages is printed after the tests (pyproject.toml: tool.coverage), and the
# twenty slowest tests: where to look when CI nears its 30 minutes.
test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --cov --cov-report=term --durations=20 $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The Chinese catalogue: new marked strings into locale/zh_Hans/LC_MESSAGES/django.po, then the .mo
# compiled (pure Python, no GNU gettext needed; docs/i18n.md). Translate the new empty msgstr, run it again.
messages: $(STAMP)
	$(PY) manage.py messages

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
