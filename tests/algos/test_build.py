"""The RLlib config chain: plan applied, user keys validated, old names translated."""

from __future__ import annotations

from rlscale.algos import build_algo_config, get_algo, plan_resources
from rlscale.algos.plan import one_node
from rlscale.config import resolve_experiment
from rlscale.envs import resolve_env


def build(**flags):
    exp, _ = resolve_experiment(None, flags={"env": "CartPole-v1", "preset": "none", **flags})
    info = get_algo(exp.algo)
    plan = plan_resources(nodes=one_node(4, 0), on_policy=info.on_policy)
    return build_algo_config(exp, info, resolve_env(exp.env), plan)


def test_plan_and_fault_tolerance_reach_rllib() -> None:
    config = build(seed=3)
    assert config.num_env_runners == 3
    assert config.num_envs_per_env_runner == 8
    assert config.num_learners == 0
    assert config.restart_failed_env_runners is True
    assert config.seed == 3


def test_fault_settings_reach_rllib() -> None:
    config = build(faults={"env_runner_restart_delay_s": 0.5})
    assert config.restart_failed_sub_environments is True  # envs RLlib sees fail (vector)
    assert config.delay_between_env_runner_restarts_s == 0.5
    assert build().delay_between_env_runner_restarts_s == 1.0


def test_tutorial_ignore_worker_failures_is_translated() -> None:
    config = build(algo_config={"ignore_worker_failures": True, "lr": 0.001})
    assert config.restart_failed_env_runners is True
    assert config.lr == 0.001


def test_model_keys_go_to_the_rl_module() -> None:
    config = build(algo_config={"model": {"fcnet_hiddens": [16, 16]}})
    assert config.model_config["fcnet_hiddens"] == [16, 16]


def test_actions_are_unsquashed_only_where_a_box_is() -> None:
    discrete = build()  # CartPole: Discrete(2)
    assert discrete.normalize_actions is False and discrete.clip_actions is False
    continuous = build(env="Pendulum-v1")
    assert continuous.normalize_actions is True
    asked = build(algo_config={"normalize_actions": True})
    assert asked.normalize_actions is True


def test_native_vector_envs_are_stepped_by_gymnasium_vector_implementation() -> None:
    cartpole = build()
    assert cartpole.env == "CartPole-v1"
    assert cartpole.gym_env_vectorize_mode == "vector_entry_point"
    acrobot = build(env="Acrobot-v1")  # no vectorized implementation: one env at a time
    assert acrobot.gym_env_vectorize_mode == "sync"
