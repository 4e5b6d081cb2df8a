"""Which observation spaces RLlib can train on (after flattening), in pure Gymnasium terms."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

LEAF_SPACES = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete,
               gym.spaces.MultiBinary)
SUPPORTED_OBSERVATIONS = (
    "supported are Box, Discrete, MultiDiscrete, MultiBinary, and Dict/Tuple of these; "
    "wrap the environment to encode it as one of them"
)


def unsupported_observation_part(space: gym.Space) -> gym.Space | None:
    """The first part of ``space`` that RLlib's flattening cannot encode, if any."""
    if isinstance(space, gym.spaces.Dict):
        parts: Any = space.spaces.values()
    elif isinstance(space, gym.spaces.Tuple):
        parts = space.spaces
    elif isinstance(space, LEAF_SPACES):
        return None
    else:
        return space
    for part in parts:
        bad = unsupported_observation_part(part)
        if bad is not None:
            return bad
    return None
