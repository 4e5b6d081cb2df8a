"""``check-env`` for PettingZoo AEC (turn-based) envs: the agent-list bookkeeping.

RLlib's ``PettingZooEnv`` wrapper trusts the AEC env's own bookkeeping: ``agents`` (who is
still in the game), ``agent_selection`` (whose turn it is), and the per-agent dicts
``rewards``, ``terminations``, ``truncations`` and ``infos``, which must hold exactly the
listed agents. A done agent is stepped once more with the action ``None`` and must then leave
``agents``; the episode is over when ``agents`` is empty. An env that gets this wrong makes
the wrapper step a missing agent (a ``KeyError`` deep in an env runner) or never end an
episode. Here random episodes are played on the AEC env itself, as the wrapper plays them,
and each rule is checked by one function, so a problem is named where it first happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rlscale.envs.masks import sample_action
from rlscale.envs.multiagent import AgentSpaces

if TYPE_CHECKING:
    from rlscale.envs.report import EnvReport

DICTS = ("rewards", "terminations", "truncations", "infos")


class _Turns:
    """Where the random episode is, and what was seen of each agent."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.step = 0
        self.left: set[str] = set()  # agents that left ``agents`` this episode
        self.flags: dict[str, bool] = {}  # agent -> terminated or truncated, last seen

    def where(self) -> str:
        return (f"episode {self.number}, after reset" if self.step == 0
                else f"episode {self.number}, step {self.step}")


def _error(report: EnvReport, message: str, turns: _Turns, key: str) -> None:
    from rlscale.envs.report import ERROR

    report.add(ERROR, f"{message} (first {turns.where()})", key=f"aec-{key}")


def check_agents_known(env: Any, agents: AgentSpaces, turns: _Turns, report: EnvReport) -> None:
    """``env.agents`` is a list of possible agents, each once."""
    listed = [str(a) for a in getattr(env, "agents", None) or []]
    for agent in dict.fromkeys(listed):
        if agent not in agents.observation_spaces:
            _error(report, f"agent {agent} is in env.agents but not one of the env's possible "
                           f"agents ({', '.join(agents.agents)})", turns, f"unknown-{agent}")
        if listed.count(agent) > 1:
            _error(report, f"agent {agent} is in env.agents {listed.count(agent)} times",
                   turns, f"twice-{agent}")


def check_agent_dicts(env: Any, turns: _Turns, report: EnvReport) -> None:
    """``rewards``, ``terminations``, ``truncations`` and ``infos`` hold exactly the agents of
    ``env.agents``: a missing agent is a KeyError in RLlib's wrapper, an extra one is an
    agent that left but was not cleaned up."""
    listed = {str(a) for a in getattr(env, "agents", None) or []}
    for name in DICTS:
        value = getattr(env, name, None)
        if not isinstance(value, Mapping):
            _error(report, f"env.{name} must be a dict agent -> value, got a "
                           f"{type(value).__name__}", turns, f"{name}-type")
            continue
        keys = {str(a) for a in value}
        for agent in sorted(listed - keys):
            _error(report, f"agent {agent} is in env.agents but not in env.{name}", turns,
                   f"{name}-missing-{agent}")
        for agent in sorted(keys - listed):
            _error(report, f"agent {agent} is in env.{name} but not in env.agents", turns,
                   f"{name}-extra-{agent}")


def check_selection(env: Any, turns: _Turns, report: EnvReport) -> None:
    """While agents are left, ``agent_selection`` is one of them."""
    listed = [str(a) for a in getattr(env, "agents", None) or []]
    selected = getattr(env, "agent_selection", None)
    if listed and str(selected) not in listed:
        _error(report, f"env.agent_selection is {selected!r}, not one of env.agents "
                       f"({', '.join(listed)})", turns, "selection")


