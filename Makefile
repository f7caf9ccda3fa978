# The README's commands. Everything a fresh machine needs is installed from here.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(CURDIR)/.bin
PYTEST_ARGS ?=
# pytest-xdist processes for the whole suite (a test file runs in one of them; image builds take a lock)
TEST_WORKERS ?= 2
IMAGES_ARGS ?=

.PHONY: setup toxiproxy demo test test-fast stories-dialects images bench lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "taxstorm needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

toxiproxy: $(VENV)/.installed
	$(PY) -m taxstorm.chaos.toxiproxy.install --bin-dir $(BIN)

setup: $(VENV)/.installed toxiproxy

demo: setup
	@mkdir -p reports
	@$(VENV)/bin/taxstorm run scenarios/smoke.yaml --report-dir reports; code=$$?; \
	  echo "reports: $(CURDIR)/reports/ (newest: $$(ls -td reports/*/ | head -n 1)result.json)"; exit $$code

test: setup lint
	scripts/ensure-postgres.sh
	scripts/ensure-docker.sh
	scripts/ensure-compose.sh
	scripts/ensure-chromium.sh
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The fast tier: verdict logic, gates, reconciliation, the guard, the platform in-process; no servers, seconds.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

# Every library story that applies on every other dialect (resilient passes, naive fails the story's native gate,
# the dialect's SDK client passes); the suite runs smoke on each.
stories-dialects: setup
	TAXSTORM_DIALECT_STORIES=all $(PY) -m pytest tests/integration/test_scenario_library.py -k dialect $(PYTEST_ARGS)

# taxstorm:dev, its local base and the Toxiproxy image, built without a registry (needs a running Docker engine).
images: setup
	scripts/ensure-docker.sh
	scripts/build-images.sh $(IMAGES_ARGS)

BENCHMARKS := $(filter-out benchmarks/bare_server.py benchmarks/locust_probe.py,$(wildcard benchmarks/*.py))

bench: setup
	scripts/ensure-wrk.sh
	@set -e; for bench in $(BENCHMARKS); do echo "== $$bench"; $(PY) "$$bench"; done

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(BIN) reports wheelhouse .pytest_cache .mypy_cache .ruff_cache
