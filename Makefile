# Two commands a newcomer needs: `make demo` and `make test`. Both build .venv if it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
# CPU wheel here; on a GPU machine: make install TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH_INDEX ?=
PIP_TORCH_INDEX := $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX),)

.PHONY: install demo test test-all lint bench clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch is named in the same pip call so nothing (monai) can swap it for a CUDA build
	$(PY) -m pip install -q $(PIP_TORCH_INDEX) "$(TORCH_SPEC)" -e ".[dev,tensorboard]"
	$(PY) -c "import torch, monai; print('torch', torch.__version__, '| monai', monai.__version__)"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/ctbridge demo --out runs/demo --preset cpu-small

test: install
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider

test-all: install
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

bench: install
	$(PY) benchmarks/run_all.py --out runs/bench

clean:
	rm -rf $(VENV) runs build *.egg-info
