"""Observation normalization (``normalize: {obs: true}``): RLlib's ``MeanStdFilter``.

The filter is an env-to-module connector: every env runner keeps running means and
standard deviations of the observations it sees; after each iteration RLlib merges the
runners' statistics and sends the merged ones back to all of them, and an ``Algorithm``
checkpoint stores them under ``env_runner/env_to_module_connector``. ``evaluate`` and
``export`` read them back from there (rlscale.evaluate.restore), so the policy is always
given observations normalized as in training.

RLlib 2.60 has no reward-normalizing connector: only observations are normalized.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from rlscale.envs.images import image_plan
from rlscale.errors import ConfigError

# MeanStdFilter's defaults, written down because evaluate/export apply the same formula:
# clip((obs - mean) / (std + EPSILON), -CLIP, CLIP).
CLIP = 10.0
EPSILON = 1e-6


def mean_std_filter(env: Any = None, spaces: Any = None, device: Any = None) -> Any:
    """Observation filter alone (module-level: RLlib pickles connector factories)."""
    from ray.rllib.connectors.env_to_module import MeanStdFilter

    return [MeanStdFilter(clip_by_value=CLIP)]


def flatten_then_mean_std_filter(env: Any = None, spaces: Any = None,
                                 device: Any = None) -> Any:
    """Flattening (which casts to float32), then the observation filter."""
    from ray.rllib.connectors.env_to_module import FlattenObservations, MeanStdFilter

    return [FlattenObservations(), MeanStdFilter(clip_by_value=CLIP)]


def observation_pipeline(
    observation_space: gym.Space | None,
    normalize_obs: bool,
    base: Callable[..., Any] | None,
) -> Callable[..., Any] | None:
    """The env-to-module connector factory: ``base`` (flattening, or ``None``), with the
    observation filter after it when ``normalize_obs`` (checked by
    :func:`check_observation_normalization` first, once per run, by the job)."""
    if not normalize_obs:
        return base
    return mean_std_filter if base is None else flatten_then_mean_std_filter


def check_observation_normalization(
    observation_space: gym.Space | None, normalize_obs: bool
) -> None:
    """Refuse ``normalize.obs`` for observations it cannot filter: images, non-Box spaces."""
    if not normalize_obs:
        return
    if image_plan(observation_space) is not None:
        raise ConfigError(
            "normalize.obs is for vector observations: image observations are scaled to "
            "[0, 1] instead (see docs/images.md); set normalize.obs: false"
        )
    if not isinstance(observation_space, gym.spaces.Box):
        raise ConfigError(
            f"normalize.obs needs a Box observation space, not {observation_space} "
            "(wrap the env so it gives one: env_wrappers)"
        )
