"""Preparing a sweep: its options, search space, per-trial plan and concurrency checked,
with nothing written and no Ray."""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import TYPE_CHECKING, Any

from rlscale.algos import AlgoInfo, ResourcePlan
from rlscale.algos.plan import plan_sweep, sweep_concurrency, trial_bundles_reason
from rlscale.config.model import ExperimentConfig
from rlscale.config.paths import set_path
from rlscale.config.search import Dimension, SearchSpace, parse_search
from rlscale.envs import ResolvedEnv, resolve_env
from rlscale.errors import ConfigError, RlscaleError, did_you_mean
from rlscale.results.rundir import NEW, RESUME
from rlscale.results.sweep import SweepDir
from rlscale.runners.job import (
    build_run,
    canonical_experiment,
    check_cpus_within_reach,
    place_output,
)
from rlscale.runners.session import Capacity, local_capacity

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from rlscale.algos.rllib_keys import rllib_dict_path
from rlscale.runners.sweep.job import MODES, SCHEDULERS, SEARCH_ALGS, SweepJob, SweepOptions


def _check_options(options: SweepOptions, space: SearchSpace) -> None:
    if options.search_alg not in SEARCH_ALGS:
        raise ConfigError(
            f"unknown searcher '{options.search_alg}'"
            f"{did_you_mean(options.search_alg, SEARCH_ALGS)}; use one of "
            f"{', '.join(SEARCH_ALGS)}"
        )
    if options.scheduler not in SCHEDULERS:
        raise ConfigError(
            f"unknown scheduler '{options.scheduler}'"
            f"{did_you_mean(options.scheduler, SCHEDULERS)}; use one of {', '.join(SCHEDULERS)}"
        )
    if options.mode not in MODES:
        raise ConfigError(f"--mode must be max or min, got '{options.mode}'")
    if options.samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {options.samples}")
    if options.max_concurrent is not None and options.max_concurrent < 1:
        raise ConfigError(f"--max-concurrent must be at least 1, got {options.max_concurrent}")
    package = SEARCH_ALGS[options.search_alg]
    if package is not None:
        import importlib.util

        if importlib.util.find_spec(package) is None:
            raise ConfigError(
                f"--search-alg {options.search_alg} needs the optional extra: "
                f"pip install 'rlscale[{options.search_alg}]'"
            )
        grid = [d.key for d in space.dimensions if d.is_grid]
        if grid:
            raise ConfigError(
                f"--search-alg {options.search_alg} cannot search a grid ({grid[0]}); "
                "use choice, or --search-alg random"
            )
        if space.seeds is not None:
            raise ConfigError(
                f"--search-alg {options.search_alg} suggests each point once: "
                "seeds: K needs --search-alg random"
            )
    if options.scheduler == "pbt" and not any(
        not d.is_grid and d.parts[0] == "algo_config" for d in space.dimensions
    ):
        raise ConfigError(
            "--scheduler pbt needs an algo_config key searched with choice, uniform, "
            "loguniform, randint or quniform (the values it mutates)"
        )


def _rllib_path(
    dim: Dimension, algo: AlgoInfo, rllib: dict[str, Any]
) -> tuple[str, ...]:
    """Where ``dim`` lives in the RLlib config dict; checks its values like ``train``."""
    top, rest = dim.parts[0], dim.parts[1:]
    if top == "seed":
        for value in dim.probe_values():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"search.seed: seeds are whole numbers, got {value!r}")
        return ("seed",)
    if top == "env_config":
        return ("env_config", *rest)
    try:
        return rllib_dict_path(algo, rest, dim.probe_values(), rllib)
    except ConfigError as exc:
        raise ConfigError(f"search: {exc}") from None


def probe_experiment(exp: ExperimentConfig, space: SearchSpace) -> ExperimentConfig:
    """The base experiment with the first value of every dimension: built once as a check."""
    data = exp.model_dump()
    data["search"] = {}
    for dim in space.dimensions:
        set_path(data, dim.parts, dim.probe_values()[0])
    probe = ExperimentConfig.model_validate(data)
    user = exp.user_keys()
    if user is None:
        return probe
    # Who set what survives the round trip; the searched keys are the user's too.
    return probe.with_user_keys(user | {d.key for d in space.dimensions})


