"""A Gymnasium wrapper that appends every finished episode to a log file.

Every contestant of ``time_to_target.py`` trains on this wrapper, so the target is judged
the same way for all of them: from the episode returns, by the benchmark, not by each
library's own smoothing. Each line: ``<unix time> <return> <length>``.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import gymnasium as gym

# Episodes stepped by this process are not logged: a contestant sets it to its own main
# process, where rlscale's pre-training env check steps random-action episodes.
_SKIP_PID = int(os.environ.get("EPISODE_LOG_SKIP_PID", "-1"))


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
        if (terminated or truncated) and os.getpid() != _SKIP_PID:
            line = f"{time.time():.3f} {self._return:.4f} {self._length}\n"
            # One small O_APPEND write per episode: lines from several processes never mix.
            fd = os.open(self._log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        return obs, reward, terminated, truncated, info


def make_logged(env_id: str, log: str) -> LoggedEnv:
    """Entry point of the ``Logged-<env_id>`` Gymnasium ids (``log`` comes from env_config)."""
    return LoggedEnv({"env_id": env_id, "log": log})


def _from_env_config(env_id: str, env_config: Any) -> LoggedEnv:
    return make_logged(env_id, str(env_config["log"]))


def register_logged(env_id: str) -> str:
    """Register ``Logged-<env_id>`` with Gymnasium (this process) and with Tune's registry
    (every Ray worker of the run), so a program that only takes an env id can train on it."""
    from ray.tune.registry import register_env

    name = _register_gym(env_id)
    register_env(name, functools.partial(_from_env_config, env_id))
    return name


def _register_gym(env_id: str) -> str:
    name = f"Logged-{env_id}"
    if name not in gym.registry:
        gym.register(name, entry_point=make_logged, kwargs={"env_id": env_id})
    return name


# Importing this module registers the benchmark's envs with Gymnasium, so that a process
# that imports it as an env package (`env_packages: [episode_log]`) can build them by id.
for _env_id in ("CartPole-v1", "Acrobot-v1", "Pendulum-v1"):
    _register_gym(_env_id)
