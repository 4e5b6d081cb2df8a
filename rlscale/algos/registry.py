"""The RLlib algorithms rlscale trains, and which action spaces each can handle."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gymnasium as gym

from rlscale.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig


@dataclass(frozen=True)
class AlgoInfo:
    """One online, single-agent RLlib algorithm."""

    name: str
    module: str
    config_class: str
    action_spaces: tuple[type[gym.Space], ...]
    on_policy: bool
    suggest_for_other_spaces: str
    # The main process waits while the env runners sample (PPO, DQN, SAC, TQC), instead of
    # learning from earlier samples meanwhile (APPO, IMPALA).
    synchronous: bool = True

    def config(self) -> AlgorithmConfig:
        """A fresh RLlib config object of this algorithm (RLlib's defaults)."""
        cls = getattr(importlib.import_module(self.module), self.config_class)
        return cls()


_PG_SPACES = (gym.spaces.Discrete, gym.spaces.Box, gym.spaces.MultiDiscrete)

ALGORITHMS: dict[str, AlgoInfo] = {
    info.name: info
    for info in (
        AlgoInfo("PPO", "ray.rllib.algorithms.ppo", "PPOConfig", _PG_SPACES, True, ""),
        AlgoInfo("APPO", "ray.rllib.algorithms.appo", "APPOConfig", _PG_SPACES, True, "",
                 synchronous=False),
        AlgoInfo("IMPALA", "ray.rllib.algorithms.impala", "IMPALAConfig", _PG_SPACES, True, "",
                 synchronous=False),
        AlgoInfo(
            "DQN", "ray.rllib.algorithms.dqn", "DQNConfig", (gym.spaces.Discrete,), False,
            "SAC (continuous or discrete) or PPO (any)",
        ),
        AlgoInfo(
            "SAC", "ray.rllib.algorithms.sac", "SACConfig",
            (gym.spaces.Box, gym.spaces.Discrete), False, "PPO or APPO",
        ),
        AlgoInfo(
            "TQC", "ray.rllib.algorithms.tqc", "TQCConfig", (gym.spaces.Box,), False,
            "SAC (Box or Discrete) or PPO (any)",
        ),
    )
}

OFFLINE_ALGORITHMS = {"BC", "CQL", "IQL", "MARWIL"}


def get_algo(name: str) -> AlgoInfo:
    """Look up an algorithm by name (case-insensitive), with a suggestion if unknown."""
    by_lower = {k.lower(): v for k, v in ALGORITHMS.items()}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    if name.upper() in OFFLINE_ALGORITHMS:
        raise ConfigError(
            f"algorithm '{name}' learns from offline data; rlscale trains online "
            f"(use one of {', '.join(ALGORITHMS)})"
        )
    raise ConfigError(
        f"unknown algorithm '{name}'{did_you_mean(name, ALGORITHMS)}; "
        f"available: {', '.join(ALGORITHMS)}"
    )


def check_action_space(algo: AlgoInfo, space: gym.Space | None) -> None:
    """Refuse, before Ray starts, an algorithm that cannot act in ``space``."""
    if space is None or isinstance(space, algo.action_spaces):
        return
    supported = ", ".join(s.__name__ for s in algo.action_spaces)
    raise ConfigError(
        f"{algo.name} cannot handle the action space {space} "
        f"({algo.name} supports {supported} actions); use {algo.suggest_for_other_spaces} instead"
    )
