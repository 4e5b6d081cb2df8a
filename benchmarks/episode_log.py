"""A Gymnasium wrapper that appends every finished episode to a log file.

Every contestant of ``time_to_target.py`` trains on this wrapper, so the target is judged
the same way for all of them: from the episode returns, by the benchmark, not by each
library's own smoothing. Each line: ``<unix time> <return> <length>``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import gymnasium as gym
import numpy as np
import slow_sim


def _built_outside_training() -> bool:
    """True for an env that rlscale builds itself, not through RLlib: its pre-training env
    check (random-action episodes) and step-time measurement. Those are not training
    episodes and are not logged. Training envs are built by RLlib's env runners, in the
    main process too when it samples itself (the in-process path on 2 cores)."""
    frame = sys._getframe(1)
    from_rlscale = False
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("ray.rllib"):
            return False
        from_rlscale = from_rlscale or module.startswith("rlscale.")
        frame = frame.f_back
    return from_rlscale


class LoggedEnv(gym.Wrapper):
    """``gym.make(config["env_id"])`` that logs each finished episode to ``config["log"]``."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(gym.make(config["env_id"]))
        self._log = str(config["log"])
        self._silent = _built_outside_training()
        self._return = 0.0
        self._length = 0

    def reset(self, **kwargs: Any) -> Any:
        self._return, self._length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += 1
        if (terminated or truncated) and not self._silent:
            _append(self._log, f"{time.time():.3f} {self._return:.4f} {self._length}\n")
        return obs, reward, terminated, truncated, info


class LoggedVectorEnv(gym.vector.VectorWrapper):
    """The env's own vectorized implementation (``vector_entry_point``, e.g. CartPole's),
    logging each finished episode of its sub-envs like :class:`LoggedEnv`. Sub-envs reset
    on the step after they end (Gymnasium's next-step autoreset): that step is not counted."""

    def __init__(self, env_id: str, log: str, num_envs: int, **kwargs: Any) -> None:
        super().__init__(gym.make_vec(env_id, num_envs=num_envs,
                                      vectorization_mode="vector_entry_point", **kwargs))
        self._log = str(log)
        self._silent = _built_outside_training()
        self._returns = np.zeros(num_envs)
        self._lengths = np.zeros(num_envs, np.int64)
        self._ended = np.zeros(num_envs, bool)

    def reset(self, **kwargs: Any) -> Any:
        self._returns[:], self._lengths[:], self._ended[:] = 0.0, 0, False
        return self.env.reset(**kwargs)

    def step(self, actions: Any) -> Any:
        obs, rewards, terminated, truncated, info = self.env.step(actions)
        live = ~self._ended  # the others were reset by this step
        self._returns = np.where(live, self._returns + rewards, 0.0)
        self._lengths = np.where(live, self._lengths + 1, 0)
        self._ended = live & (np.asarray(terminated) | np.asarray(truncated))
        if self._ended.any() and not self._silent:
            now = time.time()
            lines = "".join(f"{now:.3f} {self._returns[i]:.4f} {self._lengths[i]}\n"
                            for i in np.flatnonzero(self._ended))
            _append(self._log, lines)
        return obs, rewards, terminated, truncated, info


def _append(log: str, lines: str) -> None:
    # One small O_APPEND write: lines from several processes never mix.
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, lines.encode())
    finally:
        os.close(fd)


def make_logged(env_id: str, log: str) -> LoggedEnv:
    """Entry point of the ``Logged-<env_id>`` Gymnasium ids (``log`` comes from env_config)."""
    return LoggedEnv({"env_id": env_id, "log": log})


def logged_id(env_id: str) -> str:
    """Register ``Logged-<env_id>`` with Gymnasium (a vector entry point too where the env
    has one, so that a program training the id gets the same vectorized env as the plain
    id) and return it."""
    name = f"Logged-{env_id}"
    if name not in gym.registry:
        native = gym.spec(env_id).vector_entry_point is not None
        # Gymnasium calls a vector entry point with keywords: num_envs, env_id, log, ...
        gym.register(name, entry_point=make_logged, kwargs={"env_id": env_id},
                     vector_entry_point=LoggedVectorEnv if native else None)
    return name


# Importing this module registers the benchmark's envs with Gymnasium, so that a process
# that imports it as an env package (`env_packages: [episode_log]`) can build them by id.
for _env_id in ("CartPole-v1", "Acrobot-v1", "Pendulum-v1",
                *(k for k in gym.registry if slow_sim.step_ms_of(k) is not None)):
    logged_id(_env_id)
