"""Small multi-agent envs for the tests (loaded by file path, as a user's file would be)."""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
from pettingzoo import AECEnv, ParallelEnv
from ray.rllib.env.multi_agent_env import MultiAgentEnv

BOX2 = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)


class MixedEnding(ParallelEnv):  # type: ignore[misc]
    """Two agents; at step ``length`` agent ``a`` terminates and agent ``b`` is truncated
    in the same step, so PettingZoo's agent list empties (the episode is over)."""

    metadata = {"name": "mixed_ending_v0"}

    def __init__(self, length: int = 3, scale: float = 1.0, fault: str | None = None) -> None:
        self.length = length
        self.scale = scale
        self.fault = fault  # "keeps_done": agents stay listed; "drops_obs": b's obs missing
        self.possible_agents = ["a", "b"]
        self.agents: list[str] = []
        self.t = 0

    @functools.cache  # noqa: B019
    def observation_space(self, agent: str) -> gym.Space:
        return BOX2

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> gym.Space:
        return gym.spaces.Discrete(2)

    def _obs(self) -> dict[str, np.ndarray]:
        return {a: np.full(2, self.t / 10, np.float32) for a in self.agents}

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[dict, dict]:
        self.agents = list(self.possible_agents)
        self.t = 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, ...]:
        self.t += 1
        rewards = {a: self.scale * float(actions[a]) for a in self.agents}
        end = self.t >= self.length
        obs = self._obs()
        terminated = {a: end and a == "a" for a in self.agents}
        truncated = {a: end and a == "b" for a in self.agents}
        infos = {a: {} for a in self.agents}
        if self.fault == "drops_obs" and self.t == 1:
            del obs["b"]
        if end and self.fault != "keeps_done":
            self.agents = []
        return obs, rewards, terminated, truncated, infos


def rllib_wrapped_mixed_ending() -> Any:
    """The same env in RLlib's own ParallelPettingZooEnv wrapper."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    return ParallelPettingZooEnv(MixedEnding())


class Grid(MultiAgentEnv):  # type: ignore[misc]
    """An RLlib MultiAgentEnv: ``battery_0``, ``battery_1`` (Box(2,) observations) and
    ``grid_operator`` (Box(3,)), Discrete(2) actions; reward 1 for action 1; 5 steps.

    ``fault`` breaks it on purpose for check-env: ``outside`` (an observation outside its
    space), ``stranger`` (an agent not among possible_agents), ``no_all`` (no '__all__'),
    ``nan`` (a NaN reward), ``zombie`` (an agent back after it was done), ``never_ends``
    (every agent done, '__all__' never set).
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        config = config or {}
        self.fault = config.get("fault")
        self.steps = int(config.get("steps", 5))
        self.possible_agents = ["battery_0", "battery_1", "grid_operator"]
        self.agents = list(self.possible_agents)
        box3 = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.observation_spaces = {"battery_0": BOX2, "battery_1": BOX2, "grid_operator": box3}
        self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.possible_agents}
        self.t = 0

    def _obs(self) -> dict[str, np.ndarray]:
        obs = {a: np.zeros(self.observation_spaces[a].shape, np.float32) for a in self.agents}
        if self.fault == "outside" and self.t == 2:
            obs["battery_1"] = np.array([0.0, 5.0], np.float32)
        if self.fault == "stranger" and self.t == 1:
            obs["battery_9"] = np.zeros(2, np.float32)
        return obs

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[dict, dict]:
        self.t = 0
        self.agents = list(self.possible_agents)
        return self._obs(), {}

    def step(self, actions: dict[str, Any]) -> tuple[dict, ...]:
        self.t += 1
        rewards = {a: float(actions.get(a, 0)) for a in actions}
        if self.fault == "nan" and self.t == 3:
            rewards["grid_operator"] = float("nan")
        end = self.t >= self.steps
        obs = self._obs()
        terminated: dict[str, bool] = {a: end for a in self.agents}
        truncated: dict[str, bool] = {a: False for a in self.agents}
        if self.fault == "zombie" and self.t == 2:
            terminated["battery_0"] = True
        if self.fault == "never_ends" and end:
            terminated = {a: True for a in self.agents}
            terminated["__all__"] = False
            truncated["__all__"] = False
            return obs, rewards, terminated, truncated, {}
        if self.fault != "no_all":
            terminated["__all__"] = end
            truncated["__all__"] = False
        return obs, rewards, terminated, truncated, {}


