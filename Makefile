# Two commands do all set-up on a fresh machine:
#   make demo   trains briefly on the built-in synthetic scenes, writes GIFs + a checkpoint
#   make test   runs the test suite (all of it; `make test-fast` skips the slow tests:
#               subprocess kills, two-worker clusters, the wheel install)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_out

.PHONY: demo test test-fast install clean

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,serving]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m tools.train --synthetic --preset=tiny_demo --model_dir=$(DEMO_DIR)
	@echo "Samples and checkpoint written to $(DEMO_DIR)/"

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q tests

test-fast: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q -m "not slow" tests

clean:
	rm -rf $(VENV) $(DEMO_DIR) *.egg-info
