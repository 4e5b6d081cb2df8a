"""What was learned: run directories, summaries, metric names."""

from rlscale.results.rundir import RunDir, is_run_dir
from rlscale.results.summary import CheckpointRecord, Summary

__all__ = ["CheckpointRecord", "RunDir", "Summary", "is_run_dir"]