class TakeTurns(AECEnv):  # type: ignore[misc]
    """A PettingZoo AEC env: ``p0`` and ``p1`` take turns; reward 1 for action 1; both
    terminate after ``length`` turns in all.

    ``fault`` breaks its bookkeeping on purpose for check-env: ``stranger`` (an agent not
    among possible_agents joins), ``stale_dicts`` (p1 missing from rewards), ``selection``
    (agent_selection names a departed agent), ``vanishes`` (p1 leaves without being done),
    ``undead`` (a done agent is never removed), ``returns`` (p0 comes back after it left),
    ``undone`` (p1's termination is taken back).
    """

    metadata = {"name": "take_turns_v0", "render_modes": []}

    def __init__(self, length: int = 4, fault: str | None = None) -> None:
        super().__init__()
        self.length = length
        self.fault = fault
        self.possible_agents = ["p0", "p1"]
        self.agents: list[str] = []
        self.t = 0

    def observation_space(self, agent: str) -> gym.Space:
        return BOX2

    def action_space(self, agent: str) -> gym.Space:
        return gym.spaces.Discrete(2)

    def observe(self, agent: str) -> np.ndarray:
        return np.full(2, self.t / 10, np.float32)

    def _set_dicts(self, agents: list[str]) -> None:
        self.rewards = {a: 0.0 for a in agents}
        self._cumulative_rewards = {a: 0.0 for a in agents}
        self.terminations = {a: False for a in agents}
        self.truncations = {a: False for a in agents}
        self.infos: dict[str, dict] = {a: {} for a in agents}

    def reset(self, seed: int | None = None, options: Any = None) -> None:
        self.agents = list(self.possible_agents)
        self._set_dicts(self.agents)
        self.agent_selection = "p0"
        self.t = 0

    def _next(self, agent: str) -> str:
        i = self.agents.index(agent) if agent in self.agents else -1
        return self.agents[(i + 1) % len(self.agents)]

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            if self.fault == "undead":
                self.agent_selection = self._next(agent)
                return
            self._was_dead_step(action)
            if self.fault == "undone" and agent == "p0":
                self.terminations["p1"] = False
            if self.fault == "returns" and agent == "p1":
                self.agents = ["p0"]
                self._set_dicts(self.agents)
                self.agent_selection = "p0"
                self.fault = None
            return
        self.t += 1
        self._cumulative_rewards[agent] = 0.0
        self.rewards = {a: 0.0 for a in self.agents}
        self.rewards[agent] = float(action)
        if self.t >= self.length:
            self.terminations = {a: True for a in self.agents}
            if self.fault == "mixed":  # p1 is truncated instead: a mixed ending
                self.terminations["p1"], self.truncations["p1"] = False, True
        self.agent_selection = self._next(agent)
        if self.fault == "stale_dicts" and self.t == 1:
            del self.rewards["p1"]
        if self.fault == "stranger" and self.t == 1:
            self.agents.append("p9")
            for name in ("rewards", "_cumulative_rewards", "terminations", "truncations",
                         "infos"):
                getattr(self, name)["p9"] = {} if name == "infos" else False
        if self.fault == "vanishes" and self.t == 2:
            self.agents.remove("p1")
            for name in ("rewards", "_cumulative_rewards", "terminations", "truncations",
                         "infos"):
                del getattr(self, name)["p1"]
            self.agent_selection = "p0"
        if self.fault == "selection" and self.t == 2:
            self.agent_selection = "p7"
        self._accumulate_rewards()


def rllib_wrapped_take_turns() -> Any:
    """TakeTurns with a mixed ending in RLlib's own PettingZooEnv wrapper."""
    from ray.rllib.env.wrappers.pettingzoo_env import PettingZooEnv

    return PettingZooEnv(TakeTurns(fault="mixed"))
