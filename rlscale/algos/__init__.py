"""Algorithms: the registry, the resource plan and the RLlib config builder."""

from rlscale.algos.build import build_algo_config, config_diff
from rlscale.algos.plan import ResourcePlan, plan_resources
from rlscale.algos.registry import ALGORITHMS, AlgoInfo, check_action_space, get_algo

__all__ = [
    "ALGORITHMS",
    "AlgoInfo",
    "ResourcePlan",
    "build_algo_config",
    "check_action_space",
    "config_diff",
    "get_algo",
    "plan_resources",
]
