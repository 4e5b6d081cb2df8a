"""rlscale's wrapper of a PettingZoo ``ParallelEnv`` as an RLlib ``MultiAgentEnv``.

RLlib's ``ParallelPettingZooEnv`` sets ``__all__`` to "every agent of this step terminated"
and "every agent of this step was truncated": in a step where one agent terminates and
another is truncated, PettingZoo's agent list is empty (the episode is over) but neither flag
is set, and RLlib steps an env without agents. It also reads the spaces of the agents present
after ``reset`` only. This wrapper ends the episode when PettingZoo's agent list is empty
(PettingZoo's own rule) and reads every possible agent's spaces.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class ParallelPettingZoo(MultiAgentEnv):  # type: ignore[misc]
    """A PettingZoo ``ParallelEnv`` stepped by RLlib's multi-agent env runners."""

    def __init__(self, env: Any) -> None:
        super().__init__()
        self.par_env = env
        self.possible_agents = list(env.possible_agents)
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: env.observation_space(a) for a in self.possible_agents}
        self.action_spaces = {a: env.action_space(a) for a in self.possible_agents}
        self.observation_space = gym.spaces.Dict(dict(self.observation_spaces))  # type: ignore[arg-type]
        self.action_space = gym.spaces.Dict(dict(self.action_spaces))  # type: ignore[arg-type]
        self.render_mode = getattr(env, "render_mode", None)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[Any, Any], dict[Any, Any]]:
        obs, infos = self.par_env.reset(seed=seed, options=options)
        self.agents = list(self.par_env.agents)
        return dict(obs), dict(infos or {})

    def step(self, action_dict: dict[Any, Any]) -> Any:
        obs, rewards, terminated, truncated, infos = self.par_env.step(action_dict)
        terminated, truncated = dict(terminated), dict(truncated)
        self.agents = list(self.par_env.agents)
        over = not self.agents  # PettingZoo's rule: the episode ends with its last agent
        every_terminated = all(terminated.get(a, False) for a in action_dict)
        terminated["__all__"] = over and every_terminated
        truncated["__all__"] = over and not every_terminated
        return dict(obs), dict(rewards), terminated, truncated, dict(infos or {})

    def render(self) -> Any:
        return self.par_env.render()

    def close(self) -> None:
        self.par_env.close()
