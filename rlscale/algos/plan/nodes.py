"""The nodes a run may use, and where each of its processes goes on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rlscale.algos.plan.reasons import free_text
from rlscale.errors import ResourceError


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


def main_node(nodes: Sequence[Node], gpus: float, may_oversubscribe: bool) -> int:
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
        f"node has both free ({free_text(nodes)})"
    )


class _Free:
    """What is left on each node while processes are placed, and what each was given."""

    def __init__(self, nodes: Sequence[Node], may_oversubscribe: bool) -> None:
        self.cpus = [float(n.cpus) for n in nodes]
        self.gpus = [float(n.gpus) for n in nodes]
        self.used_cpu = [0.0] * len(nodes)
        self.used_gpu = [0.0] * len(nodes)
        self.may_oversubscribe = may_oversubscribe

    def take(self, i: int, cpu: float, gpu: float) -> bool:
        if not self.may_oversubscribe and (self.cpus[i] + 1e-9 < cpu or
                                           self.gpus[i] + 1e-9 < gpu):
            return False
        self.cpus[i] -= cpu
        self.gpus[i] -= gpu
        self.used_cpu[i] += cpu
        self.used_gpu[i] += gpu
        return True


def place(
    nodes: Sequence[Node], main_index: int, *, main_cpus: int, main_gpus: float,
    learners: int, gpus_per_learner: float, runners: int, may_oversubscribe: bool,
) -> tuple[Placement, ...]:
    """Put the main process, the GPU learners and the env runners (1 CPU each) on nodes:
    the main process's node first, then the others in order (as Ray's PACK strategy
    would), each process on one node. Raise :class:`ResourceError` when one cannot go."""
    free = _Free(nodes, may_oversubscribe)
    n_learners = [0] * len(nodes)
    n_runners = [0] * len(nodes)
    order = [main_index] + [i for i in range(len(nodes)) if i != main_index]
    if not free.take(main_index, main_cpus, main_gpus):
        raise ResourceError(
            f"the main process needs {main_cpus} CPU on one node; none has that much free "
            f"({free_text(nodes)})"
        )
    for _ in range(learners):
        for i in order:
            if free.take(i, 1.0, gpus_per_learner):
                n_learners[i] += 1
                break
        else:
            raise ResourceError(
                f"a GPU learner needs 1 CPU and {gpus_per_learner:g} GPU on one node; no node "
                f"has them left ({free_text(nodes)})"
            )
    remaining = runners
    for i in order:
        while remaining and free.take(i, 1.0, 0.0):
            n_runners[i] += 1
            remaining -= 1
    if remaining:
        raise ResourceError(
            f"{runners} env runners (1 CPU each) do not fit beside the main process: only "
            f"{runners - remaining} find a CPU ({free_text(nodes)}); lower --num-cpus or "
            "resources.num_env_runners, or add nodes"
        )
    return tuple(
        Placement(node=nodes[i].name, main_process=i == main_index, env_runners=n_runners[i],
                  learners=n_learners[i], cpus=free.used_cpu[i], gpus=free.used_gpu[i],
                  main_shares_core=i == main_index and main_cpus == 0)
        for i in order if i == main_index or n_runners[i] or n_learners[i]
    )
