"""Which observation spaces RLlib trains on, and the connector that makes the rest fit.

RLlib's default RL modules take a flat ``Box`` (an MLP) or an image ``Box`` (a CNN).
Images reach the CNN as (H, W, C) float32 through rlscale's ``ImageObservations``
connector (rlscale.envs.images decides, rlscale.algos.images converts).
Everything else Gymnasium's own environments use (``Discrete`` observations as in
FrozenLake and Taxi, ``MultiDiscrete``, ``MultiBinary``, ``Dict`` and ``Tuple`` of those,
``Box`` of other ranks) is flattened into one vector by RLlib's ``FlattenObservations``
env-to-module connector, which one-hot encodes the discrete parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from rlscale.envs.images import image_plan
from rlscale.envs.spaces import (
    SUPPORTED_OBSERVATIONS,
    leaf_spaces,
    unsupported_observation_part,
)
from rlscale.errors import EnvSpecError


def needs_flattening(space: gym.Space) -> bool:
    """True unless ``space`` is a Box RLlib's default modules take as it is (a vector of
    integers, e.g. MiniGrid's FlatObsWrapper's uint8, is flattened: that casts to float32,
    which the MLP's weights need). Images (rlscale.envs.images) are not flattened."""
    if image_plan(space) is not None:
        return False
    if isinstance(space, gym.spaces.Box):
        if len(space.shape) == 1:
            return not np.issubdtype(space.dtype, np.floating)
        return len(space.shape) != 3
    return True


def flatten_observations(env: Any = None, spaces: Any = None, device: Any = None) -> Any:
    """The env-to-module connector (a module-level function: RLlib pickles it)."""
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations()


def observation_connector(space: gym.Space | None) -> Callable[..., Any] | None:
    """The connector factory ``space`` needs, ``None`` when it needs none.

    Raises :class:`EnvSpecError` for a space RLlib cannot train on, naming it.
    """
    if space is None:
        return None
    bad = unsupported_observation_part(space)
    if bad is not None:
        inside = "" if bad is space else f" (in the observation space {space})"
        raise EnvSpecError(
            f"RLlib cannot train on the observation space {bad}{inside}: "
            f"{SUPPORTED_OBSERVATIONS}"
        )
    plan = image_plan(space)
    if plan is not None:
        if not plan.converts:
            return None
        from rlscale.algos.images import image_observations

        return image_observations
    return flatten_observations if needs_flattening(space) else None


def has_box(space: gym.Space) -> bool:
    """True when ``space`` has a continuous (``Box``) part anywhere inside it."""
    return any(isinstance(part, gym.spaces.Box) for part in leaf_spaces(space))
