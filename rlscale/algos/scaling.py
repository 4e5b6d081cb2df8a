"""The scaling prediction: env steps/s and time per iteration at more cores and nodes, from
the throughput figures of a short pilot run (``summary.json``'s ``throughput``).

The model, per iteration of a ``B``-step batch spread over ``p`` sampling processes:

- sampling ``S = B / (p * r)``, ``r`` one process's env steps/s while it samples;
  processes beyond the node's cores share them, each at ``r * cores / processes``,
- ``1 / r``, one env step of a process sampling ``k`` envs, is ``e + f * v / k``: ``e``
  the env's own step (the env check's measured step time), ``v`` what a step of the whole
  vector env costs the main process besides (the policy's forward pass, connectors,
  episode bookkeeping: shared by its ``k`` envs) and ``f`` :data:`REMOTE_VECTOR_COST` for a
  remote env runner (1 for the main process). ``v`` comes from the pilot: its CPU seconds
  per step (wall-clock where not recorded), its ``k``, ``e`` and ``f``; a point's step is
  the pilot's measured one times the model's step there over the model's step of the
  pilot. More runners over the same envs give each fewer, and so a dearer step,
- learning ``L = l * B``, ``l`` the learner's seconds per env step of the batch (measured),
- overhead ``W = w + n * B * bytes / bandwidth``: ``w`` the driver's per-iteration rest
  (weight syncs, metrics: measured), plus, for the ``n``-th share of the batch sampled on
  other nodes than the learner's, moving it over the network (``bytes`` per step from the
  observation size, ``bandwidth`` assumed, :data:`NETWORK_BYTES_PER_S`),
- a synchronous iteration takes ``S + L + W``; an asynchronous one ``max(S, L + W)``
  (remote env runners sample while the learner updates; with none, the main process
  samples and learns in turn: ``S + L + W`` again).

The plan of each point is the real resource plan (:func:`rlscale.algos.plan.plan_resources`
and its batch scaling), so a prediction uses the runners and batch that run would get. The
bound of a point is the largest of ``S`` (env), ``L`` (learner) and the network share of
``W`` (network; the rest of ``W`` counts with the learner: it is the main process's). The
core count past which more cores buy nothing is the first from which doubling the cores
adds less than :data:`KNEE_GAIN` to the predicted steps/s (:func:`knee`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlscale.algos.plan import Node, ResourcePlan

# The network a cluster's nodes talk over when nothing better is known: 10 Gbit/s Ethernet,
# at the ~1 GB/s Ray's object transfers reach on it.
NETWORK_BYTES_PER_S = 1.0e9
# What a step of the vector env costs a remote env runner, besides its envs' own steps, over
# what it costs the main process: measured in CPU seconds of sample()
# (rlscale.algos.throughput), see docs/scaling.md.
REMOTE_VECTOR_COST = 1.3
# What doubling the cores must add to the predicted steps/s to be worth it.
KNEE_GAIN = 0.05
MAX_CORES = 1024
# What more nodes must still be able to add (over a point's steps/s, up to what the rest of
# its iteration allows) for size_job to look past it.
CEILING_GAIN = 0.10


class Bound(str, enum.Enum):
    """What an iteration spends most of its time on at a point."""

    ENV = "env"
    LEARNER = "learner"
    NETWORK = "network"


@dataclass(frozen=True)
class Pilot:
    """What a short run measured: the model's inputs."""

    steps_per_process_s: float  # one sampling process's env steps/s while it samples
    learning_s_per_step: float  # learner seconds per env step of the batch
    overhead_s: float  # the rest of an iteration (weight syncs, metrics, Ray)
    batch: int  # env steps per iteration
    processes: int  # sampling processes of the pilot
    iterations: int  # timed iterations the figures come from
    # How the pilot sampled (None: not known; then every process is taken to step at the
    # pilot's rate): the env's own step time (s), the envs of each sampling process and
    # whether they were remote env runners.
    env_step_s: float | None = None
    envs_per_process: int = 0
    remote: bool | None = None
    # CPU seconds one env step took a sampling process (None: not recorded).
    cpu_step_s: float | None = None

    def step_s(self, envs: int, remote: bool) -> float:
        """Seconds one env step takes a process sampling ``envs`` envs (a remote env runner
        or the main process), at the pilot's pace: its measured step times the model's
        step there over the model's step of the pilot."""
        measured = 1.0 / self.steps_per_process_s
        if self.remote is None or self.env_step_s is None or self.envs_per_process <= 0:
            return measured
        # The model's terms from the pilot's CPU per step where recorded: other work on the
        # machine stretches the wall-clock step, which would all count as vector-env cost.
        own = self.cpu_step_s or measured
        env = min(self.env_step_s, own)
        # A step of the whole vector env besides its envs' own, as the main process takes it.
        vector = self.envs_per_process * (own - env) / _vector_cost(self.remote)
        there = env + vector * _vector_cost(remote) / max(envs, 1)
        return measured * there / own

    @property
    def steps_per_s(self) -> float:
        """The pilot's own env steps/s per the model (a synchronous iteration)."""
        return self.batch / (self.batch / (self.processes * self.steps_per_process_s)
                             + self.learning_s_per_step * self.batch + self.overhead_s)


