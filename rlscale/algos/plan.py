"""The resource plan: how ``--num-cpus`` and ``--num-gpus`` become RLlib settings, and where
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
(measured on 2 cores: same steps/s, first iteration about 3.5 s sooner). That holds for a
cheap env; an env whose step costs more than :data:`EXPENSIVE_STEP_US` (measured by the
check before training) samples on every core instead, the learner waiting in the main
process meanwhile. Every process runs PyTorch with one thread.

On a cluster (the run's cores span nodes) a synchronous algorithm's main process asks Ray
for no CPU of its own: its runners sample, then it learns, in turn, so it shares a core of
its node with an env runner there (pinned to that node by a sliver of Ray's ``node:<ip>``
resource). Ray counts a cluster's CPUs strictly, and a core held by a process that waits
half of each iteration would be one env runner fewer: on two 1-CPU nodes, half the cluster.
An asynchronous algorithm (APPO, IMPALA) learns while its runners sample and keeps its core.
On one node the main process keeps its core for a cheap env (the tutorial's rule): a runner
more would add at most 1/(N-1) to sampling, the core also runs Ray's own processes and the
driver's per-iteration work, and sampling on every core is what the expensive-env rule does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rlscale.errors import ResourceError

if TYPE_CHECKING:
    from rlscale.algos.sampling import SamplingChoice

# Median env step time from which a synchronous algorithm on one local node samples on every
# core (remote env runners on all of them; the main process only learns). Measured on 2
# cores with CartPole plus a busy-wait per step: the main process sampled faster up to 0.1 ms
# a step, two runners from 0.25 ms on (docs/benchmarks.md, "Sampling on every core").
EXPENSIVE_STEP_US = 200.0


@dataclass(frozen=True)
class Node:
    """One machine the run may use: the CPUs free for it and its GPUs."""

    name: str
    cpus: int
    gpus: float = 0.0
    # The node's size, when fewer CPUs than that are free (others' work runs there).
    total_cpus: int | None = None

    def describe(self) -> str:
        size = f"{self.cpus} CPU"
        if self.total_cpus is not None and self.total_cpus != self.cpus:
            size = f"{self.cpus} of {self.total_cpus} CPU free"
        return f"{self.name} ({size}" + (f", {self.gpus:g} GPU)" if self.gpus else ")")


def one_node(cpus: int, gpus: float = 0.0, name: str = "local") -> tuple[Node, ...]:
    """A laptop, a workstation, a single Slurm node: the run's one node."""
    return (Node(name=name, cpus=cpus, gpus=gpus),)


@dataclass(frozen=True)
class Placement:
    """The processes of the run on one node, and what they ask that node for."""

    node: str
    main_process: bool
    env_runners: int
    learners: int
    cpus: float
    gpus: float
    # The main process asks for no CPU of its own: it shares a core with an env runner.
    main_shares_core: bool = False

    def describe(self) -> str:
        parts = []
        if self.main_process:
            what = "driver + learner" if not self.learners else "driver"
            if self.main_shares_core:
                what += ", 0 CPU: on an env runner's core"
            parts.append(f"main process ({what})")
        if self.learners:
            parts.append(f"{self.learners} learner(s)")
        if self.env_runners:
            parts.append(f"{self.env_runners} env runner(s)")
        gpus = f", {self.gpus:g} GPU" if self.gpus else ""
        return f"{self.node}: {' + '.join(parts)} = {self.cpus:g} CPU{gpus}"


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
    reasons: tuple[str, ...] = field(default=())
    # PyTorch (OpenMP) threads in every Ray process of the run: each process is counted as
    # one core, so more threads would only fight over the same cores.
    torch_threads: int = 1
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


