"""``check-env`` for multi-agent envs: random episodes on the env as RLlib steps it.

The env checked is the RLlib ``MultiAgentEnv`` the resolver builds (a PettingZoo env inside
its wrapper), so what is checked is what RLlib's env runners see: every agent's observations
in its own space, agents appearing only among the env's possible agents, acting only while
they have an observation and never again after they are done, rewards that are numbers
(finite), and episodes that end: ``__all__`` in both the terminated and the truncated dicts,
set once every agent is done (for a PettingZoo env: once its agent list is empty).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from rlscale.envs.masks import sample_action
from rlscale.envs.multiagent import PARALLEL, AgentSpaces
from rlscale.envs.spaces import describe_space

if TYPE_CHECKING:
    from rlscale.envs.report import EnvReport

ALL = "__all__"


def describe_agents(agents: AgentSpaces) -> tuple[str, str]:
    """Every agent's observation space and action space, each on one line."""
    obs = ", ".join(f"{a}: {describe_space(agents.observation_spaces[a])}" for a in agents.agents)
    act = ", ".join(f"{a}: {describe_space(agents.action_spaces[a])}" for a in agents.agents)
    return obs, act


def _pettingzoo_agents(env: Any) -> list[Any] | None:
    """The PettingZoo env's live agent list inside an RLlib wrapper, None for other envs."""
    inner = getattr(env, "par_env", None) or getattr(env, "env", None)
    agents = getattr(inner, "agents", None)
    return list(agents) if isinstance(agents, list) else None


