"""The masked RL module classes (importing RLlib): the classes a masked run's checkpoints
name, so that ``RLModule.from_checkpoint`` rebuilds them, and the specs that put them in a
run's config. See :mod:`rlscale.algos.masking` for what masking does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.rllib.algorithms.appo.default_appo_rl_module import (
    TARGET_NETWORK_ACTION_DIST_INPUTS,
)
from ray.rllib.algorithms.appo.torch.default_appo_torch_rl_module import (
    DefaultAPPOTorchRLModule,
)
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
    DefaultPPOTorchRLModule,
)

from rlscale.algos.masking import KEY_SETTING, MaskingMixin, mask_logits
from rlscale.envs.masks import ActionMask
from rlscale.errors import ConfigError

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec


class MaskedPPOTorchRLModule(MaskingMixin, DefaultPPOTorchRLModule):  # type: ignore[misc]
    """PPO's (and IMPALA's) default torch RL module with action masking."""


class MaskedAPPOTorchRLModule(MaskingMixin, DefaultAPPOTorchRLModule):  # type: ignore[misc]
    """APPO's default torch RL module with action masking (its target network too)."""

    def forward_target(self, batch: dict[str, Any]) -> dict[str, Any]:
        inner, mask = self._split(batch)
        out: dict[str, Any] = super().forward_target(inner)
        out[TARGET_NETWORK_ACTION_DIST_INPUTS] = mask_logits(
            out[TARGET_NETWORK_ACTION_DIST_INPUTS], mask)
        return out


# Each RLlib module class rlscale masks -> its masked subclass (APPO's first: it is a PPO
# module too).
MASKED: dict[type, type] = {DefaultAPPOTorchRLModule: MaskedAPPOTorchRLModule,
                             DefaultPPOTorchRLModule: MaskedPPOTorchRLModule}


def masked_module_class(config: AlgorithmConfig) -> type:
    """The masked counterpart of the algorithm's default RL module class."""
    base = getattr(config.get_default_rl_module_spec(), "module_class", None)
    for parent, masked in MASKED.items():  # APPO's first: it is a PPO module too
        if isinstance(base, type) and issubclass(base, parent):
            return masked
    raise ConfigError(f"{getattr(config.algo_class, '__name__', config.algo_class)} has no "
                      "RL module rlscale can mask")


def masked_spec(config: AlgorithmConfig, mask: ActionMask) -> RLModuleSpec:
    """The RL module spec of one masked policy (RLlib adds the run's model settings to its
    ``model_config``)."""
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    return RLModuleSpec(module_class=masked_module_class(config),
                        model_config={KEY_SETTING: mask.key})


def apply_action_mask(config: AlgorithmConfig, mask: ActionMask) -> None:
    """A single-agent run: train with the masked RL module."""
    config.rl_module(rl_module_spec=masked_spec(config, mask))
