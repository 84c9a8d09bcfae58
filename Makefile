# valgen: two commands set everything up on a fresh machine.
#   make demo   the main job on the embedded moto target
#   make test   lint, types and the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
SYSTEM_PACKAGES := libharfbuzz-subset0 fonts-freefont-ttf poppler-utils chromium
.PHONY: demo test lint system venv lock clean

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@touch $@

venv: system $(VENV)/.installed

# System libraries WeasyPrint and the tests need; installed with apt when missing (needs root).
system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "run as root or install:$$missing" >&2; exit 2; fi; \
	fi

demo: venv
	$(VENV)/bin/valgen demo

lint: venv
	$(VENV)/bin/ruff check generator tests bench qualification conf.py
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/python -m pytest -q -n 2 tests

lock:
	rm -rf .lockenv && python3 -m venv .lockenv && .lockenv/bin/pip install --quiet -e '.[dev]' && \
	  .lockenv/bin/pip freeze --exclude-editable | grep -v '^valgen' > requirements.lock && rm -rf .lockenv

clean:
	rm -rf build runs .mypy_cache .ruff_cache
