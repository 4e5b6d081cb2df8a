"""The sweep's plan: cores per trial and trials at once, on one node or several."""

from __future__ import annotations

import pytest

from rlscale.algos.plan import Node, PlanReason, Reason, one_node, plan_sweep, sweep_concurrency
from rlscale.errors import ResourceError


def _nodes(*cpus: int) -> tuple[Node, ...]:
    return tuple(Node(name=f"n{i}", cpus=c) for i, c in enumerate(cpus))


# (plan_sweep kwargs, trial bundles, trials, max_concurrent) -> (total, per trial, at once)
SWEEPS = [
    # One laptop core per trial by default: as many trials at once as cores.
    (dict(nodes=one_node(2), may_oversubscribe=True), [{"CPU": 1.0}], 8, None, (2, 1, 2)),
    (dict(nodes=one_node(36), may_oversubscribe=True), [{"CPU": 1.0}], 8, None, (36, 1, 8)),
    (dict(nodes=one_node(2), may_oversubscribe=True, num_cpus=4), [{"CPU": 1.0}], 8, None,
     (4, 1, 4)),
    # 4-core trials (1 main + 3 runners) on 36 cores: 9 fit.
    (dict(nodes=one_node(36), may_oversubscribe=True, trial_cpus=4),
     [{"CPU": 1.0}] + [{"CPU": 1.0}] * 3, 20, None, (36, 4, 9)),
    (dict(nodes=one_node(36), may_oversubscribe=True, trial_cpus=4),
     [{"CPU": 1.0}] * 4, 20, 3, (36, 4, 3)),
    # 2 x 1 cluster, 1-core trials: one per node.
    (dict(nodes=_nodes(1, 1), may_oversubscribe=False), [{"CPU": 1.0}], 4, None, (2, 1, 2)),
    # 2-core trials whose main process takes both cores (2-core rule) on 3 x 3 nodes:
    # 9 cores / 2 = 4, but a 2-CPU bundle fits once per 3-CPU node: 3 at once.
    (dict(nodes=_nodes(3, 3, 3), may_oversubscribe=False, trial_cpus=2), [{"CPU": 2.0}], 6,
     None, (9, 2, 3)),
    # Slurm 36(x2),18 with 4-core trials: 90 / 4 = 22; packing gives 9 + 9 + 4 = 22.
    (dict(nodes=_nodes(36, 36, 18), may_oversubscribe=False, trial_cpus=4),
     [{"CPU": 1.0}] * 4, 40, None, (90, 4, 22)),
    # GPU trials: the GPUs bound how many run at once.
    (dict(nodes=(Node("g", 8, gpus=2.0),), may_oversubscribe=False, trial_cpus=2),
     [{"CPU": 1.0, "GPU": 1.0}, {"CPU": 1.0}], 8, None, (8, 2, 2)),
]


@pytest.mark.parametrize(("kwargs", "bundles", "trials", "max_concurrent", "expected"), SWEEPS)
def test_sweep_table(kwargs: dict, bundles: list, trials: int, max_concurrent: int | None,
                     expected: tuple) -> None:
    cores = plan_sweep(**kwargs)
    at_once = sweep_concurrency(
        nodes=kwargs["nodes"], may_oversubscribe=kwargs["may_oversubscribe"],
        total_cpus=cores.total_cpus, total_gpus=sum(n.gpus for n in kwargs["nodes"]),
        trial_bundles=bundles, num_trials=trials, max_concurrent=max_concurrent,
    )
    assert (cores.total_cpus, cores.trial_cpus, at_once.concurrent) == expected
    assert at_once.concurrent <= at_once.fit


def test_sweep_packing_is_said() -> None:
    at_once = sweep_concurrency(nodes=_nodes(3, 3, 3), may_oversubscribe=False, total_cpus=9,
                                total_gpus=0, trial_bundles=[{"CPU": 2.0}], num_trials=6)
    assert at_once.reasons == (
        Reason(PlanReason.SWEEP_FIT, {"cores": 9, "trial_cpus": 2.0, "fit": 4}),
        Reason(PlanReason.SWEEP_PACKED, {"packed": 3, "free": _nodes(3, 3, 3)}),
    )


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(nodes=one_node(2), may_oversubscribe=False, num_cpus=4),
     "--num-cpus 4 is more than the 2 CPUs available"),
    (dict(nodes=one_node(2), may_oversubscribe=True, num_cpus=0),
     "--num-cpus must be at least 1, got 0"),
    (dict(nodes=one_node(4), may_oversubscribe=True, num_cpus=2, trial_cpus=3),
     "one trial needs 3 cores (resources.num_cpus, --cpus-per-trial) but the sweep may use 2 "
     "(--num-cpus)"),
])
def test_impossible_sweeps(kwargs: dict, message: str) -> None:
    with pytest.raises(ResourceError) as err:
        plan_sweep(**kwargs)
    assert str(err.value) == message


def test_a_trial_no_node_can_hold() -> None:
    with pytest.raises(ResourceError, match="no node can hold one trial's processes"):
        sweep_concurrency(nodes=_nodes(1, 1), may_oversubscribe=False, total_cpus=2,
                          total_gpus=0, trial_bundles=[{"CPU": 2.0}], num_trials=2)
