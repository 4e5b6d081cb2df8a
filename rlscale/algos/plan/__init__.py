"""The plan: how the cores and GPUs a run or a sweep may use become RLlib's settings, and why.

- :mod:`~rlscale.algos.plan.nodes`: the nodes a run may use, where each process goes;
- :mod:`~rlscale.algos.plan.run`: one run's plan (:func:`plan_resources`);
- :mod:`~rlscale.algos.plan.sweep`: a sweep's plan (:func:`plan_sweep`,
  :func:`sweep_concurrency`);
- :mod:`~rlscale.algos.plan.batch`: the on-policy batch scaled with the plan
  (:func:`scale_batch`);
- :mod:`~rlscale.algos.plan.reasons`: why, as a code and its facts, rendered to text in one
  place (:func:`describe_reason`).
"""

from rlscale.algos.plan.batch import MIN_STEPS_PER_ENV, scale_batch
from rlscale.algos.plan.nodes import Node, Placement, one_node
from rlscale.algos.plan.reasons import PlanReason, Reason, describe_reason
from rlscale.algos.plan.run import EXPENSIVE_STEP_US, ResourcePlan, plan_resources
from rlscale.algos.plan.sweep import (
    SweepConcurrency,
    SweepPlan,
    place_bundles,
    plan_sweep,
    sweep_concurrency,
    trial_bundles_reason,
)

__all__ = [
    "EXPENSIVE_STEP_US",
    "MIN_STEPS_PER_ENV",
    "Node",
    "Placement",
    "PlanReason",
    "Reason",
    "ResourcePlan",
    "SweepConcurrency",
    "SweepPlan",
    "describe_reason",
    "one_node",
    "place_bundles",
    "plan_resources",
    "plan_sweep",
    "scale_batch",
    "sweep_concurrency",
    "trial_bundles_reason",
]
