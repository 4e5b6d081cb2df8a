"""One run's plan: how ``--num-cpus`` and ``--num-gpus`` become RLlib settings, and where
each process of the run goes.

The plan is topology-aware: it is given the nodes the run may use (a laptop is one node; a
cluster's nodes, with the CPUs still free on each; a Slurm allocation), and it never makes a
process larger than the node that must hold it.

``num_cpus`` is the total number of cores the run may use, driver and learner included:
one core for the main process (the driver, which also runs the learner unless there are
several GPU learners) and one core per remote env runner. The tutorial's "35 + 1 driver
core" arithmetic is done here, once: N cores are 1 main process + N - 1 remote env runners.
On one node of two cores a synchronous algorithm (PPO, DQN, SAC: the main process waits
while the runners sample) gets no remote runner: one runner would only take turns with the
main process, so the main process samples itself, and start-up is one process shorter
(measured: docs/code-figures.md). That holds for a cheap env; an env whose step costs more
than :data:`EXPENSIVE_STEP_US` (measured by the check before training) samples on every core
instead, the learner waiting in the main process meanwhile. Every process runs PyTorch with
one thread.

On a cluster (the run's cores span nodes) a synchronous algorithm's main process asks Ray
for no CPU of its own: its runners sample, then it learns, in turn, so it shares a core of
its node with an env runner there (pinned to that node by a sliver of Ray's ``node:<ip>``
resource). Ray counts a cluster's CPUs strictly, and a core held by a process that waits
half of each iteration would be one env runner fewer: on two 1-CPU nodes, half the cluster.
An asynchronous algorithm (APPO, IMPALA) learns while its runners sample and keeps its core.
On one node the main process keeps its core for a cheap env (the tutorial's rule): a runner
more would add at most 1/(N-1) to sampling, the core also runs Ray's own processes and the
driver's per-iteration work, and sampling on every core is what the expensive-env rule does.

Each rule gives its reason as a code and facts (:mod:`rlscale.algos.plan.reasons`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlscale.algos.plan.nodes import Node, Placement, main_node, place
from rlscale.algos.plan.reasons import PlanReason, Reason, reason
from rlscale.errors import ResourceError

if TYPE_CHECKING:
    from rlscale.algos.sampling import SamplingChoice

# Median env step time from which a synchronous algorithm on one local node samples on every
# core (remote env runners on all of them; the main process only learns): between the step
# times at which the main process and two runners sampled faster (docs/code-figures.md).
EXPENSIVE_STEP_US = 200.0
# PyTorch (OpenMP) threads in every Ray process of the run: each process is counted as one
# core, so more threads would only fight over the same cores.
TORCH_THREADS = 1


@dataclass(frozen=True)
class ResourcePlan:
    """What the run will ask Ray for, and where each process goes."""

    total_cpus: int
    num_env_runners: int
    num_envs_per_env_runner: int
    num_cpus_per_env_runner: int
    num_cpus_for_main_process: int
    num_learners: int
    num_gpus_per_learner: float
    reasons: tuple[Reason, ...] = field(default=())
    torch_threads: int = TORCH_THREADS
    placement: tuple[Placement, ...] = field(default=())
    # The env's mean step time measured before training (None: not measured).
    env_step_time_us: float | None = None
    # Whether the runners wait for the learner, and why (set once the RLlib keys are known).
    sampling: SamplingChoice | None = None

    @property
    def sampling_processes(self) -> int:
        """Processes that step environments (the main process when there are no runners)."""
        return max(self.num_env_runners, 1)

    @property
    def expensive_env(self) -> bool:
        """The env's measured step time is at least :data:`EXPENSIVE_STEP_US`."""
        return self.env_step_time_us is not None and self.env_step_time_us >= EXPENSIVE_STEP_US

    @property
    def gpus_to_reserve(self) -> int:
        """Whole GPUs the embedded Ray must offer (a fractional learner still needs one)."""
        return math.ceil(self.num_gpus_per_learner * max(self.num_learners, 1))

    @property
    def cpus_to_reserve(self) -> int:
        """Logical CPUs the embedded Ray must offer: the cores of the run, or every process's
        CPU when an expensive env samples on every core beside the main process."""
        asked = sum(p.cpus for p in self.placement) if self.placement else self.total_cpus
        return max(self.total_cpus, math.ceil(asked))

    @property
    def nodes_used(self) -> int:
        return len(self.placement)

    @property
    def main_node_resource(self) -> dict[str, float]:
        """On a cluster, a sliver of the planned node's own resource (Ray's ``node:<ip>``)
        for the main process, so that Ray puts it where the plan did; none on one node."""
        if len(self.placement) < 2:
            return {}
        main = next((p.node for p in self.placement if p.main_process), None)
        return {f"node:{main}": 0.001} if main else {}


