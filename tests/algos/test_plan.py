"""The resource plan: a table of inputs and the plan they must give."""

from __future__ import annotations

from typing import Any

import pytest

from rlscale.algos.plan import (
    EXPENSIVE_STEP_US,
    MIN_STEPS_PER_ENV,
    Node,
    PlanReason,
    Reason,
    one_node,
    plan_resources,
    scale_batch,
)
from rlscale.errors import ResourceError


def _codes(reasons: tuple[Reason, ...]) -> list[PlanReason]:
    return [r.code for r in reasons]


def _facts(reasons: tuple[Reason, ...], code: PlanReason) -> dict:
    found = [dict(r.facts) for r in reasons if r.code is code]
    assert len(found) == 1, f"{code} in {_codes(reasons)}"
    return found[0]


# (kwargs, expected: runners, envs/runner, learners, gpus/learner, total cpus)
def _local(available_cpus: int, available_gpus: float = 0, **kwargs):  # type: ignore[no-untyped-def]
    return dict(nodes=one_node(available_cpus, available_gpus), **kwargs)


PLANS = [
    # Every core by default: 1 main process (driver + learner) + the rest as env runners.
    (_local(36, 0), (35, 8, 0, 0.0, 36)),
    # 2 cores, synchronous algorithm (PPO, DQN, SAC): the main process samples between its
    # updates; one remote runner would only take turns with it.
    (_local(2, 0), (0, 8, 0, 0.0, 2)),
    # 2 cores, asynchronous algorithm (APPO, IMPALA): the runner samples while it learns.
    (_local(2, 0, synchronous=False), (1, 8, 0, 0.0, 2)),
    (_local(3, 0), (2, 8, 0, 0.0, 3)),
    # One core: the main process samples and learns.
    (_local(8, 0, num_cpus=1), (0, 8, 0, 0.0, 1)),
    (_local(8, 0, num_cpus=4), (3, 8, 0, 0.0, 4)),
    # Off-policy algorithms sample one env per runner.
    (_local(4, 0, on_policy=False), (3, 1, 0, 0.0, 4)),
    # A GPU (or part of one) goes to the learner in the main process.
    (_local(36, 1, num_gpus=1), (35, 8, 0, 1.0, 36)),
    (_local(4, 1, num_gpus=0.5), (3, 8, 0, 0.5, 4)),
    # Several GPUs: one learner process per GPU, each with a CPU of the run's.
    (_local(16, 4, num_gpus=2), (13, 8, 2, 1.0, 16)),
    # Explicit overrides win.
    (_local(8, 0, num_env_runners=2, num_envs_per_env_runner=3),
     (2, 3, 0, 0.0, 8)),
    # Envs in all (presets give one): spread over the sampling processes.
    (_local(2, 0, num_envs=32), (0, 32, 0, 0.0, 2)),
    (_local(4, 0, num_envs=32), (3, 11, 0, 0.0, 4)),
    (_local(36, 0, num_envs=32), (35, 1, 0, 0.0, 36)),
    (_local(4, 0, num_envs=32, num_envs_per_env_runner=5),
     (3, 5, 0, 0.0, 4)),
    # The embedded local Ray may be given more logical CPUs than the machine has.
    (_local(2, 0, num_cpus=4, may_oversubscribe=True),
     (3, 8, 0, 0.0, 4)),
]


@pytest.mark.parametrize(("kwargs", "expected"), PLANS)
def test_plan_table(kwargs: dict, expected: tuple) -> None:
    plan = plan_resources(**kwargs)
    got = (plan.num_env_runners, plan.num_envs_per_env_runner, plan.num_learners,
           plan.num_gpus_per_learner, plan.total_cpus)
    assert got == expected
    if plan.num_env_runners == 0 and plan.total_cpus == 2:
        assert plan.num_cpus_for_main_process == 2
    # The plan never asks for more cores than the run may use.
    assert plan.num_env_runners * plan.num_cpus_per_env_runner + \
        plan.num_cpus_for_main_process <= plan.total_cpus


