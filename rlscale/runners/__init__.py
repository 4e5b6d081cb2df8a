"""Where a run trains: the embedded local Ray or an existing cluster, through Tune."""

from rlscale.runners.job import TrainingJob, prepare_job, run_mode
from rlscale.runners.tune_run import request_stop, run_job

__all__ = ["TrainingJob", "prepare_job", "request_stop", "run_job", "run_mode"]