@dataclass(frozen=True)
class _Run:
    """What the rules for the env runners read: the run's checked cores, GPUs and nodes."""

    nodes: tuple[Node, ...]
    total: int
    learners: int
    main_index: int
    synchronous: bool
    may_oversubscribe: bool
    step_us: float | None

    @property
    def main_node(self) -> Node:
        return self.nodes[self.main_index]

    @property
    def on_one_node(self) -> bool:
        """The run's cores sit on one node when the main node holds them all (Ray packs)."""
        return (self.may_oversubscribe or len(self.nodes) == 1
                or self.total <= self.main_node.cpus)

    @property
    def expensive(self) -> bool:
        return self.step_us is not None and self.step_us >= EXPENSIVE_STEP_US

    @property
    def spare(self) -> int:
        """Cores left once each GPU learner has its CPU."""
        return self.total - self.learners

    @property
    def share(self) -> bool:
        """The run spans nodes and its algorithm is synchronous: the main process may share
        a core with an env runner (Ray counts a cluster's CPUs strictly)."""
        return self.synchronous and not self.on_one_node

    def facts(self, runners: int) -> dict[str, Any]:
        return dict(cores=self.total, learners=self.learners, runners=runners,
                    step_us=self.step_us, expensive=self.expensive)


def plan_resources(
    *,
    nodes: Sequence[Node],
    num_cpus: int | None = None,
    num_gpus: float = 0.0,
    on_policy: bool = True,
    synchronous: bool = True,
    num_env_runners: int | None = None,
    num_envs_per_env_runner: int | None = None,
    num_envs: int | None = None,
    may_oversubscribe: bool = False,
    env_step_time_us: float | None = None,
    external: bool = False,
) -> ResourcePlan:
    """Plan a run on ``nodes`` from the cores/GPUs asked for. Pure function.

    ``nodes`` come first the node the driver runs on (the head of a cluster). Their
    ``cpus`` are the CPUs free for this run. ``may_oversubscribe`` is true for the
    embedded local Ray (one node), which can be given more logical CPUs than the machine
    has; on an existing cluster a plan that does not fit is an error (it would otherwise
    wait forever as a PENDING trial). ``env_step_time_us`` is the env's mean step time
    from the check before training: an expensive env samples on every core. ``external``:
    the env is an external simulator's, ``num_envs_per_env_runner`` its simulator
    connections per runner (``env_config.simulators``), sampled in the main process unless
    ``num_env_runners`` spreads them.
    """
    reasons: list[Reason] = []
    usable = tuple(n for n in nodes if n.cpus > 0 or n.gpus > 0)
    total = _check_cores(usable, num_cpus, may_oversubscribe, reasons)
    learners, gpus_per_learner = _check_gpus(usable, num_gpus)
    # GPUs first: they decide which node holds the main process.
    main_gpus = gpus_per_learner if learners == 0 else 0.0
    run = _Run(nodes=usable, total=total, learners=learners,
               main_index=main_node(usable, main_gpus, may_oversubscribe),
               synchronous=synchronous, may_oversubscribe=may_oversubscribe,
               step_us=env_step_time_us)
    if num_env_runners is None and external:
        runners = 0  # one port, in the main process, unless the user spreads them
        reasons.append(reason(PlanReason.EXTERNAL_IN_MAIN))
    elif num_env_runners is None:
        runners = _auto_runners(run, reasons)
    else:
        runners = _set_runners(run, num_env_runners, reasons)
    main_cpus = _main_cpus(run, runners)
    placement = place(
        usable, run.main_index, main_cpus=main_cpus, main_gpus=main_gpus, learners=learners,
        gpus_per_learner=gpus_per_learner, runners=runners,
        may_oversubscribe=may_oversubscribe,
    )
    envs, why = _envs(runners, on_policy, num_envs_per_env_runner, num_envs, external)
    reasons += [why, reason(PlanReason.TORCH_THREADS, threads=TORCH_THREADS)]
    if num_gpus == 0:
        reasons.append(reason(PlanReason.NO_GPU))
    elif learners == 0:
        reasons.append(reason(PlanReason.GPU_IN_MAIN, gpus=num_gpus, node=run.main_node.name))
    else:
        reasons.append(reason(PlanReason.GPU_LEARNERS, learners=learners))
    return ResourcePlan(
        total_cpus=total,
        num_env_runners=runners,
        num_envs_per_env_runner=envs,
        num_cpus_per_env_runner=1,
        num_cpus_for_main_process=main_cpus,
        num_learners=learners,
        num_gpus_per_learner=gpus_per_learner,
        reasons=tuple(reasons),
        placement=placement,
        env_step_time_us=env_step_time_us,
    )


