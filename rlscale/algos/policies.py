"""Which policy each agent of a multi-agent env acts with, mapped onto RLlib's multi-agent
settings (``.multi_agent(policies=..., policy_mapping_fn=...)`` and a ``MultiRLModuleSpec``).

The experiment's ``policies`` key is ``shared`` (one policy, named ``shared``, for every
agent: the default when all agents have the same spaces), ``per_agent`` (one policy per agent,
named as the agent: the default otherwise), or a mapping from agent-id glob patterns
(``fnmatch``: ``battery_*``) to policy names, the first matching pattern winning.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlscale.envs.images import image_plan
from rlscale.envs.masks import ActionMask, find_action_mask
from rlscale.envs.multiagent import AgentSpaces
from rlscale.envs.spaces import SUPPORTED_OBSERVATIONS, describe_space, unsupported_observation_part
from rlscale.errors import ConfigError, EnvSpecError, did_you_mean

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

SHARED = "shared"
PER_AGENT = "per_agent"
MODES = (SHARED, PER_AGENT)
# The file ``export`` writes beside the policies' files, and train beside summary.json.
MAPPING_FILE = "policy_mapping.json"

Rules = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PolicyPlan:
    """Each agent's policy, each policy's agents, and the policies that learn."""

    rules: Rules  # (agent-id pattern, policy), the first match wins
    mapping: Mapping[str, str]  # agent -> policy
    to_train: tuple[str, ...]

    @property
    def policies(self) -> tuple[str, ...]:
        """The policy names, in the order their first agent appears."""
        return tuple(dict.fromkeys(self.mapping.values()))

    def agents_of(self, policy: str) -> list[str]:
        """The agents that act with ``policy``."""
        return [a for a, p in self.mapping.items() if p == policy]


def parse_policies_flag(text: str | None) -> str | dict[str, str] | None:
    """``--policies``: ``shared``, ``per_agent`` or ``PATTERN=POLICY,PATTERN=POLICY``."""
    if text is None:
        return None
    text = text.strip()
    if text in MODES:
        return text
    rules: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        pattern, sep, policy = item.partition("=")
        if not sep or not pattern.strip() or not policy.strip():
            raise ConfigError(
                f"--policies {text!r}: expected shared, per_agent or "
                "PATTERN=POLICY[,PATTERN=POLICY...] (e.g. 'battery_*=battery,grid=operator')"
            )
        rules[pattern.strip()] = policy.strip()
    return rules


def policy_for(agent: str, rules: Rules) -> str | None:
    """The policy of the first rule whose pattern matches ``agent``."""
    return next((policy for pattern, policy in rules if fnmatch.fnmatchcase(agent, pattern)),
                None)


def map_agent(agent_id: Any, episode: Any = None, *, rules: Rules, **_: Any) -> str:
    """RLlib's ``policy_mapping_fn`` (bound to the rules with ``functools.partial``: it is
    pickled into every env runner)."""
    policy = policy_for(str(agent_id), rules)
    if policy is None:  # an agent the env did not list among its possible agents
        raise ValueError(f"agent {agent_id!r} matches no pattern of the experiment's policies")
    return policy


def _rules(setting: str | Mapping[str, str] | None, agents: AgentSpaces) -> Rules:
    if setting is None:
        setting = SHARED if _all_same(agents) else PER_AGENT
    if setting == SHARED:
        return (("*", SHARED),)
    if setting == PER_AGENT:
        return tuple((fnmatch_escape(a), a) for a in agents.agents)
    if isinstance(setting, str):
        raise ConfigError(
            f"policies: expected shared, per_agent or a mapping of agent-id patterns to "
            f"policy names, got {setting!r}{did_you_mean(setting, MODES)}"
        )
    return tuple((str(k), str(v)) for k, v in setting.items())


def _all_same(agents: AgentSpaces) -> bool:
    first = agents.spaces_of(agents.agents[0]) if agents.agents else None
    return all(agents.spaces_of(a) == first for a in agents.agents)


def fnmatch_escape(name: str) -> str:
    """``name`` as a pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def plan_policies(
    setting: str | Mapping[str, str] | None,
    to_train: Sequence[str] | None,
    agents: AgentSpaces,
) -> PolicyPlan:
    """Check the experiment's ``policies`` and ``policies_to_train`` against the env's agents.

    Raises :class:`ConfigError` for an agent no pattern matches, a pattern that matches no
    agent, agents with different spaces mapped to one policy, or an unknown policy to train.
    """
    if not agents.agents:
        raise EnvSpecError("the multi-agent environment lists no agents (possible_agents is "
                           "empty, also after reset)")
    rules = _rules(setting, agents)
    mapping = {a: policy_for(a, rules) for a in agents.agents}
    unmatched = [a for a, p in mapping.items() if p is None]
    if unmatched:
        raise ConfigError(
            f"policies: agent(s) {', '.join(unmatched)} match no pattern "
            f"({', '.join(p for p, _ in rules)})"
        )
    for pattern, _ in rules:
        if not any(fnmatch.fnmatchcase(a, pattern) for a in agents.agents):
            raise ConfigError(
                f"policies: pattern {pattern!r} matches no agent (agents: "
                f"{', '.join(agents.agents)})"
            )
    plan = PolicyPlan(rules, {a: str(p) for a, p in mapping.items()}, ())
    for policy in plan.policies:
        members = plan.agents_of(policy)
        first = members[0]
        for other in members[1:]:
            if agents.spaces_of(other) != agents.spaces_of(first):
                raise ConfigError(
                    f"policies: agents {first} ({_spaces(agents, first)}) and {other} "
                    f"({_spaces(agents, other)}) cannot share policy '{policy}': their "
                    "spaces differ"
                )
    train = tuple(to_train) if to_train is not None else plan.policies
    for name in train:
        if name not in plan.policies:
            raise ConfigError(
                f"policies_to_train: no policy '{name}' (policies: "
                f"{', '.join(plan.policies)}){did_you_mean(name, plan.policies)}"
            )
    if not train:
        raise ConfigError("policies_to_train is empty: at least one policy must learn")
    return PolicyPlan(rules, plan.mapping, train)


