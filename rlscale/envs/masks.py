"""Action masks: a ``Dict`` observation with a mask key (PettingZoo's ``action_mask``) that
marks which of the discrete actions are legal in this state, found once from the spaces.

A mask of a ``Discrete(n)`` action space is a vector of ``n`` zeros and ones (any dtype); of a
``MultiDiscrete([n1, n2, ...])``, a vector of ``n1 + n2 + ...`` (each part's actions in turn,
the layout of the policy's logits). The rest of the ``Dict`` is what the policy sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs.spaces import describe_space
from rlscale.errors import EnvSpecError

DEFAULT_KEY = "action_mask"


@dataclass(frozen=True)
class ActionMask:
    """Where an env's action mask is, and the observation the policy sees beside it."""

    key: str
    size: int  # logits the mask covers: n, or the sum of a MultiDiscrete's sizes
    observation_space: gym.spaces.Dict  # the observation without the mask

    def describe(self) -> str:
        """One line for check-env and --dry-run."""
        rest = ", ".join(self.observation_space.spaces)
        return (f"key '{self.key}' ({self.size} actions; the policy sees {rest}): illegal "
                "actions are masked in training, evaluate and export")

    def legal(self, obs: Any) -> np.ndarray:
        """The mask of one observation as booleans."""
        return np.asarray(obs[self.key]).reshape(-1) > 0


def logits_size(action_space: gym.Space) -> int | None:
    """The logits of a discrete action space (``None`` for other spaces)."""
    if isinstance(action_space, gym.spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, gym.spaces.MultiDiscrete):
        return int(np.sum(action_space.nvec))
    return None


def find_action_mask(observation_space: gym.Space | None, action_space: gym.Space | None,
                     key: str | None = DEFAULT_KEY) -> ActionMask | None:
    """The action mask of an env with these spaces; ``None`` when it has none (or ``key`` is
    ``None``: masking switched off).

    Raises :class:`EnvSpecError` when the key is there but cannot be a mask of the actions.
    """
    if key is None or not isinstance(observation_space, gym.spaces.Dict):
        return None
    if key not in observation_space.spaces:
        return None
    mask = observation_space.spaces[key]
    size = logits_size(action_space) if action_space is not None else None
    where = f"the observation's '{key}'"
    if size is None:
        raise EnvSpecError(
            f"{where} is an action mask, but the action space {describe_space(action_space)} "
            "is not Discrete or MultiDiscrete (set action_mask.key: null to train on it as "
            "an observation)"
        )
    shape = getattr(mask, "shape", None)
    if not isinstance(mask, gym.spaces.Box | gym.spaces.MultiBinary) or shape is None \
            or int(np.prod(shape)) != size:
        raise EnvSpecError(
            f"{where} ({describe_space(mask)}) cannot mask {describe_space(action_space)}: "
            f"expected a vector of {size} zeros and ones"
        )
    rest = {k: v for k, v in observation_space.spaces.items() if k != key}
    if not rest:
        raise EnvSpecError(f"the observation holds only the action mask '{key}': nothing else "
                           "for the policy to see")
    return ActionMask(key, size, gym.spaces.Dict(rest))


def sample_action(action_space: gym.Space, obs: Any, key: str = DEFAULT_KEY) -> Any:
    """A random action, legal by the observation's mask when it has one (the random episodes
    of check-env: an env that ends an episode on an illegal action plays on)."""
    mask = obs.get(key) if isinstance(obs, dict) else None
    size = logits_size(action_space)
    if mask is None or size is None:
        return action_space.sample()
    legal = np.asarray(mask).reshape(-1)
    if legal.shape != (size,) or not legal.any():
        return action_space.sample()  # a broken mask: the env's own checks report it
    legal = (legal > 0).astype(np.int8)
    if isinstance(action_space, gym.spaces.Discrete):
        return action_space.sample(mask=legal)
    assert isinstance(action_space, gym.spaces.MultiDiscrete)
    nvec = np.asarray(action_space.nvec).reshape(-1)
    parts = np.split(legal, np.cumsum(nvec)[:-1])
    if len(np.shape(action_space.nvec)) != 1 or not all(p.any() for p in parts):
        return action_space.sample()
    return action_space.sample(mask=tuple(parts))
