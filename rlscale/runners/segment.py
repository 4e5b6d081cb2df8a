"""One segment of a run's life, the same on every path: start it (a new run, or a resumed
one from its latest checkpoint), fold in its results and checkpoints, and end it.

A run trained in several segments (``--resume``) may train each on another path (Tune's
trial actor or the driver's own loop): what a segment reads and writes is only the run
directory's files, never a path's own state.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlscale.algos.evaluation import bound_evaluation, episode_step_cap
from rlscale.algos.hooks import add_hook
from rlscale.algos.runner_start import (
    NothingSampled,
    forget_start_error,
    nothing_sampled,
    start_error,
)
from rlscale.config.model import ExperimentConfig
from rlscale.errors import TrainingFailed
from rlscale.results.diskfull import disk_full, is_disk_full
from rlscale.results.failure import failure_error, record_failure, root_cause
from rlscale.results.rundir import RESUME
from rlscale.results.summary import COMPLETED, FAILED, INTERRUPTED, Summary
from rlscale.runners.cluster import record_placement
from rlscale.runners.job import TrainingJob
from rlscale.runners.stopping import clear_stop, stop_requested, wall_deadline

log = logging.getLogger(__name__)

ResultHook = Callable[[dict[str, Any]], None]

# summary.json is rewritten (atomically, with an fsync) at most this often for results;
# checkpoints, the start and the end always write it. One atomic write per iteration costs
# the driver time on a local disk, and far more on a shared file system
# (docs/code-figures.md).
SUMMARY_EVERY_S = 2.0


class SummaryRecorder:
    """Folds one run's results and checkpoints into its ``summary.json``."""

    def __init__(self, run_dir: Path, summary: Summary) -> None:
        self.run_dir, self.summary = run_dir, summary
        self.written = -math.inf  # when summary.json was last written for a result

    def result(self, result: dict[str, Any]) -> dict[str, Any]:
        """Fold one iteration's result in (written now and then); returns its progress row."""
        row = self.summary.record_result(result)
        if row.get("eval_cut"):
            log.warning("the run is stopping: the evaluation of iteration %d was cut short "
                        "(%d episode(s) truncated); its return is not counted",
                        row["iteration"], row["eval_cut"])
        now = time.monotonic()
        if now - self.written >= SUMMARY_EVERY_S:
            self.summary.write(self.run_dir)
            self.written = now
        return row

    def checkpoint(self, path: Path) -> None:
        """Note a checkpoint written after the latest result (always written)."""
        rel = path.relative_to(self.run_dir) if path.is_relative_to(self.run_dir) else path
        self.summary.record_checkpoint(str(rel))
        self.summary.write(self.run_dir)


def _on_algorithm_init(
    run_dir: str, checkpoint: str | None, time_total_s: float, algorithm: Any, **kwargs: Any
) -> None:
    """RLlib ``on_algorithm_init`` hook: note where the processes run; when resuming,
    continue from a checkpoint, counters included."""
    record_placement(run_dir, algorithm)
    if checkpoint is not None:
        algorithm.restore_from_path(checkpoint)
        algorithm._time_total = time_total_s


