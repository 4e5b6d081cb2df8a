"""The experiment model and how it is assembled from files, ``--set`` and flags."""

from rlscale.config.load import deep_merge, parse_set, resolve_experiment, validate
from rlscale.config.model import ExperimentConfig, ResourcesConfig, StopConfig

__all__ = [
    "ExperimentConfig",
    "ResourcesConfig",
    "StopConfig",
    "deep_merge",
    "parse_set",
    "resolve_experiment",
    "validate",
]
