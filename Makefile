# Two entry points (see README): `make quickstart` and `make test`; `make docs` builds the
# docs site (warnings are errors), `make docs-gen` regenerates the example outputs in docs/.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is the default; TORCH=any lets pip choose (e.g. CUDA on a GPU node).
TORCH ?= cpu
TORCH_INDEX ?=
PIP_FLAGS := $(if $(filter cpu,$(TORCH)),-c constraints/cpu.txt) $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))

.PHONY: install quickstart test lint docs docs-gen

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints/cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(PIP_FLAGS) -e '.[dev]'
	touch $@

# Install, then train PPO on CartPole-v1 on the embedded local Ray until the
# mean episode return reaches 450.
quickstart: install
	$(BIN)/rlscale train --env CartPole-v1 --algo PPO --stop-reward 450 --stop-time 900 \
		--seed 0 --name quickstart --overwrite

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check rlscale tests
	$(BIN)/mypy rlscale

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

docs-gen: install
	$(BIN)/python docs/gen.py
