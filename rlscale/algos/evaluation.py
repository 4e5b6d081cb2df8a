"""Evaluation during training (``evaluation: {every: N, episodes: K, explore: false}``).

Every N iterations RLlib's evaluation env runner plays K whole episodes with the current
policy, greedily unless ``explore``, on envs of its own (seeded from the run's seed, apart
from the training envs). It runs in the main process, after the iteration's training step:
the resource plan gives every core to training, so a parallel evaluation runner would only
take turns with the training processes.

One env per evaluation runner, so that RLlib plays exactly K episodes: with several envs it
finishes the episodes already started when the K-th ends and reports more (ray #46412).
The count is recorded in ``summary.json`` (``eval_episodes``).

RLlib 2.60 repeats the last evaluation's metrics in the results of the iterations that did
not evaluate; they are taken out, so a result has ``evaluation`` only when it evaluated (and
trackers, the summary and ``stop.on: eval`` see each evaluation once). RLlib does not give
its evaluation env runner in the main process the training runners' observation filter
(``normalize.obs``): it would evaluate with statistics of its own, gathered on its few
episodes; the training statistics are copied to it before each evaluation.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from rlscale.algos.hooks import hook_list
from rlscale.errors import ConfigError

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rlscale.config.model import ExperimentConfig
    from rlscale.envs.resolve import ResolvedEnv

EVAL = "eval"


def check_evaluation(exp: ExperimentConfig) -> None:
    """Refuse ``stop.on: eval`` without evaluation."""
    if exp.stop.on == EVAL and exp.evaluation.every == 0:
        raise ConfigError(
            "stop.on: eval judges the evaluation return: set evaluation.every "
            "(--eval-every N) too"
        )


def drop_repeated_evaluation(every: int, *, result: dict[str, Any], **_: Any) -> None:
    """``on_train_result``: remove the evaluation metrics of an iteration that did not
    evaluate (RLlib repeats the last ones)."""
    iteration = result.get("training_iteration")
    if isinstance(iteration, int) and iteration % every != 0:
        result.pop("evaluation", None)


def _train_result_hooks(hooks: tuple[Any, ...], every: int, **kwargs: Any) -> None:
    """The ``on_train_result`` hooks set before, then :func:`drop_repeated_evaluation`."""
    for hook in hooks:
        hook(**kwargs)
    drop_repeated_evaluation(every, **kwargs)


def copy_observation_filter(*, algorithm: Any, **_: Any) -> None:
    """``on_evaluate_start``: the evaluation runner normalizes with the training runners'
    merged statistics (normalize.obs)."""
    from ray.rllib.core import COMPONENT_ENV_TO_MODULE_CONNECTOR

    source, target = algorithm.env_runner, algorithm.eval_env_runner
    if source is None or target is None:
        return
    target.set_state(source.get_state(components=COMPONENT_ENV_TO_MODULE_CONNECTOR))


def episode_step_cap(exp: ExperimentConfig, env: ResolvedEnv | None) -> int:
    """An evaluation episode's step cap: evaluation.max_episode_steps, else the env's own
    time limit, else :data:`~rlscale.envs.bounds.DEFAULT_MAX_EPISODE_STEPS`."""
    from rlscale.envs.bounds import DEFAULT_MAX_EPISODE_STEPS

    if exp.evaluation.max_episode_steps is not None:
        return exp.evaluation.max_episode_steps
    own = env.max_episode_steps if env is not None else None
    return own or DEFAULT_MAX_EPISODE_STEPS


def bound_evaluation(config: AlgorithmConfig, deadline: float | None) -> None:
    """Give the evaluation envs the wall-clock ``deadline`` (``time.time()``) at which the
    run stops: an evaluation still running then is cut."""
    from rlscale.envs.bounds import BOUND_KEY, bound_config

    eval_config: dict[str, Any] = dict(config.evaluation_config or {})
    env_config = eval_config.get("env_config")
    if not env_config or BOUND_KEY not in env_config:
        return
    eval_config["env_config"] = bound_config(
        env_config, int(env_config[BOUND_KEY]["max_steps"]), deadline
    )
    config.evaluation(evaluation_config=eval_config)


def note_cut_episodes(*, evaluation_metrics: dict[str, Any], **_: Any) -> None:
    """``on_evaluate_end``: how many of the evaluation's episodes a stop cut short (in the
    results as ``evaluation/episodes_cut_by_stop`` when any were)."""
    from rlscale.envs.bounds import take_cut_count
    from rlscale.results.metrics import EVAL_CUT_KEY

    cut = take_cut_count()
    if cut:
        evaluation_metrics[EVAL_CUT_KEY] = cut


def apply_evaluation(
    config: AlgorithmConfig, exp: ExperimentConfig, env: ResolvedEnv | None = None
) -> None:
    """Add RLlib's evaluation settings to ``config`` when ``exp`` asks for evaluation: each
    evaluation plays ``episodes`` episodes of at most :func:`episode_step_cap` steps."""
    from rlscale.envs.bounds import bound_config

    check_evaluation(exp)
    settings = exp.evaluation
    if settings.every == 0:
        return
    env_config = dict(env.env_config) if env is not None else dict(exp.env_config)
    if env is not None and env.is_external:  # simulators of its own, on a port of its own
        from rlscale.envs.external_settings import evaluation_env_config

        env_config = evaluation_env_config(env_config, config.num_env_runners)
    config.evaluation(
        evaluation_interval=settings.every,
        evaluation_duration=settings.episodes,
        evaluation_duration_unit="episodes",
        evaluation_num_env_runners=0,
        evaluation_parallel_to_training=False,
        evaluation_config={"explore": settings.explore, "num_envs_per_env_runner": 1,
                           "env_config": bound_config(env_config,
                                                      episode_step_cap(exp, env))},
    )
    before = hook_list(config.callbacks_on_train_result)
    # One callable (RLlib also takes a list, but a list is not a setting `--dry-run` skips).
    config.callbacks(
        on_train_result=functools.partial(_train_result_hooks, tuple(before), settings.every)
    )
    config.callbacks(on_evaluate_end=note_cut_episodes)
    if exp.normalize.obs:
        config.callbacks(on_evaluate_start=copy_observation_filter)
