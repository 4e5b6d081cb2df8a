"""CartPole without its velocities: a partially observed task only a policy with memory solves.

CartPole-v1's observation is (cart position, cart velocity, pole angle, pole angular
velocity); this env shows only the two positions. One observation cannot tell a pole
falling left from one rising back, so a memoryless policy (an MLP) stays far below 500,
while a recurrent policy (``algo_config.model.use_lstm: true``) infers the velocities from
the observations it has seen and balances the pole.

How to run (from the repository root):
    rlscale check-env examples/stateless_cartpole.py:StatelessCartPole
    rlscale train examples/stateless_cartpole.yaml

What to expect: see stateless_cartpole.yaml and docs/memory.md.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

VISIBLE = [0, 2]  # cart position and pole angle; velocities (1 and 3) hidden


class StatelessCartPole(gym.Wrapper):
    """CartPole-v1 (500-step episodes) observed without its velocities."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(gym.wrappers.TimeLimit(CartPoleEnv(**(config or {})),
                                                max_episode_steps=500))
        full = CartPoleEnv().observation_space
        self.observation_space = gym.spaces.Box(full.low[VISIBLE], full.high[VISIBLE],
                                                dtype=np.float32)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        return obs[VISIBLE], info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs[VISIBLE], float(reward), terminated, truncated, info