def prepare_sweep(
    exp: ExperimentConfig,
    preset: str | None,
    options: SweepOptions,
    mode: str = NEW,
    capacity: Capacity | None = None,
    check_env: bool = True,
) -> SweepJob:
    """Check everything that can be checked without Ray, and write nothing.

    ``check_env`` runs the fast part of ``rlscale check-env`` on the environment, as train.
    """
    exp, algo = canonical_experiment(exp)
    space = parse_search(exp.search, list(ExperimentConfig.model_fields))
    if not space:
        raise ConfigError(
            "nothing to sweep: add a search block to the experiment or pass "
            "--search key=SPEC (e.g. --search 'algo_config.lr={grid: [0.001, 0.0003]}')"
        )
    _check_options(options, space)
    stop = exp.stop
    if stop.iters is None and stop.timesteps is None and stop.time_s is None:
        raise ConfigError(
            "a sweep needs a budget per trial: set stop.iters, stop.timesteps or stop.time_s "
            "(--stop-iters, --stop-timesteps, --stop-time)"
        )
    exp, sweep_dir = place_output(exp, mode, SweepDir)
    if mode == RESUME:  # searcher, scheduler and ranking as the sweep was started
        stored = sweep_dir.read_options()
        keep = ("samples", "search_alg", "scheduler", "metric", "mode", "max_concurrent")
        options = dataclasses.replace(options, **{k: stored[k] for k in keep if k in stored})

    capacity = capacity or local_capacity()
    check_cpus_within_reach(options.num_cpus, capacity, exp.resources.oversubscribe)
    cores = plan_sweep(nodes=capacity.node_list(), may_oversubscribe=capacity.may_oversubscribe,
                       num_cpus=options.num_cpus, trial_cpus=exp.resources.num_cpus)
    exp = exp.model_copy(
        update={"resources": exp.resources.model_copy(update={"num_cpus": cores.trial_cpus})}
    )
    trial_capacity = Capacity(cpus=cores.total_cpus, gpus=capacity.gpus, may_oversubscribe=False,
                              nodes=capacity.nodes if len(capacity.node_list()) > 1 else ())
    env, plan, base_config, paths = _build_trials(exp, algo, space, trial_capacity, check_env)
    job = SweepJob(
        exp=exp, preset=preset, space=space, options=options, env=env, algo=algo, plan=plan,
        algo_config=base_config, rllib_paths=paths, sweep_dir=sweep_dir, mode=mode,
        total_cpus=cores.total_cpus, total_gpus=0, trial_cpus=0.0, trial_gpus=0.0,
        num_trials=0, max_concurrent=0, reasons=list(cores.reasons),
    )
    _place_trials(job, capacity)
    if env.is_external:
        _share_ports(job)
    return job


def _share_ports(job: SweepJob) -> None:
    """An external env's concurrent trials listen on ports of their own: each env runner
    takes the first free port of its block of ``max_concurrent`` (docs/external.md)."""
    from rlscale.envs.external_settings import evaluation_env_config

    config = dict(job.algo_config.env_config)
    config["concurrent_trials"] = max(int(config.get("concurrent_trials", 1)),
                                      job.max_concurrent)
    job.algo_config.environment(env_config=config)
    evaluation: dict[str, Any] = dict(job.algo_config.evaluation_config or {})
    if "env_config" in evaluation:  # evaluation's block after the training ports
        evaluation["env_config"] = {
            **evaluation["env_config"],
            **evaluation_env_config(config, job.algo_config.num_env_runners)}
        job.algo_config.evaluation(evaluation_config=evaluation)


def _build_trials(
    exp: ExperimentConfig, algo: AlgoInfo, space: SearchSpace, capacity: Capacity,
    check_env: bool,
) -> tuple[ResolvedEnv, ResourcePlan, AlgorithmConfig, dict[str, tuple[str, ...]]]:
    """The base trial built as train builds a run (its env, plan and RLlib config), the
    searched values checked with the same code, and each searched key's path in the RLlib
    config dict."""
    # The base trial keeps the experiment's own values; the probe (first value of every
    # dimension) checks the searched keys with the code train uses.
    base = exp.model_copy(update={"search": {}})
    _, env, plan, base_config = build_run(base, algo, capacity, check_env=check_env)
    try:
        probe, _, _, algo_config = build_run(probe_experiment(exp, space), algo, capacity)
    except RlscaleError as exc:
        raise type(exc)(f"search: {exc}") from None
    for dim in space.dimensions:  # every listed value and range end builds the env
        if dim.parts[0] != "env_config":
            continue
        for value in dim.probe_values()[1:]:
            config = copy.deepcopy(probe.env_config)
            set_path(config, dim.parts[1:], value)
            try:
                resolve_env(exp.env, config, exp.env_packages, exp.env_wrappers)
            except RlscaleError as exc:
                raise type(exc)(f"search: {exc}") from None
    rllib = algo_config.to_dict()
    paths = {d.key: _rllib_path(d, algo, rllib) for d in space.dimensions}
    return env, plan, base_config, paths


def _place_trials(job: SweepJob, capacity: Capacity) -> None:
    """How many trials, what each asks Ray for, and how many run at once (into ``job``)."""
    options, space = job.options, job.space
    # What Tune will ask Ray for per trial: RLlib's own placement group of the config.
    request = job.algo.config().algo_class.default_resource_request(  # type: ignore
        job.algo_config
    )
    required = request.required_resources
    job.trial_cpus = float(required.get("CPU", 0.0))
    job.trial_gpus = float(required.get("GPU", 0.0))
    if options.search_alg == "random":
        job.num_trials = options.samples * space.grid_points * (space.seeds or 1)
    else:
        job.num_trials = options.samples
    at_once = sweep_concurrency(
        nodes=capacity.node_list(), may_oversubscribe=capacity.may_oversubscribe,
        total_cpus=job.total_cpus, total_gpus=capacity.gpus, trial_bundles=request.bundles,
        num_trials=job.num_trials, max_concurrent=options.max_concurrent,
    )
    job.reasons.append(trial_bundles_reason(required))
    job.reasons += at_once.reasons
    job.max_concurrent = at_once.concurrent
    job.total_gpus = math.ceil(job.trial_gpus * at_once.concurrent)

