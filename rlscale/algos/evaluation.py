"""Evaluation during training (``evaluation: {every: N, episodes: K, explore: false}``).

Every N iterations RLlib's evaluation env runner plays K whole episodes with the current
policy, greedily unless ``explore``, on envs of its own (seeded from the run's seed, apart
from the training envs). It runs in the main process, after the iteration's training step:
the resource plan gives every core to training, so a parallel evaluation runner would only
take turns with the training processes.

One env per evaluation runner, so that RLlib plays exactly K episodes: with several envs it
finishes the episodes already started when the K-th ends and reports more (ray #46412).
The count is read back from every evaluation result (rlscale.results.summary) and a
mismatch is logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlscale.errors import ConfigError

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rlscale.config.model import ExperimentConfig

EVAL = "eval"


def check_evaluation(exp: ExperimentConfig) -> None:
    """Refuse ``stop.on: eval`` without evaluation."""
    if exp.stop.on == EVAL and exp.evaluation.every == 0:
        raise ConfigError(
            "stop.on: eval judges the evaluation return: set evaluation.every "
            "(--eval-every N) too"
        )


def apply_evaluation(config: AlgorithmConfig, exp: ExperimentConfig) -> None:
    """Add RLlib's evaluation settings to ``config`` when ``exp`` asks for evaluation."""
    check_evaluation(exp)
    settings = exp.evaluation
    if settings.every == 0:
        return
    config.evaluation(
        evaluation_interval=settings.every,
        evaluation_duration=settings.episodes,
        evaluation_duration_unit="episodes",
        evaluation_num_env_runners=0,
        evaluation_parallel_to_training=False,
        evaluation_config={"explore": settings.explore, "num_envs_per_env_runner": 1},
    )