@dataclass
class Segment:
    """A started segment: its summary and the RLlib config that continues the run."""

    job: TrainingJob
    summary: Summary
    algo_config: Any  # AlgorithmConfig, with the on_algorithm_init hook of this segment
    # stop.time_s as a time.time() value (rlscale.runners.stopping.wall_deadline).
    deadline: float | None = None

    @property
    def run_dir(self) -> Path:
        return self.job.run_dir.path

    def recorder(self) -> SummaryRecorder:
        return SummaryRecorder(self.run_dir, self.summary)

    def succeeded(self) -> Summary:
        """End the segment after its last iteration: completed, or interrupted on request."""
        self.summary.status = INTERRUPTED if stop_requested() else COMPLETED
        self.summary.write(self.run_dir)
        return self.summary

    def failed(self, exc: BaseException) -> TrainingFailed:
        """End the segment with ``exc``: the root error (the env's own, for simulator
        faults) and where it was raised in the summary, the full traceback in the run's
        ``error.txt``. Returns the one-line error for the caller to raise.

        A run that sampled nothing while an env runner could not build its env (RLlib then
        fails with an error of its own) fails with the env's error."""
        if is_disk_full(root_cause(exc), self.run_dir):
            # summary.json stays as last written: a write now would fail the same way.
            return disk_full(self.run_dir, "a checkpoint or the iteration's results")
        why = start_error() if self.summary.timesteps_total == 0 else None
        if why is not None and not isinstance(exc, NothingSampled):
            cause, exc = exc, nothing_sampled(why)
            exc.__context__ = cause  # in error.txt; the line is the env's error
        elif isinstance(exc, NothingSampled):  # its line is the env's error, on every path,
            exc = exc.with_traceback(None)     # not where rlscale noticed it
        failure, error_file = record_failure(self.run_dir, exc)
        self.summary.status = FAILED
        self.summary.error = self.summary.error or failure.line()
        self.summary.write(self.run_dir)
        return failure_error(failure, error_file)

    def aborted(self) -> None:
        """The process is being interrupted mid-iteration (KeyboardInterrupt): the run stays
        resumable from its latest checkpoint."""
        self.summary.status = INTERRUPTED
        self.summary.write(self.run_dir)


def segment_summary(exp: ExperimentConfig, algo: str, previous: Summary | None) -> Summary:
    """The summary of a segment that starts: a new run's, or (``previous``) the resumed
    run's, aimed at the experiment's target and marked running, one segment more. The same
    for a run and for each trial of a sweep."""
    summary = previous or Summary(env=exp.env, algo=algo)
    summary.target_reward = exp.stop.reward
    summary.target_on = exp.stop.on or "train"
    summary.mark_running()
    summary.segments += 1
    return summary


def begin_segment(job: TrainingJob, command: str) -> Segment:
    """Write the run's manifests and its running summary; for ``--resume``, arrange that the
    algorithm continues from the latest checkpoint (counters, return window included).

    Raises :class:`TrainingFailed` when a run to resume has no checkpoint yet.
    """
    run_dir = job.run_dir.path
    previous: Summary | None = None
    restore: tuple[str | None, float] = (None, 0.0)
    if job.mode == RESUME:
        previous = Summary.read(run_dir)
        latest = previous.latest_checkpoint()
        if latest is None:
            raise TrainingFailed(f"cannot resume {run_dir}: it has no checkpoint yet")
        restore = (str(run_dir / latest.path), latest.time_total_s)
        log.info("resuming from %s (iteration %d)", latest.path, latest.iteration)
    config = job.algo_config.copy(copy_frozen=False)
    # The clock of stop.time_s starts before anything slow (Ray's workers, the build).
    deadline = wall_deadline(job.exp.stop, restore[1])
    bound_evaluation(config, deadline)  # an evaluation running at the deadline is cut
    # After the experiment's own hooks (e.g. the initial log-std), so a resumed run's
    # checkpoint has the last word.
    add_hook(config, "on_algorithm_init",
             functools.partial(_on_algorithm_init, str(run_dir), *restore))
    # RLlib sets its logger's level when the algorithm starts (WARN: a page per env runner
    # that fails to start reaches the console); keep this process's (quiet unless -v).
    config.debugging(log_level=logging.getLevelName(
        logging.getLogger("ray.rllib").getEffectiveLevel()))
    forget_start_error()
    job.run_dir.prepare(job.mode, job.resolved_config(), command)
    summary = segment_summary(job.exp, job.algo.name, previous)
    if job.exp.evaluation.every:
        summary.eval_max_episode_steps = episode_step_cap(job.exp, job.env)
    summary.write(run_dir)
    clear_stop()
    return Segment(job, summary, config, deadline)
