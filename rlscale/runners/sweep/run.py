"""Running a sweep: the search space as Tune objects, the searcher, the scheduler, and the
one Tune call (started, resumed, interrupted)."""

from __future__ import annotations

import os
import signal
from typing import Any

from rlscale.config.paths import set_path
from rlscale.config.search import Dimension
from rlscale.errors import TrainingFailed
from rlscale.results import metrics
from rlscale.results.rundir import RESUME
from rlscale.runners.stopping import clear_stop, request_stop, stop_requested
from rlscale.runners.sweep.job import TRIALS_DIR, SweepJob, sweep_options_record
from rlscale.runners.sweep.trials import SweepTrials, TrialHook, trial_dirname
from rlscale.runners.tracking import logger_callbacks
from rlscale.runners.tune_run import run_config, track


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
