"""The Tune path: sweeps, clusters, Slurm jobs (and a local run asked to) train through
one Tune call, with progress, checkpoints and clean stops."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlscale.config.model import ExperimentConfig
from rlscale.results.diskfull import is_disk_full
from rlscale.results.summary import COMPLETED, FAILED, Summary
from rlscale.runners.job import TrainingJob
from rlscale.runners.segment import ResultHook, SummaryRecorder, begin_segment
from rlscale.runners.stopping import criteria_met, past, stop_criteria, stop_requested
from rlscale.runners.tracking import logger_callbacks

log = logging.getLogger(__name__)


def make_stopper(criteria: Mapping[str, float], stop_on_request: bool = True,
                 deadline: float | None = None) -> Any:
    from ray import tune

    class RunStopper(tune.Stopper):
        """Stops a trial at the first criterion reached, or (train) when a stop was requested.

        A sweep passes ``stop_on_request=False``: its interrupted trials must stay unfinished
        so that a resumed sweep continues them. ``deadline``: stop.time_s in wall-clock time
        (a train run's; a sweep's trials count their own training time).
        """

        def __init__(self, criteria: Mapping[str, float], stop_on_request: bool,
                     deadline: float | None) -> None:
            self.criteria = dict(criteria)
            self.stop_on_request = stop_on_request
            self.deadline = deadline

        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            if (self.stop_on_request and stop_requested()) or past(self.deadline):
                return True
            return criteria_met(self.criteria, result)

        def stop_all(self) -> bool:
            return False

    return RunStopper(criteria, stop_on_request, deadline)


def run_config(exp: ExperimentConfig, storage: Path, name: str, callbacks: list[Any],
               stop_on_request: bool = True, deadline: float | None = None) -> Any:
    """Tune's ``RunConfig`` of a run or a sweep (the same stop criteria, checkpoints, no
    retries, the summary tracker first): Tune's experiment ``storage/name``; ``callbacks``
    are the experiment trackers' (MLflow, W&B). A sweep passes ``stop_on_request=False``
    (see :func:`make_stopper`); ``deadline``: the wall-clock end of ``stop.time_s``."""
    from ray import tune

    return tune.RunConfig(
        name=name,
        storage_path=str(storage),
        stop=make_stopper(stop_criteria(exp.stop), stop_on_request=stop_on_request,
                          deadline=deadline),
        checkpoint_config=tune.CheckpointConfig(
            checkpoint_frequency=exp.checkpoint.every, checkpoint_at_end=True
        ),
        failure_config=tune.FailureConfig(max_failures=0),
        callbacks=[make_tracker(), *callbacks],
        verbose=0,
    )


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


def make_tracker() -> Any:
    """The Tune callback that keeps each trial's ``summary.json`` current."""
    from ray import tune

    class RunTracker(tune.Callback):
        """Keeps ``summary.json`` current and feeds the progress display."""

        def __init__(self) -> None:
            self.recorders: dict[str, SummaryRecorder] = {}  # by trial id

        def recorder(self, trial: Any) -> SummaryRecorder | None:
            target = _Tracking.runs.open(trial) if _Tracking.runs is not None else None
            if target is None:
                return None
            current = self.recorders.get(trial.trial_id)
            if current is None or current.summary is not target[1]:
                current = self.recorders[trial.trial_id] = SummaryRecorder(*target)
            return current

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if _Tracking.runs is not None:
                _Tracking.runs.started(trial)

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                            **info: Any) -> None:
            recorder = self.recorder(trial)
            if recorder is None or _Tracking.runs is None:
                return
            _Tracking.runs.result(trial, recorder.result(result))

        def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any,
                          **info: Any) -> None:
            recorder = self.recorder(trial)
            if recorder is not None:
                recorder.checkpoint(Path(checkpoint.path))

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


def run_job(job: TrainingJob, command: str, on_result: ResultHook | None = None) -> Summary:
    """Train ``job`` through Tune in an already started Ray. Returns the final summary.

    Raises :class:`TrainingFailed` (exit code 1) when the trial errors.
    """
    from ray import tune

    segment = begin_segment(job, command)
    run_dir = segment.run_dir
    track(SingleRun(run_dir, segment.summary, on_result))
    config = segment.algo_config
    tuner = tune.Tuner(
        config.algo_class,
        param_space=config,  # type: ignore[arg-type]  # Tune takes an AlgorithmConfig
        run_config=run_config(job.exp, run_dir.parent, run_dir.name,
                              logger_callbacks(job.exp, run_dir),  # + MLflow, W&B
                              deadline=segment.deadline),
    )
    try:
        grid = tuner.fit()
    except KeyboardInterrupt:
        segment.aborted()
        raise
    except Exception as exc:
        # On a full disk Tune cannot read back the error file of the trial it failed.
        if is_disk_full(exc, run_dir):
            raise segment.failed(exc) from None
        raise
    finally:
        track(None)
    result = grid[0]
    if result.error is not None:
        raise segment.failed(result.error)
    return segment.succeeded()
