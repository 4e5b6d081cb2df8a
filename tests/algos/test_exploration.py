"""``exploration: {log_std_init: X}``: the Gaussian policy's initial noise, set where RLlib
samples (remote env runners, not only the learner) and kept in checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import rlscale
from rlscale.errors import ConfigError
from tests.algos.test_build import build

ENV = str(Path(__file__).with_name("action_log_env.py")) + ":ActionLogEnv"


def test_log_std_init_makes_the_log_std_a_parameter_and_hooks_the_init() -> None:
    config = build(env="Pendulum-v1", exploration={"log_std_init": -1.5})
    assert config.model_config["free_log_std"] is True
    assert config.callbacks_on_algorithm_init is not None
    plain = build(env="Pendulum-v1")
    assert plain.callbacks_on_algorithm_init is None
    assert "free_log_std" not in (plain.model_config or {})


@pytest.mark.parametrize(("flags", "message"), [
    ({"env": "CartPole-v1"}, r"needs continuous \(Box\) actions"),
    ({"env": "Pendulum-v1", "algo": "SAC"}, "is for PPO, APPO, IMPALA"),
    ({"env": "Pendulum-v1", "algo_config": {"model": {"free_log_std": False}}},
     "remove algo_config.model.free_log_std: false"),
])
def test_log_std_init_refuses_what_it_cannot_apply_to(flags: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(exploration={"log_std_init": -1.0}, **flags)


@pytest.mark.training
def test_remote_env_runners_sample_with_the_initial_noise(tmp_path: Path) -> None:
    """std 0.05 (log -3) where RLlib's own start is 1: the remote runner's first batch shows
    it, and the checkpoint keeps it (a learning rate too small to move it)."""
    log = tmp_path / "actions"
    log.mkdir()
    summary = rlscale.train(overrides={
        "env": ENV, "env_config": {"log": str(log)}, "seed": 0, "preset": "none",
        "exploration": {"log_std_init": -3.0}, "stop": {"iters": 1},
        # The remote runner samples the first batch (not this process while it starts).
        "resources": {"num_cpus": 2, "num_env_runners": 1, "num_envs_per_env_runner": 1,
                      "sample_at_once": False},
        "algo_config": {"train_batch_size_per_learner": 200, "minibatch_size": 100,
                        "num_epochs": 1, "lr": 1.0e-9},
        "output": str(tmp_path), "name": "noise",
    })
    assert summary.status == "completed"
    # This process steps the env too (the check before training, random actions): only
    # the remote runner's file counts.
    files = [f for f in log.glob("*.txt") if int(f.stem) != os.getpid()]
    assert files
    actions = np.concatenate([np.loadtxt(f, ndmin=2) for f in files])
    assert len(actions) >= 200
    assert actions.std() < 0.15  # RLlib's default start: about 0.7 once clipped to [-1, 1]

    import torch
    from ray.rllib.core.rl_module.rl_module import RLModule

    module_dir = next((tmp_path / "noise").rglob("learner_group/learner/rl_module/default_policy"))
    module = RLModule.from_checkpoint(module_dir)
    log_std = dict(module.named_parameters())["pi.log_std"]
    assert torch.allclose(log_std, torch.full_like(log_std, -3.0), atol=1e-3)
