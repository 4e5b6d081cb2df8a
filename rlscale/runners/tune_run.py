"""The one Tune call every runner ends in, with progress, checkpoints and clean stops."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rlscale.config.model import StopConfig
from rlscale.errors import TrainingFailed
from rlscale.results import metrics
from rlscale.results.rundir import RESUME
from rlscale.results.summary import COMPLETED, FAILED, INTERRUPTED, RUNNING, Summary
from rlscale.runners.cluster import record_placement
from rlscale.runners.job import TrainingJob

log = logging.getLogger(__name__)

# Set by request_stop() (the CLI's Ctrl-C handler): the trial stops after its current
# iteration, with a final checkpoint. A module global, so Tune can pickle the stopper.
_STOP_REQUESTED = threading.Event()

ResultHook = Callable[[dict[str, Any]], None]


def request_stop() -> None:
    """Ask the running training to stop cleanly after the current iteration."""
    _STOP_REQUESTED.set()


def stop_requested() -> bool:
    """True once :func:`request_stop` was called."""
    return _STOP_REQUESTED.is_set()


def stop_criteria(stop: StopConfig) -> dict[str, float]:
    """Tune result keys and thresholds: the first one reached stops the run."""
    criteria: dict[str, float] = {}
    if stop.reward is not None:
        criteria[metrics.EPISODE_RETURN_MEAN] = stop.reward
    if stop.iters is not None:
        criteria[metrics.TRAINING_ITERATION] = stop.iters
    if stop.timesteps is not None:
        criteria[metrics.ENV_STEPS_LIFETIME] = stop.timesteps
    if stop.time_s is not None:
        criteria[metrics.TIME_TOTAL_S] = stop.time_s
    return criteria


def _make_stopper(criteria: Mapping[str, float]) -> Any:
    from ray import tune

    class RunStopper(tune.Stopper):
        """Stops the trial at the first criterion reached, or when a stop was requested."""

        def __init__(self, criteria: Mapping[str, float]) -> None:
            self.criteria = dict(criteria)

        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            if stop_requested():
                return True
            for key, threshold in self.criteria.items():
                value = metrics.finite(metrics.get_metric(result, key))
                if value is not None and value >= threshold:
                    return True
            return False

        def stop_all(self) -> bool:
            return False

    return RunStopper(criteria)


class _Tracking:
    """What the driver-side Tune callback updates. Module-level, because Tune pickles
    its callbacks and the progress display holds a console that cannot be pickled."""

    run_dir: Path | None = None
    summary: Summary | None = None
    on_result: ResultHook | None = None


def _make_tracker() -> Any:
    from ray import tune

    class RunTracker(tune.Callback):
        """Keeps ``summary.json`` current and feeds the progress display."""

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                            **info: Any) -> None:
            if _Tracking.summary is None or _Tracking.run_dir is None:
                return
            row = _Tracking.summary.record_result(result)
            _Tracking.summary.write(_Tracking.run_dir)
            if _Tracking.on_result is not None:
                _Tracking.on_result(row)

        def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any,
                          **info: Any) -> None:
            if _Tracking.summary is None or _Tracking.run_dir is None:
                return
            run_dir = _Tracking.run_dir
            path = Path(checkpoint.path)
            rel = path.relative_to(run_dir) if path.is_relative_to(run_dir) else path
            _Tracking.summary.record_checkpoint(str(rel))
            _Tracking.summary.write(run_dir)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if _Tracking.summary is not None:
                _Tracking.summary.error = _error_text(trial)

    return RunTracker()


def _error_text(trial: Any) -> str:
    """The last meaningful line of a failed trial's error file."""
    path = getattr(trial, "error_file", None) or ""
    try:
        lines = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
    except OSError:
        return "the trial failed (no error file)"
    for line in reversed(lines):
        if not line.startswith(("File ", "^", "~")) and "Traceback" not in line:
            return line
    return lines[-1] if lines else "the trial failed"


def _on_algorithm_init(
    run_dir: str, checkpoint: str | None, time_total_s: float, algorithm: Any, **kwargs: Any
) -> None:
    """RLlib ``on_algorithm_init`` hook: note where the processes run; when resuming,
    continue from a checkpoint, counters included."""
    record_placement(run_dir, algorithm)
    if checkpoint is not None:
        algorithm.restore_from_path(checkpoint)
        algorithm._time_total = time_total_s


def run_job(job: TrainingJob, command: str, on_result: ResultHook | None = None) -> Summary:
    """Train ``job`` through Tune in an already started Ray. Returns the final summary.

    Raises :class:`TrainingFailed` (exit code 1) when the trial errors.
    """
    from ray import tune

    run_dir = job.run_dir.path
    summary = Summary(env=job.exp.env, algo=job.algo.name, target_reward=job.exp.stop.reward)
    config = job.algo_config.copy(copy_frozen=False)
    restore: tuple[str | None, float] = (None, 0.0)
    if job.mode == RESUME:
        previous = Summary.read(run_dir)
        latest = previous.latest_checkpoint()
        if latest is None:
            raise TrainingFailed(f"cannot resume {run_dir}: it has no checkpoint yet")
        summary = previous
        summary.status, summary.error = RUNNING, None
        summary.target_reward = job.exp.stop.reward
        restore = (str(run_dir / latest.path), latest.time_total_s)
        log.info("resuming from %s (iteration %d)", latest.path, latest.iteration)
    config.callbacks(
        on_algorithm_init=functools.partial(_on_algorithm_init, str(run_dir), *restore)
    )
    job.run_dir.prepare(job.mode, job.resolved_config(), command)
    summary.segments += 1
    summary.write(run_dir)

    _STOP_REQUESTED.clear()
    _Tracking.run_dir, _Tracking.summary, _Tracking.on_result = run_dir, summary, on_result
    tuner = tune.Tuner(
        config.algo_class,
        param_space=config,  # type: ignore[arg-type]  # Tune takes an AlgorithmConfig
        run_config=tune.RunConfig(
            name=run_dir.name,
            storage_path=str(run_dir.parent),
            stop=_make_stopper(stop_criteria(job.exp.stop)),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=job.exp.checkpoint.every, checkpoint_at_end=True
            ),
            failure_config=tune.FailureConfig(max_failures=0),
            callbacks=[_make_tracker()],
            verbose=0,
        ),
    )
    try:
        grid = tuner.fit()
    finally:
        _Tracking.run_dir, _Tracking.summary, _Tracking.on_result = None, None, None
    result = grid[0]
    if result.error is not None:
        summary.status = FAILED
        summary.error = summary.error or str(result.error).strip().splitlines()[-1]
        summary.write(run_dir)
        raise TrainingFailed(f"training failed: {summary.error}")
    summary.status = INTERRUPTED if stop_requested() else COMPLETED
    summary.write(run_dir)
    return summary
