"""A Gymnasium wrapper that appends every finished episode to a log file.

Every contestant of ``time_to_target.py`` trains on this wrapper, so the target is judged
the same way for all of them: from the episode returns, by the benchmark, not by each
library's own smoothing. Each line: ``<unix time> <return> <length>``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import gymnasium as gym


class LoggedEnv(gym.Wrapper):
    """``gym.make(config["env_id"])`` that logs each finished episode to ``config["log"]``."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(gym.make(config["env_id"]))
        self._log = str(config["log"])
        self._return = 0.0
        self._length = 0

    def reset(self, **kwargs: Any) -> Any:
        self._return, self._length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            line = f"{time.time():.3f} {self._return:.4f} {self._length}\n"
            # One small O_APPEND write per episode: lines from several processes never mix.
            fd = os.open(self._log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        return obs, reward, terminated, truncated, info