def _free_text(nodes: Sequence[Node]) -> str:
    return ", ".join(n.describe() for n in nodes)


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
) -> ResourcePlan:
    """Plan a run on ``nodes`` from the cores/GPUs asked for. Pure function.

    ``nodes`` come first the node the driver runs on (the head of a cluster). Their
    ``cpus`` are the CPUs free for this run. ``may_oversubscribe`` is true for the
    embedded local Ray (one node), which can be given more logical CPUs than the machine
    has; on an existing cluster a plan that does not fit is an error (it would otherwise
    wait forever as a PENDING trial). ``env_step_time_us`` is the env's mean step time
    from the check before training: an expensive env samples on every core.
    """
    reasons: list[str] = []
    nodes = [n for n in nodes if n.cpus > 0 or n.gpus > 0]
    available_cpus = sum(n.cpus for n in nodes)
    available_gpus = sum(n.gpus for n in nodes)
    if available_cpus < 1:
        raise ResourceError("Ray sees no CPU to run on")
    if may_oversubscribe and len(nodes) > 1:
        raise ValueError("only a single (embedded, local) node may be oversubscribed")
    sizes = [n.total_cpus for n in nodes if n.total_cpus is not None]
    busy = sum(sizes) - sum(n.cpus for n in nodes if n.total_cpus is not None)
    total = available_cpus if num_cpus is None else num_cpus
    if num_cpus is None:
        where = f" on {len(nodes)} nodes" if len(nodes) > 1 else ""
        free = f" (free; {busy} more are in use by others)" if busy > 0 else ""
        reasons.append(f"--num-cpus not given: using all {available_cpus} cores Ray "
                       f"sees{where}{free}")
    if total < 1:
        raise ResourceError(f"--num-cpus must be at least 1, got {total}")
    if total > available_cpus:
        if not may_oversubscribe:
            free = f" ({busy} more are in use by others)" if busy > 0 else ""
            raise ResourceError(
                f"--num-cpus {total} is more than the {available_cpus} CPUs available{free}"
            )
        reasons.append(
            f"oversubscribed: {total} cores asked for, the machine has {available_cpus}"
        )
    if num_gpus < 0:
        raise ResourceError(f"--num-gpus must be >= 0, got {num_gpus}")
    if num_gpus > available_gpus:
        raise ResourceError(
            f"--num-gpus {num_gpus:g} asked for, but only {available_gpus:g} GPU(s) available"
        )
    if num_gpus > 1 and num_gpus != int(num_gpus):
        raise ResourceError(
            f"--num-gpus {num_gpus:g}: fractions are allowed up to 1; above 1 use whole GPUs"
        )

    # GPUs first: they decide which node holds the main process.
    if num_gpus == 0:
        learners, gpus_per_learner = 0, 0.0
    elif num_gpus <= 1:
        learners, gpus_per_learner = 0, float(num_gpus)
    else:
        learners, gpus_per_learner = int(num_gpus), 1.0
    main_gpus = gpus_per_learner if learners == 0 else 0.0
    main_index = _main_node(nodes, main_gpus, may_oversubscribe)
    main_node = nodes[main_index]

    # The run's cores sit on one node when the main node holds them all (Ray packs them).
    on_one_node = may_oversubscribe or len(nodes) == 1 or total <= main_node.cpus
    expensive = (
        env_step_time_us is not None and env_step_time_us >= EXPENSIVE_STEP_US
    )
    step_text = "" if env_step_time_us is None else _step_text(env_step_time_us)
    spare = total - learners  # cores left once each GPU learner has its CPU
    # The run spans nodes and its algorithm is synchronous: the main process may share a
    # core with an env runner (Ray counts a cluster's CPUs strictly).
    share = synchronous and not on_one_node
    if num_env_runners is None:
        runners = spare - 1
        if share and spare >= 1:
            runners = spare
            reasons.append(
                f"{total} cores over {len(nodes)} nodes = "
                + (f"{learners} GPU learner(s) + " if learners else "")
                + f"{runners} env runner(s); the main process (driver + learner) shares a "
                f"core of {main_node.name} with one of them: a synchronous algorithm's "
                "runners sample, then it learns, in turn, so a core of its own would stand "
                "idle while they sample, and on a cluster that core would be a runner fewer"
                + (f"; the env is {'expensive' if expensive else 'cheap'} ({step_text})"
                   if step_text else "")
            )
        elif (runners == 1 and synchronous and on_one_node
                and (may_oversubscribe or main_node.cpus >= 2)
                and not (expensive and may_oversubscribe)):
            runners = 0
            why = (f" (the env is cheap: {step_text}, under "
                   f"{EXPENSIVE_STEP_US / 1000:g} ms)" if env_step_time_us is not None else "")
            reasons.append(
                "2 cores, synchronous algorithm: the main process samples and learns in "
                "turn (a single remote env runner would only take turns with it); the "
                f"second core serves Ray and Tune{why}"
            )
        elif expensive and synchronous and may_oversubscribe and spare >= 2:
            runners = spare
            reasons.append(
                f"expensive env ({step_text}, at least {EXPENSIVE_STEP_US / 1000:g} ms): "
                f"{runners} env runner(s) sample on every core; the main process (driver + "
                "learner) learns while they wait, so it shares a core with them"
            )
        elif runners > 0:
            where = (f" over {len(nodes)} nodes" if len(nodes) > 1 and not on_one_node
                     else "")
            if not synchronous:
                why = ("; an asynchronous algorithm learns while its runners sample, so the "
                       "main process keeps a core of its own")
            elif runners >= 2:
                why = ("; on one node the main process keeps a core of its own for a cheap "
                       f"env: a runner more would add at most 1/{runners} to sampling, and "
                       "that core also runs Ray's own processes and the driver's work")
            else:
                why = ""
            reasons.append(
                f"{total} cores = 1 main process (driver + learner) + "
                + (f"{learners} GPU learner(s) + " if learners else "")
                + f"{runners} env runner(s){where}"
                + (f"; the env is {'expensive' if expensive else 'cheap'} ({step_text})"
                   if step_text else "")
                + why
            )
        else:
            runners = 0
            reasons.append("1 core: the main process samples and learns, no remote env runners")
    else:
        runners = num_env_runners
        reasons.append(f"{runners} env runner(s), as set in resources.num_env_runners")
        # On this machine a synchronous algorithm's main process learns while its runners
        # wait: it may share a core with them, as the plan for an expensive env does.
        local_share = synchronous and may_oversubscribe and on_one_node
        if local_share and runners and runners + 1 + learners > total >= runners + learners:
            reasons.append(
                "the main process (driver + learner) shares a core with the env runners: a "
                "synchronous algorithm's runners sample, then it learns, in turn"
            )
        elif runners + learners > total or (runners + 1 + learners > total and not share):
            raise ResourceError(
                f"{runners} env runners + 1 main process need {runners + 1 + learners} cores, "
                f"but the run may use {total}"
            )
        if share and runners and runners + 1 + learners > total:
            reasons.append(
                f"the main process (driver + learner) shares a core of {main_node.name} with "
                "an env runner: a synchronous algorithm's runners and learner take turns"
            )

    if runners == 0:
        # Every core of the run is the main process's (on one node: no bigger than it).
        main_cpus = total - learners if may_oversubscribe else min(total - learners,
                                                                   main_node.cpus)
    elif share and runners + 1 + learners > total:
        main_cpus = 0  # on an env runner's core (pinned to its node: main_node_resource)
    else:
        main_cpus = 1
    placement = _place(
        nodes, main_index, main_cpus=main_cpus, main_gpus=main_gpus, learners=learners,
        gpus_per_learner=gpus_per_learner, runners=runners,
        may_oversubscribe=may_oversubscribe,
    )

    if num_envs_per_env_runner is not None:
        envs = num_envs_per_env_runner
        reasons.append(
            f"{envs} env(s) per runner, as set in resources.num_envs_per_env_runner"
            + (" (it wins over resources.num_envs)" if num_envs is not None else "")
        )
    elif num_envs is not None:
        # A total (presets give one): the batch it was tuned with keeps its steps per env
        # whatever the number of sampling processes.
        processes = max(runners, 1)
        envs = math.ceil(num_envs / processes)
        reasons.append(
            f"{num_envs} env(s) in all (resources.num_envs): {envs} per "
            + (f"runner over {runners} runners" if runners > 1 else
               "runner" if runners else "main process")
        )
    else:
        envs = 8 if on_policy else 1
        reasons.append(
            f"{envs} env(s) per runner: "
            + ("vectorized sampling for an on-policy algorithm" if on_policy
               else "off-policy algorithms update often, one env per runner")
        )

    reasons.append(
        "1 PyTorch thread per process: the small networks of RL gain nothing from more, "
        "and extra threads fight the other processes for the same cores"
    )

    if num_gpus == 0:
        reasons.append("no GPU: the learner runs in the main process on CPU")
    elif learners == 0:
        reasons.append(f"the learner runs in the main process on {num_gpus:g} GPU "
                       f"(on {main_node.name})")
    else:
        reasons.append(f"{learners} GPU learners (one process each), data-parallel")

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


