"""A run's life, in one place: resolve the experiment, start or join Ray, prepare, train on
the chosen path, stop Ray. The CLI calls these functions; so can a script or a notebook::

    import rlscale
    summary = rlscale.train("cartpole.yaml", overrides={"stop.iters": 20})
    print(summary.best_episode_return_mean)

Nothing else in rlscale starts or stops Ray.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlscale.config import resolve_experiment
from rlscale.config.load import deep_merge
from rlscale.config.model import ExperimentConfig
from rlscale.config.paths import nest
from rlscale.errors import ConfigError
from rlscale.results.summary import Summary
from rlscale.runners.job import TrainingJob, prepare_job, run_mode
from rlscale.runners.segment import ResultHook
from rlscale.startup_times import mark

if TYPE_CHECKING:
    from rlscale.algos import ResourcePlan
    from rlscale.runners.sweep import SweepJob, SweepOptions, SweepReport, TrialHook

Experiment = str | Path | Mapping[str, Any] | None
JobHook = Callable[[Any], None]


class Engine(str, enum.Enum):
    """Which path trains a single run."""

    AUTO = "auto"  # the driver for a local run, Tune on a cluster
    DRIVER = "driver"  # RLlib's Algorithm in this process (local runs only)
    TUNE = "tune"  # one Tune trial (its own Ray worker)


def _nested(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """``overrides`` as a nested mapping: dotted keys (``{"stop.iters": 3}``) are expanded,
    nested mappings taken as they are."""
    out: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        parts = [p.strip() for p in str(key).split(".")]
        if any(not p for p in parts):
            raise ConfigError(f"overrides: {key!r} is not an experiment key")
        out = deep_merge(out, nest(parts, value))
    return out


def load(
    experiment: Experiment = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
) -> tuple[ExperimentConfig, str | None]:
    """The validated experiment (and the preset applied) from a file or mapping, ``--set``
    items and ``overrides`` (highest precedence, as the CLI's flags)."""
    source = Path(experiment) if isinstance(experiment, str) else experiment
    return resolve_experiment(source, sets, _nested(overrides))


def _api_command(name: str, experiment: Experiment, overrides: Any) -> str:
    args = [repr(str(experiment) if isinstance(experiment, Path) else experiment)]
    if overrides:
        args.append(f"overrides={dict(overrides)!r}")
    return f"rlscale.{name}({', '.join(args)})"


def plan(
    experiment: Experiment = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
    resume: bool = False,
    overwrite: bool = False,
    check_env: bool = True,
    verbose: bool = False,
) -> TrainingJob:
    """Everything ``train`` would decide (env, plan, RLlib config, run directory), checked,
    with nothing written and no training: ``rlscale train --dry-run``. A local run needs no
    Ray for it; a cluster run joins the cluster to plan against its nodes, then leaves."""
    from rlscale.runners.cluster import slurm_allocation
    from rlscale.runners.session import quiet_ray_environment, stop_ray

    quiet_ray_environment(verbose)  # RLlib's warnings about its own API stay out of the plan
    exp, preset = load(experiment, overrides, sets)
    mode = run_mode(resume, overwrite)
    if exp.resources.address is None:
        return prepare_job(exp, preset, mode, slurm_allocation(), check_env=check_env)
    try:
        return _prepare_on_cluster(exp.resources.address, exp, preset, mode, check_env, verbose)
    finally:
        stop_ray()


def train(
    experiment: Experiment = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
    resume: bool = False,
    overwrite: bool = False,
    engine: Engine | str = Engine.AUTO,
    check_env: bool = True,
    verbose: bool = False,
    on_start: JobHook | None = None,
    on_result: ResultHook | None = None,
    command: str | None = None,
) -> Summary:
    """Train one experiment and return its final summary (``summary.json``'s contents).

    ``experiment`` is an experiment file, a mapping of its keys, or None (then
    ``overrides`` must name at least ``env``); ``overrides`` are experiment keys, dotted
    (``{"stop.iters": 3, "algo_config.lr": 1e-3}``) or nested, above the file as the CLI's
    flags are. ``engine``: ``auto`` trains a local run in this process and a cluster run
    through Tune; ``tune`` forces Tune. ``on_start(job)`` is called once the run is
    planned, ``on_result(row)`` after each iteration with its progress row.

    A run stopped by `rlscale.runners.stopping.request_stop` (the CLI's Ctrl-C) ends with
    status ``interrupted`` after a checkpoint. Raises
    [`RlscaleError`][rlscale.errors.RlscaleError] subclasses for bad input (nothing is
    written) and [`TrainingFailed`][rlscale.errors.TrainingFailed] when training fails.
    """
    from rlscale.runners.session import quiet_ray_environment, stop_ray

    engine = _engine(engine)
    exp, preset = load(experiment, overrides, sets)
    mark("experiment resolved")
    mode = run_mode(resume, overwrite)
    command = command or _api_command("train", experiment, overrides)
    quiet_ray_environment(verbose)
    address = exp.resources.address
    if address is not None and engine is Engine.DRIVER:
        raise ConfigError("engine 'driver' trains local runs only; a run on a Ray cluster "
                          "(--address) trains through Tune")
    try:
        job = (_prepare_locally(exp, preset, mode, check_env, verbose) if address is None
               else _prepare_on_cluster(address, exp, preset, mode, check_env, verbose))
        mark("job prepared (RLlib config built)")
        if on_start is not None:
            on_start(job)
        on_result = _marking_first(on_result)
        if address is None and engine is not Engine.TUNE:
            from rlscale.runners.inprocess import run_in_driver

            return run_in_driver(job, command, on_result)
        from rlscale.runners.tune_run import run_job

        return run_job(job, command, on_result)
    finally:
        stop_ray()


def _marking_first(on_result: ResultHook | None) -> ResultHook:
    """``on_result``, which also marks the first iteration's end (rlscale.startup_times)."""
    seen: list[bool] = []

    def hook(row: Any) -> None:
        if not seen:
            seen.append(True)
            mark("first iteration")
        if on_result is not None:
            on_result(row)

    return hook


def _prepare_locally(
    exp: ExperimentConfig, preset: str | None, mode: str, check_env: bool, verbose: bool
) -> TrainingJob:
    """The job of a local run, with its embedded Ray starting as soon as the plan is known.

    PyTorch and pandas are imported in the background while the env is checked; Ray starts
    in the background once the plan is made, while RLlib (and what its learner will
    import) is imported here (docs/benchmarks.md, start-up)."""
    from rlscale.runners.cluster import slurm_allocation
    from rlscale.runners.session import finish_preload, preload, start_local_ray, wait_for_ray

    preload()

    def start_ray(p: ResourcePlan) -> Callable[[], None]:
        mark("env resolved and checked, plan made")
        start_local_ray(p.cpus_to_reserve, p.gpus_to_reserve, verbose,
                        torch_threads=p.torch_threads, background=True)
        finish_preload()  # (stderr is silent until Ray is up: no mark here)
        return ray_ready

    def ray_ready() -> None:
        wait_for_ray()
        mark("RLlib's config checked and Ray up")

    return prepare_job(exp, preset, mode, slurm_allocation(), check_env=check_env,
                       on_plan=start_ray)


def _prepare_on_cluster(
    address: str, exp: ExperimentConfig, preset: str | None, mode: str, check_env: bool,
    verbose: bool,
) -> TrainingJob:
    """The job of a run on the existing cluster at ``address`` (joined here; the caller
    leaves it): its resources decide the plan, and a plan that cannot be placed is
    refused here rather than left PENDING."""
    from rlscale.runners.cluster import alive_nodes, check_plan_fits, connect_cluster

    job = prepare_job(exp, preset, mode, connect_cluster(address, verbose),
                      check_env=check_env)
    check_plan_fits(job.plan, alive_nodes())
    if check_env:
        _check_nodes(job)
    return job


def _check_nodes(job: TrainingJob) -> None:
    """Every node of the cluster that will sample builds and steps the env, in parallel,
    before training (a node that cannot fails the run in seconds, named)."""
    from rlscale.runners.preflight import check_env_on_nodes, sampling_nodes

    if job.env.is_external:  # its steps need a connected simulator
        return
    job.node_checks = check_env_on_nodes(job.env, sampling_nodes(job.plan))


def _engine(value: Engine | str) -> Engine:
    try:
        return Engine(value)
    except ValueError:
        from rlscale.errors import did_you_mean

        names = [e.value for e in Engine]
        raise ConfigError(f"unknown engine {value!r}{did_you_mean(str(value), names)}; use "
                          f"one of {', '.join(names)}") from None


def plan_sweep_job(
    experiment: Experiment = None,
    *,
    search: Mapping[str, Any] | None = None,
    options: SweepOptions | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
    resume: bool = False,
    overwrite: bool = False,
    check_env: bool = True,
    verbose: bool = False,
) -> SweepJob:
    """Everything ``sweep`` would decide, checked, with nothing written and no Ray:
    ``rlscale sweep --dry-run``. ``search`` adds to (and wins over) the experiment's
    ``search`` block; ``verbose`` keeps Ray's logs."""
    from rlscale.runners.session import quiet_ray_environment
    from rlscale.runners.sweep import SweepOptions, prepare_sweep

    quiet_ray_environment(verbose)
    exp, preset = load(experiment, overrides, sets)
    if search:
        exp = exp.model_copy(update={"search": {**exp.search, **dict(search)}})
    return prepare_sweep(exp, preset, options or SweepOptions(), run_mode(resume, overwrite),
                         check_env=check_env)


def sweep(
    experiment: Experiment = None,
    *,
    search: Mapping[str, Any] | None = None,
    options: SweepOptions | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
    resume: bool = False,
    overwrite: bool = False,
    check_env: bool = True,
    verbose: bool = False,
    on_start: JobHook | None = None,
    on_event: TrialHook | None = None,
    command: str | None = None,
) -> SweepReport:
    """Run (or, with ``resume``, continue) a sweep through Tune on the embedded local Ray;
    returns its report (every trial, the ranked points, ``best.yaml``).

    ``search`` maps experiment keys to search specs (``{"algo_config.lr": {"grid":
    [1e-3, 1e-4]}, "seeds": 2}``); ``options`` are the searcher, scheduler and concurrency
    (`rlscale.runners.sweep.SweepOptions`). ``on_event(event, trial, values, row)``
    sees each trial's start, iterations and end. A sweep stopped by
    `rlscale.runners.sweep.interrupt_sweep` returns with ``report.finished`` false.
    """
    from rlscale.runners.session import quiet_ray_environment, start_local_ray, stop_ray
    from rlscale.runners.sweep import report_sweep, run_sweep

    quiet_ray_environment(verbose)
    job = plan_sweep_job(experiment, search=search, options=options, overrides=overrides,
                         sets=sets, resume=resume, overwrite=overwrite, check_env=check_env,
                         verbose=verbose)
    start_local_ray(job.total_cpus, job.total_gpus, verbose)
    try:
        if on_start is not None:
            on_start(job)
        finished = run_sweep(job, command or _api_command("sweep", experiment, overrides),
                             hook=on_event)
    finally:
        stop_ray()
    report = report_sweep(job)
    report.finished = finished
    return report


def wait_for_cluster(address: str, count: int, timeout_s: float) -> list[dict[str, Any]]:
    """Join the Ray cluster at ``address``, wait until ``count`` nodes are alive in it
    (a Slurm job's script waits so before it trains), leave it; returns the nodes."""
    from rlscale.runners.cluster import connect_cluster, wait_for_nodes
    from rlscale.runners.session import stop_ray

    try:
        connect_cluster(address)
        return wait_for_nodes(count, timeout_s)
    finally:
        stop_ray()
