"""``rlscale train --dry-run --predict``: a short pilot of the experiment, then the scaling
prediction (rlscale.algos.scaling) at 1, 2, 4, ... cores and 1, 2, 4, 8 nodes.

The pilot is the experiment itself, trained for :data:`PILOT_ITERS` iterations into a
temporary folder that is removed afterwards (nothing of the user's is written); a run that
already trained under the experiment's name (its ``summary.json`` has throughput figures)
is its own pilot, and nothing is trained.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlscale.algos.plan import Node, ResourcePlan, plan_resources, scale_batch
from rlscale.algos.registry import get_algo
from rlscale.algos.scaling import (
    JobSize,
    Pilot,
    Point,
    core_counts,
    knee,
    pilot_from_throughput,
    predict_cores,
    predict_nodes,
    size_job,
)
from rlscale.errors import TrainingFailed
from rlscale.results.rundir import UnreadableFile, read_summary
from rlscale.runners.job import _batch, canonical_experiment, user_set_batch

log = logging.getLogger(__name__)

# Iterations of the pilot: the first is start-up and is not timed.
PILOT_ITERS = 4
NODE_COUNTS = (1, 2, 4, 8)
# Bytes moved per env step besides the observation (action, reward, flags, log-prob, value).
STEP_BYTES = 32


@dataclass(frozen=True)
class ScalingReport:
    """The pilot, where it came from, and the predictions."""

    pilot: Pilot
    source: str  # the run directory read, or "pilot of N iterations"
    synchronous: bool
    cores: list[Point]
    node_cpus: int
    nodes: list[Point]
    knee_cores: int


def bytes_per_step(observation_space: Any) -> float:
    """Bytes one env step moves to the learner: its observation (as float32) and the rest."""
    import gymnasium as gym

    try:
        return 4.0 * gym.spaces.flatdim(observation_space) + STEP_BYTES
    except (TypeError, ValueError, NotImplementedError):
        return 4.0 * 64 + STEP_BYTES


def predict_scaling(
    experiment: Any = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
    resume: bool = False,
    check_env: bool = True,
    verbose: bool = False,
    max_cores: int | None = None,
    node_cpus: int | None = None,
) -> ScalingReport:
    """Predict how the experiment scales: from its run's figures when it already trained
    (``resume``: the run named by the experiment exists),
    else from a pilot of :data:`PILOT_ITERS` iterations (trained here, in a temporary
    folder). ``max_cores``: the largest core count of the table (default: 64 or this
    machine's); ``node_cpus``: the size of a node for the nodes table (default: this
    machine's cores)."""
    from rlscale.runners import launch
    from rlscale.runners.session import local_capacity

    job = launch.plan(experiment, overrides=overrides, sets=sets, resume=resume,
                      check_env=check_env, verbose=verbose)
    base, _ = launch.load(experiment, overrides, sets)
    base, algo = canonical_experiment(base)
    own = get_algo(base.algo)  # the experiment's (PPO for PPO sampled asynchronously)
    pilot, source = _existing_pilot(job.run_dir.path, job.plan)
    if pilot is None:
        # PPO's synchronous loop times its learner; APPO's update only queues the batch
        # for its learner thread: a PPO experiment sampled asynchronously pilots as PPO.
        extra = {"sampling": "sync"} if own.name != algo.name else {}
        pilot, source = _run_pilot(experiment, {**dict(overrides or {}), **extra}, sets,
                                   check_env, verbose, job.plan)
    synchronous = algo.synchronous
    res = base.resources
    step_us = job.plan.env_step_time_us

    batch, explicit = _batch(base, own), user_set_batch(base)

    def planner(nodes: Sequence[Node], cores: int) -> tuple[ResourcePlan, int]:
        plan = plan_resources(
            nodes=nodes, num_cpus=cores, on_policy=algo.on_policy, synchronous=synchronous,
            num_envs_per_env_runner=res.num_envs_per_env_runner, num_envs=res.num_envs,
            may_oversubscribe=len(nodes) == 1, env_step_time_us=step_us)
        if algo.on_policy:
            return plan, scale_batch(plan, batch, explicit)[0]
        return plan, batch

    size = node_cpus or local_capacity().cpus
    limit = max_cores or max(64, size)
    step_bytes = bytes_per_step(job.env.observation_space)
    return ScalingReport(
        pilot=pilot, source=source, synchronous=synchronous,
        cores=predict_cores(pilot, planner, core_counts(limit), synchronous=synchronous,
                            bytes_per_step=step_bytes),
        node_cpus=size,
        nodes=predict_nodes(pilot, planner, size, NODE_COUNTS, synchronous=synchronous,
                            bytes_per_step=step_bytes),
        knee_cores=knee(pilot, planner, synchronous=synchronous, bytes_per_step=step_bytes),
    )


def size_from_prediction(experiment: Any = None, *, node_cpus: int,
                         overrides: Mapping[str, Any] | None = None, sets: Sequence[str] = (),
                         check_env: bool = True, verbose: bool = False,
                         ) -> tuple[JobSize, ScalingReport]:
    """The nodes (of ``node_cpus`` cores) a Slurm job of the experiment should ask for, from
    :func:`predict_scaling` (a pilot here, or the run's own figures): see
    :func:`rlscale.algos.scaling.size_job`."""
    report = predict_scaling(experiment, overrides=overrides, sets=sets,
                             check_env=check_env, verbose=verbose, node_cpus=node_cpus)
    return size_job(report.knee_cores, report.nodes, node_cpus), report


def _existing_pilot(run_dir: Path, plan: ResourcePlan) -> tuple[Pilot | None, str]:
    try:
        summary = read_summary(run_dir)
    except (UnreadableFile, OSError):
        return None, ""
    pilot = pilot_from_throughput(summary.throughput, plan)
    return pilot, f"the figures of {run_dir} ({pilot.iterations if pilot else 0} iterations)"


def _run_pilot(experiment: Any, overrides: Mapping[str, Any] | None, sets: Sequence[str],
               check_env: bool, verbose: bool, plan: ResourcePlan) -> tuple[Pilot, str]:
    """Train the pilot (its plan is ``plan``, the experiment's) and read its figures."""
    from rlscale.runners import launch

    with tempfile.TemporaryDirectory(prefix="rlscale-pilot-") as folder:
        pilot_overrides = {**dict(overrides or {}), "output": folder, "name": "pilot",
                           "stop.iters": PILOT_ITERS,
                           "checkpoint.every": 0, "evaluation.every": 0,
                           # every timed iteration sampled as planned, by the env runners
                           "resources.sample_at_once": False}
        log.info("pilot: %d iterations in %s", PILOT_ITERS, folder)
        summary = launch.train(experiment, overrides=pilot_overrides, sets=sets,
                               check_env=check_env, verbose=verbose, command="pilot")
    pilot = pilot_from_throughput(summary.throughput, plan)
    if pilot is None:
        raise TrainingFailed("the pilot timed no iteration: nothing to predict from")
    return pilot, f"a pilot of {PILOT_ITERS} iterations"

