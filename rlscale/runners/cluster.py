"""Running on hardware rlscale did not start: an existing Ray cluster, a Slurm allocation.

Both give a :class:`Capacity` that may not be oversubscribed: a plan that asks for more
than is there is an error that says what is missing, not a trial stuck PENDING.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlscale.algos.plan import Node, ResourcePlan, place_bundles
from rlscale.errors import ResourceError
from rlscale.runners.session import (
    Capacity,
    quiet_core_start,
    quiet_driver_errors,
    quiet_ray_environment,
)

log = logging.getLogger(__name__)

PLACEMENT_FILE = "placement.json"


# -- Slurm allocation ------------------------------------------------------------------------

def _first_count(value: str) -> int | None:
    """``"36(x2),12"`` -> 36: the count of the first node in SLURM_JOB_CPUS_PER_NODE."""
    match = re.match(r"\s*(\d+)", value)
    return int(match.group(1)) if match else None


def _gpu_count(value: str) -> int:
    """A GPU count from SLURM_GPUS_ON_NODE (``2``) or a device list (``0,1``)."""
    value = value.strip()
    if not value or value in ("NoDevFiles", "-1"):
        return 0
    if value.isdigit() and "," not in value:
        return int(value)
    return len([v for v in value.split(",") if v.strip()])


def slurm_allocation(environ: Mapping[str, str] | None = None) -> Capacity | None:
    """The cores and GPUs Slurm allocated to this job on this node, or None outside Slurm.

    Slurm leaves the whole node visible (``os.cpu_count()``) unless a task plugin pins
    the job, so the embedded Ray must be told: SLURM_CPUS_ON_NODE (or the first entry of
    SLURM_JOB_CPUS_PER_NODE), and SLURM_GPUS_ON_NODE or CUDA_VISIBLE_DEVICES for GPUs.
    """
    env = os.environ if environ is None else environ
    if "SLURM_JOB_ID" not in env:
        return None
    cpus = None
    if env.get("SLURM_CPUS_ON_NODE", "").strip().isdigit():
        cpus = int(env["SLURM_CPUS_ON_NODE"])
    elif env.get("SLURM_JOB_CPUS_PER_NODE"):
        cpus = _first_count(env["SLURM_JOB_CPUS_PER_NODE"])
    if cpus is None:
        return None
    if "SLURM_GPUS_ON_NODE" in env:
        gpus = _gpu_count(env["SLURM_GPUS_ON_NODE"])
    elif "CUDA_VISIBLE_DEVICES" in env:
        gpus = _gpu_count(env["CUDA_VISIBLE_DEVICES"])
    else:
        gpus = 0
    return Capacity(cpus=cpus, gpus=float(gpus), may_oversubscribe=False)


# -- An existing Ray cluster ---------------------------------------------------------------

def connect_cluster(address: str, verbose: bool = False) -> Capacity:
    """Join the Ray cluster at ``address`` (HOST:PORT) as a driver; return what it offers."""
    import ray

    if not re.fullmatch(r"[\w.\-]+:\d+", address):
        raise ResourceError(f"--address must be HOST:PORT, got {address!r}")
    quiet_ray_environment(verbose)
    try:
        with quiet_core_start(verbose):
            ray.init(
                address=address,
                log_to_driver=verbose,
                logging_level=logging.INFO if verbose else logging.ERROR,
                configure_logging=True,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ResourceError(f"cannot connect to the Ray cluster at {address}: {first}") from None
    quiet_driver_errors(verbose)
    return cluster_capacity()


def alive_nodes() -> list[dict[str, Any]]:
    """Resources of every alive node of the connected cluster."""
    import ray

    return [
        {"ip": n["NodeManagerAddress"], "resources": dict(n.get("Resources", {}))}
        for n in ray.nodes() if n.get("Alive")
    ]


def cluster_nodes() -> list[Node]:
    """The alive nodes of the connected cluster with the CPUs and GPUs free on each now
    (others' work may hold some), the driver's node first."""
    import ray
    from ray._private.state import available_resources_per_node

    free = available_resources_per_node()
    here = ray.util.get_node_ip_address()
    nodes = []
    for info in ray.nodes():
        if not info.get("Alive"):
            continue
        total = info.get("Resources", {})
        avail = free.get(info["NodeID"], total)
        nodes.append(Node(
            name=info["NodeManagerAddress"], cpus=int(avail.get("CPU", 0.0) + 1e-9),
            gpus=float(avail.get("GPU", 0.0)), total_cpus=int(total.get("CPU", 0.0)),
        ))
    nodes.sort(key=lambda n: (n.name != here, _address_key(n.name)))
    return nodes


def _address_key(name: str) -> tuple[int, ...] | tuple[str]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (name,)


def cluster_capacity() -> Capacity:
    """CPUs and GPUs of the connected cluster, node by node (never oversubscribed)."""
    nodes = tuple(cluster_nodes())
    return Capacity(cpus=sum(n.cpus for n in nodes), gpus=sum(n.gpus for n in nodes),
                    may_oversubscribe=False, nodes=nodes)


def plan_bundles(plan: ResourcePlan) -> list[dict[str, float]]:
    """The resource bundles the plan asks Ray for: the main process, learners, env runners
    (the list RLlib's ``default_resource_request`` gives Tune for the same plan)."""
    main: dict[str, float] = {"CPU": float(plan.num_cpus_for_main_process),
                              **plan.main_node_resource}
    if plan.num_learners == 0 and plan.num_gpus_per_learner > 0:
        main["GPU"] = plan.num_gpus_per_learner
    bundles = [main]
    bundles += [{"CPU": 1.0, "GPU": plan.num_gpus_per_learner}] * plan.num_learners
    bundles += [{"CPU": float(plan.num_cpus_per_env_runner)}] * plan.num_env_runners
    # As Tune's request does: no zero amounts (a main process sharing an env runner's
    # core asks its node's sliver alone).
    return [{k: v for k, v in b.items() if v} for b in bundles]


def check_plan_fits(plan: ResourcePlan, nodes: list[dict[str, Any]]) -> None:
    """Raise :class:`ResourceError` naming what is missing when the plan's bundles cannot
    be placed on the cluster's nodes (each bundle must fit on one node)."""
    # Every Ray node has its own node:<ip> resource (which pins the main process).
    free = [{f"node:{n['ip']}": 1.0, **n["resources"]} for n in nodes]
    bundle = place_bundles(free, plan_bundles(plan))
    if bundle is not None:
        largest = max((n["resources"].get("CPU", 0.0) for n in nodes), default=0.0)
        gpus = max((n["resources"].get("GPU", 0.0) for n in nodes), default=0.0)
        need = ", ".join(f"{v:g} {k}" for k, v in bundle.items()
                         if v and not k.startswith("node:"))
        raise ResourceError(
            f"the plan does not fit the cluster: a process needing {need} finds no node "
            f"with room left ({len(nodes)} node(s), largest {largest:g} CPU / {gpus:g} GPU); "
            "lower --num-cpus or --num-gpus, or add nodes"
        )


def wait_for_nodes(count: int, timeout_s: float) -> list[dict[str, Any]]:
    """Wait until ``count`` nodes are alive in the connected cluster."""
    deadline = time.monotonic() + timeout_s
    while True:
        nodes = alive_nodes()
        if len(nodes) >= count:
            return nodes
        if time.monotonic() > deadline:
            raise ResourceError(
                f"only {len(nodes)} of {count} Ray node(s) joined within {timeout_s:g} s"
            )
        time.sleep(0.5)


# -- Where things ran ----------------------------------------------------------------------

def record_placement(run_dir: str, algorithm: Any, **kwargs: Any) -> None:
    """RLlib ``on_algorithm_init`` hook: write which node each env runner and the main
    process (driver + learner) run on to ``placement.json`` in the run directory."""
    import ray

    from rlscale.results.files import atomic_write_json

    def where(runner: Any) -> str:
        return str(ray.util.get_node_ip_address())

    try:
        runners = algorithm.env_runner_group.foreach_env_runner(where, local_env_runner=False)
    except Exception as exc:  # placement is informative; never fail a run for it
        log.warning("could not record env runner placement: %s", exc)
        return
    atomic_write_json(Path(run_dir) / PLACEMENT_FILE, {
        "main_process": ray.util.get_node_ip_address(),
        "env_runners": list(runners),
        "nodes": sorted({*runners, ray.util.get_node_ip_address()}),
    })
