"""The masked RL module classes (importing RLlib): the classes a masked run's checkpoints
name, so that ``RLModule.from_checkpoint`` rebuilds them. See :mod:`rlscale.algos.masking`."""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.appo.default_appo_rl_module import (
    TARGET_NETWORK_ACTION_DIST_INPUTS,
)
from ray.rllib.algorithms.appo.torch.default_appo_torch_rl_module import (
    DefaultAPPOTorchRLModule,
)
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
    DefaultPPOTorchRLModule,
)

from rlscale.algos.masking import MaskingMixin, mask_logits


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

