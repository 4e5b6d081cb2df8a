"""Sweeps: many trials of one experiment through one Tune call, sharing the cores.

A sweep is an experiment with a ``search:`` block. Every trial is the experiment with one
point of the search space: the same env, algorithm, per-trial resource plan and RLlib
config builder as ``train``, the searched values put into the RLlib config as Tune search
objects. Each trial writes a run directory of its own (config.yaml, summary.json,
checkpoints) under ``<output>/<name>/trials/``.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlscale.algos import AlgoInfo, ResourcePlan
from rlscale.algos.build import validate_algo_config
from rlscale.algos.plan import plan_sweep, sweep_concurrency
from rlscale.config.model import ExperimentConfig
from rlscale.config.paths import get_path, nest, set_path
from rlscale.config.search import Dimension, SearchSpace, parse_search
from rlscale.envs import ResolvedEnv, resolve_env
from rlscale.errors import ConfigError, RlscaleError, TrainingFailed, did_you_mean
from rlscale.results import metrics
from rlscale.results.rundir import NEW, RESUME, RunDir
from rlscale.results.summary import INTERRUPTED, RUNNING, SUMMARY_FILE, Summary
from rlscale.results.sweep import (
    RANK_BY_EVAL,
    RANK_BY_RETURN,
    PointRecord,
    SweepDir,
    TrialRecord,
    collect_trials,
    rank_points,
    write_report,
)
from rlscale.runners.job import (
    build_run,
    canonical_experiment,
    check_cpus_within_reach,
    place_output,
)
from rlscale.runners.segment import segment_summary
from rlscale.runners.session import Capacity, local_capacity
from rlscale.runners.stopping import clear_stop, request_stop, stop_requested
from rlscale.runners.tracking import logger_callbacks
from rlscale.runners.tune_run import TrialRuns, run_config, track

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

log = logging.getLogger(__name__)

SEARCH_ALGS = {"random": None, "optuna": "optuna", "hyperopt": "hyperopt"}
SCHEDULERS = ("fifo", "asha", "pbt")
MODES = ("max", "min")
TRIALS_DIR = "trials"


@dataclass(frozen=True)
class SweepOptions:
    """How the trials are chosen, scheduled and run."""

    samples: int = 1
    search_alg: str = "random"
    scheduler: str = "fifo"
    metric: str = metrics.EPISODE_RETURN_MEAN
    mode: str = "max"
    max_concurrent: int | None = None
    num_cpus: int | None = None  # cores the whole sweep may use (default: all)


@dataclass
class SweepJob:
    """A validated sweep: everything decided and checked before Ray starts."""

    exp: ExperimentConfig  # the base trial (search block kept), name and output resolved
    preset: str | None
    space: SearchSpace
    options: SweepOptions
    env: ResolvedEnv
    algo: AlgoInfo
    plan: ResourcePlan  # per trial
    algo_config: AlgorithmConfig  # the base trial's RLlib config
    rllib_paths: dict[str, tuple[str, ...]]  # searched key -> path in the RLlib config dict
    sweep_dir: SweepDir
    mode: str
    total_cpus: int
    total_gpus: int  # whole GPUs the embedded Ray offers
    trial_cpus: float
    trial_gpus: float
    num_trials: int
    max_concurrent: int
    reasons: list[str] = field(default_factory=list)

    @property
    def base_seed(self) -> int:
        return self.exp.seed if self.exp.seed is not None else 0

    def seeds(self) -> list[int]:
        """The seeds every point is trained with (``seeds: K``), or [] when not set."""
        return [self.base_seed + i for i in range(self.space.seeds or 0)]

    def trial_experiment(self) -> dict[str, Any]:
        """The experiment every trial starts from, as stored in its config.yaml."""
        data = self.exp.model_dump(mode="json")
        data["search"] = {}
        return data


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
    translated: dict[str, Any] = {}
    for value in dim.probe_values():
        try:
            translated = validate_algo_config(algo, nest(rest, value))
        except ConfigError as exc:
            raise ConfigError(f"search: {exc}") from None
    key = next(iter(translated))
    if key == "model":
        return ("_model_config", *rest[1:])
    if key not in rllib and f"_{key}" in rllib:
        key = f"_{key}"
    return (key, *rest[1:])


def _probe_experiment(exp: ExperimentConfig, space: SearchSpace) -> ExperimentConfig:
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
    reasons = list(cores.reasons)
    total_cpus, per_trial = cores.total_cpus, cores.trial_cpus
    exp = exp.model_copy(
        update={"resources": exp.resources.model_copy(update={"num_cpus": per_trial})}
    )

    trial_capacity = Capacity(cpus=total_cpus, gpus=capacity.gpus, may_oversubscribe=False,
                              nodes=capacity.nodes if len(capacity.node_list()) > 1 else ())
    # The base trial keeps the experiment's own values; the probe (first value of every
    # dimension) checks the searched keys with the code train uses.
    base = exp.model_copy(update={"search": {}})
    _, env, plan, base_config = build_run(base, algo, trial_capacity, check_env=check_env)
    try:
        probe, _, _, algo_config = build_run(_probe_experiment(exp, space), algo, trial_capacity)
    except RlscaleError as exc:
        raise type(exc)(f"search: {exc}") from None
    if any(d.parts[0] == "env_config" for d in space.dimensions):
        for dim in space.dimensions:  # every listed value and range end builds the env
            for value in dim.probe_values()[1:]:
                if dim.parts[0] == "env_config":
                    config = copy.deepcopy(probe.env_config)
                    set_path(config, dim.parts[1:], value)
                    try:
                        resolve_env(exp.env, config, exp.env_packages, exp.env_wrappers)
                    except RlscaleError as exc:
                        raise type(exc)(f"search: {exc}") from None
    rllib = algo_config.to_dict()
    paths = {d.key: _rllib_path(d, algo, rllib) for d in space.dimensions}

    # What Tune will ask Ray for per trial: RLlib's own placement group of the config.
    request = algo.config().algo_class.default_resource_request(base_config)  # type: ignore
    required = request.required_resources
    trial_cpus = float(required.get("CPU", 0.0))
    trial_gpus = float(required.get("GPU", 0.0))
    if options.search_alg == "random":
        num_trials = options.samples * space.grid_points * (space.seeds or 1)
    else:
        num_trials = options.samples
    at_once = sweep_concurrency(
        nodes=capacity.node_list(), may_oversubscribe=capacity.may_oversubscribe,
        total_cpus=total_cpus, total_gpus=capacity.gpus, trial_bundles=request.bundles,
        num_trials=num_trials, max_concurrent=options.max_concurrent,
    )
    reasons.append(
        f"each trial's placement group: {_resources_text(required)} "
        f"(RLlib's default_resource_request for the per-trial plan)"
    )
    reasons += at_once.reasons
    concurrent = at_once.concurrent
    return SweepJob(
        exp=exp, preset=preset, space=space, options=options, env=env, algo=algo, plan=plan,
        algo_config=base_config, rllib_paths=paths, sweep_dir=sweep_dir, mode=mode,
        total_cpus=total_cpus, total_gpus=math.ceil(trial_gpus * concurrent),
        trial_cpus=trial_cpus, trial_gpus=trial_gpus, num_trials=num_trials,
        max_concurrent=concurrent, reasons=reasons,
    )


def _resources_text(required: dict[str, float]) -> str:
    return ", ".join(f"{v:g} {k}" for k, v in sorted(required.items()) if v) or "nothing"


def _domain(dim: Dimension) -> Any:
    from ray import tune

    if dim.kind == "grid":
        return tune.grid_search(list(dim.values))
    if dim.kind == "choice":
        return tune.choice(list(dim.values))
    if dim.kind == "uniform":
        return tune.uniform(dim.low, dim.high)
    if dim.kind == "loguniform":
        return tune.loguniform(dim.low, dim.high)
    if dim.kind == "randint":
        return tune.randint(int(dim.low), int(dim.high))
    return tune.quniform(dim.low, dim.high, dim.q)


def param_space(job: SweepJob) -> dict[str, Any]:
    """The RLlib config dict of the base trial with Tune search objects in it."""
    from ray import tune

    space = job.algo_config.to_dict()
    for dim in job.space.dimensions:
        set_path(space, job.rllib_paths[dim.key], _domain(dim))
    if job.space.seeds is not None:
        space["seed"] = tune.grid_search(job.seeds())
    return space


def trial_dirname(trial: Any) -> str:
    """``trial_00003``: the trial's counter, short and stable across a resume."""
    return f"trial_{str(trial.trial_id).rsplit('_', 1)[-1]}"


