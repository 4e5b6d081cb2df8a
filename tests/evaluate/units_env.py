"""CartPole read through instruments in other units: observations in the thousands.

Each observation is ``20000 + 100 * x`` for CartPole's own ``x`` (as a sensor that reports
centimetres over a large offset would); the dynamics and rewards are CartPole's.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

OFFSET, SCALE = 20000.0, 100.0


class ThousandsCartPole(gym.Env):
    """CartPole-v1 (500 steps at most) with observations ``OFFSET + SCALE * x``."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.inner = gym.wrappers.TimeLimit(CartPoleEnv(), max_episode_steps=500)
        self.action_space = self.inner.action_space
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)

    def _obs(self, x: np.ndarray) -> np.ndarray:
        return (OFFSET + SCALE * x).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        obs, info = self.inner.reset(seed=seed)
        return self._obs(obs), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.inner.step(action)
        return self._obs(obs), reward, terminated, truncated, info
