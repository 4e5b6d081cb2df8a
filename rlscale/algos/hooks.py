"""RLlib's callback settings (``callbacks_on_*``): one hook, a list of them, or none."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig


def hook_list(value: Any) -> list[Any]:
    """A ``callbacks_on_*`` setting as a list of hooks, in the order RLlib calls them."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def add_hook(config: AlgorithmConfig, event: str, hook: Callable[..., Any]) -> None:
    """Call ``hook`` on ``event`` (``on_algorithm_init``, ...) after the hooks already set."""
    earlier = hook_list(getattr(config, f"callbacks_{event}"))
    config.callbacks(**{event: [*earlier, hook]})
