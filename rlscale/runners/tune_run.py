"""The one Tune call every runner ends in, with progress, checkpoints and clean stops."""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rlscale.config.model import StopConfig
from rlscale.errors import TrainingFailed
from rlscale.results import metrics
from rlscale.results.rundir import RESUME
from rlscale.results.summary import COMPLETED, FAILED, INTERRUPTED, Summary
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


def clear_stop() -> None:
    """Forget an earlier stop request (a new run starts)."""
    _STOP_REQUESTED.clear()


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


def make_stopper(criteria: Mapping[str, float], stop_on_request: bool = True) -> Any:
    from ray import tune

    class RunStopper(tune.Stopper):
        """Stops a trial at the first criterion reached, or (train) when a stop was requested.

        A sweep passes ``stop_on_request=False``: its interrupted trials must stay unfinished
        so that a resumed sweep continues them.
        """

        def __init__(self, criteria: Mapping[str, float], stop_on_request: bool) -> None:
            self.criteria = dict(criteria)
            self.stop_on_request = stop_on_request

        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            if self.stop_on_request and stop_requested():
                return True
            for key, threshold in self.criteria.items():
                value = metrics.finite(metrics.get_metric(result, key))
                if value is not None and value >= threshold:
                    return True
            return False

        def stop_all(self) -> bool:
            return False

    return RunStopper(criteria, stop_on_request)


class TrialRuns:
    """Which run directory and summary each Tune trial's results go to."""

    def open(self, trial: Any) -> tuple[Path, Summary] | None:
        """The run directory and summary of ``trial`` (None: not tracked)."""
        raise NotImplementedError

    def started(self, trial: Any) -> None:
        """A trial started (or restarted after a resume)."""

    def finished(self, trial: Any, status: str) -> None:
        """A trial ended with ``status`` (completed or failed)."""

    def result(self, trial: Any, row: dict[str, Any]) -> None:
        """A trial reported an iteration (its progress row)."""


class SingleRun(TrialRuns):
    """``train``: the one trial writes into the run directory; the caller sets the status."""

    def __init__(self, run_dir: Path, summary: Summary, on_result: ResultHook | None) -> None:
        self.run_dir, self.summary, self.on_result = run_dir, summary, on_result

    def open(self, trial: Any) -> tuple[Path, Summary] | None:
        return self.run_dir, self.summary

    def result(self, trial: Any, row: dict[str, Any]) -> None:
        if self.on_result is not None:
            self.on_result(row)


class _Tracking:
    """What the driver-side Tune callback updates. Module-level, because Tune pickles
    its callbacks and the progress display holds a console that cannot be pickled."""

    runs: TrialRuns | None = None


# summary.json is rewritten (atomically, with an fsync) at most this often for results;
# checkpoints, the start and the end always write it. One write per iteration cost the
# driver 2 ms on a local disk, and a shared file system far more.
SUMMARY_EVERY_S = 2.0


def make_tracker() -> Any:
    """The Tune callback that keeps each trial's ``summary.json`` current."""
    from ray import tune

    class RunTracker(tune.Callback):
        """Keeps ``summary.json`` current and feeds the progress display."""

        def __init__(self) -> None:
            self.written: dict[str, float] = {}  # trial id -> when its summary was written

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if _Tracking.runs is not None:
                _Tracking.runs.started(trial)

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                            **info: Any) -> None:
            target = _Tracking.runs.open(trial) if _Tracking.runs is not None else None
            if target is None or _Tracking.runs is None:
                return
            run_dir, summary = target
            row = summary.record_result(result)
            now = time.monotonic()
            if now - self.written.get(trial.trial_id, -math.inf) >= SUMMARY_EVERY_S:
                summary.write(run_dir)
                self.written[trial.trial_id] = now
            _Tracking.runs.result(trial, row)

        def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any,
                          **info: Any) -> None:
            target = _Tracking.runs.open(trial) if _Tracking.runs is not None else None
            if target is None:
                return
            run_dir, summary = target
            path = Path(checkpoint.path)
            rel = path.relative_to(run_dir) if path.is_relative_to(run_dir) else path
            summary.record_checkpoint(str(rel))
            summary.write(run_dir)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any,
                              **info: Any) -> None:
            if _Tracking.runs is not None:
                _Tracking.runs.finished(trial, COMPLETED)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            target = _Tracking.runs.open(trial) if _Tracking.runs is not None else None
            if target is None or _Tracking.runs is None:
                return
            target[1].error = _error_text(trial)
            _Tracking.runs.finished(trial, FAILED)

    return RunTracker()


def track(runs: TrialRuns | None) -> None:
    """Send the Tune callback's updates to ``runs`` (None: stop tracking)."""
    _Tracking.runs = runs


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
        summary.target_reward = job.exp.stop.reward
        restore = (str(run_dir / latest.path), latest.time_total_s)
        log.info("resuming from %s (iteration %d)", latest.path, latest.iteration)
    config.callbacks(
        on_algorithm_init=functools.partial(_on_algorithm_init, str(run_dir), *restore)
    )
    job.run_dir.prepare(job.mode, job.resolved_config(), command)
    summary.mark_running()
    summary.segments += 1
    summary.write(run_dir)

    _STOP_REQUESTED.clear()
    track(SingleRun(run_dir, summary, on_result))
    tuner = tune.Tuner(
        config.algo_class,
        param_space=config,  # type: ignore[arg-type]  # Tune takes an AlgorithmConfig
        run_config=tune.RunConfig(
            name=run_dir.name,
            storage_path=str(run_dir.parent),
            stop=make_stopper(stop_criteria(job.exp.stop)),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=job.exp.checkpoint.every, checkpoint_at_end=True
            ),
            failure_config=tune.FailureConfig(max_failures=0),
            callbacks=[make_tracker()],
            verbose=0,
        ),
    )
    try:
        grid = tuner.fit()
    finally:
        track(None)
    result = grid[0]
    if result.error is not None:
        summary.status = FAILED
        summary.error = summary.error or str(result.error).strip().splitlines()[-1]
        summary.write(run_dir)
        raise TrainingFailed(f"training failed: {summary.error}")
    summary.status = INTERRUPTED if stop_requested() else COMPLETED
    summary.write(run_dir)
    return summary
