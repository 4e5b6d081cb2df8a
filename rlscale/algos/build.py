"""Build one RLlib ``AlgorithmConfig`` chain from an experiment, an env and a plan."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rlscale.algos.images import image_model
from rlscale.algos.masking import check_masking_algo
from rlscale.algos.plan import ResourcePlan
from rlscale.algos.registry import AlgoInfo, check_action_space
from rlscale.algos.spaces import has_box, observation_connector
from rlscale.algos.validate import check_model_values, check_module, check_values
from rlscale.envs.images import env_image_plan
from rlscale.envs.masks import ActionMask, find_action_mask
from rlscale.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rlscale.config.model import ExperimentConfig
    from rlscale.envs.resolve import ResolvedEnv

log = logging.getLogger(__name__)

# Settings the resource plan owns: one way to set each.
PLAN_OWNED = {
    "num_env_runners": "resources.num_env_runners",
    "num_envs_per_env_runner": "resources.num_envs_per_env_runner",
    "num_learners": "resources.num_gpus (--num-gpus)",
    "num_gpus_per_learner": "resources.num_gpus (--num-gpus)",
    "num_cpus_for_main_process": "resources.num_cpus (--num-cpus)",
    "num_cpus_per_env_runner": "resources.num_cpus (--num-cpus)",
    "num_workers": "resources.num_cpus (--num-cpus) or resources.num_env_runners",
    "num_rollout_workers": "resources.num_cpus (--num-cpus) or resources.num_env_runners",
    "num_envs_per_worker": "resources.num_envs_per_env_runner",
    "num_gpus": "resources.num_gpus (--num-gpus)",
    "env": "env (--env)",
    "env_config": "env_config (--env-config)",
    "seed": "seed (--seed)",
    "framework": "nothing: rlscale uses torch",
}

# Old RLlib names users know from the tutorial, translated to RLlib 2.60's settings.
RENAMED = {
    "ignore_worker_failures": "restart_failed_env_runners",
    "recreate_failed_workers": "restart_failed_env_runners",
    "recreate_failed_env_runners": "restart_failed_env_runners",
    "max_num_worker_restarts": "max_num_env_runner_restarts",
    "delay_between_worker_restarts_s": "delay_between_env_runner_restarts_s",
}

MODEL_KEYS = ("model", "model_config")

# What the env's observations go through to the module (None: as they are).
Connector = Callable[..., Any] | None


def _settable_keys(config: AlgorithmConfig) -> list[str]:
    """Public settings, plus properties backed by a private field (e.g. the batch size)."""
    fields = vars(config)
    keys = [k for k, v in fields.items() if not k.startswith("_") and not callable(v)]
    for name in dir(type(config)):
        attr = getattr(type(config), name, None)
        if isinstance(attr, property) and attr.fset is not None and f"_{name}" in fields:
            keys.append(name)
    return keys


def _check_type(key: str, default: Any, value: Any) -> None:
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"algo_config.{key}: expected {expected}, got {value!r}")

    if default == "auto":  # a number, or "auto" for RLlib's choice (rollout_fragment_length)
        if value != "auto" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise bad('a number or "auto"')
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
    elif isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float | list):
            raise bad("a number (or a [[timestep, value], ...] schedule)")
    elif isinstance(default, str):
        if value is not None and not isinstance(value, str):
            raise bad("a string")
    elif isinstance(default, dict) and value is not None and not isinstance(value, dict):
        raise bad("a mapping")


def _model_config(value: Any) -> dict[str, Any]:
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    if not isinstance(value, dict):
        raise ConfigError(f"algo_config.model: expected a mapping, got {value!r}")
    known = [f.name for f in dataclasses.fields(DefaultModelConfig)]
    for key in value:
        if key not in known:
            raise ConfigError(
                f"unknown key 'algo_config.model.{key}'{did_you_mean(key, known)}"
            )
    return dict(value)


def validate_algo_config(
    info: AlgoInfo, overrides: dict[str, Any], warn: bool = True
) -> dict[str, Any]:
    """Check ``algo_config`` keys, types and ranges against the algorithm's RLlib config.

    Returns the overrides with renamed (old RLlib) keys translated; ``warn``: log each
    translation (only once all is checked, so an error is never preceded by a warning).
    """
    fresh = info.config()
    known = _settable_keys(fresh)
    out: dict[str, Any] = {}
    renamed: list[str] = []  # warned about once everything is checked: no warning, then error
    for key, value in overrides.items():
        if key in PLAN_OWNED:
            raise ConfigError(f"algo_config.{key} is set by rlscale: use {PLAN_OWNED[key]}")
        if key in RENAMED:
            renamed.append(key)
            key = RENAMED[key]
        if key in MODEL_KEYS:
            out["model"] = _model_config(value)
            continue
        if key not in known:
            raise ConfigError(
                f"unknown key 'algo_config.{key}' for {info.name}{did_you_mean(key, known)}"
            )
        _check_type(key, getattr(fresh, key), value)
        out[key] = value
    check_values({k: v for k, v in out.items() if k != "model"})
    if "model" in out:
        check_model_values(out["model"])
    if warn:
        warn_renamed(renamed)
    return out


def warn_renamed(keys: list[str]) -> None:
    """One warning per old RLlib name in ``algo_config`` that was translated."""
    for key in keys:
        if key in RENAMED:
            log.warning("algo_config.%s is now %s in RLlib; translated", key, RENAMED[key])


def build_algo_config(
    exp: ExperimentConfig, info: AlgoInfo, env: ResolvedEnv, plan: ResourcePlan,
    overrides: dict[str, Any] | None = None,
) -> AlgorithmConfig:
    """The RLlib config for ``exp``: env, plan, rlscale's defaults, then the user's keys.

    ``overrides``: the user's keys as :func:`validate_algo_config` returned them, when the
    caller has checked them already (e.g. PPO's carried over to APPO); ``exp.algo_config``
    is checked here otherwise."""
    from rlscale.algos.evaluation import apply_evaluation
    from rlscale.algos.exploration import apply_initial_log_std, initial_log_std_model
    from rlscale.algos.policies import use_multi_agent_replay_buffer

    if overrides is None:
        overrides = validate_algo_config(info, exp.algo_config, warn=False)
    overrides = dict(overrides)
    model = overrides.pop("model", None)
    # exploration.log_std_init: the log-std a parameter of its own (rlscale.algos.exploration)
    model = initial_log_std_model(exp.exploration.log_std_init, info, env, model)
    # Images: rlscale's conv filters where RLlib has no default (rlscale.algos.images).
    model = image_model(env_image_plan(env), model)
    if exp.policies is not None and not env.is_multiagent:
        raise ConfigError(f"policies: '{exp.env}' is a single-agent env")
    mask, connector = _observation_side(exp, info, env)
    config = _planned_config(exp, info, env, plan)
    _apply_spaces(config, exp, info, env, mask, connector)
    _apply_callbacks(config, exp, env)
    # evaluation: RLlib's evaluation env runner (rlscale.algos.evaluation).
    apply_evaluation(config, exp, env)
    apply_initial_log_std(config, exp.exploration.log_std_init)
    if model is not None:
        config.rl_module(model_config=model)
    if overrides:
        config.update_from_dict(overrides)
    if env.agents is not None:  # after the overrides: a preset's buffer is single-agent too
        use_multi_agent_replay_buffer(config)
    _check_config(config, info, env, connector, model)
    warn_renamed(list(exp.algo_config))
    if info.on_policy:
        _warn_short_fragments(config, plan)
    return config


def _observation_side(
    exp: ExperimentConfig, info: AlgoInfo, env: ResolvedEnv
) -> tuple[ActionMask | None, Connector]:
    """The env's action mask (if its observation holds one) and the connector its
    observations need on the way to the module (None: they go as they are)."""
    from rlscale.algos.normalize import observation_pipeline

    # An action mask in the observation (rlscale.algos.masking): the masked RL module takes
    # the Dict as it is, so no flattening connector.
    mask = find_action_mask(env.observation_space, env.action_space, exp.action_mask.key)
    if mask is not None:
        check_masking_algo(info.name, mask)
        if exp.normalize.obs:
            raise ConfigError(f"normalize.obs: the observation holds an action mask "
                              f"('{mask.key}'), which must not be normalized; set "
                              "normalize.obs: false")
    # Refuses, before any Ray process, an observation space RLlib cannot train on;
    # adds the connector (e.g. flattening Dict/Tuple, one-hot Discrete) when one is needed.
    connector = None if mask is not None else observation_connector(env.observation_space)
    # normalize.obs: RLlib's MeanStdFilter after it (rlscale.algos.normalize).
    return mask, observation_pipeline(env.observation_space, exp.normalize.obs, connector)


def _planned_config(
    exp: ExperimentConfig, info: AlgoInfo, env: ResolvedEnv, plan: ResourcePlan
) -> AlgorithmConfig:
    """The algorithm's config on ``env``, with the resource plan's processes, fault
    tolerance and the seed."""
    from rlscale.algos import faults

    faults.register_fault_tolerant_env(env, exp.faults)
    config = (
        info.config()
        .framework("torch")
        .environment(env=env.rllib_env, env_config=env.env_config)
        .env_runners(
            num_env_runners=plan.num_env_runners,
            num_envs_per_env_runner=plan.num_envs_per_env_runner,
            num_cpus_per_env_runner=plan.num_cpus_per_env_runner,
        )
        .learners(num_learners=plan.num_learners, num_gpus_per_learner=plan.num_gpus_per_learner)
        .resources(num_cpus_for_main_process=plan.num_cpus_for_main_process,
                   custom_resources_for_main_process=plan.main_node_resource)
        # The tutorial's "ignore_worker_failures": crashed env runners are restarted
        # and training goes on (and sub-environments, see algos/faults.py).
        .fault_tolerance(**faults.fault_tolerance_settings(exp.faults))
        .debugging(seed=exp.seed)
    )
    if plan.num_learners == 0 and plan.num_cpus_for_main_process == 0:
        # The main process shares an env runner's core (a cluster): with the learner in it
        # RLlib asks max(num_cpus_per_learner, the main process's) CPUs, and "auto" is 1
        # without a GPU, so 0 must be said twice.
        config.learners(num_cpus_per_learner=0)
    if env.native_vector:
        config.env_runners(gym_env_vectorize_mode="vector_entry_point")
    return config


def _apply_spaces(
    config: AlgorithmConfig, exp: ExperimentConfig, info: AlgoInfo, env: ResolvedEnv,
    mask: ActionMask | None, connector: Connector,
) -> None:
    """What the env's spaces need: action handling, the observation connector, and the
    modules (per policy for a multi-agent env, masked for an action mask)."""
    from rlscale.algos.policies import apply_multi_agent

    if env.action_space is not None and not has_box(env.action_space):
        # Unsquashing and clipping only touch Box actions, yet RLlib copies and walks every
        # action to apply them: sampling is faster without (docs/code-figures.md).
        config.environment(normalize_actions=False, clip_actions=False)
    if connector is not None:
        config.env_runners(env_to_module_connector=connector)
    if env.agents is not None:  # multi-agent: policies, their modules and the mapping
        for space in env.agents.action_spaces.values():
            check_action_space(info, space)
        apply_multi_agent(config, exp.policies, exp.policies_to_train, env.agents,
                          mask_key=exp.action_mask.key, algo=info.name)
    elif mask is not None:
        from rlscale.algos.masked_modules import apply_action_mask  # imports RLlib's modules

        apply_action_mask(config, mask)


def _apply_callbacks(config: AlgorithmConfig, exp: ExperimentConfig, env: ResolvedEnv) -> None:
    """rlscale's hooks into RLlib's loop.

    The return mean rlscale stops on, records and ranks by: over the last 100 episodes.
    Env faults: counted, kept out of that window, and stopping a run they outpace.
    Where the time goes (sampling, learning, waiting; steps per node): rlscale_throughput."""
    from rlscale.algos import faults
    from rlscale.algos.returns import log_episode_return, log_reward_per_step, put_window_mean
    from rlscale.algos.runner_start import fail_if_nothing_sampled
    from rlscale.algos.throughput import fold_throughput, time_sampling
    from rlscale.envs import external as external_env

    config.callbacks(
        on_episode_end=[log_episode_return, faults.count_episode],
        on_sample_end=[faults.drain_faults, log_reward_per_step],
        on_train_result=[put_window_mean, fold_throughput,
                         faults.fault_result_hook(exp.faults), fail_if_nothing_sampled,
                         functools.partial(_keep_rllib_log_level, _rllib_log_level())],
        on_environment_created=(
            [time_sampling, external_env.on_environment_created] if env.is_external
            else time_sampling
        ),
    )


def _check_config(
    config: AlgorithmConfig, info: AlgoInfo, env: ResolvedEnv, connector: Connector,
    model: dict[str, Any] | None,
) -> None:
    """RLlib's own consistency checks, then a module built for each kind of agent, all
    before any Ray process: a bad setting is one line."""
    try:
        config.validate()
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"invalid {info.name} settings: {first}") from None
    check_module(config, info.name, env.observation_space, env.action_space, connector, model)
    if env.agents is not None:  # each kind of agent's module, as the policies get them
        pairs = {(repr(o), repr(a)): (o, a) for o, a in (
            env.agents.spaces_of(agent) for agent in env.agents.agents)}
        for obs_space, act_space in pairs.values():
            check_module(config, info.name, obs_space, act_space,
                         observation_connector(obs_space), model)


def _rllib_log_level() -> int:
    """The level this process gives RLlib's logger (rlscale's CLI: CRITICAL unless -v)."""
    return logging.getLogger("ray.rllib").getEffectiveLevel()


def _keep_rllib_log_level(level: int, **_: Any) -> None:
    """``on_train_result``: RLlib's Algorithm sets its logger to ``log_level`` (WARN) when
    it starts; put back the level of the process that built the config, so that a run in
    the driver prints no RLlib lines (env-runner restarts log a few at ERROR) unless -v."""
    logging.getLogger("ray.rllib").setLevel(level)


# Fewer steps per env and iteration than this make PPO's advantage estimates mostly
# bootstrapped guesses, and the iteration mostly overhead.
MIN_FRAGMENT = 16


def _warn_short_fragments(config: AlgorithmConfig, plan: ResourcePlan) -> None:
    """Warn when the batch is spread so thin over many envs that each samples a few steps."""
    if config.rollout_fragment_length != "auto":
        return
    envs = plan.num_envs_per_env_runner * plan.sampling_processes
    batch = config.total_train_batch_size
    if batch / envs < MIN_FRAGMENT:
        fewer = (
            "envs (resources.num_envs or resources.num_envs_per_env_runner)"
            if plan.num_envs_per_env_runner > 1
            else "env runners (resources.num_env_runners or --num-cpus)"
        )
        log.warning(
            "each of the %d envs samples only about %d step(s) per iteration (a %d-step "
            "batch); set algo_config.train_batch_size_per_learner to %d or more, or use "
            "fewer %s",
            envs, max(batch // envs, 1), batch, envs * MIN_FRAGMENT, fewer,
        )


def config_diff(info: AlgoInfo, config: AlgorithmConfig) -> dict[str, Any]:
    """The settings of ``config`` that differ from RLlib's defaults for the algorithm."""
    fresh = info.config()
    reference = info.config().environment(env=config.env)
    try:  # validation fills in derived settings; compare like with like
        reference.validate()
    except ValueError:
        pass
    default = reference.to_dict()
    public = set(_settable_keys(fresh)) | {"model_config"}
    diff = {}
    for key, value in config.to_dict().items():
        name = key.lstrip("_")
        hooks = isinstance(value, list | tuple) and any(callable(v) for v in value)
        if callable(value) or hooks or (key.startswith("_") and name not in public):
            continue
        if key not in default or default[key] != value:
            diff[name] = value
    return diff
