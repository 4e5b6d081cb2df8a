"""An env that writes the actions it is given to a file: what the sampling process did."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np


class ActionLogEnv(gym.Env):
    """Zero observations, zero rewards, 50-step episodes; each episode's actions are
    appended to ``<env_config["log"]>/<pid>.txt`` (the process that sampled them)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.folder = Path((config or {})["log"])
        self.actions: list[np.ndarray] = []
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(3, np.float32), {}

    def step(self, action):
        self.actions.append(np.asarray(action, np.float64))
        self.t += 1
        if self.t == 50:
            with open(self.folder / f"{os.getpid()}.txt", "a") as out:
                np.savetxt(out, np.stack(self.actions))
            self.actions = []
        return np.zeros(3, np.float32), 0.0, False, self.t == 50, {}
