"""Turn an env spec into something RLlib can build, in the driver and in env runners."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlscale.errors import EnvSpecError, did_you_mean


@dataclass(frozen=True)
class ResolvedEnv:
    """An env spec resolved: the name RLlib builds it by, its config and its spaces."""

    spec: str
    rllib_env: str
    env_config: dict[str, Any] = field(default_factory=dict)
    observation_space: gym.Space | None = None
    action_space: gym.Space | None = None

    def make(self) -> gym.Env:
        """Build one instance in this process."""
        return make_env(self.spec, self.env_config)


def describe_space(space: gym.Space | None) -> str:
    """A short, one-line description of a space: ``Box(4,) float32``, ``Discrete(2)``."""
    if space is None:
        return "unknown"
    if isinstance(space, gym.spaces.Box):
        return f"Box{space.shape} {space.dtype}"
    if isinstance(space, gym.spaces.Dict):
        inner = ", ".join(f"{k}: {describe_space(v)}" for k, v in space.spaces.items())
        return f"Dict({inner})"
    if isinstance(space, gym.spaces.Tuple):
        return f"Tuple({', '.join(describe_space(s) for s in space.spaces)})"
    return str(space)


def import_env_packages(packages: Sequence[str]) -> None:
    """Import packages that register Gymnasium ids (``--env-package``)."""
    for name in packages:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise EnvSpecError(f"--env-package {name}: cannot import it ({exc})") from None


def make_env(spec: str, env_config: dict[str, Any] | None = None) -> gym.Env:
    """Create one environment instance from a Gymnasium id."""
    if spec not in gym.registry:
        raise EnvSpecError(f"unknown environment '{spec}'{did_you_mean(spec, gym.registry)}")
    try:
        return gym.make(spec, **(env_config or {}))
    except Exception as exc:  # the env's own constructor failed
        raise EnvSpecError(f"environment '{spec}' failed to build: {exc}") from None


def resolve_env(
    spec: str, env_config: dict[str, Any] | None = None, env_packages: Sequence[str] = ()
) -> ResolvedEnv:
    """Resolve ``spec`` and read its spaces by building one instance in the driver."""
    import_env_packages(env_packages)
    env = make_env(spec, env_config)
    try:
        return ResolvedEnv(
            spec=spec,
            rllib_env=spec,
            env_config=dict(env_config or {}),
            observation_space=env.observation_space,
            action_space=env.action_space,
        )
    finally:
        env.close()
