"""A sweep's options and its job: everything decided before Ray starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlscale.algos import AlgoInfo, ResourcePlan
from rlscale.algos.plan import Reason
from rlscale.config.model import ExperimentConfig
from rlscale.config.search import SearchSpace
from rlscale.envs import ResolvedEnv
from rlscale.results import metrics
from rlscale.results.sweep import SweepDir

if TYPE_CHECKING:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

SEARCH_ALGS = {"random": None, "optuna": "optuna", "hyperopt": "hyperopt"}
SCHEDULERS = ("fifo", "asha", "pbt")
MODES = ("max", "min")
TRIALS_DIR = "trials"


@dataclass(frozen=True)
class SweepOptions:
    """How the trials are chosen, scheduled and run."""

    samples: int = 1
    search_alg: str = "random"
    scheduler: str = "fifo"
    metric: str = metrics.EPISODE_RETURN_MEAN
    mode: str = "max"
    max_concurrent: int | None = None
    num_cpus: int | None = None  # cores the whole sweep may use (default: all)


@dataclass
class SweepJob:
    """A validated sweep: everything decided and checked before Ray starts."""

    exp: ExperimentConfig  # the base trial (search block kept), name and output resolved
    preset: str | None
    space: SearchSpace
    options: SweepOptions
    env: ResolvedEnv
    algo: AlgoInfo
    plan: ResourcePlan  # per trial
    algo_config: AlgorithmConfig  # the base trial's RLlib config
    rllib_paths: dict[str, tuple[str, ...]]  # searched key -> path in the RLlib config dict
    sweep_dir: SweepDir
    mode: str
    total_cpus: int
    total_gpus: int  # whole GPUs the embedded Ray offers
    trial_cpus: float
    trial_gpus: float
    num_trials: int
    max_concurrent: int
    reasons: list[Reason] = field(default_factory=list)

    @property
    def base_seed(self) -> int:
        return self.exp.seed if self.exp.seed is not None else 0

    def seeds(self) -> list[int]:
        """The seeds every point is trained with (``seeds: K``), or [] when not set."""
        return [self.base_seed + i for i in range(self.space.seeds or 0)]

    def trial_experiment(self) -> dict[str, Any]:
        """The experiment every trial starts from, as stored in its config.yaml."""
        data = self.exp.model_dump(mode="json")
        data["search"] = {}
        return data


def sweep_options_record(job: SweepJob) -> dict[str, Any]:
    """The options stored in sweep.json (a resumed sweep reports with the same ones)."""
    opts = job.options
    return {
        "samples": opts.samples, "search_alg": opts.search_alg, "scheduler": opts.scheduler,
        "metric": opts.metric, "mode": opts.mode, "max_concurrent": job.max_concurrent,
        "num_cpus": job.total_cpus, "cpus_per_trial": job.trial_cpus,
        "num_trials": job.num_trials,
    }
