"""Action masking with RLlib's RLModule API: the policy's logits of illegal actions are pushed
to the lowest float before any distribution is built from them, in every forward pass
(exploration, inference, training and APPO's target network), so no illegal action is ever
sampled or taken greedily, and the loss only weighs legal ones.

The RL module gets the env's ``Dict`` observation as it is; it takes the mask out and
flattens the rest as Gymnasium's ``flatten`` does (one-hot discrete parts), so RLlib's default
encoder (an MLP, or an LSTM with ``use_lstm``) sees one float vector. The mask's key rides in
the module's ``model_config`` (``rlscale_action_mask_key``): the module restores itself from a
checkpoint alone.

RLlib allows this for the algorithms whose RL module is PPO's (PPO, APPO, IMPALA); DQN's and
SAC's targets take a max or an expectation over all actions, which a mask in the forward pass
alone does not fix: rlscale refuses them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlscale.envs.masks import DEFAULT_KEY, ActionMask, find_action_mask
from rlscale.errors import ConfigError

if TYPE_CHECKING:
    import torch

# The model_config entry that carries the mask key into the module (and its checkpoint).
KEY_SETTING = "rlscale_action_mask_key"
MASKING_ALGOS = ("PPO", "APPO", "IMPALA")


def check_masking_algo(algo: str, mask: ActionMask) -> None:
    """Refuse an algorithm RLlib cannot mask actions for, in one line."""
    if algo not in MASKING_ALGOS:
        raise ConfigError(
            f"{algo} cannot train with an action mask (the observation's '{mask.key}'): "
            f"use one of {', '.join(MASKING_ALGOS)}, or set action_mask.key: null to train "
            "without masking"
        )


def flatten_tensor(space: gym.Space, value: Any) -> torch.Tensor:
    """``value`` (tensors shaped as ``space``'s samples behind any batch dimensions) as one
    float vector per sample, in the layout of ``gymnasium.spaces.flatten``."""
    import torch

    if isinstance(space, gym.spaces.Dict):
        return torch.cat([flatten_tensor(s, value[k]) for k, s in space.spaces.items()], -1)
    if isinstance(space, gym.spaces.Tuple):
        return torch.cat([flatten_tensor(s, value[i]) for i, s in enumerate(space.spaces)], -1)
    x = torch.as_tensor(value)
    if isinstance(space, gym.spaces.Discrete):
        return torch.nn.functional.one_hot((x - int(space.start)).long(), int(space.n)).float()
    if isinstance(space, gym.spaces.MultiDiscrete):
        nvec, start = np.asarray(space.nvec).reshape(-1), np.asarray(space.start).reshape(-1)
        flat = x.reshape(*x.shape[: x.ndim - len(space.shape)], -1).long()
        return torch.cat([
            torch.nn.functional.one_hot(flat[..., i] - int(start[i]), int(n)).float()
            for i, n in enumerate(nvec)
        ], -1)
    shape = tuple(getattr(space, "shape", ()) or ())
    batch = x.shape[: x.ndim - len(shape)]
    return x.reshape(*batch, int(np.prod(shape))).float()


def mask_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``logits`` with those of actions the mask marks 0 at the lowest float."""
    import torch
    from ray.rllib.utils.torch_utils import FLOAT_MIN

    legal = mask.reshape(logits.shape).to(logits.dtype) > 0
    return torch.where(legal, logits, torch.full_like(logits, FLOAT_MIN))


def _settings(model_config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(model_config) and not isinstance(model_config, type):
        return dataclasses.asdict(model_config)
    return dict(model_config or {})


class MaskingMixin:
    """Takes the mask out of the ``Dict`` observation, flattens the rest for the base module
    (PPO's default torch module or APPO's), and masks every set of logits it returns."""

    def __init__(self, *args: Any, observation_space: gym.Space | None = None,
                 action_space: gym.Space | None = None, model_config: Any = None,
                 **kwargs: Any) -> None:
        key = _settings(model_config).get(KEY_SETTING, DEFAULT_KEY)
        mask = find_action_mask(observation_space, action_space, key)
        if mask is None:
            raise ValueError(f"the observation space {observation_space} has no action "
                             f"mask '{key}'")
        self._mask_key = key
        self._seen_space = mask.observation_space
        flat = gym.spaces.Box(-np.inf, np.inf, (gym.spaces.flatdim(self._seen_space),),
                              np.float32)
        super().__init__(*args, observation_space=flat,  # type: ignore[call-arg]
                         action_space=action_space, model_config=model_config, **kwargs)
        # What the env gives (and what a checkpoint rebuilds the module from).
        self.observation_space = observation_space

    def _split(self, batch: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        from ray.rllib.core import Columns

        obs = batch[Columns.OBS]
        inner = dict(batch)
        inner[Columns.OBS] = flatten_tensor(
            self._seen_space, {k: obs[k] for k in self._seen_space.spaces})
        return inner, obs[self._mask_key]

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        from ray.rllib.core import Columns

        inner, mask = self._split(batch)
        out: dict[str, Any] = super()._forward(inner, **kwargs)  # type: ignore[misc]
        out[Columns.ACTION_DIST_INPUTS] = mask_logits(out[Columns.ACTION_DIST_INPUTS], mask)
        return out

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        from ray.rllib.core import Columns

        inner, mask = self._split(batch)
        out: dict[str, Any] = super()._forward_train(inner, **kwargs)  # type: ignore[misc]
        out[Columns.ACTION_DIST_INPUTS] = mask_logits(out[Columns.ACTION_DIST_INPUTS], mask)
        return out

    def masked_forward(self, batch: dict[str, Any], mask: Any) -> dict[str, Any]:
        """The inference pass on a batch whose observations are already flattened, its
        logits masked by ``mask`` (what an exported file computes)."""
        from ray.rllib.core import Columns

        out: dict[str, Any] = super()._forward(batch)  # type: ignore[misc]
        out[Columns.ACTION_DIST_INPUTS] = mask_logits(out[Columns.ACTION_DIST_INPUTS], mask)
        return out

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> Any:
        inner, _ = self._split(batch) if embeddings is None else (batch, None)
        return super().compute_values(inner, embeddings)  # type: ignore[misc]
