"""Home batteries sharing one feeder: a multi-agent env (a PettingZoo ``ParallelEnv``).

Several homes on one low-voltage feeder each own a battery. Every hour of a day (24 steps,
one episode) each battery charges, idles or discharges at its rated power. Electricity is
cheap at night and dear in the evening, so each battery earns by charging at night and
discharging in the evening peak (arbitrage). The feeder, though, carries only so much: when
the homes' load plus the batteries' charging exceeds its capacity, every battery pays an
overload penalty. If all batteries charge in the same cheap hour the feeder overloads: they
have to learn to spread their charging over the night.

Agents ``battery_0`` ... ``battery_{n-1}``; each observes its state of charge, the hour (as
sine and cosine), the price now and next hour, and the feeder's headroom in the last hour;
actions ``Discrete(3)`` (0 charge, 1 idle, 2 discharge). A battery's reward is the money it
earns or pays for its own charging and discharging, minus its share of the overload penalty;
an idle battery earns 0. Pure Python and NumPy (about 30 microseconds a step).

The class takes one ``config`` dict (``env_config``):

    rlscale check-env examples/feeder_batteries.py:FeederBatteries
    rlscale train examples/feeder_batteries.yaml

What to expect: see feeder_batteries.yaml (the target and how long it took).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

DEFAULTS: dict[str, Any] = {
    "num_batteries": 3,
    "capacity_kwh": 4.0,  # each battery
    "power_kw": 2.0,  # charge or discharge, one hour at a time
    "efficiency": 0.9,  # round trip, applied on discharge
    "feeder_kw": 5.0,  # the feeder's capacity
    "house_load_kw": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.8, 1.0, 0.8, 0.6, 0.6, 0.6,
                      0.6, 0.6, 0.6, 0.7, 0.9, 1.2, 1.4, 1.4, 1.2, 1.0, 0.8, 0.6],  # per home
    "price": [0.10, 0.10, 0.10, 0.10, 0.10, 0.12, 0.18, 0.25, 0.22, 0.20, 0.18, 0.18,
              0.18, 0.18, 0.20, 0.24, 0.30, 0.40, 0.45, 0.45, 0.35, 0.25, 0.15, 0.12],
    "price_noise": 0.02,  # standard deviation, drawn per hour and day
    "overload_penalty": 1.0,  # per kW above the feeder's capacity, shared by the batteries
}
CHARGE, IDLE, DISCHARGE = 0, 1, 2
HOURS = 24


class FeederBatteries(ParallelEnv):  # type: ignore[misc]
    """Batteries on one feeder (see the module's docstring)."""

    metadata = {"name": "feeder_batteries_v0", "render_modes": []}

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        unknown = set(config or {}) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown FeederBatteries settings: {', '.join(sorted(unknown))}")
        self.cfg = {**DEFAULTS, **(config or {})}
        self.possible_agents = [f"battery_{i}" for i in range(int(self.cfg["num_batteries"]))]
        self.agents: list[str] = []
        self._rng = np.random.default_rng()
        self._soc = np.zeros(len(self.possible_agents))
        self._hour = 0
        self._prices = np.asarray(self.cfg["price"], dtype=np.float64)
        self._headroom = 0.0

    @functools.cache  # noqa: B019  (PettingZoo's idiom: one space object per agent)
    def observation_space(self, agent: str) -> gym.Space:
        return gym.spaces.Box(low=-2.0, high=2.0, shape=(6,), dtype=np.float32)

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gym.Space:
        return gym.spaces.Discrete(3)

    def _obs(self) -> dict[str, np.ndarray]:
        angle = 2 * math.pi * self._hour / HOURS
        now = self._prices[self._hour % HOURS]
        nxt = self._prices[(self._hour + 1) % HOURS]
        out = {}
        for i, agent in enumerate(self.agents):
            soc = self._soc[i] / self.cfg["capacity_kwh"]
            out[agent] = np.array(
                [soc, math.sin(angle), math.cos(angle), now * 4, nxt * 4,
                 np.clip(self._headroom / self.cfg["feeder_kw"], -2, 2)], dtype=np.float32)
        return out

    def reset(self, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._soc = self._rng.uniform(0.2, 0.6, len(self.agents)) * self.cfg["capacity_kwh"]
        noise = self._rng.normal(0.0, self.cfg["price_noise"], HOURS)
        self._prices = np.maximum(np.asarray(self.cfg["price"]) + noise, 0.01)
        self._hour = 0
        self._headroom = self.cfg["feeder_kw"] - len(self.agents) * self.cfg["house_load_kw"][0]
        return self._obs(), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict[str, Any], ...]:
        cfg = self.cfg
        price = self._prices[self._hour]
        flows = np.zeros(len(self.agents))  # kW drawn from the feeder by each battery
        earned = np.zeros(len(self.agents))
        for i, agent in enumerate(self.agents):
            action = int(actions.get(agent, IDLE))
            if action == CHARGE:
                energy = min(cfg["power_kw"], cfg["capacity_kwh"] - self._soc[i])
                self._soc[i] += energy
                flows[i] = energy
                earned[i] = -price * energy
            elif action == DISCHARGE:
                energy = min(cfg["power_kw"], self._soc[i])
                self._soc[i] -= energy
                flows[i] = -energy * cfg["efficiency"]
                earned[i] = price * energy * cfg["efficiency"]
        load = len(self.agents) * cfg["house_load_kw"][self._hour] + flows.sum()
        self._headroom = cfg["feeder_kw"] - load
        penalty = cfg["overload_penalty"] * max(0.0, -self._headroom) / len(self.agents)
        rewards = {agent: float(earned[i] - penalty) for i, agent in enumerate(self.agents)}
        self._hour += 1
        done = self._hour >= HOURS
        obs = self._obs()
        terminated = {agent: done for agent in self.agents}  # the day is the task
        truncated = {agent: False for agent in self.agents}
        infos: dict[str, dict[str, Any]] = {agent: {"feeder_load_kw": load}
                                            for agent in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terminated, truncated, infos


def idle_return(config: dict[str, Any] | None = None) -> float:
    """The return (summed over batteries) of never using the batteries: 0 unless the homes
    alone overload the feeder."""
    env = FeederBatteries(config)
    env.reset(seed=0)
    total = 0.0
    while env.agents:
        _, rewards, *_ = env.step({a: IDLE for a in env.agents})
        total += sum(rewards.values())
    return total