TrialHook = Callable[[str, str, dict[str, Any], dict[str, Any] | None], None]


class SweepTrials(TrialRuns):
    """Each trial writes a run directory of its own, with train's files."""

    def __init__(self, job: SweepJob, command: str, hook: TrialHook | None = None) -> None:
        self.job = job
        self.command = command
        self.hook = hook  # (event, trial name, searched values, progress row or None)
        self.runs: dict[str, tuple[Path, Summary]] = {}
        self.finished_ids: set[str] = set()

    def values(self, trial: Any) -> dict[str, Any]:
        """The searched values of ``trial`` (experiment keys), seed included."""
        config = getattr(trial, "config", {}) or {}
        out = {key: get_path(config, path) for key, path in self.job.rllib_paths.items()}
        if self.job.space.seeds is not None:
            out["seed"] = config.get("seed")
        return out

    def open(self, trial: Any) -> tuple[Path, Summary] | None:
        if trial.trial_id in self.runs:
            return self.runs[trial.trial_id]
        path = Path(trial.path)
        exp = self.job.exp
        resumed = (path / SUMMARY_FILE).is_file()
        previous = Summary.read(path) if resumed else None
        summary = segment_summary(exp, self.job.algo.name, previous)
        config = self.job.trial_experiment()
        for key, value in self.values(trial).items():
            set_path(config, key.split("."), value)
        config["name"], config["output"] = path.name, str(path.parent)
        RunDir(path).prepare(RESUME if resumed else NEW, config, self.command)
        summary.write(path)
        self.runs[trial.trial_id] = (path, summary)
        return path, summary

    def started(self, trial: Any) -> None:
        self.open(trial)
        self._emit("start", trial, None)

    def finished(self, trial: Any, status: str) -> None:
        target = self.open(trial)
        if target is None:
            return
        path, summary = target
        summary.status = status
        summary.write(path)
        self.finished_ids.add(trial.trial_id)
        self._emit(status, trial, None)

    def result(self, trial: Any, row: dict[str, Any]) -> None:
        self._emit("result", trial, row)

    def mark_interrupted(self) -> None:
        """Trials that were running when the sweep was stopped: resumable."""
        for trial_id, (path, summary) in self.runs.items():
            if trial_id not in self.finished_ids and summary.status == RUNNING:
                summary.status = INTERRUPTED
                summary.write(path)

    def _emit(self, event: str, trial: Any, row: dict[str, Any] | None) -> None:
        if self.hook is not None:
            self.hook(event, trial_dirname(trial), self.values(trial), row)


