"""Batches that scale with the plan: an on-policy batch the user did not set grows with the
envs that sample it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlscale.algos.plan.reasons import PlanReason, Reason, reason

if TYPE_CHECKING:
    from rlscale.algos.plan.run import ResourcePlan

# Steps each env samples per iteration below which a batch not set by the user grows with
# the envs (the presets are tuned at 32: the CartPole preset's 1,024 steps over 32 envs).
MIN_STEPS_PER_ENV = 32


def scale_batch(plan: ResourcePlan, batch: int, explicit: bool) -> tuple[int, Reason | None]:
    """The on-policy train batch for ``plan``: ``batch`` unless spreading it over every
    sampling process's envs leaves fewer than :data:`MIN_STEPS_PER_ENV` steps per env, then
    grown to that many steps per env. A batch the user set (``explicit``) is kept. Returns
    the batch and the reason (:attr:`PlanReason.BATCH_GROWN`) when it changed. Pure
    function."""
    envs = plan.num_envs_per_env_runner * plan.sampling_processes
    if explicit or envs <= 0 or batch >= envs * MIN_STEPS_PER_ENV:
        return batch, None
    grown = envs * MIN_STEPS_PER_ENV
    return grown, reason(
        PlanReason.BATCH_GROWN, batch=batch, grown=grown, envs=envs,
        processes=plan.sampling_processes, envs_per_process=plan.num_envs_per_env_runner,
        steps_per_env=batch // envs, min_steps=MIN_STEPS_PER_ENV,
    )