IMPOSSIBLE = [
    (_local(2, 0, num_cpus=4),
     "--num-cpus 4 is more than the 2 CPUs available"),
    (_local(2, 0, num_cpus=0), "--num-cpus must be at least 1, got 0"),
    (_local(2, 0, num_gpus=1),
     "--num-gpus 1 asked for, but only 0 GPU(s) available"),
    (_local(8, 4, num_gpus=1.5),
     "--num-gpus 1.5: fractions are allowed up to 1; above 1 use whole GPUs"),
    (_local(4, 0, num_cpus=2, num_env_runners=3),
     "3 env runners + 1 main process need 4 cores, but the run may use 2"),
]


@pytest.mark.parametrize(("kwargs", "message"), IMPOSSIBLE)
def test_impossible_plans_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ResourceError) as err:
        plan_resources(**kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(("kwargs", "expected"), PLANS)
def test_every_process_runs_torch_with_one_thread(kwargs: dict, expected: tuple) -> None:
    plan = plan_resources(**kwargs)
    assert plan.torch_threads == 1
    assert _facts(plan.reasons, PlanReason.TORCH_THREADS) == {"threads": 1}


# -- Topologies: where each process goes ----------------------------------------------------

def _cluster(*sizes: int | tuple[int, float]) -> tuple[Node, ...]:
    nodes = []
    for i, size in enumerate(sizes):
        cpus, gpus = size if isinstance(size, tuple) else (size, 0.0)
        nodes.append(Node(name=f"n{i}", cpus=cpus, gpus=gpus))
    return tuple(nodes)


def _slurm_36x2_18() -> tuple[Node, ...]:
    """A Slurm job's nodes (SLURM_JOB_CPUS_PER_NODE=36(x2),18 on c1,c2,c3)."""
    return (Node(name="c1", cpus=36, gpus=0.0), Node(name="c2", cpus=36, gpus=0.0),
            Node(name="c3", cpus=18, gpus=0.0))


LOCAL = dict(may_oversubscribe=True)
# (name, kwargs, expected env runners, main process CPUs, per node: (name, main?, runners))
TOPOLOGIES = [
    ("laptop 1 core", dict(nodes=one_node(1), **LOCAL), 0, 1, [("local", True, 0)]),
    ("laptop 2 cores", dict(nodes=one_node(2), **LOCAL), 0, 2, [("local", True, 0)]),
    ("laptop 4 cores", dict(nodes=one_node(4), **LOCAL), 3, 1, [("local", True, 3)]),
    ("workstation 36", dict(nodes=one_node(36), **LOCAL), 35, 1, [("local", True, 35)]),
    # The 2-node cluster of 1 CPU each: no 2-CPU main process. A synchronous
    # algorithm's main process (0 CPU, pinned to the head) shares the head's core with an
    # env runner, so both nodes sample.
    ("2 x 1", dict(nodes=_cluster(1, 1)), 2, 0, [("n0", True, 1), ("n1", False, 1)]),
    # An asynchronous one learns while its runners sample: the main process keeps its core.
    ("2 x 1 APPO", dict(nodes=_cluster(1, 1), synchronous=False), 1, 1,
     [("n0", True, 0), ("n1", False, 1)]),
    ("3 x 1", dict(nodes=_cluster(1, 1, 1)), 3, 0,
     [("n0", True, 1), ("n1", False, 1), ("n2", False, 1)]),
    ("4 x 36", dict(nodes=_cluster(36, 36, 36, 36)), 144, 0,
     [("n0", True, 36), ("n1", False, 36), ("n2", False, 36), ("n3", False, 36)]),
    ("4 x 36 APPO", dict(nodes=_cluster(36, 36, 36, 36), synchronous=False), 143, 1,
     [("n0", True, 35), ("n1", False, 36), ("n2", False, 36), ("n3", False, 36)]),
    # Cores asked for that sit on one node of a big cluster: the one-node rules hold.
    ("4 x 36, --num-cpus 2", dict(nodes=_cluster(36, 36, 36, 36), num_cpus=2), 0, 2,
     [("n0", True, 0)]),
    ("4 x 36, --num-cpus 8", dict(nodes=_cluster(36, 36, 36, 36), num_cpus=8), 7, 1,
     [("n0", True, 7)]),
    ("4 x 36, --num-cpus 40", dict(nodes=_cluster(36, 36, 36, 36), num_cpus=40), 40, 0,
     [("n0", True, 36), ("n1", False, 4)]),
    ("1 x 4 + 1 x 36", dict(nodes=_cluster(4, 36)), 40, 0,
     [("n0", True, 4), ("n1", False, 36)]),
    # CPU nodes and a GPU node: the learner in the main process goes to the GPU.
    ("2 CPU nodes + GPU node", dict(nodes=_cluster(8, 8, (8, 1.0)), num_gpus=1), 24, 0,
     [("n2", True, 8), ("n0", False, 8), ("n1", False, 8)]),
    ("Slurm 36(x2),18", dict(nodes=_slurm_36x2_18()), 90, 0,
     [("c1", True, 36), ("c2", False, 36), ("c3", False, 18)]),
    # Others' work holds 1 of n0's 2 CPUs and all of n2's: only free CPUs are planned.
    ("free < total", dict(nodes=(Node("n0", 1, total_cpus=2), Node("n1", 2, total_cpus=2),
                                 Node("n2", 0, total_cpus=4))), 3, 0,
     [("n0", True, 1), ("n1", False, 2)]),
    # Runners set on 2 x 1: one leaves the main process its core; two share it.
    ("2 x 1, 1 runner set", dict(nodes=_cluster(1, 1), num_env_runners=1), 1, 1,
     [("n0", True, 0), ("n1", False, 1)]),
    ("2 x 1, 2 runners set", dict(nodes=_cluster(1, 1), num_env_runners=2), 2, 0,
     [("n0", True, 1), ("n1", False, 1)]),
    # Env cost: an expensive env samples on every core (learner in the driver); a cheap one
    # in the main process; an explicit runner count or 1 core keeps the rule.
    ("2 cores, expensive env", dict(nodes=one_node(2), env_step_time_us=2000, **LOCAL), 2, 1,
     [("local", True, 2)]),
    ("2 cores, cheap env", dict(nodes=one_node(2), env_step_time_us=20, **LOCAL), 0, 2,
     [("local", True, 0)]),
    ("4 cores, expensive env", dict(nodes=one_node(4), env_step_time_us=2000, **LOCAL), 4, 1,
     [("local", True, 4)]),
    ("2 cores, expensive, 0 runners set",
     dict(nodes=one_node(2), env_step_time_us=2000, num_env_runners=0, **LOCAL), 0, 2,
     [("local", True, 0)]),
    ("1 core, expensive", dict(nodes=one_node(8), num_cpus=1, env_step_time_us=2000, **LOCAL),
     0, 1, [("local", True, 0)]),
    ("2 x 1, expensive", dict(nodes=_cluster(1, 1), env_step_time_us=2000), 2, 0,
     [("n0", True, 1), ("n1", False, 1)]),
]


@pytest.mark.parametrize(("name", "kwargs", "runners", "main_cpus", "where"), TOPOLOGIES,
                         ids=[t[0] for t in TOPOLOGIES])
def test_topology_table(name: str, kwargs: dict, runners: int, main_cpus: int,
                        where: list) -> None:
    from rlscale.runners.cluster import check_plan_fits, plan_bundles

    plan = plan_resources(**kwargs)
    assert (plan.num_env_runners, plan.num_cpus_for_main_process) == (runners, main_cpus)
    assert [(p.node, p.main_process, p.env_runners) for p in plan.placement] == where
    assert sum(p.env_runners for p in plan.placement) == plan.num_env_runners
    nodes = {n.name: n for n in kwargs["nodes"]}
    if not kwargs.get("may_oversubscribe"):
        # No process is larger than its node, no node holds more than it has free, and
        # the bundles Ray gets (checked by the same packing Ray does) can be placed.
        for p in plan.placement:
            assert p.cpus <= nodes[p.node].cpus and p.gpus <= nodes[p.node].gpus
        check_plan_fits(plan, [{"ip": n.name, "resources": {"CPU": float(n.cpus),
                                                           "GPU": float(n.gpus)}}
                               for n in nodes.values()])
        assert plan.cpus_to_reserve == plan.total_cpus
        # Every core of the run is a process's bundle: none is held idle, none asked twice.
        assert sum(b.get("CPU", 0.0) for b in plan_bundles(plan)) == plan.total_cpus
    if len(plan.placement) > 1:
        # Ray puts the main process where the plan did: a sliver of that node's resource
        # (a main process of 0 CPU is placed by it alone).
        main = next(p for p in plan.placement if p.main_process)
        assert plan.main_node_resource == {f"node:{main.node}": 0.001}
        assert main.main_shares_core == (plan.num_cpus_for_main_process == 0)
    if len(nodes) > 1 and plan.num_env_runners and len(plan.placement) > 1 and \
            "num_env_runners" not in kwargs:
        # Why the runners span the nodes, and that they do.
        split = [r for r in plan.reasons if r.code in (PlanReason.CORES_SPLIT,
                                                      PlanReason.MAIN_SHARES_CLUSTER_CORE)]
        assert len(split) == 1 and split[0].facts["nodes"] >= len(plan.placement)
        assert split[0].facts["runners"] == plan.num_env_runners
    if plan.num_cpus_for_main_process == 0:
        main = next(p.node for p in plan.placement if p.main_process)
        shares = [r for r in plan.reasons if r.code in (PlanReason.MAIN_SHARES_CLUSTER_CORE,
                                                       PlanReason.MAIN_SHARES_NODE_CORE)]
        assert [r.facts["main_node"] for r in shares] == [main]


def test_expensive_env_says_why_with_the_step_time() -> None:
    plan = plan_resources(nodes=one_node(2), env_step_time_us=2000, may_oversubscribe=True)
    assert _facts(plan.reasons, PlanReason.EXPENSIVE_ENV_EVERY_CORE) == {
        "runners": 2, "step_us": 2000, "threshold_us": EXPENSIVE_STEP_US}
    # The embedded Ray offers a logical CPU per process: 2 runners + the main process.
    assert plan.cpus_to_reserve == 3 and plan.total_cpus == 2
    cheap = plan_resources(nodes=one_node(2), env_step_time_us=20, may_oversubscribe=True)
    assert _facts(cheap.reasons, PlanReason.MAIN_SAMPLES_ON_TWO_CORES) == {
        "cores": 2, "step_us": 20, "threshold_us": EXPENSIVE_STEP_US, "expensive": False}
    assert PlanReason.EXPENSIVE_ENV_EVERY_CORE not in _codes(cheap.reasons)
    assert cheap.cpus_to_reserve == 2
    edge = plan_resources(nodes=one_node(2), env_step_time_us=EXPENSIVE_STEP_US,
                          may_oversubscribe=True)
    assert edge.num_env_runners == 2
    # An existing cluster's node of 2 CPUs has no third CPU for it: the main process samples,
    # and the plan does not call the env cheap.
    strict = plan_resources(nodes=one_node(2), env_step_time_us=2000)
    assert strict.num_env_runners == 0
    assert _facts(strict.reasons, PlanReason.MAIN_SAMPLES_ON_TWO_CORES)["expensive"] is True


def test_free_cpus_fewer_than_total_are_said_and_checked() -> None:
    nodes = (Node("n0", 1, total_cpus=2), Node("n1", 2, total_cpus=2))
    plan = plan_resources(nodes=nodes)
    assert _facts(plan.reasons, PlanReason.ALL_CORES) == {"cores": 3, "nodes": 2, "busy": 1}
    with pytest.raises(ResourceError) as err:
        plan_resources(nodes=nodes, num_cpus=4)
    assert str(err.value) == ("--num-cpus 4 is more than the 3 CPUs available "
                              "(1 more are in use by others)")


TOPOLOGY_ERRORS = [
    # The GPU node has no CPU free for the main process.
    (dict(nodes=(Node("a", 4), Node("g", 0, gpus=1.0)), num_gpus=1),
     "the learner in the main process needs 1 CPU and 1 GPU on one node, and no node has both "
     "free (a (4 CPU), g (0 CPU, 1 GPU))"),
    # Two GPUs on a node with one CPU: the second GPU learner finds no CPU beside its GPU.
    (dict(nodes=(Node("a", 2), Node("g", 1, gpus=2.0)), num_gpus=2),
     "a GPU learner needs 1 CPU and 1 GPU on one node; no node has them left "
     "(a (2 CPU), g (1 CPU, 2 GPU))"),
]


@pytest.mark.parametrize(("kwargs", "message"), TOPOLOGY_ERRORS)
def test_topologies_that_cannot_hold_the_run(kwargs: dict, message: str) -> None:
    with pytest.raises(ResourceError) as err:
        plan_resources(**kwargs)
    assert str(err.value) == message


# (plan kwargs, batch, explicit) -> batch used
BATCHES = [
    # 2 cores: the preset's 32 envs in the main process keep their 32 steps each.
    (dict(nodes=one_node(2), num_envs=32, may_oversubscribe=True), 1024, False, 1024),
    # 36 cores: 35 runners x 1 env: 29 steps each, grown to 32 per env.
    (dict(nodes=one_node(36), num_envs=32, may_oversubscribe=True), 1024, False, 1120),
    # 4 x 36 cores: 144 runners (the main process shares a core: PPO is synchronous).
    (dict(nodes=_cluster(36, 36, 36, 36), num_envs=32), 1024, False, 4608),
    # The user's batch wins.
    (dict(nodes=one_node(36), num_envs=32, may_oversubscribe=True), 1024, True, 1024),
    (dict(nodes=one_node(36), may_oversubscribe=True), 4000, False, 8960),
]


@pytest.mark.parametrize(("kwargs", "batch", "explicit", "expected"), BATCHES)
def test_batch_scales_with_the_sampling_processes(kwargs: dict, batch: int, explicit: bool,
                                                  expected: int) -> None:
    plan = plan_resources(**kwargs)
    got, why = scale_batch(plan, batch, explicit)
    assert got == expected
    assert (why is None) == (got == batch)
    if why is not None:
        envs = plan.num_envs_per_env_runner * plan.sampling_processes
        assert why.code is PlanReason.BATCH_GROWN
        assert (why.facts["batch"], why.facts["grown"], why.facts["envs"],
                why.facts["steps_per_env"]) == (batch, got, envs, batch // envs)
    if not explicit:
        assert got // (plan.num_envs_per_env_runner * plan.sampling_processes) >= \
            MIN_STEPS_PER_ENV


# (algorithm, nodes, --num-gpus): RLlib's own placement group for the plan's config is the
# bundle list the plan was checked with, so what Ray is asked for is what was placed.
RLLIB_BUNDLES = [
    ("PPO", _cluster(1, 1), 0.0),  # main process on the head's core: its node's sliver only
    ("APPO", _cluster(1, 1), 0.0),  # asynchronous: the main process keeps 1 CPU
    ("PPO", _cluster(4, 36), 0.0),
    ("PPO", _cluster(8, (8, 1.0)), 1.0),  # learner on the GPU node's GPU, 0 CPU of its own
    ("PPO", one_node(2), 0.0),  # 2 cores on one node: the main process samples with both
    ("DQN", one_node(4), 0.0),
]


@pytest.mark.parametrize(("algo", "nodes", "gpus"), RLLIB_BUNDLES,
                         ids=[f"{a} {'+'.join(str(n.cpus) for n in ns)}" for a, ns, _ in
                              RLLIB_BUNDLES])
def test_rllib_asks_ray_for_the_planned_bundles(algo: str, nodes: tuple, gpus: float) -> None:
    from rlscale.algos import build_algo_config, get_algo
    from rlscale.config import resolve_experiment
    from rlscale.envs import resolve_env
    from rlscale.runners.cluster import check_plan_fits, plan_bundles

    exp, _ = resolve_experiment(None, flags={"env": "CartPole-v1", "algo": algo,
                                             "preset": "none"})
    info = get_algo(exp.algo)
    plan = plan_resources(nodes=nodes, num_gpus=gpus, on_policy=info.on_policy,
                          synchronous=info.synchronous)
    config = build_algo_config(exp, info, resolve_env(exp.env), plan)
    asked = config.algo_class.default_resource_request(config)
    assert asked.bundles == plan_bundles(plan)
    assert asked.head_bundle_is_empty is False  # Tune's trial actor runs in bundle 0
    check_plan_fits(plan, [{"ip": n.name, "resources": {"CPU": float(n.cpus),
                                                       "GPU": float(n.gpus)}} for n in nodes])


def test_the_plan_sees_the_cores_the_tests_make_visible() -> None:
    """`make test` reruns the plan tests with RLSCALE_TEST_CPUS cores visible: that count
    must be the one rlscale's local capacity (the plan's input) reads."""
    import os

    from rlscale.runners.session import local_capacity

    expected = os.environ.get("RLSCALE_TEST_CPUS")
    cpus = local_capacity().cpus
    assert cpus == (int(expected) if expected else len(os.sched_getaffinity(0)))


def test_env_runners_set_by_hand_may_share_a_core_with_the_main_process_as_the_auto_plan_does(
) -> None:
    """On 2 cores the plan for an expensive env uses 2 env runners beside the main process;
    the same set by hand (what a user without the env check, --no-check-env, has) is
    planned alike, for a synchronous algorithm; an asynchronous one is still refused."""
    auto = plan_resources(**_local(2, 0, num_cpus=2), **LOCAL, env_step_time_us=2000.0)
    by_hand = plan_resources(**_local(2, 0, num_cpus=2, num_env_runners=2), **LOCAL)
    assert auto.num_env_runners == by_hand.num_env_runners == 2
    assert by_hand.num_cpus_for_main_process == auto.num_cpus_for_main_process
    assert by_hand.cpus_to_reserve == auto.cpus_to_reserve == 3
    with pytest.raises(ResourceError):
        plan_resources(**_local(2, 0, num_cpus=2, num_env_runners=2), **LOCAL,
                       synchronous=False)


def test_an_external_envs_count_is_its_simulators(tmp_path: Any, monkeypatch: Any) -> None:
    """An external env's envs per runner are its simulator connections: the plan says so
    (env_config.simulators), not resources.num_envs_per_env_runner, which was never set; its
    runners are none unless set, by the external env's rule."""
    import rlscale

    pure = plan_resources(nodes=one_node(2), num_env_runners=2, num_envs_per_env_runner=3,
                          external=True, may_oversubscribe=True)
    assert _facts(pure.reasons, PlanReason.ENVS_PER_SIMULATOR) == {"envs": 3}
    assert PlanReason.ENVS_PER_RUNNER_SET not in _codes(pure.reasons)
    assert _facts(pure.reasons, PlanReason.RUNNERS_SET) == {"runners": 2}
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RLSCALE_EXTERNAL_TOKEN", raising=False)
    job = rlscale.plan({"env": "external", "env_config": {
        "simulators": 4, "observation_space": {"type": "Box", "shape": [4]},
        "action_space": {"type": "Discrete", "n": 2}}}, overrides={"resources.num_cpus": 2})
    assert (job.plan.num_env_runners, job.plan.num_envs_per_env_runner) == (0, 4)
    assert _facts(job.plan.reasons, PlanReason.ENVS_PER_SIMULATOR) == {"envs": 4}
    # The runners were not set: the simulators connect to the main process, by the rule for
    # an external env (not "as set in resources.num_env_runners").
    assert PlanReason.EXTERNAL_IN_MAIN in _codes(job.plan.reasons)
    assert PlanReason.RUNNERS_SET not in _codes(job.plan.reasons)


def _expensive(cores: int, step_us: float = 2000.0, **kwargs: Any) -> dict[str, Any]:
    return dict(nodes=one_node(cores), may_oversubscribe=True, env_step_time_us=step_us,
                **kwargs)


# (plan kwargs, batch, explicit, minibatch, tuned) -> batch used
EXPENSIVE_BATCHES = [
    # 2 cores, an expensive env: 2 runners x 4 envs; 2,048 steps cut to 128 per env.
    (_expensive(2, num_envs=8), 2048, False, 256, False, 1024),
    # Never below half the batch (1 env would leave it 128 steps) ...
    (_expensive(1, num_envs=1), 2048, False, 256, False, 1024),
    # ... nor below the learner's minibatch.
    (_expensive(2, num_envs=8), 4000, False, 2048, False, 2048),
    # Enough envs: 35 runners x 1 env x 128 = 4,480 is more than 4,000: kept.
    (_expensive(36, num_envs=8), 4000, False, 128, False, 4000),
    # A cheap env, or the user's batch: kept.
    (_expensive(2, 50.0, num_envs=8), 2048, False, 256, False, 2048),
    (_expensive(2, num_envs=8), 2048, True, 256, False, 2048),
    # A preset's batch tuned for the env (e.g. PPO/Hopper-v5's 2,048): kept.
    (_expensive(2, num_envs=8), 2048, False, 64, True, 2048),
]


@pytest.mark.parametrize(("kwargs", "batch", "explicit", "minibatch", "tuned", "expected"),
                         EXPENSIVE_BATCHES)
def test_an_expensive_envs_batch_is_cut(kwargs: dict, batch: int, explicit: bool,
                                        minibatch: int, tuned: bool, expected: int) -> None:
    """An env whose steps cost at least EXPENSIVE_STEP_US updates every 128 steps per env
    (the learner's time per step is the same: fixed epochs and minibatch size)."""
    plan = plan_resources(**kwargs)
    got, why = scale_batch(plan, batch, explicit, minibatch=minibatch, tuned=tuned)
    assert got == expected
    assert (why is None) == (got == batch)
    if why is not None:
        envs = plan.num_envs_per_env_runner * plan.sampling_processes
        assert why.code is PlanReason.BATCH_CUT_EXPENSIVE
        assert (why.facts["batch"], why.facts["cut"], why.facts["envs"]) == (batch, got, envs)
        assert why.facts["step_us"] == kwargs["env_step_time_us"]
        assert got >= max(batch // 2, minibatch)


def test_every_code_has_one_text_and_every_planned_reason_renders() -> None:
    """The reasons are rendered in one place, from their facts alone: every code has a text,
    and every reason the tables above plan renders to one line."""
    from rlscale.algos.plan import describe_reason
    from rlscale.algos.plan.reasons import _TEXT

    assert set(_TEXT) == set(PlanReason)
    plans = [plan_resources(**kwargs) for kwargs, _ in PLANS]
    plans += [plan_resources(**kwargs) for _, kwargs, *_ in TOPOLOGIES]
    reasons = [r for plan in plans for r in plan.reasons]
    reasons += [scale_batch(plan, 64, False)[1] for plan in plans]
    expensive = plan_resources(nodes=one_node(2), num_envs=8, may_oversubscribe=True,
                               env_step_time_us=2000.0)
    reasons.append(scale_batch(expensive, 2048, False)[1])
    for why in reasons:
        if why is not None:
            text = describe_reason(why)
            assert text and "\n" not in text and "{" not in text, why