def _check_cores(nodes: Sequence[Node], num_cpus: int | None, may_oversubscribe: bool,
                 reasons: list[Reason]) -> int:
    """The run's cores: ``num_cpus``, else every free CPU of ``nodes``; refused when the
    nodes do not have them (unless the embedded Ray may be given more)."""
    available = sum(n.cpus for n in nodes)
    if available < 1:
        raise ResourceError("Ray sees no CPU to run on")
    if may_oversubscribe and len(nodes) > 1:
        raise ValueError("only a single (embedded, local) node may be oversubscribed")
    sizes = [n.total_cpus for n in nodes if n.total_cpus is not None]
    busy = sum(sizes) - sum(n.cpus for n in nodes if n.total_cpus is not None)
    total = available if num_cpus is None else num_cpus
    if num_cpus is None:
        reasons.append(reason(PlanReason.ALL_CORES, cores=available, nodes=len(nodes),
                              busy=busy))
    if total < 1:
        raise ResourceError(f"--num-cpus must be at least 1, got {total}")
    if total > available:
        if not may_oversubscribe:
            free = f" ({busy} more are in use by others)" if busy > 0 else ""
            raise ResourceError(
                f"--num-cpus {total} is more than the {available} CPUs available{free}"
            )
        reasons.append(reason(PlanReason.OVERSUBSCRIBED, cores=total, available=available))
    return total


def _check_gpus(nodes: Sequence[Node], num_gpus: float) -> tuple[int, float]:
    """GPU learner processes and GPUs per learner: a GPU or part of one goes to the learner
    in the main process (0 learner processes); several, one learner process each."""
    available = sum(n.gpus for n in nodes)
    if num_gpus < 0:
        raise ResourceError(f"--num-gpus must be >= 0, got {num_gpus}")
    if num_gpus > available:
        raise ResourceError(
            f"--num-gpus {num_gpus:g} asked for, but only {available:g} GPU(s) available"
        )
    if num_gpus > 1 and num_gpus != int(num_gpus):
        raise ResourceError(
            f"--num-gpus {num_gpus:g}: fractions are allowed up to 1; above 1 use whole GPUs"
        )
    if num_gpus == 0:
        return 0, 0.0
    if num_gpus <= 1:
        return 0, float(num_gpus)
    return int(num_gpus), 1.0


