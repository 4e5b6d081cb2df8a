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

# After the whole suite, the tests whose outcome depends on the machine's size (the resource
# plan, the presets' batches, the CLI's dry runs and errors) again as on a 16- and a 36-core
# node: tests/conftest.py makes RLSCALE_TEST_CPUS cores visible and skips trainings.
MACHINE_SIZE_TESTS := tests/config/test_presets.py tests/algos/test_plan.py \
	tests/algos/test_plan_sweep.py tests/cli/test_train_dry_run.py \
	tests/cli/test_plan_env_cost.py tests/cli/test_train_errors.py tests/cli/test_slurm_cli.py

test: install
	$(BIN)/python -m pytest
	RLSCALE_TEST_CPUS=16 $(BIN)/python -m pytest -q -m "not training" $(MACHINE_SIZE_TESTS)
	RLSCALE_TEST_CPUS=36 $(BIN)/python -m pytest -q -m "not training" $(MACHINE_SIZE_TESTS)

lint: install
	$(BIN)/ruff check rlscale tests
	$(BIN)/mypy rlscale

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

docs-gen: install
	$(BIN)/python docs/gen.py
