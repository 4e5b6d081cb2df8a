"""Tiny image envs for the image tests: one bright pixel tells the right action."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

SIZE = 8
STEPS = 16


class BrightSpot(gym.Env):
    """Each step shows a dark ``SIZE`` x ``SIZE`` image with one bright pixel: action 0 is
    right when it is in the left half, 1 when in the right half (reward 1, else 0).
    ``STEPS`` steps an episode: random actions return about 8, the best policy 16.

    ``layout``: ``HWC`` (``uint8`` pixels 0-255, shape (SIZE, SIZE, 1)) or ``CHW``
    (``float32`` in [0, 1], shape (2, SIZE, SIZE)); ``size``: the side in pixels."""

    def __init__(self, layout: str = "HWC", size: int = SIZE) -> None:
        self.layout, self.size = layout, size
        if layout == "HWC":
            self.observation_space = gym.spaces.Box(0, 255, (size, size, 1), np.uint8)
        else:
            self.observation_space = gym.spaces.Box(0.0, 1.0, (2, size, size), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._side = 0
        self._t = 0

    def _obs(self) -> np.ndarray:
        row = int(self.np_random.integers(self.size))
        col = int(self.np_random.integers(self.size))
        self._side = int(col >= self.size // 2)
        if self.layout == "HWC":
            image = np.zeros(self.observation_space.shape, np.uint8)
            image[row, col, 0] = 255
        else:
            image = np.zeros(self.observation_space.shape, np.float32)
            image[:, row, col] = 1.0
        return image

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        reward = float(int(action) == self._side)
        self._t += 1
        return self._obs(), reward, False, self._t >= STEPS, {}
