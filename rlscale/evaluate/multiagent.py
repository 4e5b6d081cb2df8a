"""Multi-agent runs: restore every policy of a checkpoint, run episodes, export each policy.

A multi-agent checkpoint holds one RL module per policy (``learner_group/learner/rl_module/
<policy>``). Which agent acts with which policy is decided again from the run's
``config.yaml`` (``policies``) and the env's agents, by the same code that decided it for
training (``rlscale.algos.policies``), and written beside exported files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.algos.policies import MAPPING_FILE, PolicyPlan, plan_policies
from rlscale.envs.multiagent import AgentSpaces
from rlscale.errors import RunDirError
from rlscale.evaluate.checkpoints import CheckpointRef
from rlscale.evaluate.episodes import episode_stats
from rlscale.evaluate.restore import Policy, _action_settings, load_module
from rlscale.results.files import atomic_write_json

_ALL = "__all__"
EpisodeHook = Callable[[int, float, int], None]


def module_dirs(modules_dir: Path) -> dict[str, Path]:
    """The policies' module folders inside a checkpoint's ``rl_module`` folder."""
    return {p.name: p for p in sorted(modules_dir.iterdir())
            if p.is_dir() and (p / "class_and_ctor_args.pkl").is_file()}


def is_multiagent_ref(ref: CheckpointRef) -> bool:
    """True when the located checkpoint holds several policies' modules (or one that is not
    the single-agent ``default_policy``)."""
    return ref.module_dir.name == "rl_module" and bool(module_dirs(ref.module_dir))


@dataclass
class AgentPolicies:
    """Every policy of a multi-agent run, restored, and each agent's policy."""

    policies: dict[str, Policy]
    plan: PolicyPlan

    def policy_of(self, agent: Any) -> Policy:
        """The policy ``agent`` acts with."""
        return self.policies[self.plan.mapping[str(agent)]]


def load_agent_policies(ref: CheckpointRef, agents: AgentSpaces) -> AgentPolicies:
    """Restore each policy of ``ref`` for the agents that act with it."""
    config = ref.run_config()
    plan = plan_policies(config.get("policies"), config.get("policies_to_train"), agents)
    dirs = module_dirs(ref.module_dir)
    missing = [p for p in plan.policies if p not in dirs]
    if missing:
        raise RunDirError(
            f"{ref.checkpoint} has no module for policy(ies) {', '.join(missing)} (it holds "
            f"{', '.join(dirs) or 'none'}); was the env or its policies changed since training?"
        )
    algo_config = config.get("algo_config") or {}
    normalize, clip = _action_settings(algo_config if isinstance(algo_config, dict) else {})
    policies = {}
    for name in plan.policies:
        obs, act = agents.spaces_of(plan.agents_of(name)[0])
        policies[name] = Policy(load_module(dirs[name]), obs, act, normalize, clip)
    return AgentPolicies(policies, plan)


