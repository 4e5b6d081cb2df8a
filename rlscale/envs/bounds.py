"""Bounded evaluation episodes: a step cap, and a cut when the run must stop.

An env without a time limit (one given as ``file.py:Class``, or a continuing task whose
episodes never end) would keep an evaluation episode going for as long as the policy keeps
it alive, and a stop asked for meanwhile would wait for it. Evaluation envs are therefore
wrapped in :class:`EpisodeBound`: an episode is truncated after ``max_steps`` steps (the
env's own time limit when it has one, else :data:`DEFAULT_MAX_EPISODE_STEPS`), and every
episode is truncated at once when the run is stopping (its wall-clock deadline passed, or a
stop was requested in this process). Each evaluation then plays at most
``episodes x max_steps`` steps, and a continuing task's evaluation return is the return over
that horizon.

The bound travels to the env runners inside the evaluation's ``env_config`` under
:data:`BOUND_KEY`; the env creator takes it out before the env sees its config.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

# An evaluation episode's step cap for an env that has no time limit of its own.
DEFAULT_MAX_EPISODE_STEPS = 1000
BOUND_KEY = "_rlscale_episode_bound"

# Set when the run in this process is stopping (Ctrl-C, SIGTERM): evaluation episodes end.
_STOPPING = threading.Event()
# Episodes cut short by a stop in this process since the last take_cut_count().
_cut = {"episodes": 0}
_cut_lock = threading.Lock()


def set_stopping(stopping: bool = True) -> None:
    """Cut the evaluation episodes running in this process (or stop cutting them)."""
    if stopping:
        _STOPPING.set()
    else:
        _STOPPING.clear()


def take_cut_count() -> int:
    """How many evaluation episodes a stop cut short since the last call; resets it."""
    with _cut_lock:
        count, _cut["episodes"] = _cut["episodes"], 0
    return count


def env_time_limit(env: Any) -> int | None:
    """The env's own episode step limit: a ``TimeLimit`` wrapper's, else its spec's."""
    layer = env
    while layer is not None:
        if isinstance(layer, gym.wrappers.TimeLimit):
            return int(layer._max_episode_steps)
        layer = getattr(layer, "env", None)
    spec = getattr(env, "spec", None)
    steps = getattr(spec, "max_episode_steps", None)
    return int(steps) if steps else None


class EpisodeBound(gym.Wrapper):  # type: ignore[type-arg]
    """Truncates an episode after ``max_steps`` steps, or at once when the run stops
    (``deadline``, a ``time.time()`` value, passed; or :func:`set_stopping`)."""

    def __init__(self, env: gym.Env, max_steps: int,  # type: ignore[type-arg]
                 deadline: float | None = None) -> None:
        super().__init__(env)
        self.max_steps, self.deadline = max_steps, deadline
        self.steps = 0

    def reset(self, **kwargs: Any) -> Any:
        self.steps = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps >= self.max_steps:
            truncated = True
        if not (terminated or truncated) and self._stopping():
            truncated = True
            with _cut_lock:
                _cut["episodes"] += 1
        return obs, reward, terminated, truncated, info

    def _stopping(self) -> bool:
        return _STOPPING.is_set() or (self.deadline is not None and time.time() >= self.deadline)


def bound_config(env_config: Mapping[str, Any], max_steps: int,
                 deadline: float | None = None) -> dict[str, Any]:
    """``env_config`` with the bound for :func:`split_bound` to find."""
    return {**env_config, BOUND_KEY: {"max_steps": max_steps, "deadline": deadline}}


def split_bound(env_config: Mapping[str, Any]) -> tuple[Mapping[str, Any], dict[str, Any] | None]:
    """The env's own config (an RLlib ``EnvContext`` stays one) and the bound, if any."""
    if BOUND_KEY not in env_config:
        return env_config, None
    bound = dict(env_config[BOUND_KEY])
    own = {k: v for k, v in env_config.items() if k != BOUND_KEY}
    copy = getattr(env_config, "copy_with_overrides", None)
    return (copy(env_config=own) if copy is not None else own), bound


def apply_bound(env: Any, bound: Mapping[str, Any] | None) -> Any:
    """Wrap a single-agent ``env`` in :class:`EpisodeBound` when ``bound`` is given."""
    if bound is None or not isinstance(env, gym.Env):
        return env
    return EpisodeBound(env, int(bound["max_steps"]), bound.get("deadline"))
