"""Slurm allocations, plan placement on a cluster's nodes, Slurm time limits: pure functions."""

from __future__ import annotations

import pytest

from rlscale.algos import plan_resources
from rlscale.algos.plan import one_node
from rlscale.errors import ConfigError, ResourceError
from rlscale.runners.cluster import check_plan_fits, plan_bundles, slurm_allocation
from rlscale.runners.slurm import (
    SlurmRequest,
    allocation_capacity,
    allocation_nodes,
    time_limit_seconds,
)


@pytest.mark.parametrize(("env", "cpus", "gpus"), [
    ({"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "36"}, 36, 0.0),
    ({"SLURM_JOB_ID": "7", "SLURM_JOB_CPUS_PER_NODE": "12(x3),4"}, 12, 0.0),
    ({"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8", "SLURM_GPUS_ON_NODE": "2"}, 8, 2.0),
    ({"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8", "CUDA_VISIBLE_DEVICES": "0,3"}, 8, 2.0),
    ({"SLURM_JOB_ID": "7", "SLURM_CPUS_ON_NODE": "8", "CUDA_VISIBLE_DEVICES": ""}, 8, 0.0),
])
def test_slurm_allocation_is_what_slurm_gave(env, cpus, gpus) -> None:
    capacity = slurm_allocation(env)
    assert capacity is not None
    assert (capacity.cpus, capacity.gpus, capacity.may_oversubscribe) == (cpus, gpus, False)


def test_outside_slurm_there_is_no_allocation() -> None:
    assert slurm_allocation({"SLURM_CPUS_ON_NODE": "4"}) is None


def test_inside_an_allocation_a_plan_beyond_it_is_an_error() -> None:
    capacity = slurm_allocation({"SLURM_JOB_ID": "1", "SLURM_CPUS_ON_NODE": "4"})
    assert capacity is not None
    with pytest.raises(ResourceError, match="--num-cpus 8 is more than the 4 CPUs available"):
        plan_resources(nodes=capacity.node_list(), num_cpus=8,
                       may_oversubscribe=capacity.may_oversubscribe)


def test_gpu_learner_node_plan_places_the_learner_on_the_gpu_node() -> None:
    # --nodes 4 --gpu-learner-node --cpus-per-node 36: 3 CPU nodes and one GPU node.
    req = SlurmRequest(nodes=4, time="08:00:00", cpus_per_node=36, gpu_learner_node=True)
    nodes = allocation_nodes(req)
    assert nodes is not None and [n["resources"]["GPU"] for n in nodes] == [0, 0, 0, 1]
    plan = plan_resources(nodes=allocation_capacity(req, None).node_list(), num_gpus=1.0)
    assert (plan.num_env_runners, plan.num_learners, plan.num_gpus_per_learner) == (144, 0, 1.0)
    assert [(p.node, p.main_process, p.env_runners, p.gpus) for p in plan.placement] == [
        ("gpu", True, 36, 1.0), ("node0", False, 36, 0.0), ("node1", False, 36, 0.0),
        ("node2", False, 36, 0.0)]
    # The main process (driver + learner) asks for the GPU: only the GPU node can hold it.
    # It is pinned there with a sliver of that node's own Ray resource, and shares a core
    # with an env runner there (PPO is synchronous).
    assert plan_bundles(plan)[0] == {"GPU": 1.0, "node:gpu": 0.001}
    check_plan_fits(plan, nodes)
    with pytest.raises(ResourceError, match="needing 1 GPU finds no node"):
        check_plan_fits(plan, [n for n in nodes if not n["resources"]["GPU"]])


def test_env_runners_spread_over_nodes_only_as_far_as_they_fit() -> None:
    two = [{"ip": "a", "resources": {"CPU": 2.0}}, {"ip": "b", "resources": {"CPU": 2.0}}]
    check_plan_fits(plan_resources(nodes=one_node(4, 0)), two)
    with pytest.raises(ResourceError, match="a process needing 1 CPU finds no node"):
        check_plan_fits(plan_resources(nodes=one_node(4, 0),
                                       num_env_runners=4, num_cpus=5,
                                       may_oversubscribe=True), two)


@pytest.mark.parametrize(("text", "seconds"), [
    ("00:10:00", 600), ("1-02:00:00", 93600), ("90", 5400), ("05:30", 330), ("2-3", 183600),
])
def test_time_limits(text, seconds) -> None:
    assert time_limit_seconds(text) == seconds


def test_bad_time_limit() -> None:
    with pytest.raises(ConfigError):
        time_limit_seconds("soon")