def interrupt_sweep() -> None:
    """Stop the sweep: running trials stay unfinished (resumable), none start.

    Tune ends its loop and saves the experiment state on SIGUSR1, which it listens to
    while it runs; before that, the stop flag alone is enough.
    """
    request_stop()
    handler = signal.getsignal(signal.SIGUSR1)
    if callable(handler):
        os.kill(os.getpid(), signal.SIGUSR1)


def _searcher(job: SweepJob) -> Any:
    name = job.options.search_alg
    if name == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch(seed=job.base_seed)
    if name == "hyperopt":
        from ray.tune.search.hyperopt import HyperOptSearch

        return HyperOptSearch(random_state_seed=job.base_seed)
    from ray.tune.search import BasicVariantGenerator

    # Grid and random sampling, seeded by the experiment's seed: a sweep is reproducible.
    return BasicVariantGenerator(max_concurrent=job.max_concurrent, random_state=job.base_seed)


def _scheduler(job: SweepJob) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, PopulationBasedTraining

    max_t = job.exp.stop.iters or 100
    if job.options.scheduler == "asha":
        return ASHAScheduler(
            time_attr=metrics.TRAINING_ITERATION, max_t=max_t,
            grace_period=max(1, max_t // 4), reduction_factor=2,
        )
    if job.options.scheduler == "pbt":
        mutations: dict[str, Any] = {}
        for dim in job.space.dimensions:
            if not dim.is_grid and dim.parts[0] == "algo_config":
                set_path(mutations, job.rllib_paths[dim.key], _domain(dim))
        return PopulationBasedTraining(
            time_attr=metrics.TRAINING_ITERATION,
            perturbation_interval=max(1, job.exp.checkpoint.every or max_t // 4),
            hyperparam_mutations=mutations,
        )
    return FIFOScheduler()


def sweep_options_record(job: SweepJob) -> dict[str, Any]:
    """The options stored in sweep.json (a resumed sweep reports with the same ones)."""
    opts = job.options
    return {
        "samples": opts.samples, "search_alg": opts.search_alg, "scheduler": opts.scheduler,
        "metric": opts.metric, "mode": opts.mode, "max_concurrent": job.max_concurrent,
        "num_cpus": job.total_cpus, "cpus_per_trial": job.trial_cpus,
        "num_trials": job.num_trials,
    }


def run_sweep(job: SweepJob, command: str, hook: TrialHook | None = None) -> bool:
    """Run (or resume) the sweep through Tune in an already started Ray.

    Returns True when every trial finished, False when the sweep was interrupted.
    Raises :class:`TrainingFailed` when Tune itself fails.
    """
    from ray import tune

    trials_path = job.sweep_dir.path / TRIALS_DIR
    if job.mode == RESUME and not tune.Tuner.can_restore(str(trials_path)):
        raise TrainingFailed(f"cannot resume {job.sweep_dir.path}: Tune saved no state there")
    job.sweep_dir.prepare(job.mode, job.exp.model_dump(mode="json"), command,
                          sweep_options_record(job))
    runs = SweepTrials(job, command, hook)
    clear_stop()
    trainable: Any = job.algo.config().algo_class
    if job.mode == RESUME:
        # The search space again: Tune stored its objects (classes in the RLlib config) as
        # references that trials created after the resume must resolve.
        tuner = tune.Tuner.restore(
            str(trials_path), trainable, resume_unfinished=True, resume_errored=True,
            param_space=param_space(job),
        )
    else:
        tuner = tune.Tuner(
            trainable,
            param_space=param_space(job),
            tune_config=tune.TuneConfig(
                metric=job.options.metric,
                mode=job.options.mode,
                num_samples=job.options.samples,
                search_alg=_searcher(job),
                scheduler=_scheduler(job),
                # The random searcher limits itself; model-based ones get Tune's limiter.
                max_concurrent_trials=None if job.options.search_alg == "random"
                else job.max_concurrent,
                trial_dirname_creator=trial_dirname,
                trial_name_creator=trial_dirname,
            ),
            # MLflow / W&B (tracking:): one experiment / group for the sweep's trials.
            run_config=run_config(
                job.exp, job.sweep_dir.path, TRIALS_DIR,
                logger_callbacks(job.exp, job.sweep_dir.path, f"{TRIALS_DIR}/*"),
                stop_on_request=False,
            ),
        )
    track(runs)
    try:
        tuner.fit()
    except Exception as exc:  # Tune's own failure, not a trial's
        raise TrainingFailed(f"the sweep failed: {str(exc).strip().splitlines()[-1]}") from None
    finally:
        track(None)
    if stop_requested():
        runs.mark_interrupted()
        return False
    return True



@dataclass
class SweepReport:
    """What a sweep produced so far, read back from its trials' run directories."""

    trials: list[TrialRecord]
    points: list[PointRecord]
    best_file: Path | None
    finished: bool = True  # False: the sweep was interrupted (rlscale.sweep sets it)


def report_sweep(job: SweepJob) -> SweepReport:
    """Rank the trials on disk; write sweep.json and best.yaml."""
    keys = [d.key for d in job.space.dimensions]
    trials = collect_trials(job.sweep_dir, keys, job.exp.stop)
    # The table ranks by the episode return, or with evaluation on by the evaluation
    # return; --mode applies when the searchers' metric is the episode return.
    is_return = job.options.metric == metrics.EPISODE_RETURN_MEAN
    by = RANK_BY_EVAL if job.exp.evaluation.every else RANK_BY_RETURN
    points = rank_points(trials, job.options.mode if is_return else "max", by)
    best = write_report(job.sweep_dir, job.exp.model_dump(mode="json"), trials, points,
                        sweep_options_record(job))
    return SweepReport(trials, points, best)