def _step_text(step_us: float) -> str:
    return (f"measured {step_us / 1000:.2f} ms a step" if step_us >= 100
            else f"measured {step_us:.1f} us a step")


def _main_node(nodes: Sequence[Node], gpus: float, may_oversubscribe: bool) -> int:
    """The node of the main process: the driver's (first) unless the learner in it needs a
    GPU, then the first node with that GPU."""
    if gpus <= 0:
        for i, node in enumerate(nodes):
            if node.cpus >= 1 or may_oversubscribe:
                return i
    for i, node in enumerate(nodes):
        if node.gpus + 1e-9 >= gpus and (node.cpus >= 1 or may_oversubscribe):
            return i
    raise ResourceError(
        f"the learner in the main process needs 1 CPU and {gpus:g} GPU on one node, and no "
        f"node has both free ({_free_text(nodes)})"
    )


def _place(
    nodes: Sequence[Node], main_index: int, *, main_cpus: int, main_gpus: float,
    learners: int, gpus_per_learner: float, runners: int, may_oversubscribe: bool,
) -> tuple[Placement, ...]:
    """Put the main process, the GPU learners and the env runners (1 CPU each) on nodes:
    the main process's node first, then the others in order (as Ray's PACK strategy
    would), each process on one node. Raise :class:`ResourceError` when one cannot go."""
    count = len(nodes)
    cpus = [float(n.cpus) for n in nodes]
    gpus = [float(n.gpus) for n in nodes]
    main = [False] * count
    n_learners = [0] * count
    n_runners = [0] * count
    used_cpu = [0.0] * count
    used_gpu = [0.0] * count
    order = [main_index] + [i for i in range(count) if i != main_index]

    def take(i: int, cpu: float, gpu: float) -> bool:
        if not may_oversubscribe and (cpus[i] + 1e-9 < cpu or gpus[i] + 1e-9 < gpu):
            return False
        cpus[i] -= cpu
        gpus[i] -= gpu
        used_cpu[i] += cpu
        used_gpu[i] += gpu
        return True

    if not take(main_index, main_cpus, main_gpus):
        raise ResourceError(
            f"the main process needs {main_cpus} CPU on one node; none has that much free "
            f"({_free_text(nodes)})"
        )
    main[main_index] = True
    for _ in range(learners):
        for i in order:
            if take(i, 1.0, gpus_per_learner):
                n_learners[i] += 1
                break
        else:
            raise ResourceError(
                f"a GPU learner needs 1 CPU and {gpus_per_learner:g} GPU on one node; no node "
                f"has them left ({_free_text(nodes)})"
            )
    remaining = runners
    for i in order:
        while remaining and take(i, 1.0, 0.0):
            n_runners[i] += 1
            remaining -= 1
    placed = sum(n_runners)
    if placed < runners:
        raise ResourceError(
            f"{runners} env runners (1 CPU each) do not fit beside the main process: only "
            f"{placed} find a CPU ({_free_text(nodes)}); lower --num-cpus or "
            "resources.num_env_runners, or add nodes"
        )
    return tuple(
        Placement(node=nodes[i].name, main_process=main[i], env_runners=n_runners[i],
                  learners=n_learners[i], cpus=used_cpu[i], gpus=used_gpu[i],
                  main_shares_core=main[i] and main_cpus == 0)
        for i in order if main[i] or n_runners[i] or n_learners[i]
    )


