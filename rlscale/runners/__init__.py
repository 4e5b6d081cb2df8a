"""Where a run trains: the embedded local Ray or an existing cluster; in this process or
through Tune. :mod:`rlscale.runners.launch` owns a run's life."""

from rlscale.runners.job import TrainingJob, prepare_job, run_mode
from rlscale.runners.stopping import request_stop

__all__ = ["TrainingJob", "prepare_job", "request_stop", "run_mode"]
