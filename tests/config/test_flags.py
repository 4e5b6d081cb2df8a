"""The flag table: every command's options, the flags' experiment paths and the key-to-flag
map all come from ``rlscale.config.flags.FLAGS``."""

from __future__ import annotations

import pytest

from rlscale.cli.options import flag_overrides
from rlscale.config.flags import FLAGS, KEY_FLAGS, SLURM, SWEEP, TRAIN, flags_of


@pytest.mark.parametrize("command", [TRAIN, SWEEP, SLURM])
def test_each_flag_has_a_help_text_and_one_owner(command: str) -> None:
    names = [name for flag in flags_of(command) for name in flag.names_in(command)]
    params = [flag.param for flag in flags_of(command)]
    assert len(names) == len(set(names)) and len(params) == len(set(params))
    for flag in flags_of(command):
        assert flag.help(command).strip()  # the key's Field description, or its own


@pytest.mark.parametrize("command", [TRAIN, SWEEP, SLURM])
def test_help_lists_the_table(cli, command: str) -> None:
    out = cli(command, "--help").stdout
    for flag in flags_of(command):
        for name in flag.names_in(command):
            assert (name in out) is not flag.hidden, name


def test_help_comes_from_the_field() -> None:
    from rlscale.config.model import ExperimentConfig

    flag = next(f for f in flags_of(TRAIN) if f.param == "checkpoint_every")
    description = ExperimentConfig.model_fields["checkpoint"].annotation.model_fields[
        "every"].description
    assert flag.help(TRAIN) == f"{description} [default: 10]"
    assert flag.help(SWEEP) == "Checkpoint every N iterations (and at the end)."


def test_every_key_flag_is_named_in_messages() -> None:
    paths = {flag.path for flag in flags_of(TRAIN) if flag.path}
    assert set(KEY_FLAGS) == paths
    assert KEY_FLAGS["evaluation.every"] == "--eval-every"
    assert KEY_FLAGS["resources.num_cpus"] == "--num-cpus"  # train's, not a sweep's


def test_every_flag_path_is_an_experiment_key() -> None:
    from pydantic import BaseModel

    from rlscale.config.model import ExperimentConfig

    for flag in FLAGS:
        if flag.path is None:
            continue
        model: type[BaseModel] = ExperimentConfig
        *parents, leaf = flag.path.split(".")
        for part in parents:
            annotation = model.model_fields[part].annotation
            model = next(a for a in (annotation, *getattr(annotation, "__args__", ()))
                         if isinstance(a, type) and issubclass(a, BaseModel))
        assert leaf in model.model_fields, flag.path


def test_sweep_places_its_trial_cores_not_its_own() -> None:
    values = {"num_cpus": 8, "cpus_per_trial": 2, "oversubscribe": False, "stop_iters": 3,
              "env_packages": [], "dry_run": True}
    assert flag_overrides(SWEEP, values) == {"resources": {"num_cpus": 2},
                                             "stop": {"iters": 3}}
    assert flag_overrides(TRAIN, {"num_cpus": 8, "oversubscribe": True, "env_packages": []}) \
        == {"resources": {"num_cpus": 8, "oversubscribe": True}}