# -- Sweeps ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepPlan:
    """How a sweep shares the cores: cores per trial and trials at once."""

    total_cpus: int
    trial_cpus: int  # cores each trial's own plan is made for
    reasons: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class SweepConcurrency:
    """How many trials fit at once, from what one trial asks Ray for."""

    fit: int
    concurrent: int
    reasons: tuple[str, ...] = field(default=())


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
    reasons: list[str] = []
    available = sum(n.cpus for n in nodes)
    total = num_cpus if num_cpus is not None else available
    if total < 1:
        raise ResourceError(f"--num-cpus must be at least 1, got {total}")
    if num_cpus is None:
        where = f" on {len(nodes)} nodes" if len(nodes) > 1 else ""
        reasons.append(f"--num-cpus not given: the sweep uses all {total} cores Ray sees{where}")
    elif total > available:
        if not may_oversubscribe:
            raise ResourceError(
                f"--num-cpus {total} is more than the {available} CPUs available"
            )
        reasons.append(f"oversubscribed: {total} cores asked for, the machine has {available}")
    per_trial = trial_cpus
    if per_trial is None:
        per_trial = 1
        reasons.append(
            "1 core per trial (resources.num_cpus not set): each trial samples and learns in "
            "its own process, with no env-runner processes to start or feed, and as many "
            "trials run at once as there are cores"
        )
    if per_trial > total:
        raise ResourceError(
            f"one trial needs {per_trial} cores (resources.num_cpus, --cpus-per-trial) but the "
            f"sweep may use {total} (--num-cpus)"
        )
    largest = max((n.cpus for n in nodes), default=0)
    if per_trial > largest and not may_oversubscribe and len(nodes) > 1:
        reasons.append(
            f"a trial of {per_trial} cores spans nodes (the largest has {largest} free): "
            "its env runners go where there is room"
        )
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
    reasons: list[str] = []
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
    reasons.append(
        f"{total_cpus} core(s) / {trial_cpus:g} per trial: {fit} trial(s) fit at once"
    )
    if not may_oversubscribe and len(nodes) > 1:
        packed = _trials_that_pack(nodes, trial_bundles, fit)
        if packed < fit:
            reasons.append(
                f"the nodes hold {packed} trial(s) at once: each bundle of a trial must fit on "
                f"one node ({_free_text(nodes)})"
            )
            fit = packed
    if fit < 1:
        raise ResourceError(
            f"no node can hold one trial's processes ({_free_text(nodes)}); "
            "lower resources.num_cpus or --num-gpus"
        )
    concurrent = fit
    if max_concurrent is not None:
        if max_concurrent > fit:
            reasons.append(
                f"--max-concurrent {max_concurrent} capped at {fit}: more trials "
                "than fit would wait PENDING"
            )
        else:
            concurrent = max_concurrent
            reasons.append(f"--max-concurrent {concurrent}")
    concurrent = max(1, min(concurrent, num_trials))
    return SweepConcurrency(fit=fit, concurrent=concurrent, reasons=tuple(reasons))


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


