"""Algorithms: the registry, the resource plan and the RLlib config builder.

The builder (``build_algo_config``, ``config_diff``) imports RLlib and PyTorch: it is
imported on first use, so that a run is planned (and its Ray started) before them.
"""

from typing import TYPE_CHECKING, Any

from rlscale.algos.plan import ResourcePlan, plan_resources
from rlscale.algos.registry import ALGORITHMS, AlgoInfo, check_action_space, get_algo

if TYPE_CHECKING:
    from rlscale.algos.build import build_algo_config, config_diff

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
_BUILDER = ("build_algo_config", "config_diff")


def __getattr__(name: str) -> Any:
    if name in _BUILDER:
        from rlscale.algos import build

        return getattr(build, name)
    raise AttributeError(f"module 'rlscale.algos' has no attribute {name!r}")
