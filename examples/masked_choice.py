"""A choice among actions of which only some are legal each step: an action-masking env.

Each step, each of the ``n`` actions is legal with probability one half (one at least), and
the observation says which: ``{"observations": <the step, scaled to [0, 1]>, "action_mask":
<n zeros and ones>}``, PettingZoo's convention. A legal action ``i`` earns ``(n - i) / n``
(action 0 is the best), so the best play is the lowest-numbered legal action. An illegal
action earns ``illegal_penalty`` and ends the episode (``illegal: "end"``, the default) or
raises ``RuntimeError`` (``illegal: "raise"``: no illegal action may ever reach the env).
Episodes last ``length`` steps. With ``illegal_log`` set, each illegal action appends one
line to that file (any process: the count over every env runner).

How to run (from the repository root):
    rlscale check-env examples/masked_choice.py:MaskedChoice
    rlscale train examples/masked_choice.yaml

What to expect: see masked_choice.yaml.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

DEFAULTS: dict[str, Any] = {"n": 6, "length": 25, "illegal": "end", "illegal_penalty": -1.0,
                            "illegal_log": None}


class MaskedChoice(gym.Env):
    """Pick the best legal action, step after step."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        unknown = set(config or {}) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown MaskedChoice settings: {sorted(unknown)}")
        self.settings = {**DEFAULTS, **(config or {})}
        self.n = int(self.settings["n"])
        self.length = int(self.settings["length"])
        self.observation_space = gym.spaces.Dict({
            "observations": gym.spaces.Box(0.0, 1.0, (1,), np.float32),
            "action_mask": gym.spaces.Box(0, 1, (self.n,), np.int8),
        })
        self.action_space = gym.spaces.Discrete(self.n)
        self.t = 0
        self.mask = np.ones(self.n, np.int8)

    def _obs(self) -> dict[str, np.ndarray]:
        mask = (self.np_random.random(self.n) < 0.5).astype(np.int8)
        if not mask.any():
            mask[self.np_random.integers(self.n)] = 1
        self.mask = mask
        step = np.array([self.t / self.length], np.float32)
        return {"observations": step, "action_mask": mask.copy()}

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        action = int(action)
        self.t += 1
        if not self.mask[action]:
            if self.settings["illegal_log"]:
                with open(self.settings["illegal_log"], "a") as log:
                    log.write(f"{os.getpid()} {action}\n")
            if self.settings["illegal"] == "raise":
                raise RuntimeError(f"illegal action {action} (mask {self.mask.tolist()})")
            return self._obs(), float(self.settings["illegal_penalty"]), True, False, {}
        reward = (self.n - action) / self.n
        return self._obs(), reward, False, self.t >= self.length, {}
