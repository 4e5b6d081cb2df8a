"""A sweep's report: its trials ranked, sweep.json and best.yaml written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlscale.results import metrics
from rlscale.results.sweep import (
    RANK_BY_EVAL,
    RANK_BY_RETURN,
    PointRecord,
    TrialRecord,
    collect_trials,
    rank_points,
    write_report,
)
from rlscale.runners.sweep.job import SweepJob, sweep_options_record


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