def _spaces(agents: AgentSpaces, agent: str) -> str:
    obs, act = agents.spaces_of(agent)
    return f"observations {describe_space(obs)}, actions {describe_space(act)}"


def check_observation_spaces(agents: AgentSpaces) -> bool:
    """Raises :class:`EnvSpecError` for an agent's observation space RLlib cannot train on;
    True when one needs flattening (RLlib's ``FlattenObservations`` connector)."""
    from rlscale.algos.spaces import needs_flattening

    flatten = False
    for agent in agents.agents:
        space = agents.observation_spaces[agent]
        bad = unsupported_observation_part(space)
        if bad is not None:
            raise EnvSpecError(
                f"RLlib cannot train on agent {agent}'s observation space {bad}: "
                f"{SUPPORTED_OBSERVATIONS}"
            )
        plan = image_plan(space)
        if plan is not None and plan.converts:
            raise EnvSpecError(
                f"agent {agent}'s observations are an {plan.describe().split(';')[0]}: "
                "multi-agent image observations must already be (H, W, C) float32 (wrap "
                "the env to give them so: env_wrappers)"
            )
        flatten = flatten or needs_flattening(space)
    return flatten


def flatten_multi_agent_observations(env: Any = None, spaces: Any = None,
                                     device: Any = None,
                                     agent_ids: Sequence[str] | None = None) -> Any:
    """The env-to-module connector flattening each agent's observations (module-level:
    RLlib pickles it); ``agent_ids``: only theirs (the others' policies mask actions and
    take the ``Dict`` as it is)."""
    from ray.rllib.connectors.env_to_module import FlattenObservations

    if agent_ids is None:
        return FlattenObservations(multi_agent=True)
    return FlattenObservations(multi_agent=True, agent_ids=list(agent_ids))


