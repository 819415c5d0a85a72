# gensys: two entry points that work on a fresh machine with Python 3.11+ and make.
#   make demo   create .venv, install, train DDPM on the bundled digits, write samples + metrics
#   make test   create .venv, install, run the whole test suite
#   make test-fast  the unit and property tests not marked slow (the edit-test loop)
#   make compare  every family trained on digits under one budget; writes the comparison report
#   make bench    gensys against PyTorch diffusers (own venv .venv-peer); writes the speed report
#   make bench-quick  the same in one round, training step and DDIM-50 only (development)
#   make gpu-check  the CIFAR-10 step, samplers and configs on whatever accelerator JAX sees
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORKDIR ?= runs/ddpm_digits
PYTEST_WORKERS ?= 2

PEER := .venv-peer
PEER_STAMP := $(PEER)/.installed

.PHONY: demo test test-fast compare bench bench-quick gpu-check lint install clean

$(STAMP): requirements.txt requirements-dev.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m experiments.main --config=experiments/configs/ddpm_digits.py --workdir=$(WORKDIR)
	@echo "samples: $(WORKDIR)/samples/  metrics: $(WORKDIR)/metrics.jsonl  checkpoints: $(WORKDIR)/checkpoints/"

compare: $(STAMP)
	$(PY) -m benchmarks.compare --dataset=digits
	@echo "report: benchmarks/results/compare_digits.md"

$(PEER_STAMP): benchmarks/requirements-peer.txt
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/python -m pip install --quiet --upgrade pip
	$(PEER)/bin/python -m pip install --quiet -r benchmarks/requirements-peer.txt
	touch $(PEER_STAMP)

bench: $(STAMP) $(PEER_STAMP)
	$(PY) -m benchmarks.vs_pytorch --peer_python=$(PEER)/bin/python
	@echo "report: benchmarks/results/vs_pytorch.md"

bench-quick: $(STAMP) $(PEER_STAMP)
	$(PY) -m benchmarks.vs_pytorch --peer_python=$(PEER)/bin/python --quick
	@echo "report: benchmarks/results/vs_pytorch_quick.md (not committed)"

gpu-check: $(STAMP)
	$(PY) -m benchmarks.gpu_check
	@echo "report: benchmarks/results/gpu_check.md"

test: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist=loadfile -q

test-fast: $(STAMP)
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist=loadfile -q -m "not slow" tests/unit tests/property

lint: $(STAMP)
	$(VENV)/bin/ruff check gensys experiments tests

clean:
	rm -rf $(VENV) $(PEER) .cache runs
