"""A slow simulator: CartPole-v1 that spends a fixed amount of real computation per step.

Users bring simulators that cost far more per step than CartPole's microseconds. This env is
CartPole-v1 (same dynamics, spaces, rewards and 500-step limit) plus busy CPU work in every
``step`` (a pure-Python integer loop, not a sleep: it holds a core, as a physics step does).
The amount of work is fixed per process at import: calibrated to ``step_ms`` milliseconds
on an idle core (the fastest of several short trials), so on a loaded machine a step takes
longer, as a real simulator's would. ``SLOW_SIM_LOOPS_PER_MS`` pins the calibration (the
benchmarks set it once in the parent so that every contestant's processes do the same work).

Registered ids (importing this module registers them with Gymnasium, so that rlscale's env
runners (``env_packages: [slow_sim]``), RLlib and SB3 can all make them by id):
``SlowCartPole-0.1ms-v0``, ``SlowCartPole-0.5ms-v0``, ``SlowCartPole-2ms-v0``, and
``SlowCartPole-v0`` with a ``step_ms`` keyword (``gym.make("SlowCartPole-v0", step_ms=1.0)``),
and ``SlowCartPole-<X>ms-v0`` for each X in ``SLOW_SIM_STEP_MS`` (comma-separated).
No vector entry point: like most user simulators, it is stepped one env at a time.
"""

from __future__ import annotations

import os
import time
from typing import Any

import gymnasium as gym

STEP_COSTS_MS = (0.1, 0.5, 2.0)
_CALIBRATION_LOOPS = 20_000


def _spin(loops: int) -> int:
    x = 1
    for _ in range(loops):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def loops_per_ms() -> float:
    """Loops of :func:`_spin` per millisecond on this core (fastest of 7 trials)."""
    pinned = os.environ.get("SLOW_SIM_LOOPS_PER_MS")
    if pinned:
        return float(pinned)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        _spin(_CALIBRATION_LOOPS)
        best = min(best, time.perf_counter() - start)
    return _CALIBRATION_LOOPS / (best * 1000.0)


_LOOPS_PER_MS: float | None = None


def _loops_for(step_ms: float) -> int:
    global _LOOPS_PER_MS
    if _LOOPS_PER_MS is None:
        _LOOPS_PER_MS = loops_per_ms()
    return max(int(round(step_ms * _LOOPS_PER_MS)), 0)


class SlowCartPole(gym.Wrapper):
    """CartPole-v1 with ``step_ms`` milliseconds of CPU work per step."""

    def __init__(self, step_ms: float = 0.5, render_mode: str | None = None) -> None:
        super().__init__(gym.make("CartPole-v1", render_mode=render_mode))
        self.step_ms = float(step_ms)
        self._loops = _loops_for(self.step_ms)

    def step(self, action: Any) -> Any:
        _spin(self._loops)
        return self.env.step(action)


def make(step_ms: float = 0.5, render_mode: str | None = None) -> SlowCartPole:
    """Entry point of the registered ids."""
    return SlowCartPole(step_ms, render_mode)


def env_id(step_ms: float) -> str:
    """The registered id for a step cost in ms (``0.5`` -> ``SlowCartPole-0.5ms-v0``)."""
    return f"SlowCartPole-{step_ms:g}ms-v0"


def step_ms_of(env: str) -> float | None:
    """The step cost of a slow-sim id (``Logged-`` prefix allowed), else None."""
    name = env.removeprefix("Logged-")
    if name.startswith("SlowCartPole-") and name.endswith("ms-v0"):
        return float(name[len("SlowCartPole-"):-len("ms-v0")])
    return None


def register(step_ms: float) -> str:
    """Register (once) and return the id of the slow CartPole costing ``step_ms``."""
    name = env_id(step_ms)
    if name not in gym.registry:
        # max_episode_steps is CartPole-v1's own TimeLimit, inside the wrapper.
        gym.register(name, entry_point=make, kwargs={"step_ms": step_ms})
    return name


if "SlowCartPole-v0" not in gym.registry:
    gym.register("SlowCartPole-v0", entry_point=make)
# Other costs: SLOW_SIM_STEP_MS="0.25,1" (set in the parent, inherited by every process).
for _ms in (*STEP_COSTS_MS, *(float(x) for x in os.environ.get("SLOW_SIM_STEP_MS", "").split(",")
                              if x.strip())):
    register(_ms)
