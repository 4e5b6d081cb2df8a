"""Batches that scale with the plan: an on-policy batch the user did not set grows with the
envs that sample it, and is cut for an expensive env, whose steps are the run's cost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlscale.algos.plan.reasons import PlanReason, Reason, reason

if TYPE_CHECKING:
    from rlscale.algos.plan.run import ResourcePlan

# Steps each env samples per iteration below which a batch not set by the user grows with
# the envs (the presets are tuned at 32: the CartPole preset's 1,024 steps over 32 envs).
MIN_STEPS_PER_ENV = 32
# Steps each env samples per iteration above which the batch of an expensive env (one whose
# step takes at least EXPENSIVE_STEP_US) is cut, down to half the batch at most. PPO's
# learner time per env step does not depend on the batch (num_epochs passes of minibatches
# of a fixed size), so a smaller batch updates the policy more often for the same env steps:
# where the env's steps are what the run pays for, fewer of them reach the target
# (docs/plan.md, "An expensive env's batch").
MAX_STEPS_PER_ENV_EXPENSIVE = 128


def scale_batch(plan: ResourcePlan, batch: int, explicit: bool,
                minibatch: int | None = None, tuned: bool = False) -> tuple[int, Reason | None]:
    """The on-policy train batch for ``plan``: ``batch`` unless spreading it over every
    sampling process's envs leaves fewer than :data:`MIN_STEPS_PER_ENV` steps per env, then
    grown to that many steps per env; for an expensive env (``plan.expensive_env``), cut to
    :data:`MAX_STEPS_PER_ENV_EXPENSIVE` steps per env, never below half of ``batch`` nor
    below ``minibatch`` (the learner's minibatch must fit in it), unless it is the batch of a
    preset tuned for the env (``tuned``). A batch the user set (``explicit``) is kept.
    Returns the batch and the reason (:attr:`PlanReason.BATCH_GROWN` or
    :attr:`PlanReason.BATCH_CUT_EXPENSIVE`) when it changed. Pure function."""
    envs = plan.num_envs_per_env_runner * plan.sampling_processes
    if explicit or envs <= 0:
        return batch, None
    if batch < envs * MIN_STEPS_PER_ENV:
        grown = envs * MIN_STEPS_PER_ENV
        return grown, reason(
            PlanReason.BATCH_GROWN, batch=batch, grown=grown, envs=envs,
            processes=plan.sampling_processes, envs_per_process=plan.num_envs_per_env_runner,
            steps_per_env=batch // envs, min_steps=MIN_STEPS_PER_ENV,
        )
    if plan.expensive_env and not tuned:
        cut = max(envs * MAX_STEPS_PER_ENV_EXPENSIVE, batch // 2, minibatch or 0)
        if cut < batch:
            return cut, reason(
                PlanReason.BATCH_CUT_EXPENSIVE, batch=batch, cut=cut, envs=envs,
                steps_per_env=cut // envs, max_steps=MAX_STEPS_PER_ENV_EXPENSIVE,
                step_us=plan.env_step_time_us,
            )
    return batch, None
