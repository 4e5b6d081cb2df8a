"""A sweep's plan: the cores of the sweep and of each trial, and how many trials run at once."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rlscale.algos.plan.nodes import Node
from rlscale.algos.plan.reasons import PlanReason, Reason, free_text, reason
from rlscale.errors import ResourceError


@dataclass(frozen=True)
class SweepPlan:
    """How a sweep shares the cores: cores per trial and trials at once."""

    total_cpus: int
    trial_cpus: int  # cores each trial's own plan is made for
    reasons: tuple[Reason, ...] = field(default=())


@dataclass(frozen=True)
class SweepConcurrency:
    """How many trials fit at once, from what one trial asks Ray for."""

    fit: int
    concurrent: int
    reasons: tuple[Reason, ...] = field(default=())


def plan_sweep(
    *,
    nodes: Sequence[Node],
    may_oversubscribe: bool,
    num_cpus: int | None = None,
    trial_cpus: int | None = None,
) -> SweepPlan:
    """The sweep's cores and each trial's. Pure function.

    ``num_cpus`` is what the whole sweep may use (default: every free CPU of ``nodes``);
    ``trial_cpus`` each trial's cores (default 1: each trial samples and learns in one
    process, and as many run at once as there are cores). A trial is placed on one node,
    so it is never larger than the largest node.
    """
    reasons: list[Reason] = []
    available = sum(n.cpus for n in nodes)
    total = num_cpus if num_cpus is not None else available
    if total < 1:
        raise ResourceError(f"--num-cpus must be at least 1, got {total}")
    if num_cpus is None:
        reasons.append(reason(PlanReason.SWEEP_ALL_CORES, cores=total, nodes=len(nodes)))
    elif total > available:
        if not may_oversubscribe:
            raise ResourceError(
                f"--num-cpus {total} is more than the {available} CPUs available"
            )
        reasons.append(reason(PlanReason.OVERSUBSCRIBED, cores=total, available=available))
    per_trial = trial_cpus
    if per_trial is None:
        per_trial = 1
        reasons.append(reason(PlanReason.SWEEP_ONE_CORE_PER_TRIAL))
    if per_trial > total:
        raise ResourceError(
            f"one trial needs {per_trial} cores (resources.num_cpus, --cpus-per-trial) but the "
            f"sweep may use {total} (--num-cpus)"
        )
    largest = max((n.cpus for n in nodes), default=0)
    if per_trial > largest and not may_oversubscribe and len(nodes) > 1:
        reasons.append(reason(PlanReason.SWEEP_TRIAL_SPANS_NODES, trial_cpus=per_trial,
                              largest=largest))
    return SweepPlan(total_cpus=total, trial_cpus=per_trial, reasons=tuple(reasons))


def sweep_concurrency(
    *,
    nodes: Sequence[Node],
    may_oversubscribe: bool,
    total_cpus: int,
    total_gpus: float,
    trial_bundles: Sequence[Mapping[str, float]],
    num_trials: int,
    max_concurrent: int | None = None,
) -> SweepConcurrency:
    """How many trials run at once: as many as the sweep's cores hold and, on a cluster,
    as many whole sets of a trial's bundles (RLlib's placement group) as the nodes hold,
    capped by ``max_concurrent`` and the number of trials. Pure function."""
    reasons: list[Reason] = []
    trial_cpus = sum(b.get("CPU", 0.0) for b in trial_bundles)
    trial_gpus = sum(b.get("GPU", 0.0) for b in trial_bundles)
    if trial_cpus > total_cpus:
        raise ResourceError(
            f"one trial needs {trial_cpus:g} cores (RLlib's placement group) but the sweep "
            f"may use {total_cpus} (--num-cpus); lower resources.num_cpus"
        )
    fit = math.floor(total_cpus / trial_cpus) if trial_cpus else total_cpus
    if trial_gpus:
        fit = min(fit, math.floor(total_gpus / trial_gpus + 1e-9))
    reasons.append(reason(PlanReason.SWEEP_FIT, cores=total_cpus, trial_cpus=trial_cpus,
                          fit=fit))
    if not may_oversubscribe and len(nodes) > 1:
        packed = _trials_that_pack(nodes, trial_bundles, fit)
        if packed < fit:
            reasons.append(reason(PlanReason.SWEEP_PACKED, packed=packed, free=tuple(nodes)))
            fit = packed
    if fit < 1:
        raise ResourceError(
            f"no node can hold one trial's processes ({free_text(nodes)}); "
            "lower resources.num_cpus or --num-gpus"
        )
    concurrent = fit
    if max_concurrent is not None:
        if max_concurrent > fit:
            reasons.append(reason(PlanReason.SWEEP_CONCURRENCY_CAPPED,
                                  max_concurrent=max_concurrent, fit=fit))
        else:
            concurrent = max_concurrent
            reasons.append(reason(PlanReason.SWEEP_CONCURRENCY_SET, concurrent=concurrent))
    concurrent = max(1, min(concurrent, num_trials))
    return SweepConcurrency(fit=fit, concurrent=concurrent, reasons=tuple(reasons))


def trial_bundles_reason(required: Mapping[str, float]) -> Reason:
    """What each trial asks Ray for (RLlib's placement group for the per-trial plan)."""
    return reason(PlanReason.SWEEP_TRIAL_BUNDLES, resources=dict(required))


def place_bundles(free: list[dict[str, float]],
                  bundles: Sequence[Mapping[str, float]]) -> Mapping[str, float] | None:
    """Place ``bundles``, largest first, each on the first node of ``free`` with room (as
    Ray's PACK strategy would), taking what they use from ``free``. Returns the first bundle
    that fits on no node, or None when all were placed."""
    ordered = sorted(bundles, key=lambda b: (b.get("GPU", 0.0), b.get("CPU", 0.0)),
                     reverse=True)
    for bundle in ordered:
        for node in free:
            if all(node.get(k, 0.0) + 1e-9 >= v for k, v in bundle.items()):
                for k, v in bundle.items():
                    node[k] = node.get(k, 0.0) - v
                break
        else:
            return bundle
    return None


def _trials_that_pack(nodes: Sequence[Node], bundles: Sequence[Mapping[str, float]],
                      limit: int) -> int:
    free = [{"CPU": float(n.cpus), "GPU": float(n.gpus)} for n in nodes]
    for count in range(limit):
        if place_bundles(free, bundles) is not None:
            return count
    return limit
