"""The RLlib config chain: plan applied, user keys validated, old names translated."""

from __future__ import annotations

from rlscale.algos import build_algo_config, get_algo, plan_resources
from rlscale.config import resolve_experiment
from rlscale.envs import resolve_env


def build(**flags):
    exp, _ = resolve_experiment(None, flags={"env": "CartPole-v1", "preset": "none", **flags})
    info = get_algo(exp.algo)
    plan = plan_resources(available_cpus=4, available_gpus=0, on_policy=info.on_policy)
    return build_algo_config(exp, info, resolve_env(exp.env), plan)


def test_plan_and_fault_tolerance_reach_rllib() -> None:
    config = build(seed=3)
    assert config.num_env_runners == 3
    assert config.num_envs_per_env_runner == 8
    assert config.num_learners == 0
    assert config.restart_failed_env_runners is True
    assert config.seed == 3


def test_tutorial_ignore_worker_failures_is_translated() -> None:
    config = build(algo_config={"ignore_worker_failures": True, "lr": 0.001})
    assert config.restart_failed_env_runners is True
    assert config.lr == 0.001


def test_model_keys_go_to_the_rl_module() -> None:
    config = build(algo_config={"model": {"fcnet_hiddens": [16, 16]}})
    assert config.model_config["fcnet_hiddens"] == [16, 16]