# -- Batches that scale with the plan -------------------------------------------------------

# Steps each env samples per iteration below which a batch not set by the user grows with
# the envs (the presets are tuned at 32: the CartPole preset's 1,024 steps over 32 envs).
MIN_STEPS_PER_ENV = 32


def scale_batch(plan: ResourcePlan, batch: int, explicit: bool) -> tuple[int, str | None]:
    """The on-policy train batch for ``plan``: ``batch`` unless spreading it over every
    sampling process's envs leaves fewer than :data:`MIN_STEPS_PER_ENV` steps per env, then
    grown to that many steps per env. A batch the user set (``explicit``) is kept. Returns
    the batch and the reason when it changed. Pure function."""
    envs = plan.num_envs_per_env_runner * plan.sampling_processes
    if explicit or envs <= 0 or batch >= envs * MIN_STEPS_PER_ENV:
        return batch, None
    grown = envs * MIN_STEPS_PER_ENV
    where = (f"{plan.sampling_processes} sampling processes x "
             f"{plan.num_envs_per_env_runner} env(s)" if plan.sampling_processes > 1
             else f"{envs} env(s) in the main process")
    return grown, (
        f"batch grown from {batch} to {grown} steps: {batch} over {envs} envs ({where}) "
        f"leaves {batch // envs} step(s) per env and iteration, fewer than "
        f"{MIN_STEPS_PER_ENV}; set algo_config.train_batch_size_per_learner to keep yours"
    )
