"""What was learned: run directories, summaries, metric names."""

from rlscale.results.rundir import RunDir, default_run_name, is_run_dir
from rlscale.results.summary import CheckpointRecord, Summary

__all__ = ["CheckpointRecord", "RunDir", "Summary", "default_run_name", "is_run_dir"]