def policy_masks(plan: PolicyPlan, agents: AgentSpaces,
                 key: str | None) -> dict[str, ActionMask]:
    """The action mask of each policy whose agents' observations hold one."""
    masks = {}
    for policy in plan.policies:
        obs, act = agents.spaces_of(plan.agents_of(policy)[0])
        mask = find_action_mask(obs, act, key)
        if mask is not None:
            masks[policy] = mask
    return masks


def has_box_action(agents: AgentSpaces) -> bool:
    """True when some agent's action space has a continuous part."""
    from rlscale.algos.spaces import has_box

    return any(has_box(space) for space in agents.action_spaces.values())


def apply_multi_agent(
    config: AlgorithmConfig,
    setting: str | Mapping[str, str] | None,
    to_train: Sequence[str] | None,
    agents: AgentSpaces,
    mask_key: str | None = None,
    algo: str = "PPO",
) -> PolicyPlan:
    """Set ``config``'s multi-agent settings: the policies, the agent-to-policy mapping, the
    policies that learn, one RL module per policy (masked where the agents' observations
    hold an action mask under ``mask_key``), and the observation connector."""
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.policy.policy import PolicySpec

    from rlscale.algos.masked_modules import masked_spec
    from rlscale.algos.masking import check_masking_algo

    plan = plan_policies(setting, to_train, agents)
    masks = policy_masks(plan, agents, mask_key)
    for mask in masks.values():
        check_masking_algo(algo, mask)
    flatten = check_observation_spaces(agents)
    flattened = [a for a in agents.agents if plan.mapping[a] not in masks]
    flatten = flatten and bool(flattened)
    policies: dict[str, Any] = {}
    for policy in plan.policies:
        obs, act = agents.spaces_of(plan.agents_of(policy)[0])
        # With flattening, RLlib reads the module's spaces from the connector's output.
        policies[policy] = PolicySpec() if flatten else PolicySpec(observation_space=obs,
                                                                   action_space=act)
    mapping_fn: Callable[..., str] = functools.partial(map_agent, rules=plan.rules)
    config.multi_agent(policies=policies, policy_mapping_fn=mapping_fn,
                       policies_to_train=list(plan.to_train))
    config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={
        policy: masked_spec(config, masks[policy]) if policy in masks else RLModuleSpec()
        for policy in plan.policies
    }))
    if flatten:
        config.env_runners(env_to_module_connector=(
            flatten_multi_agent_observations if not masks else
            functools.partial(flatten_multi_agent_observations, agent_ids=flattened)))
    if not has_box_action(agents):
        config.environment(normalize_actions=False, clip_actions=False)
    return plan



# RLlib's single-agent episode replay buffers and their multi-agent counterparts: DQN and SAC
# (and their presets) default to the single-agent ones, which fail on multi-agent episodes
# (TypeError: unhashable type: 'slice').
MULTI_AGENT_BUFFERS = {
    "EpisodeReplayBuffer": "MultiAgentEpisodeReplayBuffer",
    "PrioritizedEpisodeReplayBuffer": "MultiAgentPrioritizedEpisodeReplayBuffer",
}


def use_multi_agent_replay_buffer(config: AlgorithmConfig) -> None:
    """Swap a single-agent episode replay buffer of ``config`` (DQN, SAC) for RLlib's
    multi-agent one; the prioritized one gets the ``beta`` RLlib's sampling asks for."""
    buffer = getattr(config, "replay_buffer_config", None)
    if not isinstance(buffer, dict) or buffer.get("type") not in MULTI_AGENT_BUFFERS:
        return
    swapped = {**buffer, "type": MULTI_AGENT_BUFFERS[buffer["type"]]}
    if swapped["type"].startswith("MultiAgentPrioritized"):
        swapped.setdefault("beta", 0.4)  # RLlib's own default for SAC's prioritized buffer
    config.replay_buffer_config = swapped
