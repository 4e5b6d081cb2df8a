"""Image observations in RLlib: the env-to-module connector that gives the CNN its layout
and dtype, and the conv filters for sizes RLlib has no default for (the decisions are
rlscale.envs.images'). Importing this module imports RLlib: import it where RLlib is used."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.connectors.env_to_module.observation_preprocessor import (
    SingleAgentObservationPreprocessor,
)

from rlscale.envs.images import ImagePlan, image_plan, to_module


class ImageObservations(SingleAgentObservationPreprocessor):  # type: ignore[misc]
    """Each observation as RLlib's CNN takes it: (H, W, C) float32, uint8 scaled to [0, 1].

    RLlib writes the result back into the episode, so the learner trains on the same
    arrays the env runner acted on."""

    _plan: ImagePlan | None = None

    def recompute_output_observation_space(
        self, input_observation_space: gym.Space, input_action_space: gym.Space
    ) -> gym.Space:
        self._plan = image_plan(input_observation_space)
        if self._plan is None or not isinstance(input_observation_space, gym.spaces.Box):
            return input_observation_space
        return self._plan.module_space(input_observation_space)

    def preprocess(self, observation: Any, episode: Any) -> Any:
        if self._plan is None:
            return observation
        return to_module(observation, self._plan)


def image_observations(env: Any = None, spaces: Any = None, device: Any = None) -> Any:
    """The env-to-module connector factory (module-level: RLlib pickles it)."""
    return ImageObservations()


def image_model(plan: ImagePlan | None, model: dict[str, Any] | None) -> dict[str, Any] | None:
    """``model`` (``algo_config.model``) with rlscale's conv filters for an image size RLlib
    has no default for, unless ``conv_filters`` is already set."""
    if plan is None or plan.conv_filters is None or (model or {}).get("conv_filters"):
        return model
    filters = [[out, list(kernel), *rest] for out, kernel, *rest in plan.conv_filters]
    return {**(model or {}), "conv_filters": filters}
