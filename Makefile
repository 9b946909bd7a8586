# The two commands from README.md: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEV_ENV := DEBUG=true

.PHONY: run test lint migrate install install-dev clean bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

var:
	mkdir -p var/media var/static var/celery/queue var/devmail

migrate: install var
	$(DEV_ENV) $(PY) manage.py migrate --no-input

# devmail, web, Celery worker and beat on embedded defaults (SQLite, filesystem
# broker); DATABASE_URL / CELERY_BROKER_URL in .env switch to PostgreSQL / Redis.
run: migrate
	$(DEV_ENV) $(PY) manage.py setup_demo
	$(DEV_ENV) $(VENV)/bin/honcho -f Procfile.dev start

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/python manage.py makemigrations --check --dry-run --settings=tests.settings

test: install-dev lint
	$(VENV)/bin/pytest

# Benchmarks (not part of make test): see README "Performance".
bench: install-dev
	$(PY) -m bench

clean:
	rm -rf $(VENV) var
