"""Multi-agent environments: PettingZoo (parallel and AEC) and RLlib ``MultiAgentEnv``.

The resolver builds whatever an env spec names; when that is a multi-agent env, this module
turns it into the RLlib ``MultiAgentEnv`` that RLlib's multi-agent env runners step:

- a PettingZoo AEC env (turn-based; ``module:env``) goes into
  :class:`~rlscale.envs.pettingzoo_aec.AecPettingZoo`, RLlib's own ``PettingZooEnv`` ending
  an episode whose last agents leave some by termination, some by truncation (see there);
- a PettingZoo ``ParallelEnv`` (``module:parallel_env``) goes into rlscale's
  :class:`~rlscale.envs.pettingzoo_parallel.ParallelPettingZoo`, because RLlib's
  ``ParallelPettingZooEnv`` does not end an episode in which the last agents leave some by
  termination and some by truncation (see that module);
- an RLlib ``MultiAgentEnv`` is used as it is.

The kind is told from the class's bases by name, so nothing heavy (RLlib) is imported to
recognise an env. Agent ids are shown and mapped to policies as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

PARALLEL = "pettingzoo-parallel"
AEC = "pettingzoo-aec"
RLLIB = "rllib-multi-agent"
KIND_NAMES = {PARALLEL: "PettingZoo ParallelEnv", AEC: "PettingZoo AEC env",
              RLLIB: "RLlib MultiAgentEnv"}

_BASES = {
    "ray.rllib.env.multi_agent_env.MultiAgentEnv": RLLIB,
    "pettingzoo.utils.env.ParallelEnv": PARALLEL,
    "pettingzoo.utils.env.AECEnv": AEC,
}


def class_kind(cls: type) -> str | None:
    """The multi-agent kind of a class (``PARALLEL``, ``AEC``, ``RLLIB``), or ``None``."""
    names = {f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__}
    for base, kind in _BASES.items():
        if base in names:
            return kind
    return None


def object_kind(obj: Any) -> str | None:
    """The multi-agent kind of an env object, or ``None`` for anything else."""
    return class_kind(type(obj))


def wrap(env: Any) -> Any:
    """``env`` as the RLlib ``MultiAgentEnv`` RLlib's env runners step."""
    kind = object_kind(env)
    if kind == RLLIB:
        return env
    if kind == PARALLEL:
        from rlscale.envs.pettingzoo_parallel import ParallelPettingZoo

        return ParallelPettingZoo(env)
    if kind == AEC:
        from rlscale.envs.pettingzoo_aec import AecPettingZoo

        return AecPettingZoo(env)
    raise TypeError(f"{type(env).__name__} is not a multi-agent environment")


@dataclass(frozen=True)
class AgentSpaces:
    """A multi-agent env's agents and each one's spaces."""

    kind: str
    agents: tuple[str, ...]
    observation_spaces: Mapping[str, gym.Space]
    action_spaces: Mapping[str, gym.Space]

    def spaces_of(self, agent: str) -> tuple[gym.Space, gym.Space]:
        """``agent``'s observation and action spaces."""
        return self.observation_spaces[agent], self.action_spaces[agent]


def make_registered(env_id: str, kwargs: dict[str, Any]) -> Any:
    """A multi-agent env registered as a Gymnasium id (``gymnasium.register`` with a
    PettingZoo or RLlib entry point), built by its entry point; ``None`` when the id's
    entry point builds something else."""
    spec = gym.spec(env_id)
    entry = spec.entry_point
    creator = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    if creator is None or (isinstance(creator, type) and class_kind(creator) is None):
        return None
    env = creator(**{**spec.kwargs, **kwargs})
    return env if object_kind(env) is not None else None


def wrapped_kind(env: Any) -> str:
    """The kind of env a wrapped (RLlib) multi-agent env was made from."""
    name = type(env).__name__
    return {"ParallelPettingZoo": PARALLEL, "AecPettingZoo": AEC,
            "PettingZooEnv": AEC}.get(name, RLLIB)


def _inner(env: Any) -> Any:
    return getattr(env, "par_env", None) or getattr(env, "env", None)


def read_spaces(env: Any) -> AgentSpaces:
    """Every possible agent of the wrapped ``env`` (an RLlib ``MultiAgentEnv``) and its
    spaces, in the env's own order."""
    kind = wrapped_kind(env)
    source = _inner(env) if kind != RLLIB else env
    agents = list(getattr(source, "possible_agents", None) or [])
    if not agents:
        env.reset(seed=0)
        agents = list(getattr(env, "possible_agents", None) or getattr(env, "agents", None) or [])
    observation = {str(a): env.get_observation_space(a) for a in agents}
    action = {str(a): env.get_action_space(a) for a in agents}
    return AgentSpaces(kind, tuple(map(str, agents)), observation, action)


def inner_env(env: Any) -> Any:
    """The PettingZoo env inside rlscale's or RLlib's wrapper; ``env`` itself otherwise."""
    return _inner(env) if wrapped_kind(env) != RLLIB else env


def render_mode(env: Any) -> str | None:
    """The render mode the wrapped multi-agent ``env`` was made with."""
    mode = getattr(inner_env(env), "render_mode", None)
    return mode if isinstance(mode, str) else None


def render_modes(env: Any) -> list[str]:
    """The render modes the wrapped multi-agent ``env`` declares in its metadata."""
    metadata = getattr(inner_env(env), "metadata", None) or {}
    return list(metadata.get("render_modes", [])) if isinstance(metadata, Mapping) else []


def render(env: Any) -> Any:
    """One frame of the wrapped multi-agent ``env``. The PettingZoo env renders itself:
    RLlib's AEC wrapper passes its render mode to ``render()``, which PettingZoo's
    ``render()`` does not take."""
    return inner_env(env).render()


def time_random_steps(env: Any, steps: int, seed: int = 0) -> float:
    """Seconds ``env`` (a wrapped multi-agent env) spent in ``steps`` steps of random
    actions, each agent acting while it has an observation; it resets when ``__all__``."""
    import time

    from rlscale.envs.masks import sample_action

    obs, _ = env.reset(seed=seed)
    spent = 0.0
    for _ in range(steps):
        actions = {a: sample_action(env.get_action_space(a), obs[a]) for a in obs}
        start = time.perf_counter()
        obs, _, terminated, truncated, _ = env.step(actions)
        spent += time.perf_counter() - start
        if terminated.get("__all__") or truncated.get("__all__") or not obs:
            obs, _ = env.reset()
    return spent