def check_flags(env: Any, turns: _Turns, report: EnvReport) -> None:
    """Each listed agent's termination and truncation is a bool, and a done agent stays
    done until it leaves."""
    for name in ("terminations", "truncations"):
        value = getattr(env, name, None)
        if not isinstance(value, Mapping):
            continue
        for agent_id, flag in value.items():
            if not isinstance(flag, bool) and type(flag).__name__ != "bool_":
                _error(report, f"env.{name}[{agent_id!r}] must be a bool, got "
                               f"{type(flag).__name__}", turns, f"{name}-bool-{agent_id}")
    for agent in map(str, getattr(env, "agents", None) or []):
        done = _done(env, agent)
        if turns.flags.get(agent) and not done:
            _error(report, f"agent {agent} was terminated or truncated, then not, before it "
                           "left env.agents", turns, f"undone-{agent}")
        turns.flags[agent] = done


def check_departures(before: list[str], env: Any, turns: _Turns, report: EnvReport) -> None:
    """An agent leaves ``env.agents`` only after it was terminated or truncated, and does
    not come back in the same episode."""
    after = [str(a) for a in getattr(env, "agents", None) or []]
    for agent in before:
        if agent not in after:
            if not turns.flags.get(agent):
                _error(report, f"agent {agent} left env.agents without being terminated or "
                               "truncated", turns, f"vanished-{agent}")
            turns.left.add(agent)
            turns.flags.pop(agent, None)
    for agent in after:
        if agent in turns.left:
            _error(report, f"agent {agent} is back in env.agents after it left", turns,
                   f"back-{agent}")
            turns.left.discard(agent)


def check_dead_step(agent: str, env: Any, turns: _Turns, report: EnvReport) -> None:
    """Stepping a done agent (with ``None``) removes it from ``env.agents``; otherwise it is
    selected again and again and the episode never ends."""
    if agent in map(str, getattr(env, "agents", None) or []):
        _error(report, f"agent {agent} is still in env.agents after its last step (the "
                       "step with action None after it was terminated or truncated)", turns,
               f"undead-{agent}")


def _done(env: Any, agent: str) -> bool:
    flags = [getattr(env, name, None) or {} for name in ("terminations", "truncations")]
    return any(bool(f.get(agent, False)) for f in flags if isinstance(f, Mapping))


def _check_state(env: Any, agents: AgentSpaces, turns: _Turns, report: EnvReport) -> None:
    check_agents_known(env, agents, turns, report)
    check_agent_dicts(env, turns, report)
    check_selection(env, turns, report)
    check_flags(env, turns, report)


def _observe(env: Any, agent: str) -> Any:
    """The agent's observation (its action mask), None when the env cannot tell."""
    try:
        return env.observe(agent)
    except Exception:  # noqa: BLE001  (the checks report a broken env)
        return None


def aec_rollouts(env: Any, agents: AgentSpaces, episodes: int, seed: int, max_steps: int,
                 report: EnvReport) -> None:
    """Random-action episodes on ``env`` (a PettingZoo AEC env), each agent acting on its
    turn and a done agent stepped with ``None``, checking the bookkeeping after the reset
    and after every step."""
    for i, agent in enumerate(agents.agents):
        agents.action_spaces[agent].seed(seed + 1000 + i)
    for number in range(1, episodes + 1):
        turns = _Turns(number)
        env.reset(seed=seed + number - 1)
        _check_state(env, agents, turns, report)
        while getattr(env, "agents", None) and turns.step < max_steps:
            agent = str(env.agent_selection)
            if agent not in agents.action_spaces:
                return  # reported by check_selection / check_agents_known
            done = _done(env, agent)
            before = [str(a) for a in env.agents]
            env.step(None if done else sample_action(agents.action_spaces[agent],
                                                     _observe(env, agent)))
            turns.step += 1
            if done:
                check_dead_step(agent, env, turns, report)
            check_departures(before, env, turns, report)
            _check_state(env, agents, turns, report)
            if report.errors:
                return  # one broken episode says enough; later steps would repeat it
