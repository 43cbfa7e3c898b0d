# Set-up is part of every entry point: `make test` and `make demo` work on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.vtonkit-installed
MEDIAPIPE := mediapipe==0.10.21
# mediapipe's heavy pose landmark model is not in the wheel; this npm package ships it (27.7 MB).
POSE_NPM := @mediapipe/pose@0.5.1675469404
POSE_HEAVY_SHA256 := 59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe
POSE_HEAVY := $(VENV)/.pose-heavy-installed

.PHONY: setup system-deps test test-fast demo bench clean-venv cli-docs architecture-docs

# The project is installed editable, so pip compiles none of its modules; with
# PYTHONDONTWRITEBYTECODE set (as on the project's machines) every process, each prep worker
# included, would compile them all again at start (~0.09 s a worker). Only changed files are redone.
setup: $(STAMP) $(POSE_HEAVY)
	$(PY) -m compileall -q vtonkit preprocess datasets crawlers vton_infer

# torch is installed first and pinned: any looser requirement pulls the multi-GB CUDA build.
# mediapipe goes in last with --no-deps: its metadata pins numpy<2 and drags a second OpenCV and
# jax, none of which it needs at run time (its real needs are project dependencies).
$(STAMP): pyproject.toml setup.py
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps $(MEDIAPIPE)
	$(PY) -c "import torch, mediapipe, cv2, scrapy; print('vtonkit environment ready: torch', torch.__version__)"
	touch $(STAMP)

# The heavy pose model goes next to the wheel's full model, where mediapipe's legacy
# Pose(model_complexity=2) looks before it would download: it then runs offline, and the
# `mediapipe` pose backend uses it (else the bundled full model). A checksum mismatch stops
# the build; no npm or no network only warns. Readable by every user: the package ships it 0750,
# which made every photo fail for users other than the one who ran make.
$(POSE_HEAVY): $(STAMP)
	@set -e; dest=$$($(PY) -c "import mediapipe, os; print(os.path.join(os.path.dirname(mediapipe.__file__), 'modules', 'pose_landmark'))"); \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	if command -v npm >/dev/null 2>&1 && (cd "$$tmp" && npm pack -q $(POSE_NPM) >/dev/null 2>&1); then \
	  tar xzf "$$tmp"/*.tgz -C "$$tmp" package/pose_landmark_heavy.tflite; \
	  echo "$(POSE_HEAVY_SHA256)  $$tmp/package/pose_landmark_heavy.tflite" | sha256sum -c --quiet; \
	  cp "$$tmp/package/pose_landmark_heavy.tflite" "$$dest/pose_landmark_heavy.tflite.part"; \
	  chmod 644 "$$dest/pose_landmark_heavy.tflite.part"; \
	  mv "$$dest/pose_landmark_heavy.tflite.part" "$$dest/pose_landmark_heavy.tflite"; \
	  echo "heavy pose model installed in $$dest"; \
	else echo "warning: could not fetch $(POSE_NPM) with npm: the pose backend uses the bundled full model"; fi
	touch $@

# Debian packages: chromium for the JavaScript-rendered crawls and the browser tests.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 && [ -z "$$VTONKIT_CHROMIUM" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; \
	  else echo "warning: chromium not found and cannot install it (not root); browser tests will skip"; fi; \
	fi
	@# Korean, Japanese and Chinese product names in PNG sheet captions (DejaVu Sans has no CJK glyphs).
	@if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq fonts-wqy-microhei >/dev/null || (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null); \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get install -y -qq fonts-wqy-microhei >/dev/null || (sudo apt-get update -qq && sudo apt-get install -y -qq fonts-wqy-microhei >/dev/null); \
	  else echo "warning: fonts-wqy-microhei not installed (not root); CJK captions in PNG sheets draw as boxes"; fi; \
	fi

# ruff (rules chosen in pyproject.toml), then the layering contract (lint-imports through
# vtonkit.architecture, which lays out the installed package map for it), then the tests, with the
# slowest ones listed so that a slow-down shows in every CI log. Test files run in parallel, one
# process per core, each file whole on one process (its module fixtures are built once), handed out
# in collection order, which tests/conftest.py starts with the costliest files (see MODULE_CPU_SECONDS).
test: setup system-deps
	$(VENV)/bin/ruff check .
	$(PY) -m vtonkit.architecture lint
	$(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder --durations=25

test-fast: setup
	$(PY) -m pytest -m "not slow"

demo: setup system-deps
	$(VENV)/bin/vtonkit demo

bench: setup
	$(PY) bench/run_all.py

cli-docs: setup
	$(PY) -m vtonkit.docs_cli --update README.md

architecture-docs: setup
	$(PY) -m vtonkit.architecture doc > docs/architecture.md

clean-venv:
	rm -rf $(VENV)