@dataclass(frozen=True)
class Point:
    """One predicted configuration."""

    cores: int
    nodes: int
    env_runners: int
    batch: int
    sampling_s: float
    learning_s: float
    overhead_s: float
    network_s: float
    iteration_s: float
    steps_per_s: float
    bound: Bound


def pilot_from_throughput(throughput: Mapping[str, Any] | None,
                          plan: ResourcePlan | None = None) -> Pilot | None:
    """The model's inputs from a run's ``summary.json`` ``throughput`` (see
    rlscale.results.throughput) and the run's ``plan`` (how it sampled: without it, every
    process is taken to step at the pilot's rate), or None when it timed no iteration.
    Pure function."""
    total = (throughput or {}).get("total") or {}
    last = (throughput or {}).get("last") or {}
    iterations = int(total.get("iterations") or 0)
    nodes = last.get("nodes") or []
    processes = sum(int(n.get("sampling_processes") or 0) for n in nodes)
    batch = sum(int(n.get("env_steps") or 0) for n in nodes)
    sampling = float(total.get("sampling_s") or 0.0)
    if not iterations or not processes or not batch or sampling <= 0:
        return None
    # Every iteration samples about one batch: steps per process over the mean sampling
    # time (the slowest process's, as the iteration waits for it).
    per_process = batch / processes / (sampling / iterations)
    cpu = float(total.get("sampling_cpu_s") or 0.0)
    how: dict[str, Any] = {"cpu_step_s": cpu / (batch * iterations) if cpu > 0 else None}
    if plan is not None:
        step_us = plan.env_step_time_us
        how.update(env_step_s=None if step_us is None else step_us / 1e6,
                   envs_per_process=plan.num_envs_per_env_runner,
                   remote=plan.num_env_runners > 0)
    return Pilot(
        steps_per_process_s=per_process,
        learning_s_per_step=float(total.get("learning_s") or 0.0) / iterations / batch,
        overhead_s=float(total.get("waiting_s") or 0.0) / iterations,
        batch=batch, processes=processes, iterations=iterations, **how,
    )


def predict_point(pilot: Pilot, plan: ResourcePlan, batch: int, *, nodes: Sequence[Node],
                  synchronous: bool, bytes_per_step: float,
                  bandwidth: float = NETWORK_BYTES_PER_S) -> Point:
    """The predicted iteration of ``plan`` (on ``nodes``) with a ``batch``-step batch.
    Pure function."""
    processes = plan.sampling_processes
    by_node = {n.name: n for n in nodes}
    # One env step of each of the plan's sampling processes, where nothing else shares its core.
    step_s = pilot.step_s(plan.num_envs_per_env_runner, bool(plan.num_env_runners))
    # Each node's sampling processes at the rate its cores give them (the main process's
    # node: its core too when it samples itself).
    rates = []
    remote_processes = 0
    for where in plan.placement or ():
        count = where.env_runners or (1 if where.main_process and not plan.num_env_runners
                                      else 0)
        if not count:
            continue
        node = by_node.get(where.node)
        cores = node.cpus if node is not None else count
        # A synchronous main process learns while its runners wait: they share no core.
        share = min(1.0, cores / count)
        rates.extend([share / step_s] * count)
        if not where.main_process:
            remote_processes += count
    if not rates:
        rates = [1.0 / step_s] * processes
    per_process_steps = batch / len(rates)
    sampling_s = max(per_process_steps / r for r in rates)
    learning_s = pilot.learning_s_per_step * batch
    network_s = batch * remote_processes / len(rates) * bytes_per_step / bandwidth
    overhead_s = pilot.overhead_s + network_s
    if synchronous or not plan.num_env_runners:  # the main process samples, then learns
        iteration_s = sampling_s + learning_s + overhead_s
    else:
        iteration_s = max(sampling_s, learning_s + overhead_s)
    parts = {Bound.ENV: sampling_s, Bound.LEARNER: learning_s + pilot.overhead_s,
             Bound.NETWORK: network_s}
    bound = max(parts, key=lambda b: parts[b])
    return Point(
        cores=plan.total_cpus, nodes=max(plan.nodes_used, 1),
        env_runners=plan.num_env_runners, batch=batch, sampling_s=sampling_s,
        learning_s=learning_s, overhead_s=pilot.overhead_s, network_s=network_s,
        iteration_s=iteration_s, steps_per_s=batch / iteration_s, bound=bound,
    )


def _vector_cost(remote: bool) -> float:
    return REMOTE_VECTOR_COST if remote else 1.0


