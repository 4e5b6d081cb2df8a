"""The RLlib config chain: plan applied, user keys validated, old names translated."""

from __future__ import annotations

import shutil

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


ODD_IMAGES = '''
import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

BOX = gym.spaces.Box(0, 1, (13, 13, 5), np.float32)  # magent2's observation shape


class Battle(MultiAgentEnv):
    def __init__(self, config=None):
        super().__init__()
        self.possible_agents = ["red_0", "blue_0"]
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: BOX for a in self.possible_agents}
        self.action_spaces = {a: gym.spaces.Discrete(3) for a in self.possible_agents}
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return {a: np.zeros(BOX.shape, np.float32) for a in self.agents}, {}

    def step(self, actions):
        self.t += 1
        end = self.t >= 10
        obs = {a: np.zeros(BOX.shape, np.float32) for a in self.agents}
        done = {"__all__": end, **{a: end for a in self.agents}}
        return obs, {a: 0.0 for a in self.agents}, done, {"__all__": False}, {}
'''


def test_a_multi_agent_module_that_cannot_be_built_is_one_line_before_training(cli) -> None:
    """magent2's (13, 13, 5) observations: RLlib has no default CNN for that shape, so
    rlscale gives its own conv filters (rlscale.algos.images) and the run is planned; conv
    filters that shrink the image below a kernel cannot be built: the error is PyTorch's own,
    in one line, from --dry-run on (no worker traceback later)."""
    from tests.conftest import assert_error

    (cli.cwd / "battle.py").write_text(ODD_IMAGES)
    planned = cli("train", "--env", "battle.py:Battle", "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert "rlscale's conv filters" in planned.output
    shutil.rmtree(cli.cwd / "rlscale_runs", ignore_errors=True)
    filters = '[[16, 4, 4, "valid"], [32, 5, 1, "valid"]]'
    result = cli("train", "--env", "battle.py:Battle", "--dry-run",
                 "--set", f"algo_config.model.conv_filters={filters}")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: algo_config.model {'fcnet_hiddens': [64, 64], "
                                    "'conv_filters': [[16, 4, 4, 'valid'], [32, 5, 1, 'valid']]}"
                                    ": PPO's RL module cannot be built (RuntimeError: ")
    assert_error(result, result.stderr.removeprefix("Error: ").rstrip("\n"), cli.cwd)