def _auto_runners(run: _Run, reasons: list[Reason]) -> int:
    """The env runners when the user did not set them, and the rule that chose them."""
    spare = run.spare
    runners = spare - 1
    if run.share and spare >= 1:
        runners = spare
        reasons.append(reason(PlanReason.MAIN_SHARES_CLUSTER_CORE, **run.facts(runners),
                              nodes=len(run.nodes), main_node=run.main_node.name))
    elif (runners == 1 and run.synchronous and run.on_one_node
            and (run.may_oversubscribe or run.main_node.cpus >= 2)
            and not (run.expensive and run.may_oversubscribe)):
        runners = 0
        reasons.append(reason(PlanReason.MAIN_SAMPLES_ON_TWO_CORES, cores=spare,
                              step_us=run.step_us, threshold_us=EXPENSIVE_STEP_US,
                              expensive=run.expensive))
    elif run.expensive and run.synchronous and run.may_oversubscribe and spare >= 2:
        runners = spare
        reasons.append(reason(PlanReason.EXPENSIVE_ENV_EVERY_CORE, runners=runners,
                              step_us=run.step_us, threshold_us=EXPENSIVE_STEP_US))
    elif runners > 0:
        spans = len(run.nodes) if len(run.nodes) > 1 and not run.on_one_node else 1
        reasons.append(reason(PlanReason.CORES_SPLIT, **run.facts(runners), nodes=spans,
                              synchronous=run.synchronous))
    else:
        runners = 0
        reasons.append(reason(PlanReason.ONE_CORE))
    return runners


def _set_runners(run: _Run, runners: int, reasons: list[Reason]) -> int:
    """The env runners the user set (``resources.num_env_runners``), checked against the
    run's cores."""
    reasons.append(reason(PlanReason.RUNNERS_SET, runners=runners))
    learners, total = run.learners, run.total
    # On this machine a synchronous algorithm's main process learns while its runners
    # wait: it may share a core with them, as the plan for an expensive env does.
    local_share = run.synchronous and run.may_oversubscribe and run.on_one_node
    if local_share and runners and runners + 1 + learners > total >= runners + learners:
        reasons.append(reason(PlanReason.MAIN_SHARES_LOCAL_CORE))
    elif runners + learners > total or (runners + 1 + learners > total and not run.share):
        raise ResourceError(
            f"{runners} env runners + 1 main process need {runners + 1 + learners} cores, "
            f"but the run may use {total}"
        )
    if run.share and runners and runners + 1 + learners > total:
        reasons.append(reason(PlanReason.MAIN_SHARES_NODE_CORE, main_node=run.main_node.name))
    return runners


def _main_cpus(run: _Run, runners: int) -> int:
    """The main process's CPUs: every core of the run without runners (on one node: no
    more than it has), none on an env runner's core, else one."""
    if runners == 0:
        spare = run.spare
        return spare if run.may_oversubscribe else min(spare, run.main_node.cpus)
    if run.share and runners + 1 + run.learners > run.total:
        return 0  # on an env runner's core (pinned to its node: main_node_resource)
    return 1


def _envs(runners: int, on_policy: bool, per_runner: int | None, num_envs: int | None,
          external: bool) -> tuple[int, Reason]:
    """The envs of each sampling process, and why."""
    if per_runner is not None and external:
        return per_runner, reason(PlanReason.ENVS_PER_SIMULATOR, envs=per_runner)
    if per_runner is not None:
        return per_runner, reason(PlanReason.ENVS_PER_RUNNER_SET, envs=per_runner,
                                  over_num_envs=num_envs is not None)
    if num_envs is not None:
        # A total (presets give one): the batch it was tuned with keeps its steps per env
        # whatever the number of sampling processes.
        envs = math.ceil(num_envs / max(runners, 1))
        return envs, reason(PlanReason.ENVS_IN_ALL, num_envs=num_envs, envs=envs,
                            runners=runners)
    envs = 8 if on_policy else 1
    return envs, reason(PlanReason.ENVS_DEFAULT, envs=envs, on_policy=on_policy)