@dataclass
class MultiAgentEvalResult:
    """Total (summed over agents) and per-agent returns of evaluated episodes."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    agent_returns: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def stats(self) -> dict[str, Any]:
        """Mean, std, min, max of the total return, mean length, and each agent's mean and
        win rate (the share of episodes it ended with a positive return)."""
        return {
            **episode_stats(self.returns, self.lengths),
            "agent_return_mean": {a: float(np.mean(v)) for a, v in self.agent_returns.items()},
            "agent_win_rate": {a: float(np.mean(np.asarray(v) > 0))
                               for a, v in self.agent_returns.items()},
        }


def run_multiagent_episodes(
    policies: AgentPolicies,
    env: Any,
    episodes: int,
    seed: int | None = 0,
    explore: bool = False,
    on_episode: EpisodeHook | None = None,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> MultiAgentEvalResult:
    """Run ``episodes`` episodes of ``env`` (an RLlib ``MultiAgentEnv``), each agent acting
    with its policy while it has an observation and is not done. ``on_frame`` receives
    one rendered frame before each step, as for single-agent envs."""
    if seed is not None:
        import torch

        torch.manual_seed(seed)
    from rlscale.evaluate.episodes import one_torch_thread

    result = MultiAgentEvalResult(agent_returns={a: [] for a in policies.plan.mapping})
    start = time.monotonic()
    with one_torch_thread():
        _play(policies, env, episodes, seed, explore, on_episode, on_frame, result)
    result.seconds = time.monotonic() - start
    return result


def _play(policies: AgentPolicies, env: Any, episodes: int, seed: int | None, explore: bool,
          on_episode: EpisodeHook | None, on_frame: Callable[[np.ndarray], None] | None,
          result: MultiAgentEvalResult) -> None:
    from rlscale.envs.multiagent import render

    for i in range(episodes):
        obs, _ = env.reset(seed=None if seed is None else seed + i)
        returns = dict.fromkeys(policies.plan.mapping, 0.0)
        # Each agent's recurrent state (agents sharing a policy have one each), reset per
        # episode.
        states = {a: policies.policy_of(a).initial_state() for a in policies.plan.mapping}
        done: set[Any] = set()
        length = 0
        while True:
            if on_frame is not None:
                on_frame(np.asarray(render(env)))
            actions = {}
            for agent, observation in obs.items():
                if agent in done:
                    continue
                policy = policies.policy_of(agent)
                acted, states[str(agent)] = policy.act_with_state(
                    [observation], states[str(agent)], explore=explore)
                action = acted[0]
                if isinstance(policy.action_space, gym.spaces.Discrete):
                    action = int(action)
                actions[agent] = action
            obs, rewards, terminated, truncated, _ = env.step(actions)
            length += 1
            for agent, reward in rewards.items():
                returns[str(agent)] = returns.get(str(agent), 0.0) + float(reward)
            done |= {a for flags in (terminated, truncated) for a, v in flags.items() if v}
            if terminated.get(_ALL) or truncated.get(_ALL):
                break
        result.returns.append(sum(returns.values()))
        result.lengths.append(length)
        for agent, value in returns.items():
            result.agent_returns.setdefault(agent, []).append(value)
        if on_episode is not None:
            on_episode(i, result.returns[-1], length)


def export_agent_policies(policies: AgentPolicies, directory: Path, fmt: str,
                          overwrite: bool = False) -> tuple[list[Any], Path]:
    """Write one file per policy into ``directory`` and, beside them, ``policy_mapping.json``
    (agent -> policy, and each policy's file and spaces). Returns the files' export infos
    and the mapping file."""
    from rlscale.errors import ConfigError
    from rlscale.evaluate.export import SUFFIXES, export_policy

    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"-o {directory}: a multi-agent run exports one file per policy "
                          "into a folder; this is a file")
    if not directory.parent.is_dir():
        raise ConfigError(f"-o {directory}: folder {directory.parent} does not exist")
    suffix = SUFFIXES[fmt][0]
    paths = {name: directory / f"{name}{suffix}" for name in policies.policies}
    mapping_path = directory / MAPPING_FILE
    existing = [p.name for p in (*paths.values(), mapping_path) if p.exists()]
    if existing and not overwrite:
        raise RunDirError(f"{directory} already holds {', '.join(existing)}; pass --overwrite "
                          "to replace them")
    directory.mkdir(exist_ok=True)
    infos = [export_policy(policies.policies[name], path, fmt) for name, path in paths.items()]
    plan = policies.plan
    atomic_write_json(mapping_path, {
        "agents": dict(plan.mapping),
        "policies": {
            info.path.stem: {
                "file": info.path.name, "agents": plan.agents_of(info.path.stem),
                "input": info.input_name,
                "inputs": [info.input_name, *(name for name, _ in info.extra_inputs)],
                "output": info.output_name,
                "observation_space": info.observation_space,
                "action_space": info.action_space,
            } for info in infos
        },
    })
    return infos, mapping_path

