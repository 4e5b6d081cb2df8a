"""Which observation spaces RLlib can train on (after flattening), in pure Gymnasium terms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym

LEAF_SPACES = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete,
               gym.spaces.MultiBinary)
SUPPORTED_OBSERVATIONS = (
    "supported are Box, Discrete, MultiDiscrete, MultiBinary, and Dict/Tuple of these; "
    "wrap the environment to encode it as one of them"
)


def leaf_spaces(space: gym.Space) -> Iterator[gym.Space]:
    """The parts of ``space`` that are not a ``Dict`` or ``Tuple``, depth first, in order."""
    if isinstance(space, gym.spaces.Dict):
        parts: Any = space.spaces.values()
    elif isinstance(space, gym.spaces.Tuple):
        parts = space.spaces
    else:
        yield space
        return
    for part in parts:
        yield from leaf_spaces(part)


def unsupported_observation_part(space: gym.Space) -> gym.Space | None:
    """The first part of ``space`` that RLlib's flattening cannot encode, if any."""
    return next((p for p in leaf_spaces(space) if not isinstance(p, LEAF_SPACES)), None)


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
