"""A building thermostat: keep a heated building comfortable at the least energy cost.

A one-zone building (a thermal resistance R to the outside and a capacitance C) is heated
by a heat pump with four power levels. Each 15-minute step the agent picks a level; the
reward is minus the comfort violation (degrees outside the comfort band around the
setpoint) minus the cost of the electricity, whose price is higher in the evening peak.
A day is one episode (96 steps). Pure Python and NumPy: about 20 microseconds a step.

The class takes one ``config`` dict, so it is given to rlscale as a file path, with its
settings in ``env_config`` (the experiment file) or ``--env-config`` (the command line):

    rlscale check-env examples/thermostat.py:Thermostat --env-config '{"outdoor_mean": 0}'
    rlscale train examples/thermostat.yaml

What to expect: see thermostat.yaml (the target and how long it took).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

DEFAULTS: dict[str, Any] = {
    "setpoint": 21.0,  # degC
    "comfort_band": 1.0,  # degC either side of the setpoint without penalty
    "outdoor_mean": 5.0,  # degC, daily mean
    "outdoor_swing": 5.0,  # degC, half the day/night difference
    "resistance": 2.0,  # K/kW between inside and outside
    "capacitance": 10.0,  # kWh/K of the building
    "heater_levels": [0.0, 4.0, 8.0, 12.0],  # kW
    "price_offpeak": 0.15,  # per kWh
    "price_peak": 0.45,  # per kWh, 17:00-21:00
    "step_hours": 0.25,
    "episode_hours": 24.0,
}


class Thermostat(gym.Env):
    """One heated zone; observations are scaled to roughly [-1, 1]."""

    metadata = {"render_modes": []}

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        unknown = set(config or {}) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown thermostat setting(s): {', '.join(sorted(unknown))}")
        self.cfg = {**DEFAULTS, **(config or {})}
        self.levels = np.asarray(self.cfg["heater_levels"], dtype=np.float64)
        self.horizon = int(round(self.cfg["episode_hours"] / self.cfg["step_hours"]))
        # inside - setpoint, outside, time of day (sin, cos), electricity price
        self.observation_space = gym.spaces.Box(-5.0, 5.0, (5,), np.float32)
        self.action_space = gym.spaces.Discrete(len(self.levels))
        self.t_in = self.cfg["setpoint"]
        self.step_count = 0

    def _hour(self) -> float:
        return (self.step_count * self.cfg["step_hours"]) % 24.0

    def _outdoor(self) -> float:
        # Coldest at 05:00, warmest at 17:00.
        phase = 2 * math.pi * (self._hour() - 11.0) / 24.0
        return self.cfg["outdoor_mean"] + self.cfg["outdoor_swing"] * math.sin(phase)

    def _price(self) -> float:
        peak = 17.0 <= self._hour() < 21.0
        return self.cfg["price_peak"] if peak else self.cfg["price_offpeak"]

    def _obs(self) -> np.ndarray:
        angle = 2 * math.pi * self._hour() / 24.0
        obs = [
            (self.t_in - self.cfg["setpoint"]) / 5.0,
            (self._outdoor() - 10.0) / 10.0,
            math.sin(angle),
            math.cos(angle),
            self._price() / 0.5,
        ]
        return np.clip(np.asarray(obs, dtype=np.float32), -5.0, 5.0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.step_count = 0
        self.t_in = self.cfg["setpoint"] + float(self.np_random.uniform(-3.0, 3.0))
        return self._obs(), {}

    def step(self, action: int):
        power = float(self.levels[int(action)])
        dt, c, r = self.cfg["step_hours"], self.cfg["capacitance"], self.cfg["resistance"]
        loss = (self.t_in - self._outdoor()) / r
        noise = float(self.np_random.normal(0.0, 0.05))
        self.t_in += dt / c * (power - loss) + noise
        cost = self._price() * power * dt
        violation = max(0.0, abs(self.t_in - self.cfg["setpoint"]) - self.cfg["comfort_band"])
        reward = -violation - cost
        self.step_count += 1
        truncated = self.step_count >= self.horizon
        return self._obs(), reward, False, truncated, {"t_in": self.t_in, "cost": cost}