class _Episode:
    """The bookkeeping of one random episode."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.step = 0
        self.returns: dict[str, float] = {}
        self.lengths: dict[str, int] = {}
        self.done: set[str] = set()
        self.seen: set[str] = set()

    def where(self) -> str:
        return (f"episode {self.number}, after reset" if self.step == 0
                else f"episode {self.number}, step {self.step}")


def _check_obs(obs: Any, agents: AgentSpaces, ep: _Episode, report: EnvReport) -> dict[str, Any]:
    from rlscale.envs.report import ERROR, explain_observation

    if not isinstance(obs, Mapping):
        report.add(ERROR, f"observations must be a dict agent -> observation, got a "
                          f"{type(obs).__name__} ({ep.where()})", key="obs-type")
        return {}
    out = {}
    for agent_id, value in obs.items():
        agent = str(agent_id)
        if agent not in agents.observation_spaces:
            report.add(ERROR, f"agent {agent} has an observation but is not one of the env's "
                              f"possible agents ({', '.join(agents.agents)}) (first "
                              f"{ep.where()})", key=f"unknown-{agent}")
            continue
        if agent in ep.done:
            report.add(ERROR, f"agent {agent} has an observation after it was done (first "
                              f"{ep.where()})", key=f"after-done-{agent}")
        why = explain_observation(agents.observation_spaces[agent], value)
        if why is not None:
            report.add(ERROR, f"agent {agent}: {why[1]} (first {ep.where()})",
                       key=f"obs-{agent}-{why[0]}")
        ep.seen.add(agent)
        out[agent] = agent_id
    return out


def _check_flags(name: str, flags: Any, ep: _Episode, report: EnvReport) -> dict[str, bool]:
    from rlscale.envs.report import ERROR

    if not isinstance(flags, Mapping):
        report.add(ERROR, f"step(): {name} must be a dict agent -> bool with an '__all__' "
                          f"key, got a {type(flags).__name__}", key=f"{name}-type")
        return {}
    if ALL not in flags:
        report.add(ERROR, f"step(): {name} has no '__all__' key (RLlib ends an episode "
                          f"when {name}['__all__'] is true) (first {ep.where()})",
                   key=f"{name}-all")
    return {str(k): bool(v) for k, v in flags.items()}


def _rewards(rewards: Any, known: Mapping[str, Any], ep: _Episode, report: EnvReport) -> None:
    from rlscale.envs.report import ERROR

    if not isinstance(rewards, Mapping):
        report.add(ERROR, f"step(): rewards must be a dict agent -> number, got a "
                          f"{type(rewards).__name__}", key="reward-type")
        return
    for agent_id, value in rewards.items():
        agent = str(agent_id)
        if agent not in known:
            report.add(ERROR, f"step(): agent {agent} has a reward but is not one of the env's "
                              f"possible agents (first {ep.where()})", key=f"unknown-{agent}")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer
                                                     | np.floating):
            report.add(ERROR, f"step(): agent {agent}'s reward must be a number, got "
                              f"{type(value).__name__}", key=f"reward-type-{agent}")
            continue
        if not math.isfinite(float(value)):
            report.add(ERROR, f"step(): agent {agent}'s reward is {float(value)} (first "
                              f"{ep.where()})", key=f"reward-nan-{agent}")
            continue
        ep.returns[agent] = ep.returns.get(agent, 0.0) + float(value)


def _check_live_agents(live: list[Any], obs: Any, ep: _Episode, report: EnvReport) -> None:
    """A PettingZoo ParallelEnv's bookkeeping: its agent list holds exactly the agents
    that go on (they have an observation, and are not done)."""
    from rlscale.envs.report import ERROR

    for agent in map(str, live):
        if agent in ep.done:
            report.add(ERROR, f"agent {agent} is done but still in the env's agent list "
                              f"(first {ep.where()})", key=f"listed-done-{agent}")
        elif isinstance(obs, Mapping) and agent not in map(str, obs):
            report.add(ERROR, f"agent {agent} is in the env's agent list but has no "
                              f"observation (first {ep.where()})", key=f"vanished-{agent}")


def rollouts(env: Any, agents: AgentSpaces, episodes: int, seed: int, max_steps: int,
             report: EnvReport) -> None:
    """Random-action episodes on ``env`` (an RLlib ``MultiAgentEnv``), recorded in
    ``report``: total, per-agent returns and lengths, step time and problems."""
    from rlscale.envs.report import ERROR

    for i, agent in enumerate(agents.agents):
        agents.action_spaces[agent].seed(seed + i)
    step_time, steps = 0.0, 0
    for number in range(1, episodes + 1):
        ep = _Episode(number)
        out = env.reset(seed=seed + number - 1)
        if not (isinstance(out, tuple) and len(out) == 2):
            report.add(ERROR, "reset() must return (observations, infos), dicts keyed by agent")
            return
        last = out[0]
        acting = _check_obs(last, agents, ep, report)
        over = False
        while not over and ep.step < max_steps:
            if not acting:
                report.add(ERROR, f"no agent has an observation, so none can act, but the "
                                  f"episode has not ended (first {ep.where()})", key="no-agent")
                break
            # Legal actions, if the env masks them.
            actions = {aid: sample_action(agents.action_spaces[a], last.get(aid))
                       for a, aid in acting.items()}
            for agent in acting:
                ep.lengths[agent] = ep.lengths.get(agent, 0) + 1
            t0 = time.perf_counter()
            result = env.step(actions)
            step_time += time.perf_counter() - t0
            steps += 1
            ep.step += 1
            if not (isinstance(result, tuple) and len(result) == 5):
                report.add(ERROR, "step() must return (observations, rewards, terminateds, "
                                  "truncateds, infos), dicts keyed by agent")
                return
            obs, rewards, terminated, truncated, _ = result
            last = obs if isinstance(obs, Mapping) else {}
            acting = _check_obs(obs, agents, ep, report)
            _rewards(rewards, agents.observation_spaces, ep, report)
            term = _check_flags("terminateds", terminated, ep, report)
            trunc = _check_flags("truncateds", truncated, ep, report)
            over = term.get(ALL, False) or trunc.get(ALL, False)
            ep.done |= {a for flags in (term, trunc) for a, v in flags.items()
                        if v and a != ALL}
            acting = {a: aid for a, aid in acting.items() if a not in ep.done}
            live = _pettingzoo_agents(env)
            if agents.kind == PARALLEL and live is not None:
                _check_live_agents(live, obs, ep, report)
            if not over and live is not None and not live:
                report.add(ERROR, f"the PettingZoo env has no agents left but terminateds/"
                                  f"truncateds do not set '__all__': the episode never ends "
                                  f"(first {ep.where()})", key="no-all")
                break
            if not over and ep.seen and ep.seen <= ep.done and live is None:
                report.add(ERROR, f"every agent is done ({', '.join(sorted(ep.done))}) but "
                                  f"neither terminateds nor truncateds sets '__all__' (first "
                                  f"{ep.where()})", key="no-all")
                break
        if not over:
            report.capped_episodes += 1
        report.episode_lengths.append(ep.step)
        report.episode_returns.append(sum(ep.returns.values()))
        for agent in agents.agents:
            report.agent_returns.setdefault(agent, []).append(ep.returns.get(agent, 0.0))
            report.agent_lengths.setdefault(agent, []).append(ep.lengths.get(agent, 0))
    if steps:
        report.step_time_us = step_time / steps * 1e6


def check_determinism(env: Any, seed: int, report: EnvReport) -> None:
    """Warn when two resets with one seed give different observations."""
    from rlscale.envs.report import WARNING, same_value

    try:
        first, _ = env.reset(seed=seed)
        second, _ = env.reset(seed=seed)
    except Exception:  # noqa: BLE001  (reset errors are reported by the rollouts)
        return
    if not isinstance(first, Mapping) or not isinstance(second, Mapping):
        return
    if set(first) != set(second) or not all(same_value(first[k], second[k]) for k in first):
        report.add(WARNING, f"reset(seed={seed}) twice gave different observations: the "
                            "environment is not deterministic under a seed")