# Plans a point: the nodes of the run and its total cores -> the plan and its batch.
Planner = Callable[[Sequence[Node], int], tuple[ResourcePlan, int]]


def core_counts(limit: int) -> list[int]:
    """1, 2, 4, ... up to ``limit``, and ``limit`` itself."""
    out, n = [], 1
    while n < limit:
        out.append(n)
        n *= 2
    return [*out, limit]


def predict_cores(pilot: Pilot, planner: Planner, counts: Sequence[int], *,
                  synchronous: bool, bytes_per_step: float) -> list[Point]:
    """Predictions on one node of each of ``counts`` cores."""
    points = []
    for cores in counts:
        nodes = (Node(name="node", cpus=cores),)
        plan, batch = planner(nodes, cores)
        points.append(predict_point(pilot, plan, batch, nodes=nodes, synchronous=synchronous,
                                    bytes_per_step=bytes_per_step))
    return points


def predict_nodes(pilot: Pilot, planner: Planner, node_cpus: int, counts: Sequence[int], *,
                  synchronous: bool, bytes_per_step: float,
                  bandwidth: float = NETWORK_BYTES_PER_S) -> list[Point]:
    """Predictions on each of ``counts`` nodes of ``node_cpus`` cores, every core used."""
    points = []
    for count in counts:
        nodes = tuple(Node(name=f"node{i}", cpus=node_cpus) for i in range(count))
        plan, batch = planner(nodes, node_cpus * count)
        points.append(predict_point(pilot, plan, batch, nodes=nodes, synchronous=synchronous,
                                    bytes_per_step=bytes_per_step, bandwidth=bandwidth))
    return points


def knee(pilot: Pilot, planner: Planner, *, synchronous: bool, bytes_per_step: float,
         limit: int = MAX_CORES) -> int:
    """The core count (on one node; a power of two) past which more cores buy nothing: the
    first from which doubling the cores adds less than :data:`KNEE_GAIN` to the predicted
    steps/s (``limit`` when every doubling up to it still pays). Pure function."""
    counts = core_counts(limit)
    points = predict_cores(pilot, planner, counts, synchronous=synchronous,
                           bytes_per_step=bytes_per_step)
    for here, doubled in zip(points, points[1:], strict=False):
        if doubled.steps_per_s < (1 + KNEE_GAIN) * here.steps_per_s:
            return here.cores
    return points[-1].cores


@dataclass(frozen=True)
class JobSize:
    """How many nodes, of how many cores, a job should ask for, and why."""

    nodes: int
    cpus_per_node: int
    reason: str


def size_job(knee_cores: int, node_points: Sequence[Point], node_cpus: int) -> JobSize:
    """The allocation the prediction supports: ``knee_cores`` (the one-node knee) cores of
    one node when they fit in it; else the node count past which more nodes buy nothing,
    by the same rule over ``node_points`` (the prediction at 1, 2, 4, ... nodes of
    ``node_cpus`` cores), and never past the first that is not env-bound and within
    :data:`CEILING_GAIN` of the steps/s its learner, driver and network allow (the batch
    over their time, sampling taking none): the node counts are capped by the predicted
    bound. Pure function."""
    if knee_cores <= node_cpus:
        return JobSize(1, knee_cores, f"more cores buy nothing past {knee_cores} on one node "
                       f"(doubling them adds less than {KNEE_GAIN:.0%} to the predicted "
                       "env steps/s)")
    points = sorted(node_points, key=lambda p: p.nodes)
    for here, more in zip(points, points[1:], strict=False):
        ceiling = here.batch / (here.learning_s + here.overhead_s + here.network_s)
        if here.bound is not Bound.ENV and ceiling < (1 + CEILING_GAIN) * here.steps_per_s:
            # Sampling no longer takes longest, and however fast it got, the rest of the
            # iteration (the learner's, the driver's, the network's) would stay.
            return JobSize(here.nodes, node_cpus, f"at {here.nodes} node(s) the run is "
                           f"predicted {here.bound.value}-bound ({here.steps_per_s:,.0f} env "
                           f"steps/s): no more nodes could add {CEILING_GAIN:.0%} (the "
                           f"{here.bound.value} allows {ceiling:,.0f})")
        if more.steps_per_s < (1 + KNEE_GAIN) * here.steps_per_s:
            return JobSize(here.nodes, node_cpus, f"{more.nodes} nodes would add less than "
                           f"{KNEE_GAIN:.0%} to the predicted {here.steps_per_s:,.0f} env "
                           f"steps/s of {here.nodes} ({here.bound.value}-bound)")
    last = points[-1]
    return JobSize(last.nodes, node_cpus, f"every node up to {last.nodes} still adds "
                   f"{KNEE_GAIN:.0%} or more to the predicted env steps/s "
                   f"({last.steps_per_s:,.0f} at {last.nodes}, {last.bound.value}-bound)")
